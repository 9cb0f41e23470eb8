#!/usr/bin/env python3
"""ceiling.py - the best utilization HawkAlloc's block format allows on a trace.

Usage: python3 docs/lab/ceiling.py [--measured REPLAY.tsv --policy P] TRACE.rep...

Replays a malloc-lab trace on paper: every request of n bytes takes a block of
max(32, n + 8 rounded up to 16) bytes (an 8-byte header, 16-byte alignment,
the 32-byte minimum of a free block), and no block ever leaves a hole.  The
peak of the sum of block sizes, plus the arena's own 144 bytes (header,
prologue, epilogue), is the smallest footprint any placement could reach;
peak live bytes divided by it is the ceiling.  No real allocator reaches it:
it would have to know the future.  With --measured (the output of
`hawk replay --tsv`) the table also shows what policy P reached.
"""
import os
import sys

HEADER, ALIGN, MIN_BLOCK, ARENA_OVERHEAD = 8, 16, 32, 144


def block_size(n):
    return max(MIN_BLOCK, (n + HEADER + ALIGN - 1) // ALIGN * ALIGN)


def ceiling(path):
    """Returns (peak live bytes, peak bytes in blocks) of a .rep trace."""
    with open(path) as f:
        lines = f.read().split("\n")
    # Both header variants start with four numbers; the operations follow.
    start = 0
    while start < len(lines) and (not lines[start].split() or lines[start].split()[0] not in "arf"):
        start += 1
    live, blocks, peak_live, peak_blocks, size = 0, 0, 0, 0, {}
    for line in lines[start:]:
        op = line.split()
        if not op:
            continue
        if op[0] in ("a", "r"):
            old = size.pop(op[1], None)
            if old is not None:
                live -= old
                blocks -= block_size(old)
            n = int(op[2])
            size[op[1]] = n
            live += n
            blocks += block_size(n)
        elif op[0] == "f":
            old = size.pop(op[1])
            live -= old
            blocks -= block_size(old)
        peak_live = max(peak_live, live)
        peak_blocks = max(peak_blocks, blocks)
    return peak_live, peak_blocks


def measured(tsv, policy):
    util = {}
    with open(tsv) as f:
        for line in f.read().split("\n")[1:]:
            col = line.split("\t")
            if len(col) > 6 and col[2] == policy and col[1] == "hawk":
                util[col[0]] = float(col[6])
    return util


def main(argv):
    tsv, policy, files = None, "segregated", []
    while argv:
        a = argv.pop(0)
        if a == "--measured":
            tsv = argv.pop(0)
        elif a == "--policy":
            policy = argv.pop(0)
        else:
            files.append(a)
    if not files:
        sys.exit(__doc__.strip())
    got = measured(tsv, policy) if tsv else {}
    head = "| trace | peak live bytes | peak bytes in blocks | ceiling |"
    rule = "| --- | ---: | ---: | ---: |"
    if got:
        head += " %s |" % policy
        rule += " ---: |"
    print(head)
    print(rule)
    sums = [0.0, 0.0]
    for path in files:
        live, blocks = ceiling(path)
        cap = live / (blocks + ARENA_OVERHEAD)
        name = os.path.basename(path)
        sums[0] += cap
        row = "| %s | {:,} | {:,} | %.1f%% |".format(live, blocks) % (name[:-4], 100 * cap)
        if got:
            sums[1] += got.get(name, 0.0)
            row += " %.1f%% |" % (100 * got.get(name, 0.0))
        print(row)
    n = len(files)
    last = "| **mean of %d** | | | **%.1f%%** |" % (n, 100 * sums[0] / n)
    if got:
        last += " **%.1f%%** |" % (100 * sums[1] / n)
    print(last)


if __name__ == "__main__":
    main(sys.argv[1:])
