#!/usr/bin/env bash
# heaps.sh - a created heap in a trace (docs/trace-format.md, version 2 and on):
# tests/lab/heaps.c is traced with `hawk run --trace` and replayed with
# `hawk replay`; trace_peak.py reads the file on its own.  A heap made,
# 1,000 blocks of 100 bytes in it, 10 freed, the heap destroyed with 990
# live, then 5 blocks of 1,000 bytes of the default heap allocated and freed.
# Records: 1 create + 1,000 + 10 + 1 destroy of heap 16 (1,012 with its id),
# 5 + 5 of the default heap.  The replay frees the 990 at the destroy:
# 1,000 + 10 + 990 + 10 = 2,010 ops and a peak of 100,000 live bytes
# (without the destroy's frees: 1,020 ops and 104,000).  The trace up to
# the destroy, rewritten as version 1, still replays.  Ends with
# "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lab-env.sh
source "$here/../../scripts/lab-env.sh" test
replay_field() {
  local file=$1 col=$2
  shift 2
  "$hawk" replay --tsv --rounds 1 "$@" "$file" 2>"$work/replay.err" |
    awk -F'\t' -v c="$col" 'NR == 2 { print $c }'
}

if cc -std=c11 -I"$root/include" "$here/heaps.c" -o "$work/heaps" -L"$root/build" -lhawkalloc \
  -Wl,-rpath,"$root/build" 2>"$work/heaps.err"; then
  htrace=$work/heaps.trace
  "$hawk" run --trace "$htrace" -- "$work/heaps" 2>"$work/heaps.err"
  expect "a program with a created heap runs traced" 0 "$?"
  expect "its trace: records, peak, records of heap 16, creates, destroys (trace_peak.py)" \
    "1022 100000 1012 1 1" "$(python3 "$here/trace_peak.py" --heaps "$htrace")"
  expect "its replay: ops (the destroy frees the heap's 990 live blocks)" 2010 \
    "$(replay_field "$htrace" 4)"
  expect "its replay: peak live bytes" 100000 "$(replay_field "$htrace" 5)"
  # The trace up to the destroy written as version 1 (40-byte records, no
  # heap id, no op 6) still reads: 1,000 mallocs and 10 frees.
  python3 - "$htrace" "$work/heaps-v1.trace" "$here" <<'EOF'
import struct, sys
sys.path.insert(0, sys.argv[3])
from trace_peak import records
d = open(sys.argv[1], "rb").read()
out = bytearray(d[:32])
struct.pack_into("<III", out, 8, 1, 32, 40)
for seq, thread, op, result, size, aux, _heap in records(sys.argv[1]):
    if op == 7:
        break
    if op != 6:
        out += struct.pack("<QIB3xQQQ", seq, thread, op, result, size, aux)
open(sys.argv[2], "wb").write(out)
EOF
  expect "the trace as version 1: ops and peak live" "1010 100000" \
    "$(replay_field "$work/heaps-v1.trace" 4) $(replay_field "$work/heaps-v1.trace" 5)"
else
  fail "tests/lab/heaps.c builds" "$(cat "$work/heaps.err")"
fi
finish
