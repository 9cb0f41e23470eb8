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

finish
