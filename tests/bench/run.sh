#!/usr/bin/env bash
# run.sh - a smoke test of the benchmark scripts (`make test-bench`, part of
# `make test`), so that they cannot rot between benchmark runs:
#   * bench/run.sh, one quick round of simple, xfree, pool and larson at 1 and 2
#     threads under glibc and HawkAlloc: every run completes, the checksums
#     agree, the replay line (hawk replay of the malloc-lab traces) has a
#     throughput for both;
#   * bench/real.sh, one round of sqlite3 under glibc and HawkAlloc: both run,
#     the outputs are identical, the tables and the charts are written;
#   * a preloaded "allocator" built here that hands out overlapping blocks
#     makes both scripts exit 1 and name the failure;
#   * bench/region (a heap per request, issue 16): every mode completes with
#     the same checksum, and bench/region.sh prints a row per mode;
#   * bad settings are one line and exit status 2.
# No timing is asserted.  Needs build/libhawkalloc.so, build/hawk and the
# programs of bench/ (make lib tools bench-progs).  Ends with "N passed,
# N failed"; exits non-zero on a failure.
set -uo pipefail
unset LD_PRELOAD ROUNDS BENCH_QUICK BENCH_THREADS BENCH_ONLY BENCH_ALLOCATORS BENCH_SCALE \
  BENCH_TRACES BENCH_TIMEOUT BENCH_BUDGET BENCH_CALLGRIND BENCH_PRELOAD BENCH_OUT BENCH_REPLAY \
  HAWK_PRELOAD_LIB REAL_ONLY REAL_SCALE

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
traces=${HAWK_TRACES:-$root/../shared/traces}
# shellcheck source=tests/harness.sh
source "$root/tests/harness.sh"
make_work

for f in "$root/build/libhawkalloc.so" "$root/build/hawk" "$root/build/bench/launch" \
  "$root/build/bench/simple" "$root/build/bench/xfree" "$root/build/bench/pool"; do
  if [[ ! -e $f ]]; then
    echo "bench: $f does not exist; build it with 'make lib tools bench-progs'" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
done
export BENCH_TIMEOUT=120 BENCH_TRACES=$traces

# --- bench/run.sh ------------------------------------------------------------

out=$work/run
ROUNDS=1 BENCH_QUICK=1 BENCH_CALLGRIND=0 BENCH_THREADS="1 2" BENCH_ONLY="simple xfree pool larson" \
  BENCH_ALLOCATORS="glibc hawkalloc" BENCH_OUT=$out "$root/bench/run.sh" >"$work/run.log" 2>&1
rc=$?
if ((rc == 0)); then ok "bench/run.sh: simple, xfree, pool and larson run"; else fail "bench/run.sh: simple, xfree, pool and larson run" "exit $rc" "$(tail -n 5 "$work/run.log")"; fi
runs=$(awk -F'\t' 'NR > 1 && $1 != "replay" && $1 != "cpu" && $7 == "exit:0"' "$out/raw.tsv" 2>/dev/null | wc -l)
if ((runs == 16)); then
  ok "bench/run.sh: 16 runs (4 programs x 2 thread counts x 2 allocators) completed"
else
  fail "bench/run.sh: 16 runs completed" "got $runs" "$(cat "$out/raw.tsv" 2>/dev/null)"
fi
# Each configuration: one checksum under both allocators.
split=$(awk -F'\t' 'NR > 1 && $1 != "replay" && $1 != "cpu" { k = $1 "/" $2; if (k in c && c[k] != $9) print k; c[k] = $9 }' "$out/raw.tsv" 2>/dev/null)
if [[ -z $split ]] && ! grep -q 'differs from' "$out/results.md" 2>/dev/null; then
  ok "bench/run.sh: the checksums agree between glibc and HawkAlloc"
else
  fail "bench/run.sh: the checksums agree" "$split"
fi
rows=$(grep -cE '^\| (simple|xfree|pool|larson) \| [12] \| [0-9.]+ \| [0-9.]+ \([0-9.]+\) \|$' "$out/results.md" 2>/dev/null)
if ((rows == 16)) && grep -q '^larson 2t/1t: glibc' "$out/results.md"; then
  ok "bench/run.sh: the time and peak RSS tables have the 8 configurations, larson scaling without 4 threads"
else
  fail "bench/run.sh: the time and peak RSS tables have the 8 configurations, larson scaling" "got $rows rows" "$(head -n 40 "$out/results.md" 2>/dev/null)"
fi
if compgen -G "$traces/*.rep" >/dev/null; then
  if grep -qE '^\| glibc \| [0-9.]+ \| 1\.000 \| 1 \|$' "$out/results.md" &&
    grep -qE '^\| hawkalloc \| [0-9.]+ \| [0-9.]+ \| 1 \|$' "$out/results.md"; then
    ok "bench/run.sh: the replay line has a throughput for glibc and HawkAlloc"
  else
    fail "bench/run.sh: the replay line has a throughput for glibc and HawkAlloc" "$(sed -n '/## Trace replay/,/^## [^T]/p' "$out/results.md" 2>/dev/null)"
  fi
else
  skip "bench/run.sh: the replay line" "no malloc-lab traces in $traces"
fi

# --- bench/real.sh -----------------------------------------------------------

if command -v sqlite3 >/dev/null 2>&1; then
  out=$work/real
  ROUNDS=1 REAL_ONLY=sqlite BENCH_ALLOCATORS="glibc hawkalloc" BENCH_OUT=$out \
    "$root/bench/real.sh" >"$work/real.log" 2>&1
  rc=$?
  if ((rc == 0)); then ok "bench/real.sh: sqlite3 runs"; else fail "bench/real.sh: sqlite3 runs" "exit $rc" "$(tail -n 5 "$work/real.log")"; fi
  sums=$(awk -F'\t' 'NR > 1 && $7 == "exit:0" { print $2, $8 }' "$out/raw.tsv" 2>/dev/null | sort)
  if [[ $(wc -l <<<"$sums") == 2 && $(cut -d ' ' -f 2 <<<"$sums" | sort -u | wc -l) == 1 ]] &&
    grep -q 'was identical to glibc' "$out/results.md"; then
    ok "bench/real.sh: the output under HawkAlloc is glibc's"
  else
    fail "bench/real.sh: the output under HawkAlloc is glibc's" "$sums"
  fi
  if grep -qE '^\| sqlite \| [0-9.]+ \| [0-9.]+ \([0-9.]+\) \|$' "$out/results.md" &&
    grep -qE '^\| hawkalloc \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| 1 \|' "$out/results.md"; then
    ok "bench/real.sh: the tables and the geometric means are written"
  else
    fail "bench/real.sh: the tables and the geometric means are written" "$(head -n 30 "$out/results.md" 2>/dev/null)"
  fi
  if ! command -v gnuplot >/dev/null 2>&1; then
    skip "bench/real.sh: the charts" "gnuplot is not installed"
  elif grep -q '<svg' "$out/time.svg" 2>/dev/null && grep -q '<svg' "$out/rss.svg" 2>/dev/null; then
    ok "bench/real.sh: the charts are SVG"
  else
    fail "bench/real.sh: the charts are SVG" "$(cat "$out"/*.gnuplot.log 2>/dev/null)"
  fi
else
  skip "bench/real.sh" "sqlite3 is not installed"
fi

# --- a broken allocator is caught ---------------------------------------------

cat >"$work/broken.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
/* malloc that, after 200,000 calls (the scripts' probes make fewer), now
 * and then hands out 16 bytes inside the previous block. */
void *malloc(size_t n) {
  static void *(*real)(size_t);
  static unsigned count;
  static char *last;
  if (!real) real = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
  if (++count > 200000 && count % 50 == 0 && last && n >= 16) return last + 16;
  char *p = real(n + 32);
  last = p;
  return p;
}
EOF
if cc -shared -fPIC -O1 -o "$work/broken.so" "$work/broken.c" -ldl 2>"$work/cc.log"; then
  ROUNDS=1 BENCH_QUICK=1 BENCH_CALLGRIND=0 BENCH_REPLAY=0 BENCH_THREADS=1 BENCH_ONLY=pool \
    BENCH_ALLOCATORS="glibc hawkalloc" HAWK_PRELOAD_LIB=$work/broken.so BENCH_OUT=$work/broken-run \
    "$root/bench/run.sh" >"$work/broken-run.log" 2>&1
  rc=$?
  if ((rc == 1)) && grep -q 'pool/1 under hawkalloc, round 1: signal' "$work/broken-run/results.md"; then
    ok "bench/run.sh: an allocator that corrupts blocks fails (exit 1, named in the notes)"
  else
    fail "bench/run.sh: an allocator that corrupts blocks fails" "exit $rc" "$(tail -n 8 "$work/broken-run/results.md" 2>/dev/null)"
  fi
  if command -v sqlite3 >/dev/null 2>&1; then
    ROUNDS=1 REAL_ONLY=sqlite BENCH_ALLOCATORS="glibc hawkalloc" HAWK_PRELOAD_LIB=$work/broken.so \
      BENCH_OUT=$work/broken-real "$root/bench/real.sh" >"$work/broken-real.log" 2>&1
    rc=$?
    if ((rc == 1)) && grep -q '^- sqlite under hawkalloc' "$work/broken-real/results.md"; then
      ok "bench/real.sh: an allocator that corrupts blocks fails (exit 1, named in the notes)"
    else
      fail "bench/real.sh: an allocator that corrupts blocks fails" "exit $rc" "$(tail -n 8 "$work/broken-real/results.md" 2>/dev/null)"
    fi
  fi
else
  fail "build broken.so" "$(cat "$work/cc.log")"
fi

# --- bench/region.sh (issue 16: a heap per request) -----------------------------

# Each mode of bench/region (hawk-heap: a heap per request destroyed in one
# call; hawk-free, libc-free: a free of each object; mi-heap, mi-free where
# region-mi was built with mimalloc.h) completes with the same checksum; the
# script prints a row per mode.
if [[ -x $root/build/bench/region && -x $root/build/bench/region-libc && -x $root/build/bench/region-mi ]]; then
  modes="hawk-heap hawk-free libc-free"
  if "$root/build/bench/region-mi" mi-heap 1 1 >/dev/null 2>&1; then modes+=" mi-heap mi-free"; fi
  checks=""
  for m in $modes; do
    case $m in
      hawk-*) bin=region ;;
      mi-*) bin=region-mi ;;
      *) bin=region-libc ;;
    esac
    line=$("$root/build/bench/$bin" "$m" 20 500 2>&1)
    checks+="$(sed -n 's/.* check=\([0-9a-f]*\) .*/\1/p' <<<"$line") "
  done
  if [[ $(tr ' ' '\n' <<<"$checks" | grep -c .) == $(wc -w <<<"$modes") &&
    $(tr ' ' '\n' <<<"$checks" | grep . | sort -u | wc -l) == 1 ]]; then
    ok "bench/region: every mode ($modes) completes with the same checksum"
  else
    fail "bench/region: every mode completes with the same checksum" "modes: $modes" "checks: $checks"
  fi
  table=$(cd "$root" && ROUNDS=1 REQUESTS=5 OBJECTS=100 bench/region.sh 2>&1)
  rows=$(grep -cE '^\| (hawk-heap|hawk-free|libc-free|mi-heap|mi-free) \| [0-9.]+ \| [0-9.]+ \| [0-9]+ \| ' <<<"$table")
  if ((rows == $(wc -w <<<"$modes"))); then
    ok "bench/region.sh: a row per mode ($rows)"
  else
    fail "bench/region.sh: a row per mode" "$table"
  fi
else
  fail "bench/region is built (make bench-progs)"
fi

# --- bad settings ---------------------------------------------------------------

for s in "bench/run.sh ROUNDS=0" "bench/run.sh BENCH_ONLY=nosuch" "bench/real.sh ROUNDS=x" \
  "bench/real.sh REAL_ONLY=nosuch" "bench/real.sh REAL_SCALE=0.5" "bench/real.sh BENCH_ALLOCATORS=hawkalloc"; do
  err=$(env "${s#* }" BENCH_OUT="$work/bad" "$root/${s%% *}" 2>&1 >/dev/null)
  rc=$?
  if ((rc == 2)) && [[ $(wc -l <<<"$err") == 1 && $err == bench* ]]; then
    ok "${s%% *} with ${s#* }: one line, exit 2"
  else
    fail "${s%% *} with ${s#* }: one line, exit 2" "exit $rc" "$err"
  fi
done

finish
