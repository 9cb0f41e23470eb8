#!/usr/bin/env python3
"""dump.py CHROMIUM OUTDIR NAME CALL URL [NAME CALL URL ...] - loads each
page of `hawk view` (URL: file://PAGE#op=N&dump) in one headless Chromium,
driven through the DevTools protocol (tests/view/cdp.py), and writes its
DOM, as --dump-dom prints it, to OUTDIR/NAME.html once the page shows call
CALL: the last show() ended (the body's data-pending is 0) and the call's
line names it.  Each page is loaded after about:blank, so that a page
loaded again with another #op= is a new document, not a hash change of the
last (and a page still showing the last document's call is not taken).

One browser for every page of tests/view/run.sh's pages part: a launch of
Chromium with --dump-dom for each page took about 1 s of the part's 13
(12 pages).  A page that does not show its call within 120 s gets no file
and a line on stderr; the exit status is then 1."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Page  # noqa: E402

SHOWN = ("location.protocol === 'file:' && document.body && document.body.dataset.pending === '0'"
         " && document.getElementById('opinfo').textContent.startsWith('call %s of ')")
DOM = "'<!DOCTYPE html>\\n' + document.documentElement.outerHTML"


def main():
    if len(sys.argv) < 6 or (len(sys.argv) - 3) % 3 != 0:
        sys.exit(__doc__.split("\n\n")[0])
    chromium, outdir, triples = sys.argv[1], sys.argv[2], sys.argv[3:]
    bad = 0
    with Page("about:blank", chromium) as p:
        for name, call, url in zip(triples[0::3], triples[1::3], triples[2::3]):
            p.call("Page.navigate", {"url": "about:blank"})
            if not p.until("location.href === 'about:blank'", 30):
                print("%s: about:blank did not load within 30 s before %s" % (name, url), file=sys.stderr)
                bad = 1
                continue
            p.call("Page.navigate", {"url": url})
            if not p.until(SHOWN % "{:,}".format(int(call)), 120):
                print("%s: the page did not show call %s within 120 s (%s)" % (name, call, url),
                      file=sys.stderr)
                bad = 1
                continue
            with open(os.path.join(outdir, name + ".html"), "w") as f:
                f.write(p.eval(DOM))
    return bad


if __name__ == "__main__":
    sys.exit(main())
