#!/usr/bin/env bash
# tests/fuzz/run.sh - builds the libFuzzer harness (tests/fuzz/fuzz_ops.c)
# into build/fuzz/ and runs it for SECONDS seconds split over the four
# placement policies, one libFuzzer process per policy.
#
#   tests/fuzz/run.sh [--seconds N] [--build-only]      (make fuzz SECONDS=N, make fuzz-smoke)
#
# Environment:
#   CORE_SRC       the library's core sources (make passes its CORE_SRC; asked from make if unset)
#   FUZZ_CC        the compiler (default: clang)
#   FUZZ_POLICIES  the policies to run (default: segregated first-fit next-fit best-fit)
#   FUZZ_ARGS      more libFuzzer flags, e.g. "-use_value_profile=1"
#   HAWKALLOC_HEAPS  default 1: the harness is one thread, so one heap; hawk_check
#                  then has no empty heaps to walk after every operation
#
# The committed seed corpus (tests/fuzz/corpus/) is copied into
# build/fuzz/corpus/, which libFuzzer grows; the committed one is never
# rewritten.  A crashing input is kept in build/fuzz/crashes/POLICY-crash-*,
# each policy's full output in build/fuzz/logs/POLICY.log.  Ends with
# "N passed, N failed" (one case per policy) and exits non-zero on a failure.
# Without clang's libFuzzer (and no way to install it) it says so and exits 0.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

seconds=${FUZZ_SECONDS:-60}
build_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:-}; shift ;;
    --build-only) build_only=1 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) seconds=$1 ;;
  esac
  shift
done
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz: SECONDS must be a positive number of seconds, not '$seconds'" >&2
  exit 2
fi

out=build/fuzz
policies=${FUZZ_POLICIES:-segregated first-fit next-fit best-fit}
cc=${FUZZ_CC:-clang}
mkdir -p "$out/obj" "$out/logs" "$out/crashes" "$out/corpus"

skip() {
  echo "SKIP fuzz: $1"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
}

# --- is libFuzzer there? ------------------------------------------------------

probe() {
  command -v "$cc" >/dev/null 2>&1 || return 1
  printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
    >"$out/probe.c"
  "$cc" -fsanitize=fuzzer,address,undefined "$out/probe.c" -o "$out/probe" >"$out/probe.log" 2>&1
}

# Installs clang and the runtime that carries libFuzzer (Debian: libclang-rt-N-dev).
install_libfuzzer() {
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  local pkgs="libclang-rt-dev"
  if command -v "$cc" >/dev/null 2>&1; then
    local major
    major=$("$cc" -dumpversion 2>/dev/null | cut -d. -f1)
    [ -n "$major" ] && pkgs="libclang-rt-$major-dev"
  else
    pkgs="clang libclang-rt-dev"
    cc=clang
  fi
  echo "fuzz: installing $pkgs (libFuzzer)"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # a list of packages
  apt-get install -y -qq $pkgs >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $pkgs >/dev/null 2>&1; }
}

if ! probe && ! { install_libfuzzer && probe; }; then
  skip "clang's libFuzzer (-fsanitize=fuzzer) is not available and could not be installed ($cc; see $out/probe.log)"
fi
# hawk_check's walks are left out of the coverage instrumentation (when the
# compiler can): they run after every operation and only slow fuzzing down.
ignore=(-fsanitize-coverage-ignorelist=tests/fuzz/coverage-ignore.txt)
"$cc" -fsanitize=fuzzer "${ignore[@]}" "$out/probe.c" -o "$out/probe" >/dev/null 2>&1 || ignore=()

# --- build ------------------------------------------------------------------

if [ -z "${CORE_SRC:-}" ]; then
  # shellcheck disable=SC2016 # $(CORE_SRC) is for make to expand
  CORE_SRC=$(printf 'fuzz-print-core-src:\n\t@echo $(CORE_SRC)\n' |
    make --no-print-directory -s -f Makefile -f - fuzz-print-core-src)
fi
[ -n "$CORE_SRC" ] || { echo "fuzz: cannot find CORE_SRC in the Makefile" >&2; exit 2; }

# shellcheck disable=SC2054 # the commas belong to -fsanitize
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Iinclude -Isrc -DHAWK_NO_OVERRIDE
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all "${ignore[@]}")
warn=(-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes)
headers=(src/*.h include/hawkalloc.h tests/fuzz/coverage-ignore.txt)
stamp="$out/obj/flags"
want_flags="$cc ${flags[*]} ${warn[*]}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want_flags" ]; then rm -f "$out"/obj/*.o; fi

# compile SOURCE [EXTRA FLAGS]: one object, rebuilt when it or a header is newer.
compile() {
  local src=$1 obj
  shift
  obj="$out/obj/$(basename "$src" .c).o"
  if [ -f "$obj" ] && [ "$obj" -nt "$src" ]; then
    local h stale=0
    for h in "${headers[@]}"; do [ "$h" -nt "$obj" ] && stale=1; done
    [ $stale -eq 0 ] && return 0
  fi
  "$cc" "${flags[@]}" "${warn[@]}" "$@" -c "$src" -o "$obj"
}

echo "== fuzz: building $out/fuzz_ops ($cc, libFuzzer + ASan + UBSan)"
pids=()
# shellcheck disable=SC2086 # CORE_SRC is a list of files
for src in $CORE_SRC; do
  compile "$src" &
  pids+=($!)
done
compile tests/fuzz/fuzz_ops.c -Werror &
pids+=($!)
build_failed=0
for pid in "${pids[@]}"; do wait "$pid" || build_failed=1; done
objs=()
# shellcheck disable=SC2086
for src in $CORE_SRC tests/fuzz/fuzz_ops.c; do objs+=("$out/obj/$(basename "$src" .c).o"); done
if [ $build_failed -ne 0 ] ||
  ! "$cc" "${flags[@]}" "${objs[@]}" -o "$out/fuzz_ops" -lpthread -ldl; then
  echo "FAIL fuzz: the harness does not build"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "$want_flags" >"$stamp"
[ $build_only -eq 1 ] && exit 0

# --- run ----------------------------------------------------------------------

# The working corpus: the committed seeds plus whatever earlier runs found.
cp -n tests/fuzz/corpus/* "$out/corpus/" 2>/dev/null
read -r -a policy_list <<<"$policies"
per=$((seconds / ${#policy_list[@]}))
[ $per -lt 1 ] && per=1
echo "== fuzz: ${#policy_list[@]} policies x $per s, working corpus $out/corpus" \
  "($(find "$out/corpus" -type f | wc -l) inputs)"

# field NAME LOG: a libFuzzer final statistic (-print_final_stats=1).
field() { sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1; }

passed=0
failed=0
total_execs=0
for policy in "${policy_list[@]}"; do
  log="$out/logs/$policy.log"
  prefix="$out/crashes/$policy-"
  before=$(find "$out/crashes" -name "$policy-*" -type f | wc -l)
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
  HAWKALLOC_POLICY=$policy HAWKALLOC_HEAPS=${HAWKALLOC_HEAPS:-1} \
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$out/fuzz_ops" -max_total_time="$per" -rss_limit_mb=2048 -timeout=60 \
    -print_final_stats=1 -artifact_prefix="$prefix" ${FUZZ_ARGS:-} "$out/corpus" >"$log" 2>&1
  rc=$?
  execs=$(field number_of_executed_units "$log")
  rate=$(field average_exec_per_sec "$log")
  rss=$(field peak_rss_mb "$log")
  status=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -n 1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$status")
  corp=$(sed -n 's/.*corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$status")
  total_execs=$((total_execs + ${execs:-0}))
  summary="$policy: ${execs:-?} executions (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, peak rss ${rss:-?} MB"
  after=$(find "$out/crashes" -name "$policy-*" -type f | wc -l)
  if [ $rc -eq 0 ] && [ "$after" -eq "$before" ]; then
    echo "ok   $summary"
    passed=$((passed + 1))
  else
    echo "FAIL $summary: exit $rc"
    grep -E 'VIOLATION|hawkalloc:|ERROR: |SUMMARY: |runtime error|deadly signal|out-of-memory|timeout' "$log" |
      head -n 20 | sed 's/^/       /'
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [ -n "$artifact" ]; then
      echo "       input kept in $artifact; replay it step by step with"
      echo "       HAWKALLOC_POLICY=$policy HAWKALLOC_HEAPS=${HAWKALLOC_HEAPS:-1} HAWK_FUZZ_VERBOSE=1" \
        "$out/fuzz_ops $artifact"
    fi
    echo "       full output: $log"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $total_execs executions in all"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
