#!/usr/bin/env bash
# run.sh - the preload suite: runs real programs (python3, perl, sqlite3,
# bash, sort, gcc, git, ls, true) once with the system allocator and once
# with LD_PRELOAD=build/libhawkalloc.so, and requires the same stdout and exit
# status, and no "hawkalloc:" message on the preloaded run's stderr.
#
# Usage: tests/preload/run.sh [CASE...]      (default: every case; `make test-preload`)
#        tests/preload/run.sh --list
# Environment:
#   HAWK_PRELOAD_LIB  library to preload (default: <repo>/build/libhawkalloc.so)
#   PRELOAD_SCALE     workload size multiplier (default 1)
#   PRELOAD_TIMEOUT   seconds allowed to each program under test (default 300)
#   PRELOAD_KEEP=1    keep the work directory (its path is printed)
# HAWKALLOC_* variables in the environment (e.g. HAWKALLOC_POLICY=first-fit)
# reach both runs unchanged; only the preloaded one acts on them.  Except
# HAWKALLOC_STATS, which is unset: its table would count as "hawkalloc:"
# messages.  The workloads are in tests/preload/cases.sh.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=cases.sh
source "$here/cases.sh"

if [[ ${1-} == --list ]]; then
  printf '%s\n' "${PRELOAD_CASES[@]}"
  exit 0
fi

lib=${HAWK_PRELOAD_LIB:-$root/build/libhawkalloc.so}
if [[ ! -f $lib ]]; then
  echo "preload: $lib does not exist; build it with 'make lib'" >&2
  exit 2
fi
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
if [[ $lib == *[[:space:]:]* ]]; then
  echo "preload: LD_PRELOAD cannot take a path with spaces or colons: $lib" >&2
  exit 2
fi
# ld.so only warns and goes on when a preload fails, which would make every
# case pass against the system allocator: make sure the library really loads.
# (A library that loads but crashes is left to the cases to report.)
maps_rc=0
maps=$(LD_PRELOAD=$lib cat /proc/self/maps 2>&1) || maps_rc=$?
# (The maps name the file the library's links lead to: libhawkalloc.so.0.1.0.)
if ((maps_rc == 0)) && [[ $maps$'\n' != *" $(readlink -f "$lib")"$'\n'* ]]; then
  echo "preload: $lib does not load with LD_PRELOAD:" >&2
  grep -v '^[0-9a-f]*-' <<<"$maps" | head -n 5 >&2 || true
  exit 2
fi

unset HAWKALLOC_STATS
scale=${PRELOAD_SCALE:-1}
cases=("$@")
((${#cases[@]})) || cases=("${PRELOAD_CASES[@]}")
for name in "${cases[@]}"; do
  if ! declare -F "case_$name" >/dev/null; then
    echo "preload: no case '$name' (see --list)" >&2
    exit 2
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hawk-preload.XXXXXX")
cleanup() {
  if [[ ${PRELOAD_KEEP:-0} == 1 ]]; then
    echo "preload: work directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Describes an exit status: "0", "1", "139 (SIGSEGV)", "124 (timeout)".
describe_status() {
  local rc=$1 sig
  if ((rc == 124)); then
    echo "$rc (timeout after ${PRELOAD_TIMEOUT:-300} s)"
  elif ((rc > 128 && rc < 160)) && sig=$(kill -l "$((rc - 128))" 2>/dev/null); then
    echo "$rc (SIG$sig)"
  else
    echo "$rc"
  fi
}

# run_one NAME TAG [VAR=VALUE...]: runs the case into $work/NAME.TAG.{out,err}
# and prints its exit status.
run_one() {
  local name=$1 dir="$work/$1.$2" rc=0
  shift 2
  mkdir -p "$dir"
  set +e
  (cd "$dir" && preload_run "$name" "$work/$name.in" "$scale" "$@") \
    <"/dev/null" >"$dir.out" 2>"$dir.err"
  rc=$?
  set -e
  echo "$rc"
}

# add_tail FILE LABEL: adds the last lines of FILE, if any, to the problems.
add_tail() {
  if [[ -s $1 ]]; then
    problems+=("$2 (last lines):")
    problems+=("$(tail -n 5 "$1" | cut -c 1-200)")
  fi
}

passed=0 failed=0 skipped=0
for name in "${cases[@]}"; do
  missing=$(preload_missing "$name")
  if [[ -n $missing ]]; then
    echo "skip preload_$name (missing: ${missing% })"
    skipped=$((skipped + 1))
    continue
  fi
  problems=()
  if ! preload_prep "$name" "$work/$name.in" "$scale" >"$work/$name.prep.log" 2>&1; then
    problems+=("could not prepare the inputs: $(tail -n 3 "$work/$name.prep.log")")
  else
    rc_sys=$(run_one "$name" sys)
    rc_hawk=$(run_one "$name" hawk "LD_PRELOAD=$lib")
    out_sys=$work/$name.sys.out out_hawk=$work/$name.hawk.out err_hawk=$work/$name.hawk.err
    if [[ $rc_sys != 0 ]]; then
      problems+=("fails under the system allocator too (exit $(describe_status "$rc_sys"))")
      add_tail "$work/$name.sys.err" "stderr of the system-allocator run"
    fi
    if [[ $rc_sys != "$rc_hawk" ]]; then
      problems+=("exit status: system $(describe_status "$rc_sys"), hawkalloc $(describe_status "$rc_hawk")")
    fi
    if ! cmp -s "$out_sys" "$out_hawk"; then
      problems+=("stdout differs ($(wc -c <"$out_sys") vs $(wc -c <"$out_hawk") bytes):")
      problems+=("$(diff -a -u --label system --label hawkalloc "$out_sys" "$out_hawk" 2>&1 | head -n 12 | cut -c 1-200 || true)")
    fi
    if grep -q 'hawkalloc:' "$err_hawk"; then
      problems+=("hawkalloc messages on stderr:")
      problems+=("$(grep 'hawkalloc:' "$err_hawk" | head -n 5 | cut -c 1-200)")
    fi
    if grep -q 'cannot be preloaded' "$err_hawk"; then
      problems+=("$(grep 'cannot be preloaded' "$err_hawk" | head -n 1)")
    fi
    if ((${#problems[@]})) && [[ $rc_hawk != 0 ]] && ! grep -q 'hawkalloc:' "$err_hawk"; then
      add_tail "$err_hawk" "stderr of the preloaded run"
    fi
  fi
  if ((${#problems[@]})); then
    echo "FAIL preload_$name"
    printf '%s\n' "${problems[@]}" | sed 's/^/     /'
    failed=$((failed + 1))
  else
    echo "ok   preload_$name"
    passed=$((passed + 1))
  fi
  # Free the case's disk space at once (ls and sort write megabytes).
  [[ ${PRELOAD_KEEP:-0} == 1 ]] || rm -rf "$work/$name".*
done

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
