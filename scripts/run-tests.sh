#!/usr/bin/env bash
# Runs every test program and the preload suite, adds up their
# "N passed, N failed" lines and ends with the total in the same form.
#   scripts/run-tests.sh [--no-preload] [--dir DIR] [PROGRAM...]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
dir=build/tests
preload=1
progs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-preload) preload=0 ;;
    --dir) dir=$2; shift ;;
    *) progs+=("$1") ;;
  esac
  shift
done
if [ ${#progs[@]} -eq 0 ]; then
  for f in "$dir"/unit_* "$dir"/test_*; do [ -x "$f" ] && progs+=("$(basename "$f")"); done
fi
# Programs that run once per placement policy (HAWK_POLICIES to choose).
per_policy=" test_stress unit_heap unit_check test_api test_tcache test_hostile test_events "
policies=${HAWK_POLICIES:-segregated first-fit next-fit best-fit}
# Programs that run once more in textbook mode (no thread cache, one heap):
# turning the cache off must not weaken a check.
textbook=" test_misuse "
passed=0
failed=0
skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# A test program that runs longer than this has hung: it is stopped and
# fails (HAWK_TEST_TIMEOUT seconds; the slowest programs take about 60).
limit=${HAWK_TEST_TIMEOUT:-600}

# run NAME COMMAND...: runs one suite, shows its output, adds its counts.
# A suite fails when it exits non-zero, prints no "N passed, N failed" line,
# runs past the time limit, or ran no case at all (everything skipped, or
# nothing registered): a stage that did nothing must say so.
run() {
  local name=$1
  shift
  echo "== $name"
  local t0=$SECONDS
  timeout -k 10 "$limit" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  echo "   ($name: $((SECONDS - t0)) s)"
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "FAIL $name: still running after $limit s (hung?)"
    failed=$((failed + 1))
    return
  fi
  if [ -z "$line" ]; then
    echo "FAIL $name: exited $rc without a summary line"
    failed=$((failed + 1))
    return
  fi
  local p f s
  p=$(echo "$line" | awk '{print $1}')
  f=$(echo "$line" | awk '{print $3}')
  s=$(echo "$line" | sed -n 's/.*, \([0-9][0-9]*\) skipped.*/\1/p')
  s=${s:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL $name: exited $rc"
    f=1
  fi
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL $name: ran no case ($s skipped)"
    f=1
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
}

for p in "${progs[@]}"; do
  if [[ $per_policy == *" $p "* ]]; then
    for policy in $policies; do
      run "$p ($policy)" env HAWKALLOC_POLICY=$policy "$dir/$p"
    done
  else
    run "$p" "$dir/$p"
  fi
  if [[ $textbook == *" $p "* ]]; then
    run "$p (HAWKALLOC_TCACHE=0)" env HAWKALLOC_TCACHE=0 "$dir/$p"
  fi
done
if [ $preload -eq 1 ]; then
  run "preload suite" tests/preload/run.sh
  run "lab tools (hawk run, replay, map)" tests/lab/run.sh
  run "created heaps in a trace (record, replay)" tests/lab/heaps.sh
  run "heap explorer (hawk view, headless Chromium)" tests/view/run.sh
  run "hawk grade (malloc-lab allocators)" tests/grade/run.sh
  run "hawk map on small heaps (zoom, titles, --at, --policy all)" tests/map/run.sh
  run "docs/lab.md's tables against a fresh run" tests/labdoc/run.sh
  run "valgrind memcheck" tests/valgrind/run.sh
  run "man pages (lint, options, variables, messages)" tests/man/run.sh
  run "examples (docs/lab.md quotes their output)" tests/examples/run.sh
  run "bash completion of hawk" tests/completion/run.sh
  run "the version in one place, the soname (no root)" tests/package/version.sh
  run "benchmark scripts (smoke)" tests/bench/run.sh
  run "layers (scripts/layers.py)" tests/layers/run.sh
  run "compile-time levels (HAWK_STATS)" tests/levels/run.sh
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
