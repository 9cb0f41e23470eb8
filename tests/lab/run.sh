#!/usr/bin/env bash
# run.sh - tests of the lab's command, build/hawk (`make test-lab`):
#   * --help of every subcommand; `hawk run` passes on the exit status, the
#     signals and the HAWKALLOC_* environment, finds the library next to itself
#     (build/ and an installed PREFIX/bin) or at $HAWK_LIB;
#   * every classic malloc-lab trace replays and verifies under every policy the
#     library accepts, twice with identical figures; both .rep header variants;
#   * verification: allocators built here that corrupt data (or hand out
#     blocks off their alignment) fail the replay;
#   * the worker gets the allocator's settings, not the user's HAWKALLOC_*;
#     --policy all, --rounds 0 to 1000, a mean without the failed traces;
#     --allocator system and --allocator PATH.so work;
#   * a trace of python3 recorded by `hawk run --trace` replays with the peak of
#     live bytes computed from the file by trace_peak.py;
#   * the SVG maps (hawk map, hawk run --map, frames on SIGUSR2) are well-formed
#     XML (xmllint) and render to PNG (rsvg-convert);
#   * textbook mode (--textbook: no thread cache) shows the policies differing
#     where the cache hides it; bad policies, allocators not installed and a
#     .rep that frees a block twice get one clear line;
#   * make demo runs, and nothing the commands write lands in the repository.
# Parts the library does not support yet are skipped with a message.  Ends
# with "N passed, N failed"; exits non-zero on a failure.
# Environment: HAWK (default build/hawk), HAWK_TRACES (default
# <repo>/../shared/traces).
# Programs get single-quoted scripts whose $variables they expand themselves.
# shellcheck disable=SC2016
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lab-env.sh
source "$here/../../scripts/lab-env.sh" test
lib=$root/build/libhawkalloc.so
policies=(first-fit next-fit best-fit segregated)

for f in "$hawk" "$lib"; do
  if [[ ! -f $f ]]; then
    echo "lab: $f does not exist; build it with 'make lib tools'" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
done

# The repository's state (new files and changed ones) before the commands.
status_at_start=$(git -C "$root" status --porcelain --untracked-files=all 2>/dev/null || true)

# --- help --------------------------------------------------------------------

out=$("$hawk" --help 2>&1)
rc=$?
if ((rc == 0)) && grep -q '^  run ' <<<"$out" && grep -q '^  replay ' <<<"$out" &&
  grep -q '^  map ' <<<"$out" && grep -q '^  render ' <<<"$out"; then
  ok "hawk --help lists run, replay, map and render"
else
  fail "hawk --help lists run, replay, map and render" "exit $rc" "$out"
fi
for cmd in run replay map render; do
  out=$("$hawk" "$cmd" --help 2>&1)
  rc=$?
  if ((rc == 0)) && [[ $out == "usage: hawk $cmd "* ]]; then
    ok "hawk $cmd --help"
  else
    fail "hawk $cmd --help" "exit $rc" "${out:0:200}"
  fi
  out=$("$hawk" help "$cmd" 2>&1)
  if [[ $out == "usage: hawk $cmd "* ]]; then
    ok "hawk help $cmd"
  else
    fail "hawk help $cmd" "${out:0:200}"
  fi
done
"$hawk" frobnicate >/dev/null 2>&1
expect "an unknown command exits 2" 2 $?
"$hawk" replay --no-such-option x >/dev/null 2>&1
expect "an unknown option exits 2" 2 $?

# --- hawk run ----------------------------------------------------------------

"$hawk" run -- sh -c 'exit 7'
expect "hawk run exits with the program's status" 7 $?
"$hawk" run sh -c 'exit 0'
expect "hawk run without -- and status 0" 0 $?
{ "$hawk" run -- sh -c 'kill -USR1 $$'; rc=$?; } 2>/dev/null # bash reports the death
expect "hawk run dies of the program's signal (128+SIGUSR1)" 138 "$rc"
"$hawk" run -- /nonexistent/program 2>/dev/null
expect "hawk run of a missing program exits 127" 127 $?
out=$("$hawk" run -- /usr/bin/python3 -c '
import os, signal, time
signal.signal(signal.SIGUSR2, lambda *a: (os.write(1, b"got USR2"), os._exit(5)))
os.kill(os.getppid(), signal.SIGUSR2)  # hawk passes it back
time.sleep(10)')
rc=$?
expect "hawk run passes SIGUSR2 on to the program" "got USR2 5" "$out $rc"

reallib=$(readlink -f "$lib")
got=$("$hawk" run -- sh -c 'echo "$LD_PRELOAD|$HAWKALLOC_POLICY|$HAWKALLOC_HEAPS|$HAWKALLOC_STATS"')
expect "hawk run preloads build/libhawkalloc.so, no options set" "$reallib|||" "$got"
got=$(cd "$work" && "$hawk" run --policy best-fit --heaps 3 --stats --trace t.trace --map m.svg \
  -- sh -c 'echo "$HAWKALLOC_POLICY|$HAWKALLOC_HEAPS|$HAWKALLOC_STATS|$HAWKALLOC_TRACE|$HAWKALLOC_MAP"' \
  2>/dev/null)
expect "hawk run sets HAWKALLOC_* (paths made absolute; --map m.svg: its snapshot m.snap)" \
  "best-fit|3|1|$work/t.trace|$work/m.snap" "$got"
maps=$("$hawk" run -- cat /proc/self/maps)
if grep -q " $reallib\$" <<<"$maps"; then
  ok "hawk run: the library is loaded in the program"
else
  fail "hawk run: the library is loaded in the program"
fi
err=$("$hawk" run --stats -- /usr/bin/python3 -c 'print(sum(range(1000)))' 2>&1 >/dev/null)
if grep -qi 'footprint' <<<"$err"; then
  ok "hawk run --stats prints the statistics at exit"
else
  fail "hawk run --stats prints the statistics at exit" "${err:0:300}"
fi
"$hawk" run --heaps 99 -- true 2>/dev/null
expect "hawk run --heaps 99 is refused" 2 $?
# The bounds themselves: 1 and 16 heaps are the library's range
# (HAWKALLOC_HEAPS), 0 and 17 are refused.
got=""
for n in 0 1 16 17; do
  out=$("$hawk" run --heaps "$n" -- sh -c 'echo "${HAWKALLOC_HEAPS:-unset}"' 2>/dev/null)
  got+="$n:$out:$? "
done
expect "hawk run --heaps: 1 and 16 run with HAWKALLOC_HEAPS set, 0 and 17 are refused (exit 2)" \
  "0::2 1:1:0 16:16:0 17::2 " "$got"

cp "$lib" "$work/other.so"
got=$(HAWK_LIB=$work/other.so "$hawk" run -- sh -c 'echo "$LD_PRELOAD"')
expect "HAWK_LIB chooses the library" "$work/other.so" "$got"

if make -s -C "$root" install PREFIX="$work/prefix" >"$work/install.log" 2>&1; then
  got=$("$work/prefix/bin/hawk" run -- sh -c 'echo "$LD_PRELOAD"')
  expect "installed hawk preloads PREFIX/lib/libhawkalloc.so" \
    "$(readlink -f "$work/prefix/lib/libhawkalloc.so")" "$got"
else
  fail "make install PREFIX=..." "$(tail -n 5 "$work/install.log")"
fi

# --- replay: small traces made here -------------------------------------------

# The same operations under both header variants; the later one with f -1
# and an `a` without a size.  Peak of live bytes: 100 + 100 + (300 - 100) = 400.
printf '%s\n' 20000 3 8 1 'a 0 100' 'a 1 100' 'r 0 300' 'f 1' 'a 2 50' 'f 0' 'f 2' \
  'a 1 8' >"$work/classic.rep"
printf '%s\n' 1 3 9 0 'a 0 100' 'a 1' 'f -1' 'r 0 300' 'f 1' 'a 2 50' 'f 0' 'f 2' \
  'a 1 8' >"$work/later.rep"
# replay_field FILE COLUMN [ARGS...]: one column of the first row of --tsv output.
replay_field() {
  local file=$1 col=$2
  shift 2
  "$hawk" replay --tsv --rounds 1 "$@" "$file" 2>"$work/replay.err" |
    awk -F'\t' -v c="$col" 'NR == 2 { print $c }'
}
expect "classic header: ops and peak live" "8 400" \
  "$(replay_field "$work/classic.rep" 4) $(replay_field "$work/classic.rep" 5)"
expect "later header, f -1, a without size: ops and peak live" "9 400" \
  "$(replay_field "$work/later.rep" 4) $(replay_field "$work/later.rep" 5)"
printf '%s\n' 1 2 2 1 'a 0 10' 'x 0' >"$work/bad.rep"
err=$("$hawk" replay "$work/bad.rep" 2>&1 >/dev/null)
rc=$?
if ((rc == 1)) && grep -q 'line 6' <<<"$err"; then
  ok "a malformed trace fails with its line number"
else
  fail "a malformed trace fails with its line number" "exit $rc" "$err"
fi

# A program with one thread keeps no block of the allocator's own in its
# heap: the first thread's cache lives in the library's data (a heap block
# would add about 1,000 bytes to this footprint of a few hundred).
printf '%s\n' 1000 2 4 1 'a 0 24' 'f 0' 'a 1 24' 'f 1' >"$work/tiny.rep"
got=$(replay_field "$work/tiny.rep" 6)
if [[ $got =~ ^[0-9]+$ ]] && ((got <= 512)); then
  ok "the first thread's cache is not in the heap"
else
  fail "the first thread's cache is not in the heap" "footprint $got, expected at most 512"
fi

# Blocks freed into the thread cache go back to the heap before it takes
# new memory: 32 blocks of 100 bytes, freed, then 2,000 bytes, which fit in
# their coalesced space.  The footprint is that of the 32 blocks alone.
thirty_two() { # FREE BIG: the trace, with the frees and the big block or not
  awk -v free="$1" -v big="$2" 'BEGIN {
    for (i = 0; i < 32; i++) line[n++] = "a " i " 100"
    if (free) for (i = 0; i < 32; i++) line[n++] = "f " i
    if (big) line[n++] = "a 32 2000"
    print 100000; print 33; print n; print 1
    for (k = 0; k < n; k++) print line[k]
  }'
}
thirty_two 1 1 >"$work/freed.rep"
thirty_two 0 0 >"$work/small.rep"
expect "cached blocks go back before the heap grows" \
  "$(replay_field "$work/small.rep" 6)" "$(replay_field "$work/freed.rep" 6)"

# A bigger synthetic trace: 300 blocks of various sizes, each reallocated
# (grown and shrunk), half freed and allocated again, then all freed.
awk 'BEGIN {
  n = 300; srand(7); ops = 0
  for (i = 0; i < n; i++) { s[i] = 1 + int(rand() * 3000); line[ops++] = "a " i " " s[i] }
  for (i = 0; i < n; i++) line[ops++] = "r " i " " (1 + int(rand() * 6000))
  for (i = 0; i < n; i += 2) line[ops++] = "f " i
  for (i = 0; i < n; i += 2) line[ops++] = "a " i " " (1 + int(rand() * 500))
  for (i = 0; i < n; i++) line[ops++] = "r " i " " (1 + int(rand() * 200))
  for (i = 0; i < n; i++) line[ops++] = "f " i
  print 100000; print n; print ops; print 1
  for (k = 0; k < ops; k++) print line[k]
}' >"$work/mixed.rep"

# Allocators that break the data they hold.
cat >"$work/broken_realloc.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
/* realloc that flips the first byte it keeps. */
void *realloc(void *p, size_t n) {
  static void *(*real)(void *, size_t);
  if (!real) real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
  unsigned char *q = real(p, n);
  if (q && p && n) q[0] ^= 0x5a;
  return q;
}
EOF
cat >"$work/broken_overlap.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
/* malloc that now and then hands out 16 bytes inside the previous block. */
void *malloc(size_t n) {
  static void *(*real)(size_t);
  static unsigned count;
  static char *last;
  if (!real) real = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
  if (++count % 50 == 0 && last && n >= 16) return last + 16;
  char *p = real(n + 32);
  last = p;
  return p;
}
EOF
built=1
for b in broken_realloc broken_overlap; do
  if ! cc -shared -fPIC -O1 -o "$work/$b.so" "$work/$b.c" -ldl 2>"$work/cc.log"; then
    fail "build $b.so" "$(cat "$work/cc.log")"
    built=0
  fi
done
if ((built)); then
  err=$("$hawk" replay --allocator "$work/broken_realloc.so" "$work/mixed.rep" 2>&1 >/dev/null)
  rc=$?
  if ((rc == 1)) && grep -q 'kept by realloc' <<<"$err"; then
    ok "a realloc that corrupts the kept bytes fails the replay"
  else
    fail "a realloc that corrupts the kept bytes fails the replay" "exit $rc" "${err:0:400}"
  fi
  # The overlapping block may also make the C library abort: any failure counts.
  err=$("$hawk" replay --allocator "$work/broken_overlap.so" "$work/mixed.rep" 2>&1 >/dev/null)
  rc=$?
  if ((rc == 1)) && grep -q 'FAILED' <<<"$err"; then
    ok "a malloc that hands out overlapping blocks fails the replay"
  else
    fail "a malloc that hands out overlapping blocks fails the replay" "exit $rc" "${err:0:400}"
  fi
fi
# An allocator whose posix_memalign hands out a block 16 bytes past the
# alignment asked for: the replay of an aligned allocation (op 5, 64 bytes,
# a version 2 trace) fails, naming the alignment.
cat >"$work/broken_align.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
static char pool[1 << 16];
int posix_memalign(void **out, size_t align, size_t n) {
  static size_t used;
  uintptr_t p = ((uintptr_t)(pool + used) + align - 1) & ~(uintptr_t)(align - 1);
  p += 16; /* 16 bytes past the alignment */
  used = p + n - (uintptr_t)pool;
  *out = (void *)p;
  return 0;
}
EOF
python3 -c 'import struct, sys
t = b"HAWKTRC\0" + struct.pack("<III", 2, 32, 48) + bytes(12)
t += struct.pack("<QIB3xQQQi4x", 1, 1, 5, 0x100040, 100, 64, 0)
open(sys.argv[1], "wb").write(t)' "$work/aligned.trace"
if cc -shared -fPIC -O1 -o "$work/broken_align.so" "$work/broken_align.c" 2>"$work/cc.log"; then
  err=$("$hawk" replay --rounds 0 --allocator "$work/broken_align.so" "$work/aligned.trace" 2>&1 >/dev/null)
  rc=$?
  if ((rc == 1)) && grep -q 'aligned allocation of 100 bytes at 0x[0-9a-f]* is not 64-aligned' <<<"$err"; then
    ok "an aligned allocation off its alignment fails the replay"
  else
    fail "an aligned allocation off its alignment fails the replay" "exit $rc" "${err:0:400}"
  fi
  "$hawk" replay --rounds 0 "$work/aligned.trace" >/dev/null 2>&1
  expect "the same aligned allocation replays under HawkAlloc" 0 $?
else
  fail "build broken_align.so" "$(cat "$work/cc.log")"
fi
if "$hawk" replay --allocator system --allocator hawk "$work/mixed.rep" >"$work/out" 2>&1; then
  ok "the same trace verifies under the system allocator and HawkAlloc"
else
  fail "the same trace verifies under the system allocator and HawkAlloc" "$(cat "$work/out")"
fi
out=$("$hawk" replay --tsv --allocator system,"$lib" "$work/mixed.rep" 2>&1)
sys_row=$(awk -F'\t' '$2 == "system" && $1 != "mean of 1"' <<<"$out")
lib_row=$(awk -F'\t' '$2 == "libhawkalloc.so" && $1 != "mean of 1"' <<<"$out")
if [[ -n $sys_row && -n $lib_row ]] &&
  awk -F'\t' '{ exit !($6 > 0 && $7 > 0 && $8 > 0) }' <<<"$sys_row" &&
  [[ $(cut -f5 <<<"$sys_row") == $(cut -f5 <<<"$lib_row") ]]; then
  ok "--allocator system and --allocator PATH.so: figures and the same peak live"
else
  fail "--allocator system and --allocator PATH.so: figures and the same peak live" "$out"
fi
out=$("$hawk" replay --policy first-fit,frist-fit "$work/mixed.rep" 2>"$work/err")
rc=$?
if ((rc == 2)) && [[ -z $out ]] &&
  grep -qx "hawk: replay: the library does not know the policy 'frist-fit' (see hawk replay --help)" \
    "$work/err"; then
  ok "a misspelt policy is an error (exit 2), not rows of n/a"
else
  fail "a misspelt policy is an error (exit 2), not rows of n/a" "exit $rc" "$out" "$(cat "$work/err")"
fi
out=$("$hawk" replay --allocator no-such-alloc "$work/mixed.rep" 2>&1)
rc=$?
if ((rc == 2)) && [[ $out == "hawk: replay: the allocator 'no-such-alloc' is not installed ("* ]] &&
  [[ $out != *"No such file"* && $(wc -l <<<"$out") == 1 ]]; then
  ok "an allocator that is not installed says so in one line (exit 2)"
else
  fail "an allocator that is not installed says so in one line (exit 2)" "exit $rc" "$out"
fi

# A .rep trace that frees a block twice is malformed: the replay fails with
# the line, and nothing is replayed.
printf '%s\n' 1000 2 5 1 'a 0 24' 'a 1 24' 'f 0' 'f 1' 'f 0' >"$work/twice.rep"
err=$("$hawk" replay "$work/twice.rep" 2>&1 >/dev/null)
rc=$?
if ((rc == 1)) && grep -q 'line 9: frees block 0 again (a double free: line 7 freed it)' <<<"$err"; then
  ok "a .rep trace that frees a block twice is reported with both lines"
else
  fail "a .rep trace that frees a block twice is reported with both lines" "exit $rc" "$err"
fi
printf '%s\n' 1000 2 2 1 'a 0 24' 'f 1' >"$work/never.rep"
err=$("$hawk" replay "$work/never.rep" 2>&1 >/dev/null)
rc=$?
if ((rc == 1)) && grep -q 'line 6: frees block 1, which was never allocated' <<<"$err"; then
  ok "a .rep trace that frees a block never allocated is reported"
else
  fail "a .rep trace that frees a block never allocated is reported" "exit $rc" "$err"
fi

# Hostile traces: a few bytes that ask for more memory than the machine has
# are refused in one line before anything is allocated (every live byte is
# written), and one block id far from zero costs the replay no more than
# the pages of the slot it uses (it touched 2 GiB of slots before).
printf '%s\n' 1000 1 2 1 'a 0 1000000000000000' 'f 0' >"$work/huge.rep"
err=$("$hawk" replay "$work/huge.rep" 2>&1 >/dev/null)
rc=$?
if ((rc == 1)) && grep -q 'line 5: the trace.s peak of 1000000000000000 live bytes is more than half the [0-9]* bytes of memory available: not replayed' <<<"$err"; then
  ok "a trace whose peak of live bytes is more than the memory available is refused in one line"
else
  fail "a trace whose peak of live bytes is more than the memory available is refused in one line" \
    "exit $rc" "$err"
fi
printf '%s\n' 1000 1 2 1 'a 67108863 1' 'f 67108863' >"$work/far.rep"
# The largest resident size of hawk's processes, in KiB, and their page
# faults: a read of a page never written is a fault on every kernel, and
# resident on some only (a walk over every slot: 531,032 faults, against
# 6,731 for the slots the ops use).
read -r most_resident faults < <(python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.ru_maxrss, r.ru_minflt)' "$hawk" replay --rounds 1 "$work/far.rep")
if [[ $most_resident =~ ^[0-9]+$ && $faults =~ ^[0-9]+$ ]] && ((most_resident < 65536 && faults < 65536)); then
  ok "a .rep block id of 67108863 replays in less than 64 MiB and 65,536 page faults ($faults)"
else
  fail "a .rep block id of 67108863 replays in less than 64 MiB and 65,536 page faults" \
    "most resident: $most_resident KiB, page faults: $faults"
fi

# Hostile records and traces (tests/lab/records.sh).
# shellcheck source=tests/lab/records.sh
source "$here/records.sh"

# Textbook mode: a block of 600 and one of 1000 freed between live blocks,
# then 600 and 1000 bytes asked for.  With the thread cache both come back
# from its lists under every policy; without it first fit cuts the 600 out
# of the 1000-byte hole (the front of its list) and must grow for the 1000,
# where best fit takes the exact holes.
printf '%s\n' 100000 7 9 1 'a 0 200' 'a 1 1000' 'a 2 200' 'a 3 600' 'a 4 200' 'f 3' 'f 1' \
  'a 5 600' 'a 6 1000' >"$work/holes.rep"
# footprints [ARGS...]: "policy footprint" of each row of the replay, one line.
footprints() {
  "$hawk" replay --tsv --rounds 0 --policy first-fit,best-fit "$@" "$work/holes.rep" 2>&1 |
    awk -F'\t' 'NR > 1 && $1 !~ /^mean/ { printf "%s%s %s", n++ ? ", " : "", $3, $6 }'
}
cached=$(footprints)
textbook=$(footprints --textbook)
ff=${textbook#first-fit }
ff=${ff%%,*}
bf=${textbook##*best-fit }
if [[ $cached =~ ^first-fit\ ([0-9]+),\ best-fit\ ([0-9]+)$ ]] &&
  [[ ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] && [[ $ff =~ ^[0-9]+$ && $bf =~ ^[0-9]+$ ]] &&
  ((ff > bf)); then
  ok "replay --textbook: first fit and best fit differ ($textbook), not with the cache ($cached)"
else
  fail "replay --textbook: first fit and best fit differ only in textbook mode" \
    "cached:   $cached" "textbook: $textbook"
fi
"$hawk" replay --textbook --allocator system "$work/holes.rep" >/dev/null 2>&1
expect "replay --textbook without HawkAlloc is bad usage" 2 $?

# The worker gets the allocator's settings only: a HAWKALLOC_POLICY and a
# HAWKALLOC_TCACHE left in the user's shell change neither the policy nor
# textbook mode (the rows, and the lines on stderr, are those without them).
plain=$("$hawk" replay --tsv --rounds 0 --textbook --policy first-fit,best-fit "$work/holes.rep" 2>&1)
user=$(HAWKALLOC_POLICY=segregated HAWKALLOC_TCACHE=1 "$hawk" replay --tsv --rounds 0 --textbook \
  --policy first-fit,best-fit "$work/holes.rep" 2>&1)
expect "replay: the user's HAWKALLOC_POLICY and HAWKALLOC_TCACHE do not reach the worker" \
  "$plain" "$user"

# --policy all: a row for each of the four policies (replay --help).
got=$("$hawk" replay --tsv --rounds 0 --policy all "$work/holes.rep" 2>&1 |
  awk -F'\t' 'NR > 1 && $1 !~ /^mean/ { printf "%s%s", n++ ? " " : "", $3 }')
expect "replay --policy all: every policy" "first-fit next-fit best-fit segregated" "$got"

# The mean utilization is over the traces replayed: a trace that fails
# counts in no mean ("mean of 1", the one trace's utilization).
"$hawk" replay --tsv --rounds 0 "$work/holes.rep" "$work/twice.rep" >"$work/mean.tsv" 2>/dev/null
rc=$?
got=$(awk -F'\t' '$1 == "holes.rep" { u = $7 } $1 == "twice.rep" { f = $4 }
  $1 ~ /^mean/ { m = $1 ":" $7 } END { print (u != "" && m == "mean of 1:" u) ? "same" : "differs", f }' \
  "$work/mean.tsv")
expect "replay: a failed trace counts in no mean (exit 1, its row FAIL)" "1 same FAIL" "$rc $got"

# --rounds takes 0 to 1000 (its message): 1000 is accepted, 1001 is not.
"$hawk" replay --rounds 1000 "$traces/short1-bal.rep" >/dev/null 2>&1
rc=$?
"$hawk" replay --rounds 1001 "$traces/short1-bal.rep" >/dev/null 2>"$work/rounds.err"
expect "replay --rounds 1000 runs, --rounds 1001 is bad usage" "0 2 1" \
  "$rc $? $(grep -c 'from 0 to 1000' "$work/rounds.err")"

# --- replay: the classic traces -----------------------------------------------

accepted=()
for p in "${policies[@]}"; do
  if HAWKALLOC_POLICY=$p "$hawk" run -- true 2>&1 | grep -q 'unknown HAWKALLOC_POLICY'; then
    skip "policy $p" "the library does not accept it yet"
  else
    accepted+=("$p")
  fi
done
rep_files=()
if [[ -d $traces ]]; then
  for f in "$traces"/*.rep; do [[ -f $f ]] && rep_files+=("$f"); done
fi
# The table's rules are as wide as its header (each column and the two
# spaces between columns).
if ((${#rep_files[@]} >= 2)); then
  got=$("$hawk" replay --rounds 1 --policy first-fit,segregated "${rep_files[@]:0:2}" 2>&1 |
    awk 'NR == 1 { w = length($0) } /^-+$/ { n++; if (length($0) != w) bad++ }
      END { print (n >= 2 && !bad) ? "as wide" : n + 0 " rules, " bad + 0 " of another width than the header (" w ")" }')
  expect "hawk replay's table: every rule is as wide as the header" "as wide" "$got"
fi
if ((${#rep_files[@]} == 0)); then
  skip "classic traces" "none in $traces (set HAWK_TRACES)"
else
  policy_list=$(
    IFS=,
    echo "${accepted[*]}"
  )
  for run in 1 2; do
    "$hawk" replay --tsv --rounds 1 --policy "$policy_list" "${rep_files[@]}" \
      >"$work/classic$run.tsv" 2>"$work/classic$run.err"
    echo $? >"$work/classic$run.rc"
  done
  if [[ $(cat "$work/classic1.rc") == 0 && $(cat "$work/classic2.rc") == 0 ]]; then
    ok "${#rep_files[@]} classic traces replay and verify under ${#accepted[@]} policies, twice"
  else
    fail "classic traces replay and verify" "$(cat "$work/classic1.err" "$work/classic2.err")"
  fi
  # Every figure but the throughput (column 8) must be the same both times.
  for f in "${rep_files[@]}"; do
    name=$(basename "$f")
    for p in "${accepted[@]}"; do
      a=$(awk -F'\t' -v t="$name" -v p="$p" '$1 == t && $3 == p { $8 = ""; print }' \
        "$work/classic1.tsv")
      b=$(awk -F'\t' -v t="$name" -v p="$p" '$1 == t && $3 == p { $8 = ""; print }' \
        "$work/classic2.tsv")
      if [[ -n $a && $a == "$b" && $a != *n/a* ]]; then
        ok "$name under $p: peak utilization $(awk '{ print $7 }' <<<"$a") both times"
      else
        fail "$name under $p: the same figures twice" "first:  $a" "second: $b"
      fi
    done
  done
fi

# --- replay: a recorded trace of python3 -------------------------------------

py_prog='
import json, threading
def work(n):
    rows = [{"id": i, "name": "x" * (i % 700), "tags": list(range(i % 40))} for i in range(n)]
    text = json.dumps(rows)
    return len(json.loads(text)), bytearray(len(text) // 3)
ts = [threading.Thread(target=work, args=(3000 + 1000 * k,)) for k in range(3)]
for t in ts: t.start()
print(work(8000)[0])
for t in ts: t.join()
'
pytrace=$work/python.trace
"$hawk" run --trace "$pytrace" -- /usr/bin/python3 -c "$py_prog" >"$work/py.out" 2>"$work/py.err"
rc=$?
expect "python3 runs under hawk run --trace" "0 8000" "$rc $(cat "$work/py.out")"
if [[ ! -s $pytrace ]]; then
  skip "python3 trace replay" "the library wrote no trace file (HAWKALLOC_TRACE not supported yet?)"
else
  read -r records want < <(python3 "$here/trace_peak.py" "$pytrace")
  threads=$(python3 "$here/trace_peak.py" --threads "$pytrace")
  if ((threads > 1)); then
    ok "the python3 trace has records of $threads threads"
  else
    fail "the python3 trace has records of several threads" "threads: $threads"
  fi
  for p in "${accepted[@]}"; do
    got=$(replay_field "$pytrace" 5 --policy "$p")
    if [[ $got == "$want" ]]; then
      ok "python3 trace ($records records) replays under $p with peak live $want"
    else
      fail "python3 trace replays under $p with the recorded peak live" \
        "from the trace: $want" "replayed: $got" "$(cat "$work/replay.err")"
    fi
  done
  got=$(replay_field "$pytrace" 5 --allocator system)
  expect "python3 trace replays under the system allocator" "$want" "$got"
fi

# --- maps ----------------------------------------------------------------------

# grep reads all of nm's output (no -q): under pipefail an early exit of
# grep would fail the pipeline when nm is killed by SIGPIPE.
if ! nm -D "$lib" 2>/dev/null | grep ' T hawk_map_write$' >/dev/null; then
  fail "SVG maps" "the library exports no hawk_map_write"
else
  missing=()
  command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
  command -v rsvg-convert >/dev/null 2>&1 || missing+=(librsvg2-bin)
  if ((${#missing[@]})) && ((EUID == 0)); then
    echo "lab: installing ${missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") \
      >"$work/apt.log" 2>&1 || cat "$work/apt.log"
  fi
  # svg_ok NAME FILE: well-formed XML that renders to a PNG.
  svg_ok() {
    local name=$1 svg=$2
    if [[ ! -s $svg ]]; then
      fail "$name" "$svg was not written"
      return
    fi
    if ! command -v xmllint >/dev/null 2>&1 || ! command -v rsvg-convert >/dev/null 2>&1; then
      fail "$name" "xmllint or rsvg-convert missing (make deps installs libxml2-utils librsvg2-bin)"
      return
    fi
    local err
    if ! err=$(xmllint --noout "$svg" 2>&1); then
      fail "$name: xmllint" "${err:0:400}"
    elif ! err=$(rsvg-convert -o "${svg%.svg}.png" "$svg" 2>&1); then
      fail "$name: rsvg-convert" "${err:0:400}"
    elif [[ $(head -c 8 "${svg%.svg}.png" | od -An -tx1 | tr -d ' \n') != 89504e470d0a1a0a ]]; then
      fail "$name: rsvg-convert wrote no PNG"
    else
      ok "$name: well-formed SVG, rendered to PNG"
    fi
  }
  map_trace=$work/mixed.rep
  ((${#rep_files[@]})) && [[ -f $traces/random-bal.rep ]] && map_trace=$traces/random-bal.rep
  for p in "${accepted[@]}"; do
    if "$hawk" map --trace "$map_trace" --policy "$p" --out "$work/trace-$p.svg" \
      >"$work/map.out" 2>&1; then
      svg_ok "hawk map --trace $(basename "$map_trace") --policy $p" "$work/trace-$p.svg"
    else
      fail "hawk map --trace --policy $p" "$(cat "$work/map.out")"
    fi
  done
  # Without --out, the picture goes where the help says: hawk-map.svg in
  # the current directory.
  mkdir -p "$work/cwd"
  if (cd "$work/cwd" && "$hawk" map --trace "$work/holes.rep" >"$work/map.out" 2>&1) &&
    grep -q '^  --out FILE.svg   where the picture goes (default: hawk-map.svg in the current$' \
      <("$hawk" map --help); then
    svg_ok "hawk map --trace without --out writes ./hawk-map.svg" "$work/cwd/hawk-map.svg"
  else
    fail "hawk map --trace without --out writes ./hawk-map.svg" "$(cat "$work/map.out")"
  fi
  out=$(cd "$work/cwd" && "$hawk" map --textbook --policy first-fit --trace "$work/holes.rep" \
    --out tb.svg 2>&1)
  if [[ $out == "wrote tb.svg: $work/holes.rep at its peak of 2200 live bytes (after op 5 of 9), "* ]] &&
    [[ $out == *", policy first-fit, textbook mode" ]]; then
    svg_ok "hawk map --textbook --trace" "$work/cwd/tb.svg"
  else
    fail "hawk map --textbook --trace" "$out"
  fi
  "$hawk" map --policy frist-fit --trace "$work/holes.rep" --out "$work/no.svg" >/dev/null 2>&1
  expect "hawk map: a misspelt policy exits 2" 2 $?
  got=$("$hawk" map --textbook --out "$work/cmd.svg" -- sh -c 'echo "$HAWKALLOC_TCACHE"' 2>/dev/null)
  expect "hawk map --textbook -- CMD sets HAWKALLOC_TCACHE=0" 0 "$got"
  # HAWKALLOC_MAP: a picture at exit, frames on SIGUSR2.
  "$hawk" run --map "$work/probe.svg" -- true >/dev/null 2>&1
  if [[ ! -s $work/probe.svg ]]; then
    skip "HAWKALLOC_MAP" "the library wrote no picture at exit (not wired in yet?)"
  else
    svg_ok "hawk run --map -- true" "$work/probe.svg"
    "$hawk" run --map "$work/run.svg" -- /usr/bin/perl -e 'my @a = map { "x" x $_ } 1 .. 2000;' \
      >/dev/null 2>&1
    svg_ok "hawk run --map -- perl" "$work/run.svg"
    { (cd "$work" && "$hawk" map --out prog.svg -- /usr/bin/python3 -c '
import os, signal
x = [bytes(i) for i in range(3000)]
os.kill(os.getpid(), signal.SIGUSR2)
del x[::2]
os.kill(os.getpid(), signal.SIGUSR2)
print("done")') >"$work/map.out" 2>&1; } 2>/dev/null
    rc=$?
    if ((rc == 128 + 12)); then
      skip "HAWKALLOC_MAP frames" "python3 died of SIGUSR2: the library installs no handler yet"
    else
      expect "hawk map -- python3 (two SIGUSR2) exits 0" 0 "$rc"
      svg_ok "hawk map -- python3 (at exit)" "$work/prog.svg"
      for frame in 0001 0002; do
        svg_ok "hawk map -- python3: frame $frame on SIGUSR2" "$work/prog-$frame.svg"
      done
      # The library wrote snapshots (0600) next to the pictures; hawk render
      # draws one again, and its summary says it was taken on SIGUSR2.
      if [[ $(stat -c %a "$work/prog.snap" 2>/dev/null) == 600 &&
        $(stat -c %a "$work/prog-0002.snap" 2>/dev/null) == 600 ]]; then
        ok "hawk map -- python3: snapshots prog.snap, prog-0002.snap, mode 0600"
      else
        fail "hawk map -- python3: snapshots prog.snap, prog-0002.snap, mode 0600" \
          "$(ls -l "$work"/prog*.snap 2>&1)"
      fi
      "$hawk" render --out "$work/again.svg" "$work/prog-0002.snap" >/dev/null 2>&1
      expect "hawk render FILE.snap exits 0" 0 $?
      svg_ok "hawk render prog-0002.snap" "$work/again.svg"
      sum=$("$hawk" render --summary "$work/prog-0002.snap" 2>&1)
      if grep -qx 'cause 2' <<<"$sum" && grep -qx 'frame 2' <<<"$sum"; then
        ok "hawk render --summary: frame 2, taken on SIGUSR2"
      else
        fail "hawk render --summary: frame 2, taken on SIGUSR2" "${sum:0:300}"
      fi
    fi
  fi
  # A file that is not a snapshot: one line, exit status 2.
  printf 'HAWKSNAP\002\000\000\000' >"$work/v2.snap"
  err=$("$hawk" render "$work/v2.snap" 2>&1 >/dev/null)
  rc=$?
  if ((rc == 2)) && [[ $(wc -l <<<"$err") == 1 && $err == "hawk: render: "* ]]; then
    ok "hawk render on a bad file: one line, exit 2"
  else
    fail "hawk render on a bad file: one line, exit 2" "exit $rc" "$err"
  fi
fi

# --- make demo ---------------------------------------------------------------

# It runs only programs that exist (python3 and what `make lib` builds) and
# writes only its picture, where it says (DEMO_OUT).
out=$(DEMO_WORDS=2000 DEMO_OUT=$work/demo.svg "$root/scripts/demo.sh" 2>&1)
rc=$?
if ((rc == 0)) && [[ -s $work/demo.svg ]] && grep -q 'statistics of python3 (pid' <<<"$out" &&
  ! grep -qiE 'not found|no such|missing' <<<"$out"; then
  ok "make demo runs python3 under HawkAlloc and writes its picture where asked"
else
  fail "make demo runs python3 under HawkAlloc and writes its picture where asked" "exit $rc" \
    "$(tail -n 5 <<<"$out")"
fi

# --- nothing written into the repository ---------------------------------------

# Every command above ran with its outputs in $work (or the default of the
# current directory, $work/cwd): nothing new may appear in the repository
# outside build/ (which .gitignore keeps out of it), and no file of it may
# change.
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  now=$(git -C "$root" status --porcelain --untracked-files=all || true)
  if [[ $now == "$status_at_start" ]]; then
    ok "the lab's commands wrote nothing into the repository (no new file, none changed)"
  else
    fail "the lab's commands wrote nothing into the repository (no new file, none changed)" \
      "$(diff <(echo "$status_at_start") <(echo "$now") | head -n 10)"
  fi
fi

# --- hostile input files (tests/lab/inputs.sh) --------------------------------

# shellcheck source=tests/lab/inputs.sh
source "$here/inputs.sh"
# hawk killed while it works (tests/lab/killed.sh).
# shellcheck source=tests/lab/killed.sh
source "$here/killed.sh"

finish
