#!/usr/bin/env bash
# run.sh - the compatibility suite: real programs and CPython's own test
# modules under HawkAlloc (LD_PRELOAD=build/libhawkalloc.so), compared with
# the system allocator where that makes sense: python3 (test_dict,
# test_threading, test_subprocess, test_multiprocessing_fork with
# PYTHONMALLOC=malloc), perl, sqlite3, git, xz with threads, redis-server
# (which links jemalloc itself) and a jemalloc pointer handed to HawkAlloc.
# See tests/compat/README.md; the cases are in tests/compat/cases.sh.
#
# Usage: tests/compat/run.sh [CASE...]      (default: every case; `make test-compat`)
#        tests/compat/run.sh --list
# Environment:
#   HAWK_PRELOAD_LIB  library to preload (default: <repo>/build/libhawkalloc.so)
#   COMPAT_SCALE      multiplies every timeout (default 1)
#   COMPAT_INSTALL=0  do not apt-get install missing programs (they are skipped)
#   COMPAT_KEEP=1     keep the work directory (its path is printed)
# HAWKALLOC_* variables reach the preloaded runs unchanged, except
# HAWKALLOC_STATS, which is unset (its table would count as messages).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=cases.sh
source "$here/cases.sh"

if [[ ${1-} == --list ]]; then
  printf '%s\n' "${COMPAT_CASES[@]}"
  exit 0
fi

lib=${HAWK_PRELOAD_LIB:-$root/build/libhawkalloc.so}
if [[ ! -f $lib ]]; then
  echo "compat: $lib does not exist; build it with 'make lib'" >&2
  exit 2
fi
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
if [[ $lib == *[[:space:]:]* ]]; then
  echo "compat: LD_PRELOAD cannot take a path with spaces or colons: $lib" >&2
  exit 2
fi
# ld.so only warns when a preload fails, and every case would then test the
# system allocator: make sure the library really loads.
maps_rc=0
maps=$(LD_PRELOAD=$lib cat /proc/self/maps 2>&1) || maps_rc=$?
# (The maps name the file the library's links lead to: libhawkalloc.so.0.1.0.)
if ((maps_rc == 0)) && [[ $maps$'\n' != *" $(readlink -f "$lib")"$'\n'* ]]; then
  echo "compat: $lib does not load with LD_PRELOAD:" >&2
  grep -v '^[0-9a-f]*-' <<<"$maps" | head -n 5 >&2 || true
  exit 2
fi

unset HAWKALLOC_STATS
cases=("$@")
((${#cases[@]})) || cases=("${COMPAT_CASES[@]}")
for name in "${cases[@]}"; do
  if ! declare -F "case_$name" >/dev/null; then
    echo "compat: no case '$name' (see --list)" >&2
    exit 2
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hawk-compat.XXXXXX")
cleanup() {
  if [[ ${COMPAT_KEEP:-0} == 1 ]]; then
    echo "compat: work directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
# On INT or TERM the running cases are stopped first (their own traps shut
# down what they started, such as redis-server), then the suite.
case_pids=()
on_signal() {
  local pid
  for pid in "${case_pids[@]}"; do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# Installs, with apt-get, the packages of the cases whose programs are
# missing (as scripts/install-deps.sh does for `make deps`); only as root,
# and not with COMPAT_INSTALL=0.  A failure only means those cases skip.
packages=()
for name in "${cases[@]}"; do
  if [[ -n $(compat_missing "$name") ]]; then
    for pkg in ${COMPAT_PACKAGES[$name]-}; do
      [[ " ${packages[*]} " == *" $pkg "* ]] || packages+=("$pkg")
    done
  fi
done
if ((${#packages[@]})) && [[ ${COMPAT_INSTALL:-1} != 0 ]] && ((EUID == 0)) &&
  command -v apt-get >/dev/null 2>&1; then
  if (export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}") \
    >"$work/apt.log" 2>&1; then
    echo "compat: installed ${packages[*]}"
  else
    echo "compat: could not install ${packages[*]}: $(tail -n 1 "$work/apt.log")"
  fi
fi

export COMPAT_LIB=$lib COMPAT_DIR=$here
passed=0 failed=0 skipped=0
suite_start=$SECONDS
# Cases run COMPAT_JOBS at a time (default: the machine's CPUs), each in a
# process group of its own; their results are shown in the order of the
# cases as each finishes.  test_multiprocessing_fork alone took 164 of the
# suite's 303 s at 44643cf, run one case at a time.
jobs=${COMPAT_JOBS:-$(nproc 2>/dev/null || echo 1)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || jobs=1
case_pids=()
# start NAME: starts the case in the background; $work/NAME/rc and .../ms
# appear when it has finished (rc last).
start() {
  local name=$1 dir=$work/$1
  mkdir -p "$dir"
  (
    t0=$(date +%s%N)
    case_rc=0
    # A last bound for the whole case (each program in it has its own).
    # shellcheck disable=SC2016 # expanded by the inner bash
    (cd "$dir" && exec timeout -k 10 "$(limit 1200)" bash -c 'source "$0"; compat_exec "$1"' \
      "$here/cases.sh" "$name") </dev/null >"$dir/case.log" 2>&1 || case_rc=$?
    echo $((($(date +%s%N) - t0) / 1000000)) >"$dir/ms"
    echo "$case_rc" >"$dir/rc"
  ) &
  case_pids+=($!)
}
# report NAME: shows and counts the result of the finished case.
report() {
  local name=$1 dir=$work/$1
  local case_rc ms secs
  case_rc=$(cat "$dir/rc")
  ms=$(cat "$dir/ms")
  secs=$(printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)))
  if [[ ! -s $dir/problems ]] && ((case_rc != 0)); then
    {
      echo "the case stopped with exit status $(describe_status "$case_rc")"
      tail -n 5 "$dir/case.log" | cut -c 1-200
    } >>"$dir/problems"
  fi
  if [[ -s $dir/problems ]]; then
    echo "FAIL compat_$name ($secs s)"
    sed 's/^/     /' "$dir/problems"
    failed=$((failed + 1))
  else
    echo "ok   compat_$name ($secs s)"
    passed=$((passed + 1))
  fi
  [[ ! -s $dir/notes ]] || sed 's/^/     - /' "$dir/notes"
  # Free the case's disk space at once (the xz case writes 250 MB).
  [[ ${COMPAT_KEEP:-0} == 1 ]] || rm -rf "$dir"
}
todo=()
for name in "${cases[@]}"; do
  missing=$(compat_missing "$name")
  if [[ -n $missing ]]; then
    echo "skip compat_$name (missing: ${missing% })"
    skipped=$((skipped + 1))
  else
    todo+=("$name")
  fi
done
# running: how many started cases have not finished.
running() {
  local i n=0
  for ((i = shown; i < next; i++)); do [[ -e $work/${todo[i]}/rc ]] || n=$((n + 1)); done
  echo "$n"
}
next=0  # the next case to start
shown=0 # the cases before it are reported
while ((shown < ${#todo[@]})); do
  if ((next < ${#todo[@]})) && (($(running) < jobs)); then
    start "${todo[next]}"
    next=$((next + 1))
  elif [[ -e $work/${todo[shown]}/rc ]]; then
    report "${todo[shown]}"
    shown=$((shown + 1))
  else
    sleep 0.2
  fi
done

echo "compat: $((SECONDS - suite_start)) s in all"
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
