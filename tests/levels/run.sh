#!/usr/bin/env bash
# The compile-time levels of src/config.h: the library built with
# -DHAWK_STATS=0 counts no heap events (hawk_stats reports 0 mallocs and 0
# splits where the default build reports them), and still allocates.  The
# assertion levels are tested by unit_placement, which the test builds
# compile with HAWK_ASSERT_LEVEL=2.  And the built library's .bss stays
# under 32 KiB.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/harness.sh
source tests/harness.sh
make_work
tmp=$work
src=$(python3 scripts/layers.py --sources process)
cc=${CC:-cc}
flags="-std=c11 -D_GNU_SOURCE -O1 -Iinclude -Isrc -DHAWK_NO_OVERRIDE"

for stats in 1 0; do
  if ! $cc $flags -DHAWK_STATS=$stats tests/levels/probe.c $src -o "$tmp/probe$stats" -lpthread \
    2>"$tmp/err"; then
    fail "the library builds with HAWK_STATS=$stats: $(head -n 3 "$tmp/err")"
    continue
  fi
  read -r mallocs splits < <("$tmp/probe$stats")
  if [ "$stats" = 1 ] && [ "${mallocs:-0}" -ge 8 ] && [ "${splits:-0}" -ge 1 ]; then
    ok "HAWK_STATS=1 counts the heap's mallocs and splits ($mallocs, $splits)"
  elif [ "$stats" = 0 ] && [ "$mallocs" = 0 ] && [ "$splits" = 0 ]; then
    ok "HAWK_STATS=0 compiles the counts out (0, 0) and still allocates"
  else
    fail "HAWK_STATS=$stats: mallocs '$mallocs', splits '$splits'"
  fi
done

# Every process that preloads the library maps its .bss: under 32 KiB (issue
# 15; the heap table is there, the remote stacks are mapped at start-up).
lib=${HAWK_LEVELS_LIB:-build/libhawkalloc.so}
if [ -e "$lib" ]; then
  bss=$(size "$lib" | awk 'NR == 2 { print $3 }')
  if [ "${bss:-999999}" -lt 32768 ]; then
    ok "the library's .bss is under 32 KiB ($bss bytes)"
  else
    fail "the library's .bss is under 32 KiB: $bss bytes ($lib)"
  fi
fi

# Every process that preloads the library reads its relocations when it is
# loaded: packed (DT_RELR, where the linker and the C library support it),
# the 1,100 relative ones take under 4 KiB instead of 27 KiB of .rela.dyn.
if [ -e "$lib" ] && printf 'int x;' | $cc -shared -fPIC -x c - -o "$tmp/relr.so" \
  -Wl,-z,pack-relative-relocs -Wl,--fatal-warnings 2>/dev/null &&
  readelf -SW "$tmp/relr.so" | grep -q RELR; then
  rel=0
  for size in $(readelf -SW "$lib" | sed -n 's/.*\] \.rel[ar]\.dyn  *[A-Z]*  *[0-9a-f]*  *[0-9a-f]*  *\([0-9a-f]*\) .*/\1/p'); do
    rel=$((rel + 16#$size))
  done
  if [ "$rel" -lt 4096 ]; then
    ok "the library's relocations take under 4 KiB ($rel bytes)"
  else
    fail "the library's relocations take under 4 KiB: $rel bytes ($lib)"
  fi
fi

# A process that allocates and frees, and sets no HAWKALLOC_* variable,
# reads none of the library's read-only data (.rodata and the unwind tables
# after it, one mapping), so none of it is resident: the kernel maps 64 KiB
# around each read fault, so that one read of a constant costs up to 64 KiB
# of every process.  The registry's zero leaf (64 KiB of zeros) is read only
# for a pointer in a range no leaf covers; it used to share such a window
# with the library's other constants.  Start-up read the option names and
# their defaults (32 KiB resident in every process until 2026-12-07: "Fixed
# memory of a process" in docs/performance.md).  Five runs, as where the
# library lands decides which pages share a window.
unset_hawk=()
for v in $(env | sed -n 's/^\(HAWKALLOC_[A-Za-z0-9_]*\)=.*/\1/p'); do unset_hawk+=(-u "$v"); done
if [ -e "$lib" ] && read -r off < <(readelf -SW "$lib" | sed -n 's/.*\] \.rodata  *PROGBITS  *[0-9a-f]*  *\([0-9a-f]*\) .*/\1/p') &&
  $cc -std=c11 -D_GNU_SOURCE -O1 tests/levels/leaf.c -o "$tmp/leaf" 2>"$tmp/err"; then
  runs="" bad=0
  for _ in 1 2 3 4 5; do
    read -r size rss < <(env "${unset_hawk[@]}" LD_PRELOAD="$lib" "$tmp/leaf" "$off") || bad=1
    runs+="${rss:-?}/${size:-?} "
    [ "${rss:-}" = 0 ] || bad=1
  done
  if [ $bad = 0 ]; then
    ok "a process that allocates keeps none of the library's read-only data resident (KiB resident/mapped: $runs)"
  else
    fail "a process that allocates keeps none of the library's read-only data resident: KiB resident/mapped $runs($lib)"
  fi
else
  fail "the read-only data probe builds and the library has a .rodata: $(head -n 3 "$tmp/err" 2>/dev/null)"
fi

# A process with one thread touches none of the C library's read-only data
# that the same program without the library leaves alone: registering the
# fork handlers at start-up (glibc's first pthread_atfork reads a constant
# there) and fstat's "" (the kernel reads it there) faulted 64-128 KiB of it
# into every process (docs/performance.md, "Fixed memory of a process").
if [ -e "$lib" ] && $cc -std=c11 -D_GNU_SOURCE -O1 tests/levels/libc_data.c -o "$tmp/libc_data" \
  2>"$tmp/err"; then
  plain="" preloaded="" most=0 bad=0
  for run in 1 2 3 4 5; do
    read -r kb < <("$tmp/libc_data") || bad=1
    plain="$plain${kb:-?} "
    [ "${kb:-0}" -gt "$most" ] && most=$kb
  done
  for run in 1 2 3 4 5; do
    read -r kb < <(LD_PRELOAD=$lib "$tmp/libc_data") || bad=1
    preloaded="$preloaded${kb:-?} "
    [ -n "${kb:-}" ] && [ "$kb" -le "$most" ] || bad=1
  done
  if [ "$bad" = 0 ]; then
    ok "a process with one thread touches no more of the C library's read-only data (KiB resident: $preloaded, without the library $plain)"
  else
    fail "a process with one thread touches no more of the C library's read-only data: KiB resident $preloaded, without the library $plain($lib)"
  fi
else
  fail "the C library data probe builds: $(head -n 3 "$tmp/err" 2>/dev/null)"
fi

# The code of every call lies together, and the rare code out of its way
# (src/config.h: HAWK_HOT, HAWK_COLD; docs/performance.md, "Code
# footprint"): the entry points, the cache's refill and flush and the heap's
# batched paths (.text.hot) lie within 28 KiB, less than the 32 KiB level 1
# instruction cache, and the reports of a misuse (.text.unlikely, which the
# linker puts first) before them.  At ff3fd6a the same functions spanned
# 42 KiB and the reports came after them.
if [ -e "$lib" ]; then
  if out=$(nm -S "$lib" | python3 -c '
import sys
hot = """malloc free calloc realloc malloc_usable_size hawk_malloc hawk_free hawk_calloc
hawk_realloc hawk_usable_size tcache_refill tcache_overflow tcache_take_back heap_alloc
heap_alloc_batch heap_release_cached heap_resize_into""".split()
cold = "report_misuse report_fatal report_assert list_corrupt".split()
fns = {}
for line in sys.stdin:
    f = line.split()
    if len(f) == 4 and f[2] in "tT":
        fns[f[3]] = (int(f[0], 16), int(f[1], 16))
missing = [n for n in hot + cold if n not in fns]
if missing:
    sys.exit("no symbol " + " ".join(missing))
lo = min(fns[n][0] for n in hot)
hi = max(fns[n][0] + fns[n][1] for n in hot)
late = [n for n in cold if fns[n][0] >= lo]
print(hi - lo, " ".join(late) or "-")
'); then
    read -r span late <<<"$out"
    if [ "$span" -le 28672 ] && [ "$late" = - ]; then
      ok "the code of every call lies within 28 KiB, the misuse reports before it ($span bytes)"
    else
      fail "the code of every call lies within 28 KiB, the misuse reports before it: $span bytes, reports after its start: $late ($lib)"
    fi
  else
    fail "the code of every call lies within 28 KiB: $out ($lib)"
  fi
fi

# The code every process runs (start-up, malloc, free, exit) is linked first
# and starts on a 64 KiB boundary (the Makefile's LIB_FIRST): a process that
# allocates and frees a little has at most 64 KiB of the library's code
# resident, the kernel mapping 64 KiB around each fault (88 KiB, all of it,
# before).
if [ -e "$lib" ] && read -r off < <(nm "$lib" | awk '$3 == "hawk_malloc" { print $1 }') &&
  [ -x "$tmp/leaf" ]; then
  runs="" bad=0
  for run in 1 2 3; do
    read -r size rss < <(LD_PRELOAD=$lib "$tmp/leaf" "$off") || bad=1
    runs="$runs${rss:-?}/${size:-?} "
    [ -n "${rss:-}" ] && [ "$rss" -le 64 ] || bad=1
  done
  if [ "$bad" = 0 ]; then
    ok "a process that allocates has at most 64 KiB of the library's code resident (KiB resident/mapped: $runs)"
  else
    fail "a process that allocates has at most 64 KiB of the library's code resident: KiB resident/mapped $runs($lib)"
  fi
fi

finish
