#!/usr/bin/env python3
"""The layers of src/, read from the one table of them in docs/design.md.

  scripts/layers.py [--root DIR]              check: every file of src/ and
      include/ is in the table once, and no file includes a header of a
      higher layer than its own; one line per problem, exit 1 if any
  scripts/layers.py [--root DIR] --sources L  the .c files of layer L and of
      every layer below it (what a unit test of layer L links)
  scripts/layers.py [--root DIR] --units "unit_x:L ..."  the check, and
      also: every tests/unit_*.c is given a layer L in the list (the
      Makefile's UNIT_LAYER, which builds each from --sources L) and
      includes no header of a layer above L

The table is the one between the "layers:begin" and "layers:end" comments
of docs/design.md: a row per layer, lowest first, with its rank, its name
and its files (each in backticks).  Files of one rank may include each
other; a file may include the headers of lower ranks.
"""
import os
import re
import sys


def parse_table(root):
    path = os.path.join(root, "docs", "design.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- layers:begin -->(.*?)<!-- layers:end -->", text, re.S)
    if not m:
        sys.exit(f"{path}: no table between <!-- layers:begin --> and <!-- layers:end -->")
    rank_of, name_of, problems = {}, {}, []
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].isdigit():
            continue
        rank, name = int(cells[0]), cells[1]
        for f in re.findall(r"`([^`]+)`", cells[2]):
            if f in rank_of:
                problems.append(f"{f}: listed twice in the layer table")
            rank_of[f] = rank
            name_of[f] = name
    return rank_of, name_of, problems


def tree_files(root):
    out = []
    for d in ("src", "include"):
        for f in sorted(os.listdir(os.path.join(root, d))):
            if f.endswith((".c", ".h")):
                out.append(f"{d}/{f}")
    return out


def includes(root, f):
    with open(os.path.join(root, f), encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if m:
                yield n, m.group(1)


def resolve(root, name):
    for d in ("src", "include"):
        if os.path.exists(os.path.join(root, d, name)):
            return f"{d}/{name}"
    return None


def check(root, units=None):
    rank_of, name_of, problems = parse_table(root)
    files = tree_files(root)
    for f in files:
        if f not in rank_of:
            problems.append(f"{f}: not in the layer table of docs/design.md")
    for f in rank_of:
        if not os.path.exists(os.path.join(root, f)):
            problems.append(f"{f}: in the layer table of docs/design.md but not in the tree")
    for f in files:
        if f not in rank_of:
            continue
        for n, name in includes(root, f):
            h = resolve(root, name)
            if h is None or h not in rank_of:
                continue
            if rank_of[h] > rank_of[f]:
                problems.append(
                    f"{f}:{n}: includes {h} of a higher layer "
                    f"({name_of[h]}, {rank_of[h]} > {name_of[f]}, {rank_of[f]})"
                )
    unit_count = 0
    if units is not None:
        more, unit_count = check_units(root, units)
        problems += more
    for p in problems:
        print(f"layers: {p}")
    if problems:
        return 1
    print(f"layers: {len(files)} files, no include reaches up"
          + (f"; {unit_count} unit tests, each built from its layer and those below"
             if units is not None else ""))
    return 0


def check_units(root, spec):
    """Every tests/unit_*.c has a layer in spec and includes no header of
    a higher layer; returns the problems."""
    rank_of, name_of, _ = parse_table(root)
    ranks = {name_of[f]: rank_of[f] for f in rank_of}
    layer_of = dict(item.split(":", 1) for item in spec.split())
    problems = []
    tests = sorted(f[:-2] for f in os.listdir(os.path.join(root, "tests"))
                   if f.startswith("unit_") and f.endswith(".c"))
    for t in tests:
        layer = layer_of.get(t)
        if layer is None:
            problems.append(f"tests/{t}.c: no layer in the Makefile's UNIT_LAYER")
            continue
        if layer not in ranks:
            problems.append(f"tests/{t}.c: UNIT_LAYER names '{layer}', not a layer of docs/design.md")
            continue
        for n, name in includes(root, f"tests/{t}.c"):
            h = resolve(root, name)
            if h is not None and h in rank_of and rank_of[h] > ranks[layer]:
                problems.append(
                    f"tests/{t}.c:{n}: includes {h} of a higher layer than its own "
                    f"({name_of[h]}, {rank_of[h]} > {layer}, {ranks[layer]})")
    for t in layer_of:
        if t not in tests:
            problems.append(f"UNIT_LAYER names {t}, which is not in tests/")
    return problems, len(tests)


def sources(root, layer):
    rank_of, name_of, problems = parse_table(root)
    ranks = {name_of[f]: rank_of[f] for f in rank_of}
    if layer not in ranks:
        sys.exit(f"layers: no layer named '{layer}' in docs/design.md")
    top = ranks[layer]
    print(" ".join(f for f in sorted(rank_of, key=lambda f: (rank_of[f], f))
                   if f.endswith(".c") and rank_of[f] <= top))
    return 0


def main(argv):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    layer = None
    units = None
    i = 0
    while i < len(argv):
        if argv[i] == "--root" and i + 1 < len(argv):
            root = argv[i + 1]
            i += 2
        elif argv[i] == "--units" and i + 1 < len(argv):
            units = argv[i + 1]
            i += 2
        elif argv[i] == "--sources" and i + 1 < len(argv):
            layer = argv[i + 1]
            i += 2
        else:
            sys.exit(__doc__)
    return sources(root, layer) if layer else check(root, units)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
