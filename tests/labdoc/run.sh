#!/usr/bin/env bash
# run.sh - docs/lab.md stays true (part of `make test`): the deterministic
# figures of its tables (peak utilization of every policy on the 11 -bal
# traces, with the thread cache and in textbook mode) must be what a fresh
# `hawk replay` gives (scripts/lab-tables.sh --check; `make lab-tables`
# regenerates them).  The check itself must refuse a doc with one figure
# changed.
# Environment: HAWK (default build/hawk), HAWK_TRACES (default
# <repo>/../shared/traces).
set -uo pipefail
unset LD_PRELOAD HAWKALLOC_POLICY HAWKALLOC_HEAPS HAWKALLOC_TCACHE

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
hawk=${HAWK:-$root/build/hawk}
traces=${HAWK_TRACES:-$root/../shared/traces}

# shellcheck source=tests/harness.sh
source "$root/tests/harness.sh"
make_work

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

finish
