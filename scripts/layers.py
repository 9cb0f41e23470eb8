#!/usr/bin/env python3
"""The layers of src/, read from the one table of them in docs/design.md.

  scripts/layers.py [--root DIR]              check: every file of src/ and
      include/ is in the table once, and no file includes a header of a
      higher layer than its own; one line per problem, exit 1 if any
  scripts/layers.py [--root DIR] --sources L  the .c files of layer L and of
      every layer below it (what a unit test of layer L links)
  scripts/layers.py [--root DIR] --write-diagram  redraws the picture of the
      layers in docs/design.md (between "layers-diagram:begin" and
      "layers-diagram:end") from the table
  scripts/layers.py [--root DIR] --units "unit_x:L ..."  the check, and
      also: every tests/unit_*.c is given a layer L in the list (the
      Makefile's UNIT_LAYER, which builds each from --sources L) and
      includes no header of a layer above L

The check also fails when the picture is not the one --write-diagram would
draw, or when the walk of one malloc and one free (between "walk:begin" and
"walk:end") names a file that is not in src/ or include/, a function that
file does not have (`file.c: name`), or a function no file has (`name` or
`name(...)` with an underscore in it).

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


def table_rows(root):
    """(rank, layer, [files]) for each row of the table, in its order."""
    with open(os.path.join(root, "docs", "design.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- layers:begin -->(.*?)<!-- layers:end -->", text, re.S)
    rows = []
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            rows.append((int(cells[0]), cells[1], re.findall(r"`([^`]+)`", cells[2])))
    return rows


DIAGRAM_WIDTH = 98


def diagram(root):
    """The picture of the layers: a box a rank, highest on top, each layer
    of the rank with its files (without src/)."""
    by_rank = {}
    for rank, name, files in table_rows(root):
        short = ", ".join(f.split("/", 1)[1] if f.startswith("src/") else f for f in files)
        by_rank.setdefault(rank, []).append(f"{name}: {short}")
    inner = DIAGRAM_WIDTH - 4
    rule = "+" + "-" * (DIAGRAM_WIDTH - 2) + "+"
    out = ["```text", rule]
    for rank in sorted(by_rank, reverse=True):
        prefix = f"{rank:>2}  "
        lines, line = [], ""
        for w in "  |  ".join(by_rank[rank]).split(" "):
            if line and len(prefix) + len(line) + 1 + len(w) > inner:
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}" if line else w
        lines.append(line)
        lines = [(prefix if i == 0 else " " * len(prefix)) + l for i, l in enumerate(lines)]
        out += [f"| {l.ljust(inner)} |" for l in lines]
        out.append(rule)
    out.append("```")
    return "\n".join(out) + "\n"


DIAGRAM_RE = re.compile(r"(<!-- layers-diagram:begin -->\n)(.*?)(<!-- layers-diagram:end -->)", re.S)


def write_diagram(root):
    path = os.path.join(root, "docs", "design.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not DIAGRAM_RE.search(text):
        sys.exit(f"{path}: no <!-- layers-diagram:begin --> ... <!-- layers-diagram:end -->")
    text = DIAGRAM_RE.sub(lambda m: m.group(1) + diagram(root) + m.group(3), text, count=1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"layers: picture written into {path}")
    return 0


def check_docs(root):
    """The picture is current, and the walk names only what exists."""
    problems = []
    with open(os.path.join(root, "docs", "design.md"), encoding="utf-8") as f:
        text = f.read()
    m = DIAGRAM_RE.search(text)
    if not m:
        problems.append("docs/design.md: no picture of the layers (layers-diagram:begin/end)")
    elif m.group(2) != diagram(root):
        problems.append("docs/design.md: the picture of the layers is out of date "
                        "(scripts/layers.py --write-diagram)")
    w = re.search(r"<!-- walk:begin -->(.*?)<!-- walk:end -->", text, re.S)
    if not w:
        problems.append("docs/design.md: no walk of one malloc and one free (walk:begin/end)")
        return problems
    sources = {}
    for d in ("src", "include"):
        for f in os.listdir(os.path.join(root, d)):
            if f.endswith((".c", ".h")):
                with open(os.path.join(root, d, f), encoding="utf-8") as fh:
                    sources[f] = fh.read()
    everything = "\n".join(sources.values())
    for code in re.findall(r"`([^`]+)`", w.group(1)):
        fm = re.match(r"([\w.]+\.[ch]): (\w+)", code)
        if fm:
            f, name = fm.groups()
            if f not in sources:
                problems.append(f"docs/design.md walk: `{code}`: no file {f} in src/ or include/")
            elif not re.search(rf"\b{name}\b", sources[f]):
                problems.append(f"docs/design.md walk: `{code}`: {f} has no {name}")
            continue
        im = re.match(r"(?:h->policy->)?([A-Za-z_]\w*)(\(.*\))?$", code)
        if im and "_" in im.group(1) and not re.search(rf"\b{im.group(1)}\b", everything):
            problems.append(f"docs/design.md walk: `{code}`: no file has {im.group(1)}")
    return problems


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
    problems += check_docs(root)
    unit_count = 0
    if units is not None:
        more, unit_count = check_units(root, units)
        problems += more
    for p in problems:
        print(f"layers: {p}")
    if problems:
        return 1
    print(f"layers: {len(files)} files, no include reaches up; the picture and the walk "
          "of docs/design.md current"
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
        elif argv[i] == "--write-diagram":
            return write_diagram(root)
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
