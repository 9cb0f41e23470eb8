#!/usr/bin/env bash
# The layer check (scripts/layers.py, `make layers`): the tree passes it, and
# a copy of the tree with one include reaching up, one file missing from
# docs/design.md's table, a stale picture of the layers, a walk of malloc and
# free naming what is gone, or a unit test without a layer or including a
# header above its layer, fails it with a line naming the problem.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# copy: a fresh copy of what the check reads, in $tmp/t
copy() {
  rm -rf "$tmp/t"
  mkdir -p "$tmp/t/docs" "$tmp/t/scripts"
  cp -r src include "$tmp/t/"
  cp docs/design.md "$tmp/t/docs/"
  cp scripts/layers.py "$tmp/t/scripts/"
  mkdir -p "$tmp/t/tests"
  cp tests/unit_*.c "$tmp/t/tests/"
}

# fails NAME PATTERN [layers.py args]: the copy fails the check with a line
# matching PATTERN
fails() {
  local name=$1 pattern=$2
  shift 2
  out=$(python3 "$tmp/t/scripts/layers.py" --root "$tmp/t" "$@" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && grep -q "$pattern" <<<"$out"; then
    ok "$name"
  else
    bad "$name (rc $rc): $out"
  fi
}

if out=$(python3 scripts/layers.py 2>&1); then
  ok "the tree keeps its layers ($out)"
else
  bad "the tree keeps its layers:"
  echo "$out"
fi

copy
# before heap.c's first include, whichever it is
sed -i '0,/^#include "/s//#include "tcache.h"\n#include "/' "$tmp/t/src/heap.c"
out=$(python3 "$tmp/t/scripts/layers.py" --root "$tmp/t" 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q '^layers: src/heap.c:[0-9]*: includes src/tcache.h of a higher layer' <<<"$out"; then
  ok "an include reaching up fails, naming the file and line"
else
  bad "an include reaching up fails (rc $rc): $out"
fi

copy
echo '#include "config.h"' >"$tmp/t/src/stray.c"
out=$(python3 "$tmp/t/scripts/layers.py" --root "$tmp/t" 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q '^layers: src/stray.c: not in the layer table' <<<"$out"; then
  ok "a file missing from the table fails"
else
  bad "a file missing from the table fails (rc $rc): $out"
fi

# The Makefile's UNIT_LAYER (its continued lines joined): each unit test and its layer.
units=$(awk '/^UNIT_LAYER :=/ { f = 1 } f { line = line $0; if ($0 !~ /\\$/) { print line; exit } }' \
  Makefile | sed 's/^UNIT_LAYER := *//; s/\\//g; s/  */ /g')

copy
sed -i 's/^| 10 | arena |/| 10 | arenas |/' "$tmp/t/docs/design.md"
fails "a picture of the layers older than the table fails" \
  '^layers: docs/design.md: the picture of the layers is out of date'
python3 "$tmp/t/scripts/layers.py" --root "$tmp/t" --write-diagram >/dev/null
if python3 "$tmp/t/scripts/layers.py" --root "$tmp/t" >/dev/null 2>&1; then
  ok "--write-diagram redraws it from the table"
else
  bad "--write-diagram redraws it from the table"
fi

copy
sed -i 's/`heap.c: heap_free` → `free_one`/`heap.c: heap_free_gone` → `free_one`/' "$tmp/t/docs/design.md"
fails "the walk naming a function its file does not have fails" \
  '^layers: docs/design.md walk: `heap.c: heap_free_gone`: heap.c has no heap_free_gone'

copy
sed -i 's/`take_locked` splits/`take_gone_locked` splits/' "$tmp/t/docs/design.md"
fails "the walk naming a function no file has fails" \
  '^layers: docs/design.md walk: `take_gone_locked`: no file has take_gone_locked'

copy
sed -i 's/`override.c: malloc`/`gone.c: malloc`/' "$tmp/t/docs/design.md"
fails "the walk naming a file that is gone fails" \
  '^layers: docs/design.md walk: `gone.c: malloc`: no file gone.c'

copy
echo 'int main(void) { return 0; }' >"$tmp/t/tests/unit_stray.c"
fails "a unit test without a layer fails" \
  '^layers: tests/unit_stray.c: no layer' --units "$units"

copy
sed -i 's|#include "unit.h"|#include "unit.h"\n#include "process.h"|' "$tmp/t/tests/unit_heap.c"
fails "a unit test including a header above its layer fails" \
  '^layers: tests/unit_heap.c:[0-9]*: includes src/process.h of a higher layer' --units "$units"

if out=$(python3 scripts/layers.py --units "$units" 2>&1); then
  ok "every unit test has its layer ($out)"
else
  bad "every unit test has its layer: $out"
fi

srcs=$(python3 scripts/layers.py --sources block)
if [[ " $srcs " == *" src/block.c "* && " $srcs " != *" src/heap.c "* && " $srcs " != *" src/process.c "* ]]; then
  ok "the block layer's unit test links the layers up to block only ($srcs)"
else
  bad "the block layer's sources: $srcs"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
