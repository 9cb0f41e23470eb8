#!/usr/bin/env bash
# Valgrind's memcheck with HawkAlloc preloaded: the program's own leaks and
# errors are reported (HawkAlloc announces its blocks with client requests,
# a created heap's too: heap.c), HawkAlloc's internals are not.  Ends with "N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$root/build/libhawkalloc.so
if ! command -v valgrind >/dev/null 2>&1; then
  echo "skip valgrind: not installed (scripts/install-deps.sh installs it)"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -g -O0 "$root/tests/valgrind/buggy.c" -o "$work/buggy"
cc -g -O0 -I"$root/include" "$root/tests/valgrind/heap.c" -o "$work/heap" -L"$root/build" \
  -lhawkalloc -Wl,-rpath,"$root/build"
passed=0
failed=0
# expect NAME COMMAND...: one case, passed when COMMAND succeeds.
expect() {
  local name=$1
  shift
  if "$@"; then
    echo "ok   valgrind_$name"
    passed=$((passed + 1))
  else
    echo "FAIL valgrind_$name"
    failed=$((failed + 1))
  fi
}
# memcheck intercepts only libc's malloc, so the program's calls reach HawkAlloc.
vg() {
  valgrind --trace-children=yes --soname-synonyms=somalloc=nouserintercepts \
    --leak-check=full "$@" 2>&1
}
vg env LD_PRELOAD="$lib" "$work/buggy" bug >"$work/bug.log" || true
vg env LD_PRELOAD="$lib" "$work/buggy" >"$work/clean.log" || true
vg env LD_PRELOAD="$lib" "$work/heap" bug >"$work/heap-bug.log" || true
vg env LD_PRELOAD="$lib" "$work/heap" >"$work/heap-clean.log" || true
prog() { grep -A1000 "Command: $work/\(buggy\|heap\)" "$1"; }
has() { prog "$1" | grep -q "$2"; }
expect leak_reported has "$work/bug.log" "definitely lost: 20[0-9] bytes in 1 blocks"
expect read_after_free_reported has "$work/bug.log" "Invalid read of size 1"
expect leak_points_at_the_program has "$work/bug.log" "main (buggy.c"
expect clean_program_has_no_errors has "$work/clean.log" "ERROR SUMMARY: 0 errors"
expect clean_program_has_no_leaks has "$work/clean.log" "All heap blocks were freed"
# A created heap's blocks (hawk_heap_create) are announced too.
expect heap_read_after_free_reported has "$work/heap-bug.log" "Invalid read of size 1"
expect heap_read_after_free_points_at_the_program has "$work/heap-bug.log" "main (heap.c"
expect heap_destroy_with_live_blocks_has_no_errors has "$work/heap-clean.log" \
  "ERROR SUMMARY: 0 errors"
expect heap_destroy_with_live_blocks_leaks_nothing has "$work/heap-clean.log" \
  "All heap blocks were freed"
if [ "$failed" -ne 0 ]; then
  echo "--- memcheck output of the buggy run:"
  prog "$work/bug.log" | head -40
  echo "--- memcheck output of the clean run:"
  prog "$work/clean.log" | head -40
  echo "--- memcheck output of the created heap's runs:"
  prog "$work/heap-bug.log" | head -40
  prog "$work/heap-clean.log" | head -40
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
