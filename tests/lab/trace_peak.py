#!/usr/bin/env python3
"""trace_peak.py TRACE - the peak of live requested bytes of a HawkAlloc trace,
computed from the file alone (docs/trace-format.md), independently of hawk.

Records are ordered by seq (ties keep file order); each result pointer names
a block until it is freed.  A free of a pointer never seen allocated, and a
call that returned 0, change nothing; a realloc of an unknown pointer is a new
block; an allocation returning a pointer that is still live ends the old block
(its free was not recorded before it).  Version 2 records carry a heap id
(offset 40): a heap's destroy (op 7) frees its blocks still live; its create
(op 6) names no block.  Prints: records peak_live.  With --heaps, also the
number of records of created heaps (id 16 and up), of creates and of
destroys."""
import struct
import sys

def main(path, heaps=False):
    data = open(path, "rb").read()
    if data[:8] != b"HAWKTRC\0":
        sys.exit(f"{path}: not a HawkAlloc trace")
    version, header, record = struct.unpack_from("<III", data, 8)
    n = (len(data) - header) // record
    recs = []
    for i in range(n):
        off = header + i * record
        seq, thread, op = struct.unpack_from("<QIB", data, off)
        result, size, aux = struct.unpack_from("<QQQ", data, off + 16)
        heap = struct.unpack_from("<i", data, off + 40)[0] if version >= 2 and record >= 48 else 0
        recs.append((seq, i, op, result, size, aux, heap))
    recs.sort(key=lambda r: (r[0], r[1]))
    live = {}  # pointer -> (size, heap)
    total = peak = 0
    for _seq, _i, op, result, size, aux, heap in recs:
        if op == 7:  # a heap destroyed: its live blocks go
            for p in [p for p, (_s, h) in live.items() if h == heap]:
                total -= live.pop(p)[0]
            continue
        if op == 2:  # free
            total -= live.pop(result, (0, 0))[0]
            continue
        if op not in (1, 3, 4, 5) or result == 0:
            continue
        if op == 4:
            total -= live.pop(aux, (0, 0))[0] if aux else 0
        total -= live.pop(result, (0, 0))[0]
        live[result] = (size, heap)
        total += size
        peak = max(peak, total)
    if heaps:
        print(n, peak, sum(1 for r in recs if r[6] >= 16), sum(1 for r in recs if r[2] == 6),
              sum(1 for r in recs if r[2] == 7))
    else:
        print(n, peak)

if __name__ == "__main__":
    if sys.argv[1] == "--heaps":
        main(sys.argv[2], heaps=True)
    else:
        main(sys.argv[1])
