#!/usr/bin/env bash
# v3.sh - trace format version 3 (docs/trace-format.md): a recorded trace of
# several threads and many chunks replays with the peak of live bytes that
# trace_peak.py computes from the file on its own; damaged files (cut short,
# a chunk's length or count that does not match, a bad number, absurd
# values) are refused by `hawk replay` and trace_peak.py in one line with
# exit 1; and a few hundred randomly damaged copies never crash or hang the
# replay.  Ends with "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lab-env.sh
source "$here/../../scripts/lab-env.sh" test

py_prog='
import threading
def work(n):
    keep = []
    for i in range(n):
        keep.append(bytearray(i % 3000))
        if len(keep) > 500: keep = keep[250:]
ts = [threading.Thread(target=work, args=(30000,)) for _ in range(2)]
for t in ts: t.start()
work(60000)
for t in ts: t.join()
'
# to_v2 IN OUT: the records of trace IN (any version trace_peak.py reads)
# written to OUT as version 2's 48-byte records.
to_v2() {
  python3 - "$1" "$2" "$here" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[3])
from trace_peak import records
d = open(sys.argv[1], "rb").read()
out = bytearray(d[:32])
struct.pack_into("<III", out, 8, 2, 32, 48)
for seq, thread, op, result, size, aux, heap in records(sys.argv[1]):
    out += struct.pack("<QIB3xQQQi4x", seq, thread, op, result, size, aux, heap)
open(sys.argv[2], "wb").write(out)
PY
}

trace=$work/v3.trace
"$hawk" run --trace "$trace" -- /usr/bin/python3 -c "$py_prog" 2>"$work/run.err"
expect "python3 runs traced" 0 "$?"
chunks=$(python3 - "$trace" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
print(struct.unpack_from("<III", d, 8), end=" ")
off, n = 32, 0
while off < len(d):
    n += 1
    off += 32 + struct.unpack_from("<I", d, off + 4)[0]
print(n)
PY
)
if [[ $chunks =~ ^\(3,\ 32,\ 0\)\ ([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 4)); then
  ok "the trace is version 3 (header 32, record size 0) in ${BASH_REMATCH[1]} chunks"
else
  fail "the trace is version 3 in several chunks" "$chunks"
fi
read -r records want < <(python3 "$here/trace_peak.py" "$trace")
expect "its records come from several threads" 1 "$(($(python3 "$here/trace_peak.py" --threads "$trace") > 1))"
got=$("$hawk" replay --tsv --rounds 1 "$trace" 2>"$work/replay.err" | awk -F'\t' 'NR == 2 { print $5 }')
expect "it replays ($records records) with the peak live bytes of trace_peak.py" "$want" "$got"
# The same records written as version 2 (48-byte records) replay alike.
to_v2 "$trace" "$work/v2.trace"
got=$("$hawk" replay --tsv --rounds 1 "$work/v2.trace" 2>"$work/replay.err" | awk -F'\t' 'NR == 2 { print $5 }')
expect "the same records as version 2 replay with the same peak" "$want" "$got"

# A thread's buffer written out while it records (hawk_trace_flush from the
# main thread, through ctypes): the file has chunks that repeat records
# written before (skip > 0); hawk replay and trace_peak.py drop the repeats,
# so the replay has the ops and peak of the same records written as
# version 2.
ftrace=$work/flush.trace
"$hawk" run --trace "$ftrace" -- /usr/bin/python3 -c '
import ctypes, threading
flush = ctypes.CDLL(None).hawk_trace_flush
done = []
def work():
    for i in range(200000): bytearray(i % 2000 + 1)
    done.append(1)
t = threading.Thread(target=work)
t.start()
while not done: flush()
t.join()
' 2>"$work/flush.err"
expect "python3 flushing the trace while a thread records runs" 0 "$?"
skips=$(python3 - "$ftrace" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, n = 32, 0
while off < len(d):
    n += struct.unpack_from("<I", d, off + 16)[0] > 0
    off += 32 + struct.unpack_from("<I", d, off + 4)[0]
print(n)
PY
)
to_v2 "$ftrace" "$work/flush-v2.trace"
got=$("$hawk" replay --tsv --rounds 1 "$ftrace" 2>"$work/replay.err" | awk -F'\t' 'NR == 2 { print $4, $5 }')
want=$("$hawk" replay --tsv --rounds 1 "$work/flush-v2.trace" 2>"$work/replay.err" | awk -F'\t' 'NR == 2 { print $4, $5 }')
if ((skips > 0)) && [[ -n $got && $got == "$want" ]]; then
  ok "a trace with $skips chunks that repeat earlier records replays as its records do (ops, peak: $got)"
else
  fail "a trace with chunks that repeat earlier records replays as its records do" \
    "chunks with skip: $skips" "ops, peak: $got; as version 2: $want"
fi

# damage NAME PYTHON: a copy of the trace changed by PYTHON (d: a bytearray
# of the file; first: the offset of the first chunk, c: of the second).
damage() {
  python3 - "$trace" "$work/$1.trace" "$2" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
first = 32
c = first + 32 + struct.unpack_from("<I", d, first + 4)[0]
exec(sys.argv[3])
open(sys.argv[2], "wb").write(d)
PY
}
# refused NAME WHAT PYTHON: the damaged copy is refused in one line naming WHAT.
refused() {
  local name=$1 what=$2
  damage "$name" "$3"
  local err rc lines
  err=$(timeout 60 "$hawk" replay --rounds 1 "$work/$name.trace" 2>&1 >/dev/null)
  rc=$?
  lines=$(grep -c . <<<"$err")
  if ((rc == 1 && lines == 1)) && grep -q -- "$what" <<<"$err"; then
    ok "hawk replay refuses a trace with $name in one line: ${err##*: }"
  else
    fail "hawk replay refuses a trace with $name in one line ($what)" "exit $rc" "$err"
  fi
  err=$(timeout 60 python3 "$here/trace_peak.py" "$work/$name.trace" 2>&1 >/dev/null)
  rc=$?
  lines=$(grep -c . <<<"$err")
  if ((rc == 1 && lines == 1)); then
    ok "trace_peak.py refuses it too"
  else
    fail "trace_peak.py refuses a trace with $name in one line" "exit $rc" "$err"
  fi
}
refused "a chunk header cut short" "cut short" 'del d[c + 10:]'
refused "a chunk's records cut short" "cut short" 'del d[c - 5:]'
refused "a chunk length past the end" "claims 4294967295 bytes" \
  'struct.pack_into("<I", d, first + 4, 0xFFFFFFFF)'
refused "a chunk count one too many" "ends after" \
  'struct.pack_into("<I", d, first + 8, struct.unpack_from("<I", d, first + 8)[0] + 1)'
refused "a chunk count one too few" "bytes after" \
  'struct.pack_into("<I", d, first + 8, struct.unpack_from("<I", d, first + 8)[0] - 1)'
refused "an absurd chunk count" "claims 4294967295 records" \
  'struct.pack_into("<I", d, first + 8, 0xFFFFFFFF)'
refused "a chunk of thread 0" "of thread 0" 'struct.pack_into("<I", d, first + 12, 0)'
refused "a damaged chunk mark" "no chunk header" 'd[c] ^= 0xFF'
refused "a varint of 11 bytes" "bad or cut number" 'd[first + 32:first + 44] = b"\xff" * 12'
refused "a record of op 0" "op 0" 'd[first + 32] &= 0xF8'
refused "a chunk that skips all its records" "of them written before" \
  'd[first + 16:first + 20] = d[first + 8:first + 12]'
refused "record size 48 in a version 3 header" "unsupported header" \
  'struct.pack_into("<I", d, 16, 48)'

# A small trace damaged at random: a replay ends (exit 0 or 1), never dies of
# a signal or hangs.
small=$work/small.trace
"$hawk" run --trace "$small" -- /usr/bin/python3 -c 'print(len([bytearray(i) for i in range(3000)]))' \
  >/dev/null 2>&1
python3 - "$small" "$work/rand" <<'PY'
import random, sys
d = open(sys.argv[1], "rb").read()
rng = random.Random(3)
for i in range(200):
    b = bytearray(d)
    if i % 4 == 0:
        del b[rng.randrange(32, len(b)):]
    for _ in range(rng.randrange(1, 4)):
        if len(b) > 32:
            b[rng.randrange(32, len(b))] = rng.randrange(256)
    open(f"{sys.argv[2]}.{i}", "wb").write(b)
PY
bad=0 refusals=0
for ((i = 0; i < 200; i++)); do
  timeout 20 "$hawk" replay --rounds 1 "$work/rand.$i" >/dev/null 2>"$work/rand.err"
  rc=$?
  ((rc == 1)) && refusals=$((refusals + 1))
  if ((rc != 0 && rc != 1)); then
    bad=$((bad + 1))
    echo "  rand.$i: exit $rc: $(head -c 300 "$work/rand.err")"
  fi
done
if ((bad == 0)); then
  ok "200 randomly damaged traces: each replay ends with exit 0 or 1 ($refusals refused)"
else
  fail "randomly damaged traces: a replay crashed or hung" "$bad of 200"
fi
finish
