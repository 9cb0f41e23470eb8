#!/usr/bin/env bash
# run.sh - docs/lab.md stays true (part of `make test`): the deterministic
# figures of its tables (peak utilization of every policy on the 11 -bal
# traces, with the thread cache and in textbook mode) must be what a fresh
# `hawk replay` gives (scripts/lab-tables.sh --check; `make lab-tables`
# regenerates them).  The check itself must refuse a doc with one figure
# changed.  The three figures of "used" / "taken" have one definition each.
# Environment: HAWK (default build/hawk), HAWK_TRACES (default
# <repo>/../shared/traces).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lab-env.sh
source "$here/../../scripts/lab-env.sh" test

if [[ ! -x $hawk ]]; then
  fail "hawk built" "$hawk is missing (make tools)"
  finish
fi
if [[ ! -f $traces/binary-bal.rep ]]; then
  skip "docs/lab.md's tables against a fresh run" "no traces in $traces"
  finish
fi

if out=$(HAWK=$hawk HAWK_TRACES=$traces "$root/scripts/lab-tables.sh" --check 2>&1); then
  ok "docs/lab.md's utilization tables match a fresh run"
else
  fail "docs/lab.md's utilization tables match a fresh run" "$out (make lab-tables regenerates them)"
fi

# One figure of the textbook table changed: the check must see it.
python3 - "$root/docs/lab.md" "$work/lab.md" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split("\n")
i = lines.index("<!-- lab-doc:textbook -->")
while not lines[i].startswith("| binary-bal |"):
    i += 1
lines[i] = re.sub(r"(\d+)\.(\d)%", lambda m: "%s.%d%%" % (m.group(1), (int(m.group(2)) + 1) % 10), lines[i], count=1)
open(sys.argv[2], "w").write("\n".join(lines))
PY
if out=$(LAB_MD=$work/lab.md HAWK=$hawk HAWK_TRACES=$traces "$root/scripts/lab-tables.sh" --check 2>&1); then
  fail "the check refuses a doc with a figure changed" "$out"
elif [[ $out == *"table textbook: differs"*binary-bal* ]]; then
  ok "the check refuses a doc with a figure changed"
else
  fail "the check refuses a doc with a figure changed" "$out"
fi

# The three figures that divide "used" by "taken" (issue 14): one row each
# in section 3's table, each with its own name and where it is shown.
rows=$(grep -E '^\| \*\*(peak utilization|peak occupancy|occupancy)\*\* \|' "$root/docs/lab.md" |
  cut -d'|' -f2 | sort | uniq -c | awk '{ $1 = $1; print }' | tr '\n' ';')
if [[ $rows == '1 **occupancy**;1 **peak occupancy**;1 **peak utilization**;' ]]; then
  ok "docs/lab.md defines peak utilization, peak occupancy and occupancy once each"
else
  fail "docs/lab.md defines peak utilization, peak occupancy and occupancy once each" "rows: $rows"
fi

finish
