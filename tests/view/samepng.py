#!/usr/bin/env python3
"""samepng.py A.png B.png - exits 0 when the two screenshots show the same
picture: the same size and at most 0.1% of their pixels different.  Chromium
draws a page the same way each time but for a few anti-aliased pixels at the
edges of outlines (a handful a screenshot); a change of the page changes
thousands.  Prints how many pixels differ.  8-bit RGB or RGBA PNGs, as
Chromium writes them, decoded here (zlib and the five PNG filters)."""
import struct
import sys
import zlib


def pixels(path):
    d = open(path, "rb").read()
    i, idat, w, h, bpp = 8, b"", 0, 0, 0
    while i < len(d):
        n, = struct.unpack(">I", d[i:i + 4])
        kind, body = d[i + 4:i + 8], d[i + 8:i + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            if depth != 8 or colour not in (2, 6):
                sys.exit("%s: not an 8-bit RGB or RGBA PNG" % path)
            bpp = 4 if colour == 6 else 3
        elif kind == b"IDAT":
            idat += body
        i += 12 + n
    raw, stride, rows, prev, k = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp), 0
    for _ in range(h):
        f, line = raw[k], bytearray(raw[k + 1:k + 1 + stride])
        k += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main(a, b):
    wa, ha, ba, ra = pixels(a)
    wb, hb, bb, rb = pixels(b)
    if (wa, ha) != (wb, hb):
        print("sizes differ: %dx%d and %dx%d" % (wa, ha, wb, hb))
        return 1
    diff = 0
    for x, y in zip(ra, rb):
        if x != y:
            diff += sum(1 for i in range(wa) if x[i * ba:i * ba + 3] != y[i * bb:i * bb + 3])
    print("%d of %d pixels differ" % (diff, wa * ha))
    return 0 if diff * 1000 <= wa * ha else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
