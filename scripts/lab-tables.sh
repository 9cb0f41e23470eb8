#!/usr/bin/env bash
# lab-tables.sh - the deterministic figures of docs/lab.md, from a fresh run:
# the peak utilization of every policy on the 11 default -bal traces, with the
# thread cache (the first table between the lab-doc:policies markers) and in
# textbook mode (lab-doc:textbook).  A replay of one thread makes the same
# calls in the same order every time, so these figures do not depend on the
# machine (throughput does, and is left to `make lab-doc`).
#   scripts/lab-tables.sh           rewrites the tables in docs/lab.md (make lab-tables)
#   scripts/lab-tables.sh --check   compares them; prints each table that differs
#                                   and exits 1 (tests/labdoc/run.sh)
# Environment: HAWK (default build/hawk), HAWK_TRACES (default
# <repo>/../shared/traces), LAB_MD (default docs/lab.md).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lab-env.sh
source "$here/lab-env.sh"
export LC_ALL=C
doc=${LAB_MD:-$root/docs/lab.md}
check=0
[[ ${1-} == --check ]] && check=1

work=$(mktemp -d "${TMPDIR:-/tmp}/hawk-lab-tables.XXXXXX")
trap 'rm -rf "$work"' EXIT
files=()
for t in amptjp binary binary2 cccp coalescing cp-decl expr random random2 realloc realloc2; do
  files+=("$traces/$t-bal.rep")
done
"$hawk" replay --tsv --rounds 1 --policy all "${files[@]}" >"$work/policies.tsv"
"$hawk" replay --tsv --rounds 1 --textbook --policy all "${files[@]}" >"$work/textbook.tsv"
awk -F'\t' -v kind=util -f "$here/lab-table.awk" "$work/policies.tsv" >"$work/policies.md"
awk -F'\t' -v kind=util -f "$here/lab-table.awk" "$work/textbook.tsv" >"$work/textbook.md"

# The first table after each marker is replaced, or compared.
python3 - "$doc" "$work" "$check" <<'PY'
import sys
doc, work, check = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
lines = open(doc).read().split("\n")
bad = 0
for name in ("policies", "textbook"):
    fresh = open("%s/%s.md" % (work, name)).read().rstrip("\n").split("\n")
    start = lines.index("<!-- lab-doc:%s -->" % name)
    i = start
    while not lines[i].startswith("| trace |"):
        i += 1
    j = i
    while j < len(lines) and lines[j].startswith("|"):
        j += 1
    if lines[i:j] == fresh:
        continue
    if check:
        bad += 1
        print("docs/lab.md, table %s: differs from a fresh run:" % name)
        for old, new in zip(lines[i:j], fresh):
            if old != new:
                print("  doc:   " + old + "\n  fresh: " + new)
        if j - i != len(fresh):
            print("  %d rows in the doc, %d in the fresh run" % (j - i, len(fresh)))
    else:
        lines[i:j] = fresh
        print("docs/lab.md: table %s regenerated" % name)
if check:
    print("the tables of docs/lab.md match a fresh run" if not bad else "%d table(s) differ" % bad)
    sys.exit(1 if bad else 0)
open(doc, "w").write("\n".join(lines))
PY
