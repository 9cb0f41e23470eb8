#!/usr/bin/env python3
"""check.py DOM WALK POLICY N - checks a page of `hawk view` as headless Chromium
left it (--dump-dom of PAGE#op=N&dump) against what hawk_walk reported after
the same N calls (`hawk view --walk N`, one block a line: REGION:+OFFSET SIZE
STATE), for the first policy of the page, POLICY:

  * the page says it shows call N;
  * the page's block list (#blocks) is exactly hawk_walk's, and the figures
    under the heap (bytes in use, cached, free, free blocks) add up as its;
  * the page's free lists (#freelists), each in order, are exactly the
    library's (`--walk` prints them after the blocks as "list CLASS: ...",
    as the library reports them when a recorder is installed), and next
    fit's rover ("rover REGION:+OFFSET") is where its events put it;
  * for segregated fit, the bitmap marks exactly the non-empty classes and
    outlines the class of the block the call's line names;
  * every claim of the explanation (#explain) about where a block now is can
    be seen in hawk_walk's blocks: a new block ("the new block is at ...",
    split into S + R: an allocated block of S there and a free one of R after
    it), a merged free block ("into one free block of M bytes at ..."), a
    block from the thread cache (allocated there, of that size), a search
    ("examined N free blocks ... and chose the one of S bytes at ...": no
    more blocks than the free blocks after the call and one, S at least the
    size asked for, allocated there).

check.py DOM WALK POLICY N new: call N allocated a block in textbook mode
(no thread cache: the policy took a free block for it), so the explanation
must say where the new block is, and hawk_walk has an allocated block there.

Prints one line per problem and exits 1 if there was one; prints what it
checked otherwise."""
import html
import re
import sys


def blocks_of(dom):
    m = re.search(r'<pre id="blocks">(.*?)</pre>', dom, re.S)
    if not m:
        sys.exit("no #blocks in the page (did the script run?)")
    return html.unescape(m.group(1)).strip().splitlines()


def explain_of(dom, policy):
    m = re.search(r'<div class="pol" data-policy="%s">(.*?)</div>' % re.escape(policy), dom, re.S)
    if not m:
        sys.exit("no #explain section for " + policy)
    return [html.unescape(re.sub(r"<[^>]+>", "", p)) for p in re.findall(r"<p[^>]*>(.*?)</p>", m.group(1), re.S)]


def main(dom_path, walk_path, policy, n, new=None):
    dom = open(dom_path, encoding="utf-8").read()
    m = re.search(r'<span id="opinfo">call ([\d,]+) of', dom)
    if not m or int(m.group(1).replace(",", "")) != int(n):
        sys.exit("the page does not show call %s: %s" % (n, m.group(0) if m else "no #opinfo"))
    lines = open(walk_path).read().strip().splitlines()
    walk = [l for l in lines if not l.startswith(("list ", "rover "))]
    walk_lists = [l for l in lines if l.startswith(("list ", "rover "))]
    page = blocks_of(dom)
    problems = []
    sentences = explain_of(dom, policy)
    num = lambda s: int(s.replace(",", ""))
    # The block the call's line names for a request (8-byte header, rounded
    # up to 16, at least 32), or None (a free, the start).
    call_block = next((num(m.group(1)) for m in (
        re.search(r"^Call \d+ \(.*\): \w+\([\d,]+\) for block \d+: a block of ([\d,]+) bytes", t)
        for t in sentences) if m), None)
    m = re.search(r'<pre id="freelists">(.*?)</pre>', dom, re.S)
    page_lists = html.unescape(m.group(1)).strip().splitlines() if m else ["(no #freelists)"]
    if page_lists != walk_lists:
        for a, b in zip(page_lists + ["(none)"] * len(walk_lists), walk_lists + ["(none)"] * len(page_lists)):
            if a != b:
                problems.append("free list: the page has '%s', the library '%s'" % (a[:160], b[:160]))
                break
    if policy == "segregated":  # the bitmap: exactly the classes whose lists are not empty
        m = re.search(r"<div class=\"bitmap\">(.*?)</div>", dom, re.S)
        cells = re.findall(r"<b class=\"([^\"]*)\"", m.group(1)) if m else []
        on = {i for i, c in enumerate(cells) if "on" in c.split()}
        listed = {int(l.split()[1].rstrip(":")) for l in walk_lists if l.startswith("list ")}
        if len(cells) != 128 or on != listed:
            problems.append("the bitmap (%d classes) marks %s, the library's non-empty lists are %s"
                            % (len(cells), sorted(on)[:12], sorted(listed)[:12]))
        # The request's class outlined: the class of the block the call's
        # line names, as the library computes it (placement_segregated.h:
        # one per 16 bytes below 1 KiB, then four per power of two).
        req = [i for i, c in enumerate(cells) if "req" in c.split()]
        if call_block is not None:
            lg = call_block.bit_length() - 1
            want = call_block >> 4 if call_block < 1024 else min(127, 4 * lg + 20 + (call_block >> (lg - 2)))
            if req != [want]:
                problems.append("the bitmap outlines class %s for a block of %d bytes, whose class is %d"
                                % (req, call_block, want))
    if page != walk:
        a, b = set(page), set(walk)
        problems.append("the page shows %d blocks, hawk_walk %d; only on the page: %s; only in hawk_walk: %s"
                        % (len(page), len(walk), sorted(a - b)[:5], sorted(b - a)[:5]))
    blocks = {}
    for line in walk:
        where, size, state = line.split()
        region, off = where.split(":+")
        blocks[(int(region), int(off, 16))] = (int(size), state)
    # The figures under the first policy's heap: its bytes in use, cached
    # and free, and its free blocks, as hawk_walk's blocks add up.
    m = re.search(r'<div class="figs">[^<]*?in use ([\d,]+), cached ([\d,]+), free ([\d,]+) in ([\d,]+) blocks</div>', dom)
    want = [sum(sz for sz, st in blocks.values() if st not in ("cached", "free")),
            sum(sz for sz, st in blocks.values() if st == "cached"),
            sum(sz for sz, st in blocks.values() if st == "free"),
            sum(1 for sz, st in blocks.values() if st == "free")]
    got = [int(x.replace(",", "")) for x in m.groups()] if m else None
    if got != want:
        problems.append("the figures say in use, cached, free, free blocks %s; hawk_walk's blocks %s"
                        % (got, want))
    claims = 0
    for s in sentences:
        m = re.search(r"split it into ([\d,]+) \+ ([\d,]+).*the new block is at arena (\d+) \+0x([0-9a-f]+)", s)
        if m:
            size, rest, reg, off = num(m.group(1)), num(m.group(2)), int(m.group(3)), int(m.group(4), 16)
            claims += 1
            if call_block is not None and size != call_block:  # the block split off for it
                problems.append("'%s': the call's line says a block of %d bytes" % (s, call_block))
            if blocks.get((reg, off), (0, ""))[0] != size:
                problems.append("'%s': hawk_walk has %s there" % (s, blocks.get((reg, off))))
            if blocks.get((reg, off + size)) != (rest, "free"):
                problems.append("'%s': hawk_walk has %s after it" % (s, blocks.get((reg, off + size))))
        m = re.search(r"into one free block of ([\d,]+) bytes at arena (\d+) \+0x([0-9a-f]+)", s)
        if m:
            claims += 1
            got = blocks.get((int(m.group(2)), int(m.group(3), 16)))
            if got != (num(m.group(1)), "free"):
                problems.append("'%s': hawk_walk has %s there" % (s, got))
        # A free that merged: the merged block starts at the block before it
        # when there is one (else at the freed block), and holds the three.
        m = re.search(r"The block of ([\d,]+) bytes at arena (\d+) \+0x([0-9a-f]+) became free and was "
                      r"coalesced with (.*) into one free block of ([\d,]+) bytes at arena (\d+) \+0x([0-9a-f]+)", s)
        if m:
            claims += 1
            before = re.search(r"the free block before it \(([\d,]+) bytes\)", m.group(4))
            after = re.search(r"the free block after it \(([\d,]+) bytes\)", m.group(4))
            b_size, b_off = num(m.group(1)), int(m.group(3), 16)
            p_size = num(before.group(1)) if before else 0
            a_size = num(after.group(1)) if after else 0
            if (m.group(6) != m.group(2) or int(m.group(7), 16) != b_off - p_size
                    or num(m.group(5)) != b_size + p_size + a_size):
                problems.append("'%s': the merged block is not where or as large as its parts say" % s)
        # A search examines blocks of the lists only, and a malloc takes at
        # most one block off them (a split lists its rest): no more than the
        # free blocks after the call and one.  The block chosen is at least
        # the size asked for, and in use now.
        m = re.search(r" examined ([\d,]+) free blocks? for a block of ([\d,]+) bytes and chose the one of "
                      r"([\d,]+) bytes at arena (\d+) \+0x([0-9a-f]+)", s)
        if m:
            claims += 1
            free_blocks = sum(1 for sz, st in blocks.values() if st == "free")
            got = blocks.get((int(m.group(4)), int(m.group(5), 16)))
            if num(m.group(1)) > free_blocks + 1:
                problems.append("'%s': more blocks examined than the %d free blocks hawk_walk has after the "
                                "call and one" % (s, free_blocks))
            if num(m.group(3)) < num(m.group(2)) or not got or got[1] != "allocated":
                problems.append("'%s': hawk_walk has %s there" % (s, got))
        m = re.search(r"thread cache held a free block of ([\d,]+) bytes at arena (\d+) \+0x([0-9a-f]+)", s)
        if m:
            claims += 1
            got = blocks.get((int(m.group(2)), int(m.group(3), 16)))
            if got != (num(m.group(1)), "allocated"):
                problems.append("'%s': hawk_walk has %s there" % (s, got))
    if new == "new":
        at = [re.search(r"the new block is at arena (\d+) \+0x([0-9a-f]+)", s) for s in sentences]
        at = [m for m in at if m]
        if not at:
            problems.append("call %s allocated a block, and the explanation says nowhere where: %s"
                            % (n, " ".join(sentences)[:300]))
        for m in at:
            claims += 1
            got = blocks.get((int(m.group(1)), int(m.group(2), 16)))
            if not got or got[1] != "allocated":
                problems.append("'the new block is at arena %s +0x%s': hawk_walk has %s there"
                                % (m.group(1), m.group(2), got))
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    lists = [l for l in walk_lists if l.startswith("list ")]
    extra = (", the rover" if len(lists) < len(walk_lists) else "") + \
        (", the bitmap" if policy == "segregated" else "")
    print("%d blocks as hawk_walk reports them, %d free lists as the library has them%s; "
          "%d claims of the explanation seen in them" % (len(page), len(lists), extra, claims))


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    main(*sys.argv[1:])
