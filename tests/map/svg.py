#!/usr/bin/env python3
"""svg.py QUERY FILE.svg - facts about a heap picture of hawk map, parsed as
XML (tests/map/run.sh checks them):
  title      the document's <title>
  ruler      the labels above the strips, space separated
  strip      per state class of the first arena strip: the count of rects and
             their total width in pixels, as "a=N:W f=N:W c=N:W"
  alone      the tooltips of the first strip's blocks drawn alone, one a line
  contrast   the WCAG contrast ratio of the free colour (.f) against the
             background between blocks (.bg), and of .f against .a and .c
  legend     whether the legends say what the picture draws: view 1's swatch
             of each state has the class of that state's blocks (their
             tooltips), view 2's "HawkAlloc arenas" and "HawkAlloc large" the
             fill of allocated and large blocks; "as drawn" or what differs
  zoomnote   a zoomed picture's note "1 px = Y. Blocks of X and up drawn one
             by one": "3 px" when X is three times Y (render.c's ALONE),
             else what it says
  bytes      every "X KiB (N bytes)" (or MiB, GiB) of the texts, checked: X is
             N in that unit rounded to the nearest tenth; "N pairs, all
             rounded" or the pairs that are not"""
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
    elif query == "legend":
        css = "".join(text_of(e) for e in root.iter(NS + "style"))
        drawn = {}  # a state's word in the tooltips -> the class its blocks have
        for r in root.iter(NS + "rect"):
            t = r.find(NS + "title")
            if t is not None and t.text and " block, " in t.text:
                drawn.setdefault(t.text.split(" block, ")[0].split()[-1], set()).add(r.get("class"))
        said, off, swatch = {}, [], None
        for e in root.iter():
            if e.tag == NS + "rect":
                swatch = e.get("class")
            elif e.tag == NS + "text" and swatch:
                said[text_of(e)] = swatch.split()[-1]
                swatch = None
        for word, text in (("allocated", "allocated:"), ("free", "free:"),
                           ("thread-cached", "thread-cached:"), ("large", "large block:")):
            cls = next((c for t, c in said.items() if t.startswith(text)), None)
            if cls is None:
                off.append("no legend for " + word)
            elif drawn.get(word, {cls}) != {cls}:
                off.append(f"{word}: legend .{cls}, blocks {sorted(drawn[word])}")
        for text, cls in (("HawkAlloc arenas", "a"), ("HawkAlloc large", "l")):
            k = said.get(text)
            if k is None or colour(css, k) != colour(css, cls):
                off.append(f"view 2's {text}: .{k}, not the fill of .{cls}")
        print("as drawn" if not off else "; ".join(off))
    elif query == "zoomnote":
        text = " ".join(text_of(t) for t in root.iter(NS + "text"))
        m = re.search(r"1 px = ([\d.]+) (B|KiB|MiB)\. Blocks of ([\d.]+) (B|KiB|MiB) and up", text)
        unit = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2}
        if not m:
            print("no zoom note")
        else:
            px, alone = float(m.group(1)) * unit[m.group(2)], float(m.group(3)) * unit[m.group(4)]
            print("3 px" if abs(alone - 3 * px) <= 0.05 * alone else m.group(0))
    elif query == "bytes":
        pairs, off = 0, []
        for t in root.iter(NS + "text"):
            for x, unit, n in re.findall(r"([\d.]+) (KiB|MiB|GiB)\s*\(([\d,]+) bytes\)", text_of(t)):
                pairs += 1
                v = int(n.replace(",", "")) / 1024 ** (1 + ["KiB", "MiB", "GiB"].index(unit))
                # The tenths, rounded half up as the picture rounds them
                # ("10 KiB" for 10.0), compared as integers.
                if round(float(x) * 10) != int(v * 10 + 0.5):
                    off.append(f"{x} {unit} for {n} bytes")
        print(f"{pairs} pairs, all rounded" if not off else "not rounded: " + "; ".join(off))
    else:
        sys.exit(f"unknown query {query}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
