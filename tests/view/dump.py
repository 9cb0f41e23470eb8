#!/usr/bin/env python3
"""dump.py CHROMIUM OUTDIR NAME URL [NAME URL ...] - loads each page of
`hawk view` (URL: file://PAGE#op=N&dump) in one headless Chromium, driven
through the DevTools protocol (tests/view/cdp.py), and writes its DOM, as
--dump-dom prints it, to OUTDIR/NAME.html once the page shows its call: the
last show() ended (the body's data-pending is 0) and the call's line is
written.  Each page is loaded after about:blank, so that a page loaded again
with another #op= is a new document, not a hash change of the last.

One browser for every page of tests/view/run.sh's pages part: a launch of
Chromium with --dump-dom for each page took about 1 s of the part's 13
(12 pages).  A page that does not show its call within 30 s gets no file
and a line on stderr; the exit status is then 1."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Page  # noqa: E402

SHOWN = ("location.protocol === 'file:' && document.body && document.body.dataset.pending === '0'"
         " && /^call /.test(document.getElementById('opinfo').textContent)")
DOM = "'<!DOCTYPE html>\\n' + document.documentElement.outerHTML"


def main():
    if len(sys.argv) < 5 or len(sys.argv) % 2 == 0:
        sys.exit(__doc__.split("\n\n")[0])
    chromium, outdir, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
    bad = 0
    with Page("about:blank", chromium) as p:
        for name, url in zip(pairs[0::2], pairs[1::2]):
            p.call("Page.navigate", {"url": "about:blank"})
            p.until("location.href === 'about:blank'", 10)
            p.call("Page.navigate", {"url": url})
            if not p.until(SHOWN, 30):
                print("%s: the page did not show its call within 30 s (%s)" % (name, url),
                      file=sys.stderr)
                bad = 1
                continue
            with open(os.path.join(outdir, name + ".html"), "w") as f:
                f.write(p.eval(DOM))
    return bad


if __name__ == "__main__":
    sys.exit(main())
