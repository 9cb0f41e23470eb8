#!/usr/bin/env python3
"""svg.py QUERY FILE.svg - facts about a heap picture of hawk map, parsed as
XML (tests/map/run.sh checks them):
  title      the document's <title>
  ruler      the labels above the strips, space separated
  strip      per state class of the first arena strip: the count of rects and
             their total width in pixels, as "a=N:W f=N:W c=N:W"
  alone      the tooltips of the first strip's blocks drawn alone, one a line
  contrast   the WCAG contrast ratio of the free colour (.f) against the
             background between blocks (.bg), and of .f against .a and .c"""
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def text_of(e):
    return "".join(e.itertext())


def first_strip(root):
    for g in root.iter(NS + "g"):
        if g.get("class") == "strip arena":
            return g
    sys.exit("no arena strip")


def colour(css, cls):
    m = re.search(r"\." + cls + r"\{fill:#([0-9a-fA-F]{6})", css)
    if not m:
        sys.exit(f"no fill for .{cls}")
    return [int(m.group(1)[i:i + 2], 16) / 255 for i in (0, 2, 4)]


def luminance(rgb):
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b):
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def main(query, path):
    root = ET.parse(path).getroot()
    if query == "title":
        t = root.find(NS + "title")
        print(t.text if t is not None else "")
    elif query == "ruler":
        print(" ".join(text_of(t) for t in root.iter(NS + "text")
                       if t.get("class") == "g" and text_of(t).startswith("+")))
    elif query == "strip":
        sums = {}
        for r in first_strip(root).iter(NS + "rect"):
            c = r.get("class")
            if c in ("a", "f", "c"):
                n, w = sums.get(c, (0, 0.0))
                sums[c] = (n + 1, w + float(r.get("width")))
        print(" ".join(f"{c}={n}:{w:g}" for c, (n, w) in sorted(sums.items())))
    elif query == "alone":
        for t in first_strip(root).iter(NS + "title"):
            print(t.text)
    elif query == "contrast":
        css = "".join(text_of(s) for s in root.iter(NS + "style"))
        bg = [1.0, 1.0, 1.0] if ".bg{fill:#fff}" in css else colour(css, "bg")
        f = colour(css, "f")
        print(f"{contrast(f, bg):.2f} {contrast(f, colour(css, 'a')):.2f} "
              f"{contrast(f, colour(css, 'c')):.2f}")
    else:
        sys.exit(f"unknown query {query}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
