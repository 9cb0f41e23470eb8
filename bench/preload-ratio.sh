#!/usr/bin/env bash
# preload-ratio.sh - the speed floor: times each workload of the preload suite
# (tests/preload/cases.sh) under the system allocator and under HawkAlloc
# (LD_PRELOAD), interleaved, and prints a Markdown table of the medians and
# their ratio (hawkalloc / system; below 1 is faster), with the geometric
# mean of the ratios.
#
# Usage: bench/preload-ratio.sh [CASE...]      (default: every case; `make bench`)
# Environment:
#   ROUNDS            timed runs of each allocator per case (default 5)
#   BENCH_SCALE       workload size multiplier (default 1, the tests' size, at
#                     which every case runs for more than 0.2 s)
#   HAWK_PRELOAD_LIB  library to preload (default: <repo>/build/libhawkalloc.so)
#   PRELOAD_TIMEOUT   seconds allowed to each program run (default 300)
# Each case first runs once per allocator untimed (warm-up, and a check that
# the outputs agree), then ROUNDS times as system, hawkalloc, system, ...
# Exits 0 unless a program failed under HawkAlloc while it succeeded under the
# system allocator (a crash); progress goes to stderr, the table to stdout.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=../tests/preload/cases.sh
source "$root/tests/preload/cases.sh"

rounds=${ROUNDS:-5}
scale=${BENCH_SCALE:-1}
if ! [[ $rounds =~ ^[1-9][0-9]*$ && $scale =~ ^[1-9][0-9]*$ ]]; then
  echo "bench: ROUNDS and BENCH_SCALE must be positive integers" >&2
  exit 2
fi

lib=${HAWK_PRELOAD_LIB:-$root/build/libhawkalloc.so}
if [[ ! -f $lib ]]; then
  echo "bench: $lib does not exist; build it with 'make lib'" >&2
  exit 2
fi
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
maps_rc=0
maps=$(LD_PRELOAD=$lib cat /proc/self/maps 2>&1) || maps_rc=$?
# (The maps name the file the library's links lead to: libhawkalloc.so.0.1.0.)
if ((maps_rc == 0)) && [[ $maps$'\n' != *" $(readlink -f "$lib")"$'\n'* ]]; then
  echo "bench: $lib does not load with LD_PRELOAD" >&2
  exit 2
fi

cases=("$@")
((${#cases[@]})) || cases=("${PRELOAD_CASES[@]}")
for name in "${cases[@]}"; do
  if ! declare -F "case_$name" >/dev/null; then
    echo "bench: no case '$name' (choose from: ${PRELOAD_CASES[*]})" >&2
    exit 2
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hawk-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# timed_run NAME TAG [VAR=VALUE...]: runs the case once in a fresh directory;
# sets $rc and $secs (wall time of the run).
timed_run() {
  local name=$1 dir="$work/$1.$2" t0 t1
  shift 2
  rm -rf "$dir"
  mkdir -p "$dir"
  set +e
  t0=$EPOCHREALTIME
  (cd "$dir" && preload_run "$name" "$work/$name.in" "$scale" "$@") \
    <"/dev/null" >"$dir.out" 2>"$dir.err"
  rc=$?
  t1=$EPOCHREALTIME
  set -e
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
}

# The last line of a stderr file that is not bash's report of the signal.
last_error() {
  local line
  line=$({ grep -v 'cases.sh: line [0-9]*: ' "$1" || true; } | tail -n 1)
  [[ -n $line ]] || line=$(tail -n 1 "$1")
  printf '%s\n' "${line:0:160}"
}

median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

status_text() {
  local rc=$1 sig
  if ((rc == 124)); then
    echo "timeout"
  elif ((rc > 128 && rc < 160)) && sig=$(kill -l "$((rc - 128))" 2>/dev/null); then
    echo "SIG$sig"
  else
    echo "exit $rc"
  fi
}

rows=() notes=() ratios=() crashed=0
for name in "${cases[@]}"; do
  missing=$(preload_missing "$name")
  if [[ -n $missing ]]; then
    notes+=("$name: skipped, missing ${missing% }")
    continue
  fi
  echo "bench: $name (scale $scale, $rounds rounds)" >&2
  if ! preload_prep "$name" "$work/$name.in" "$scale" >"$work/$name.prep.log" 2>&1; then
    notes+=("$name: skipped, could not prepare its inputs")
    continue
  fi
  # Warm-up pair: fills the page cache and checks that both runs agree.
  timed_run "$name" sys
  rc_sys=$rc
  timed_run "$name" hawk "LD_PRELOAD=$lib"
  rc_hawk=$rc
  if ((rc_sys != 0)); then
    notes+=("$name: skipped, fails under the system allocator ($(status_text "$rc_sys"))")
    continue
  fi
  if ((rc_hawk != 0)); then
    rows+=("| $name | - | crashed ($(status_text "$rc_hawk")) | - |")
    notes+=("$name: crashed under HawkAlloc: $(last_error "$work/$name.hawk.err")")
    crashed=1
    continue
  fi
  if grep -q 'hawkalloc:' "$work/$name.hawk.err"; then
    notes+=("$name: HawkAlloc reported: $(grep -m 1 'hawkalloc:' "$work/$name.hawk.err" | cut -c 1-160)")
  fi
  if ! cmp -s "$work/$name.sys.out" "$work/$name.hawk.out"; then
    notes+=("$name: output under HawkAlloc differs from the system allocator's (see tests/preload/run.sh)")
  fi
  t_sys=() t_hawk=()
  for ((r = 0; r < rounds; r++)); do
    timed_run "$name" sys
    t_sys+=("$secs")
    timed_run "$name" hawk "LD_PRELOAD=$lib"
    if ((rc != 0)); then
      break
    fi
    t_hawk+=("$secs")
  done
  if ((rc != 0)); then
    rows+=("| $name | - | crashed ($(status_text "$rc")) | - |")
    notes+=("$name: crashed under HawkAlloc in a timed round: $(last_error "$work/$name.hawk.err")")
    crashed=1
    continue
  fi
  m_sys=$(median "${t_sys[@]}")
  m_hawk=$(median "${t_hawk[@]}")
  ratio=$(awk -v s="$m_sys" -v h="$m_hawk" 'BEGIN { printf "%.3f", (s > 0 ? h / s : 0) }')
  rows+=("| $name | $m_sys | $m_hawk | $ratio |")
  ratios+=("$ratio")
  rm -rf "$work/$name".*
done

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
[[ -n $cpu ]] || cpu=$(uname -m)
echo "## HawkAlloc preload speed: hawkalloc / system allocator"
echo
echo "Machine: $(nproc) CPUs, $cpu, $(uname -s) $(uname -r) $(uname -m)," \
  "$(getconf GNU_LIBC_VERSION 2>/dev/null || echo "unknown libc")."
echo "Median wall time of $rounds interleaved runs each, workload scale $scale, $(date -u +%Y-%m-%d)."
echo
echo "| case | system median s | hawkalloc median s | ratio |"
echo "| --- | ---: | ---: | ---: |"
((${#rows[@]} == 0)) || printf '%s\n' "${rows[@]}"
echo
if ((${#ratios[@]})); then
  geo=$(printf '%s\n' "${ratios[@]}" | awk '$1 > 0 { s += log($1); n++ } END { printf "%.3f", n ? exp(s / n) : 0 }')
  echo "Geometric mean of ratios: **$geo** over ${#ratios[@]} cases (below 1: HawkAlloc is faster)."
else
  echo "Geometric mean of ratios: none (no case completed)."
fi
if ((${#notes[@]})); then
  echo
  printf -- '- %s\n' "${notes[@]}"
fi
exit "$crashed"
