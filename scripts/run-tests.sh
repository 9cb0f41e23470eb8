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
# Suites run this many at a time (HAWK_TEST_JOBS; the machine's CPUs by
# default): most of them are one process on one CPU.  Each suite's output
# goes to a file of its own and is shown whole, in the order the suites
# were started, as soon as it and every suite before it have finished.
jobs=${HAWK_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || jobs=1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
# A test program that runs longer than this has hung: it is stopped and
# fails (HAWK_TEST_TIMEOUT seconds; the slowest programs take about 60).
limit=${HAWK_TEST_TIMEOUT:-600}
started=0 # suites started
shown=0   # suites whose output was shown and counted
names=()

# The suites started and not finished (a finished one has its .rc file).
running() {
  local i n=0
  for ((i = shown; i < started; i++)); do [ -e "$work/$i.rc" ] || n=$((n + 1)); done
  echo "$n"
}

# run NAME COMMAND...: starts one suite in the background (after waiting
# for a free slot), its output, exit status and seconds into $work.
run() {
  local name=$1
  shift
  while [ "$(running)" -ge "$jobs" ]; do
    wait -n 2>/dev/null || sleep 0.1
    show_finished
  done
  local i=$started
  names[i]=$name
  (
    t0=$SECONDS
    timeout -k 10 "$limit" "$@" >"$work/$i.out" 2>&1
    rc=$?
    echo $((SECONDS - t0)) >"$work/$i.sec"
    echo "$rc" >"$work/$i.rc" # last: its presence says the suite is done
  ) &
  started=$((started + 1))
}

# Shows and counts, in order, every finished suite whose predecessors were
# shown.  A suite fails when it exits non-zero, prints no "N passed, N
# failed" line, runs past the time limit, or ran no case at all (everything
# skipped, or nothing registered): a stage that did nothing must say so.
show_finished() {
  while [ "$shown" -lt "$started" ] && [ -e "$work/$shown.rc" ]; do
    count "$shown"
    shown=$((shown + 1))
  done
}

count() {
  local i=$1 name=${names[$1]}
  local rc sec line
  rc=$(cat "$work/$i.rc")
  sec=$(cat "$work/$i.sec")
  echo "== $name"
  cat "$work/$i.out"
  echo "   ($name: $sec s)"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$work/$i.out" | tail -n 1)
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
      run "$p ($policy)" env HAWKALLOC_POLICY="$policy" "$dir/$p"
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
  run "trace format version 3 (chunks, damaged files)" tests/lab/v3.sh
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
wait
show_finished
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
