#!/usr/bin/env bash
# The layer check (scripts/layers.py, `make layers`): the tree passes it, and
# a copy of the tree with one include reaching up, or one file missing from
# docs/design.md's table, fails it with a line naming the file.
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
}

if out=$(python3 scripts/layers.py 2>&1); then
  ok "the tree keeps its layers ($out)"
else
  bad "the tree keeps its layers:"
  echo "$out"
fi

copy
sed -i 's|#include "heap.h"|#include "heap.h"\n#include "tcache.h"|' "$tmp/t/src/heap.c"
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

srcs=$(python3 scripts/layers.py --sources block)
if [[ " $srcs " == *" src/block.c "* && " $srcs " != *" src/heap.c "* && " $srcs " != *" src/process.c "* ]]; then
  ok "the block layer's unit test links the layers up to block only ($srcs)"
else
  bad "the block layer's sources: $srcs"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
