#!/usr/bin/env python3
"""drawing.py PAGE OP WALK [CHROMIUM] - the parts of blocks as the page draws
them, zoomed in to bytes, read back from the first policy's canvas in
headless Chromium (tests/view/cdp.py).  WALK is what `hawk view --walk OP`
printed (REGION:+OFFSET SIZE STATE a line).  At call OP, a malloc(REQ):

  * the block the call handed out (where #explain says the new block is, its
    size from WALK): its 8-byte header dark grey, its REQ bytes of payload
    blue, the rounding after them light blue;
  * the first free block of WALK in arena 0 of 32 bytes or more: its header
    and its footer dark grey, the bytes between them green.

drawing.py --cached PAGE OP WALK [CHROMIUM]: the first block of WALK in
arena 0 that a thread cache holds (48 bytes or more), at call OP of a page
with the cache: its bytes past the header are orange, the colour the
legend gives "in a thread cache".

drawing.py --fitted PAGE OP WALK [CHROMIUM]: the view fitted to the heap at
call OP (as the page opens), where blocks under a pixel wide are gathered
by the pixel column their start falls in: each such column of arena 0 must
be in the legend's colour of the state (free, allocated, in a thread cache)
that holds most of the bytes of those blocks in WALK.  Columns whose pixel
is in none of the legend's colours (an outline of a touched or examined
block crosses them) are left out, at most a tenth of them; at least 50
columns must be compared, among them free and allocated ones.

Each colour is the pixel at the middle of the part, the view set through the
address (&view=LO-HI) around it.  Prints "ok NAME" or "FAIL NAME: WHY" a
line; exits 1 if anything failed."""
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Page  # noqa: E402

COLOURS = {"header": (0x55, 0x55, 0x55), "payload": (0x4f, 0x7c, 0xac),
           "rounding": (0xa9, 0xc4, 0xe0), "free": (0x9f, 0xd3, 0x9b)}


def read_walk(walk, region="0"):
    """WALK's blocks of one arena (region None: of every arena, keyed by
    their offset in it, for the highest end) by offset: (size, state)."""
    blocks = {}
    for line in open(walk):
        m = re.match(r"(\d+):\+0x([0-9a-f]+) (\d+) (\w+)$", line.strip())
        if m and region in (None, m.group(1)):
            blocks[(m.group(1), int(m.group(2), 16)) if region is None else int(m.group(2), 16)] = \
                (int(m.group(3)), m.group(4))
    return blocks


def pixel(p, op, lo, hi, byte):
    """The colour of byte (an arena offset, a fraction for a point inside
    a byte) of the first policy's arena 0, bytes lo..hi shown.  A new address is shown by the page's hashchange
    handler, which runs after the assignment returns: waiting on
    data-pending alone could read the canvas before the handler started.  A
    listener added after the page's fires after it, once data-pending counts
    the call being shown.  The view spans the canvas's bitmap (c.width),
    whatever its box is now: a scrollbar that comes or goes after the
    drawing changes clientWidth, not what was drawn (under load the header
    of call 301 was read 8 bytes early so, at 27f7e56)."""
    p.eval("(h => location.hash === h ? true : new Promise(r => {"
           " addEventListener('hashchange', () => r(true), {once: true}); location.hash = h; }))"
           "('#op=%d&view=%d-%d')" % (op, lo, hi))
    # Read only from a drawing of that call and view, with no other draw
    # pending, tested in the same evaluation as the read: read apart, a
    # redraw coming between (the layout settling under load) or a wait that
    # timed out gave a pixel of another drawing (a free block's colour for
    # a header, under a helper's campaign of whole-suite runs, 2026-12-08).
    # (The page's own variables are not global: the call line and the zoom
    # line, which the same drawing writes, say what was drawn.)
    shown = ("document.body.dataset.pending === '0'"
             " && document.getElementById('opinfo').textContent.startsWith('call %s of ')"
             " && document.getElementById('zoomtext').textContent.startsWith('showing +0x%x to +0x%x ')"
             % ("{:,}".format(op), lo, hi))
    got = p.until(
        "(c => { if (!(%s)) return null; const d = window.devicePixelRatio || 1, x = (%s - %d) / (%d - %d) * c.width;"
        " return Array.from(c.getContext('2d').getImageData(Math.floor(x), Math.floor(42 * d), 1, 1).data).slice(0, 3); })"
        "(document.querySelector('#heaps canvas'))" % (shown, byte, lo, hi, lo), 120)
    if not got:
        sys.exit("the page did not show call %d, bytes %d to %d, within 120 s" % (op, lo, hi))
    return tuple(got)


def main_cached(page, op, walk, chromium):
    blocks = read_walk(walk)
    at = next((a for a, (s, st) in sorted(blocks.items()) if st == "cached" and s >= 48), None)
    if at is None:
        print("FAIL a cached block drawn in the legend's colour: no cached block of 48 bytes in arena 0")
        return 1
    size = blocks[at][0]
    want = legend(page).get("cached")
    if want is None:
        print("FAIL a cached block drawn in the legend's colour: no legend entry 'in a thread cache'")
        return 1
    url = "file://" + os.path.abspath(page)
    with Page(url + "#op=%d" % op, chromium) as p:
        p.until("document.body.dataset.pending === '0' && /call/.test(document.getElementById('opinfo').textContent)")
        got = pixel(p, op, max(0, at - 16), at + size + 16, at + 8 + (size - 8) // 2)
    ok = got == want
    print(("ok   " if ok else "FAIL ") + "call %d's cached block of %d bytes at +0x%x drawn in the legend's "
          "colour for a thread cache, #%02x%02x%02x" % ((op, size, at) + want) + ("" if ok else ": got %s" % (got,)))
    return 0 if ok else 1


def legend(page):
    """The legend's colour of each state of WALK, from the page itself."""
    html = open(page, encoding="utf-8").read()
    want = {}
    for state, label in (("free", "free"), ("allocated", "payload"), ("cached", "in a thread cache")):
        m = re.search(r'background:#([0-9a-f]{6})"></i>%s<' % label, html)
        if m:
            want[state] = tuple(int(m.group(1)[i:i + 2], 16) for i in (0, 2, 4))
    return want


def main_fitted(page, op, walk, chromium):
    name = "call %d's view fitted to the heap: each column of blocks under a pixel" % op
    blocks = read_walk(walk)
    want = legend(page)
    if len(want) != 3:
        print("FAIL %s: the legend lacks a state's colour (%s)" % (name, sorted(want)))
        return 1
    url = "file://" + os.path.abspath(page)
    with Page(url + "#op=%d" % op, chromium) as p:
        p.until("document.body.dataset.pending === '0' && /call/.test(document.getElementById('opinfo').textContent)")
        # The fitted view spans arena offsets 0 to a tenth past the highest
        # end of a block that is not free, at least 4,096 (the page's
        # zoom line shows it rounded; the columns need it exact).
        text = p.eval("document.getElementById('zoomtext').textContent")
        # The width the page drew with and the row drawn, read together from
        # the canvas's bitmap (sized to that width): a box read apart (see
        # pixel), or a width read before a redraw (the layout settling
        # under load), would not be the row's.
        width, dpr, row = p.eval(
            "(c => { const d = window.devicePixelRatio || 1, g = c.getContext('2d');"
            " return [c.width / d, d, Array.from(g.getImageData(0, Math.floor(21 * d), c.width, 1).data)]; })"
            "(document.querySelector('#heaps canvas'))")
        end = max([4096] + [a[1] + s for a, (s, st) in read_walk(walk, None).items() if st != "free"])
        lo, hi = 0, min(4194304, end * 1.1)
        m = re.search(r"showing \+0x([0-9a-f]+) to \+0x([0-9a-f]+) ", text)
        if not m or (int(m.group(1), 16), int(m.group(2), 16)) != (lo, round(hi)):
            print("FAIL %s: the page shows %s, not the heap fitted (+0x0 to +0x%x)" % (name, text, round(hi)))
            return 1
        # Blocks under a pixel wide go, whole, to the column of their start
        # (in CSS pixels, with the page's own arithmetic).
        px = width / (hi - lo)
        cols = {}
        for at, (size, state) in blocks.items():
            x0, x1 = (at - lo) * px, (at + size - lo) * px
            if x1 < 0 or x0 > width or x1 - x0 >= 1:
                continue
            col = max(0, min(math.ceil(width), math.floor(x0)))
            cols.setdefault(col, {}).setdefault(state, 0)
            cols[col][state] += size
    compared, skipped, bad, seen = 0, 0, [], set()
    for col, by in sorted(cols.items()):
        most = max(by.values())
        # The page keeps the first state of free, allocated, cached on a tie.
        state = next(s for s in ("free", "allocated", "cached") if by.get(s) == most)
        x = int(col * dpr)
        got = tuple(row[4 * x:4 * x + 3])
        if got not in want.values():
            skipped += 1
            continue
        compared += 1
        seen.add(state)
        if got != want[state]:
            bad.append("column %d (%s): %s" % (col, ", ".join("%s %d" % kv for kv in sorted(by.items())), got))
    why = []
    if bad:
        why.append("%d of %d in another state's colour, first %s" % (len(bad), compared, "; ".join(bad[:3])))
    if compared < 50 or skipped * 10 > compared + skipped:
        why.append("%d columns compared, %d left out" % (compared, skipped))
    if not {"free", "allocated"} <= seen:
        why.append("states compared: %s" % sorted(seen))
    print(("FAIL " if why else "ok   ") + name + " in the colour of its state with most bytes (%d columns; %s)"
          % (compared, ", ".join(sorted(seen))) + (": " + "; ".join(why) if why else ""))
    return 1 if why else 0


def main(page, op, walk, chromium):
    blocks = read_walk(walk)
    url = "file://" + os.path.abspath(page)
    failed = 0
    with Page(url + "#op=%d" % op, chromium) as p:
        p.until("document.body.dataset.pending === '0' && /call/.test(document.getElementById('opinfo').textContent)")
        text = p.eval("document.querySelector('#explain .pol').textContent")
        req = re.search(r"malloc\(([\d,]+)\)", text)
        new = re.search(r"the new block is at arena 0 \+0x([0-9a-f]+)", text)
        if not req or not new or int(new.group(1), 16) not in blocks:
            print("FAIL the drawing of call %d: no malloc and new block in arena 0 in: %s" % (op, text[:300]))
            return 1
        req, at = int(req.group(1).replace(",", "")), int(new.group(1), 16)
        size = blocks[at][0]
        free = next((a for a, (s, st) in sorted(blocks.items()) if st == "free" and s >= 32), None)

        lo, hi = max(0, at - 16), at + size + 16
        # Each part at its middle, and the payload's last byte and the
        # rounding's first at theirs (where the one ends and the other begins).
        parts = [("header", at + 4), ("payload", at + 8 + req // 2), ("payload's end", at + 8 + req - 0.5)]
        if size - 8 - req >= 4:
            parts += [("rounding", at + 8 + req + (size - 8 - req) // 2), ("rounding's start", at + 8 + req + 0.5)]
        got = {name: pixel(p, op, lo, hi, b) for name, b in parts}
        bad = {k: v for k, v in got.items() if v != COLOURS[k.split("'")[0]]}
        print(("ok   " if not bad else "FAIL ") + "call %d's block of %d bytes at +0x%x (malloc(%d)) drawn as %s"
              % (op, size, at, req, ", ".join(k for k, _ in parts)) + ("" if not bad else ": got %s" % bad))
        failed += bool(bad)
        if free is None:
            print("FAIL a free block drawn with its header and footer: no free block of 32 bytes in arena 0")
            return 1
        fs = blocks[free][0]
        got = {"header": pixel(p, op, max(0, free - 16), free + 64, free + 4),
               "free": pixel(p, op, max(0, free - 16), free + 64, free + 16 if fs < 64 else free + 40),
               "footer": pixel(p, op, free + fs - 64, free + fs + 16, free + fs - 4)}
        want = {"header": COLOURS["header"], "free": COLOURS["free"], "footer": COLOURS["header"]}
        bad = {k: v for k, v in got.items() if v != want[k]}
        print(("ok   " if not bad else "FAIL ") + "the free block of %d bytes at +0x%x drawn with its header, "
              "free bytes and footer" % (fs, free) + ("" if not bad else ": got %s" % bad))
        failed += bool(bad)
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1] == "--fitted":
        sys.exit(main_fitted(sys.argv[2], int(sys.argv[3]), sys.argv[4],
                             sys.argv[5] if len(sys.argv) > 5 else "chromium"))
    if sys.argv[1] == "--cached":
        sys.exit(main_cached(sys.argv[2], int(sys.argv[3]), sys.argv[4],
                             sys.argv[5] if len(sys.argv) > 5 else "chromium"))
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3],
                  sys.argv[4] if len(sys.argv) > 4 else "chromium"))
