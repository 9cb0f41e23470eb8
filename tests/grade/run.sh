#!/usr/bin/env bash
# run.sh - tests of `hawk grade` (`make test-grade`):
#   * the reference allocator examples/mm.c is correct on every trace and
#     reproduces the deterministic part of its documented grade (result, peak
#     payload, heap bytes, utilization) in docs/lab.md;
#   * broken variants of it, made here with sed, are each reported as what they
#     are, at an op, while the other traces still get their grade: misaligned,
#     overlapping, outside the heap, corrupting on realloc, crashing, hanging;
#   * no C compiler, a file that does not compile or lacks a function, a bad
#     option: one line and exit status 2; the scratch directory is removed.
# Timing is never checked (speed is for benchmarks).  Environment: HAWK
# (default build/hawk), HAWK_TRACES (default <repo>/../shared/traces),
# TEST_PARTS (the parts to run, tests/harness.sh: reference, map, broken,
# usage, view, liveid, files, paths, fork, empty; default all).
set -uo pipefail
unset LD_PRELOAD HAWKALLOC_POLICY HAWKALLOC_TCACHE
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
hawk=${HAWK:-$root/build/hawk}
export HAWK_TRACES=${HAWK_TRACES:-$root/../shared/traces}
T=$HAWK_TRACES
# shellcheck source=tests/harness.sh
source "$root/tests/harness.sh"
make_work
export TMPDIR=$work/tmp
mkdir -p "$TMPDIR"
example=$root/examples/mm.c

if [[ ! -x $hawk ]]; then
  fail "build/hawk is built (make tools)"
  finish
fi
if ! command -v cc >/dev/null; then
  fail "cc is on PATH (make deps installs it)"
  finish
fi

# --- what the parts share -----------------------------------------------------

# variant NAME SED_SCRIPT: examples/mm.c changed by the script (which must
# change it) into $work/NAME/mm.c.
variant() {
  mkdir -p "$work/$1"
  sed -e "$2" "$example" >"$work/$1/mm.c"
  if cmp -s "$example" "$work/$1/mm.c"; then
    fail "variant $1: the sed script changed nothing"
    return 1
  fi
}

# graded NAME TRACE VERDICT DETAIL_RE [OPTIONS...]: the variant is graded on
# TRACE and short1-bal; TRACE's result is VERDICT with a detail line matching
# DETAIL_RE, short1-bal's is still correct, and hawk exits 1.
graded() {
  local name=$1 trace=$2 verdict=$3 re=$4
  shift 4
  out=$("$hawk" grade --rounds 0 "$@" "$work/$name/mm.c" "$T/$trace.rep" "$T/short1-bal.rep" 2>"$work/err")
  rc=$?
  local line
  line=$(awk -v t="$trace" '$1 == t' <<<"$out" | head -n 1)
  local why
  why=$(grep -F "$trace: $verdict: " <<<"$out" | head -n 1)
  why=${why#"$trace: $verdict: "}
  # The mean utilization is over both traces, the one not correct
  # counting 0: half of short1-bal's.
  local half
  half=$(awk '$1 == "short1-bal" && $3 == "correct" { u = $6 + 0 }
    /^total: / { sub(/.*mean utilization /, ""); m = $0 + 0 }
    END { print (u > 0 && m - u / 2 < 0.11 && u / 2 - m < 0.11) ? "half" : "mean " m " for " u }' <<<"$out")
  if ((rc == 1)) && [[ $line == *" $verdict "* ]] && grep -qE "^$re" <<<"$why" &&
    [[ $half == half ]] && grep -q '^total: 1 of 2 traces correct' <<<"$out"; then
    ok "$name: $trace is '$verdict' ($(grep -E "^$trace: " <<<"$out" | cut -c1-110)...)"
  else
    fail "$name: $trace is '$verdict', short1-bal correct, the mean utilization half of its, exit 1" "exit $rc ($half)" "$out" \
      "$(head -c 600 "$work/err")"
  fi
}

# refused NAME EXPECTED_RE COMMAND...: exit 2 and a last stderr line matching.
refused() {
  local name=$1 re=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  rc=$?
  if ((rc == 2)) && tail -n 1 "$work/err" | grep -qE "$re"; then
    ok "$name: exit 2, '$(tail -n 1 "$work/err" | cut -c1-90)'"
  else
    fail "$name: exit 2 and a line matching $re" "exit $rc" "$(cat "$work/out" "$work/err")"
  fi
}

# --- the reference example and its documented grade --------------------------
if part reference; then
out=$("$hawk" grade --rounds 0 "$example" 2>"$work/err")
rc=$?
if ((rc == 0)) && grep -q '^total: 11 of 11 traces correct' <<<"$out"; then
  ok "hawk grade examples/mm.c: 11 of 11 traces correct, exit 0"
else
  fail "hawk grade examples/mm.c: 11 of 11 traces correct, exit 0" "exit $rc" "$out" \
    "$(cat "$work/err")"
fi
# The deterministic columns (trace ops result peak heap utilization) and the
# total's mean utilization, against the table between the markers in the doc.
cols() { awk '$1 ~ /-bal$/ {print $1, $2, $3, $4, $5, $6}'; }
doc=$(sed -n '/<!-- lab-doc:grade -->/,/<!-- \/lab-doc:grade -->/p' "$root/docs/lab.md")
want=$(cols <<<"$doc")
got=$(cols <<<"$out")
if [[ -n $want && $want == "$got" ]]; then
  ok "the grade of examples/mm.c matches docs/lab.md ($(wc -l <<<"$got") traces)"
else
  fail "the grade of examples/mm.c matches docs/lab.md" "doc:" "$want" "now:" "$got"
fi
want=$(grep -o 'mean utilization [0-9.]*%' <<<"$doc" | head -n 1)
got=$(grep -o 'mean utilization [0-9.]*%' <<<"$out")
if [[ -n $want && $want == "$got" ]]; then
  ok "the documented $want is reproduced"
else
  fail "the documented mean utilization is reproduced" "doc: $want" "now: $got"
fi
# Utilization is peak payload / heap bytes, as the columns say.
bad=$(awk '$1 ~ /-bal$/ && $3 == "correct" {
  u = sprintf("%.1f%%", 100 * $4 / $5); if (u != $6) print $1, u, $6 }' <<<"$out")
if [[ -z $bad && -n $out ]]; then
  ok "utilization = peak payload / heap bytes on every line"
else
  fail "utilization = peak payload / heap bytes on every line" "$bad"
fi
# The peak payload is the trace's own (the malloc-lab count: a realloc adds
# new minus old), computed here from the text.
for t in binary-bal realloc-bal; do
  want=$(awk 'NR > 4 && $1 == "a" { s[$2] = $3; l += $3 }
    NR > 4 && $1 == "f" { l -= s[$2]; s[$2] = 0 }
    NR > 4 && $1 == "r" { l += $3 - s[$2]; s[$2] = $3 }
    l > p { p = l } END { print p }' "$T/$t.rep")
  got=$(awk -v t="$t" '$1 == t {print $4}' <<<"$out")
  if [[ -n $want && $want == "$got" ]]; then
    ok "the peak payload of $t is the trace's ($want)"
  else
    fail "the peak payload of $t is the trace's ($want)" "got $got"
  fi
done
# With timing, every line has Kops/s, the C library's and a score.
out=$("$hawk" grade --rounds 1 "$example" "$T/short1-bal.rep" "$T/coalescing-bal.rep" 2>&1)
rc=$?
# Each score is 60 x utilization + 40 x min(1, Kops/s / libc Kops/s), to
# the rounding of the columns; the total's from the mean utilization and
# the whole run's ratio (in percent on its line).
scores=$(awk 'function min1(x) { return x < 1 ? x : 1 }
  function near(a, b) { return a - b < 0.15 && b - a < 0.15 }
  $3 == "correct" && $8 > 0 { n++; if (!near($9, 0.6 * $6 + 40 * min1($7 / $8))) bad = bad " " $1 }
  /^total: / { t = $0; sub(/.*mean utilization /, "", t); u = t + 0
    r = $0; sub(/.*\(/, "", r); r = r + 0; s = $0; sub(/.*score /, "", s); s = s + 0
    if (!near(s, 0.6 * u + 40 * min1(r / 100))) bad = bad " total" }
  END { print n == 2 && bad == "" ? "as the formula" : "off:" bad }' <<<"$out")
if ((rc == 0)) && [[ $(awk '$3 == "correct" && $7 > 0 && $8 > 0 && $9 > 0' <<<"$out" | wc -l) == 2 ]] &&
  grep -qE '^total: 2 of 2 traces correct, .* score [0-9.]+/100$' <<<"$out" && [[ $scores == "as the formula" ]]; then
  ok "with --rounds 1: Kops/s, libc Kops/s and a score per trace, a total score, each as the formula says"
else
  fail "with --rounds 1: Kops/s, libc Kops/s and a score per trace, a total score, each as the formula says" "exit $rc ($scores)" "$out"
fi
# One block id far from zero costs the timed rounds no more than the pages of
# the slot it uses (they cleared 512 MiB of slots each before), in memory and
# in page faults: a read of a page never written is a fault on every kernel,
# and resident on some only (a walk over every slot at the end: 150,049
# faults, against 18,991).
printf '%s\n' 1000 1 2 1 'a 67108863 1' 'f 67108863' >"$work/far.rep"
read -r most_resident faults < <(python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.ru_maxrss, r.ru_minflt)' "$hawk" grade --rounds 1 "$example" "$work/far.rep")
if [[ $most_resident =~ ^[0-9]+$ && $faults =~ ^[0-9]+$ ]] && ((most_resident < 131072 && faults < 65536)); then
  ok "a trace's block id of 67108863 is graded in less than 128 MiB and 65,536 page faults ($faults)"
else
  fail "a trace's block id of 67108863 is graded in less than 128 MiB and 65,536 page faults" \
    "most resident: $most_resident KiB, page faults: $faults"
fi
fi # reference

# --- --map: the student's heap at the peak --------------------------------------
if part map; then
mkdir -p "$work/maps"
out=$("$hawk" grade --rounds 0 --map "$work/maps" "$example" "$T/short1-bal.rep" 2>&1)
rc=$?
# The live blocks at short1-bal's peak, and the peak's op, from the text.
read -r peak_op live_blocks live_bytes <<<"$(awk 'NR > 4 { n++ } NR > 4 && $1 == "a" { s[$2] = $3; l += $3; c++ }
  NR > 4 && $1 == "f" { l -= s[$2]; s[$2] = 0; c-- }
  NR > 4 && l > p { p = l; at = n; pc = c } END { print at, pc, p }' "$T/short1-bal.rep")"
svgf=$work/maps/short1-bal.svg
if ((rc == 0)) && [[ -f $svgf ]] && grep -q "^short1-bal: the heap at its peak: $svgf" <<<"$out"; then
  ok "--map DIR: DIR/short1-bal.svg written and named"
else
  fail "--map DIR: DIR/short1-bal.svg written and named" "exit $rc" "$out"
fi
got=$(python3 -c 'import sys, xml.etree.ElementTree as E
t = E.parse(sys.argv[1]).getroot().find("{http://www.w3.org/2000/svg}title")
print(t.text if t is not None else "")' "$svgf" 2>&1)
want="mm.c on short1-bal, after op $peak_op of 12, the peak of live payload"
if [[ $got == "$want" ]]; then ok "--map: titled '$want'"; else fail "--map: titled '$want'" "got: $got"; fi
got=$(grep -o '<title>block [0-9]*, [0-9]* bytes' "$svgf" | awk '{ n++; s += $3 } END { print n + 0, s + 0 }')
if [[ $got == "$live_blocks $live_bytes" ]]; then
  ok "--map: one payload drawn per live block at the peak, their bytes the trace's ($got)"
else
  fail "--map: one payload drawn per live block at the peak, their bytes the trace's" \
    "want: $live_blocks $live_bytes" "got:  $got"
fi
if command -v xmllint >/dev/null && xmllint --noout "$svgf" 2>"$work/err"; then
  ok "--map: well-formed SVG"
elif command -v xmllint >/dev/null; then
  fail "--map: well-formed SVG" "$(cat "$work/err")"
fi
# File names went into the picture's title as they were: markup injected
# (<svg onload=...>), a bare & (not XML).  Escaped now, control bytes '?'.
mkdir -p "$work/xmlname" "$work/xmlmaps"
cp "$example" "$work/xmlname/mm<svg onload=alert(1)>&.c"
cp "$T/short1-bal.rep" "$work/xmlname/t&1"$'\e'"]0;x.rep"
"$hawk" grade --rounds 0 --map "$work/xmlmaps" "$work/xmlname/mm<svg onload=alert(1)>&.c" \
  "$work/xmlname/t&1"$'\e'"]0;x.rep" >/dev/null 2>&1
got=$(python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
print(r.find("{http://www.w3.org/2000/svg}title").text, len(r.findall(".//{http://www.w3.org/2000/svg}svg")))' \
  "$work/xmlmaps/t&1"$'\e'"]0;x.svg" 2>&1)
if [[ $got == "mm<svg onload=alert(1)>&.c on t&1?]0;x, after op "*" of 12, the peak of live payload 0" ]]; then
  ok "grade_map_names_escaped: file names with markup, & and ESC: well-formed, the title their text"
else
  fail "grade_map_names_escaped: file names with markup, & and ESC: well-formed, the title their text" \
    "got: $got"
fi
fi # map

# --- broken allocators ----------------------------------------------------------
if part broken; then
variant misaligned 's|^  place(bp, asize);$|  place(bp, asize);\n  if (size == 448) return bp + 8;|' &&
  graded misaligned binary-bal misaligned 'at op 2 \(line 6: a 1 448\): mm_malloc\(448\) returned heap\+0x[0-9a-f]+, not 16-byte aligned'
variant misaligned8 's|^  place(bp, asize);$|  place(bp, asize);\n  if (size == 448) return bp + 8;|' &&
  out=$("$hawk" grade --rounds 0 --align 8 "$work/misaligned8/mm.c" "$T/short1-bal.rep" 2>&1)
if [[ $? == 0 ]]; then
  ok "--align 8 accepts 8-byte aligned payloads"
else
  fail "--align 8 accepts 8-byte aligned payloads" "$out"
fi
variant overlap 's|^    mark(bp, asize, 1);$|    mark(bp, asize, asize == 464 ? 0 : 1);|' &&
  graded overlap binary-bal overlap 'at op 3 \(line 7: a 2 64\): mm_malloc\(64\) returned \[heap\+0x[0-9a-f]+, \+64\), which overlaps block 1 \[heap\+0x[0-9a-f]+, \+448\]'
variant outside 's|^  place(bp, asize);$|  place(bp, asize);\n  if (size == 448) return (char *)mem_heap_hi() - 15;|' &&
  graded outside binary-bal 'outside heap' 'at op 2 \(line 6: a 1 448\): mm_malloc\(448\) returned \[heap\+0x[0-9a-f]+, \+448\), outside the heap \[heap\+0x0, heap\+0x[0-9a-f]+\]'
variant realloc 's|memcpy(np, bp, have - 2 \* WORD);|memcpy(np, bp, (have - 2 * WORD) / 2);|' &&
  graded realloc realloc-bal corrupted 'at op [0-9]+ \(line [0-9]+: r [0-9]+ [0-9]+\): mm_realloc\(block, [0-9]+\) did not keep the contents: byte [0-9]+ of the first [0-9]+ differs'
variant neighbour 's|^  place(bp, asize);$|  place(bp, asize);\n  if (size == 448) bp[-17] ^= 1;|' &&
  graded neighbour binary-bal corrupted 'at (op [0-9]+ \(line [0-9]+: f [0-9]+\)|the end of the trace): the payload of block [0-9]+ \(64 bytes at heap\+0x[0-9a-f]+\) changed at byte 63 before'
variant crash 's|^  char \*bp = ptr;$|  char *bp = ptr;\n  if (block_size(bp) == 464) *(volatile int *)0 = 1;|' &&
  graded crash binary-bal 'crashed (SEGV)' 'signal 11 \(Segmentation fault\) at op [0-9]+ \(line [0-9]+: f [0-9]+\) while checking: touched address 0x0 \(a null pointer\)'
variant past 's|^  place(bp, asize);$|  place(bp, asize);\n  if (size == 448) ((char *)mem_heap_hi())[4097] = 1;|' &&
  graded past binary-bal 'crashed (SEGV)' 'signal 11 \(Segmentation fault\) at op 2 \(line 6: a 1 448\) while checking: touched heap\+0x[0-9a-f]+, past the end of the heap \(heap\+0x[0-9a-f]+\)'
variant hang 's|^  char \*bp = ptr;$|  char *bp = ptr;\n  while (block_size(bp) == 464) {}|' &&
  graded hang binary-bal timeout 'still running after 1 s, at op [0-9]+ \(line [0-9]+: f [0-9]+\) while checking' --timeout 1
fi # broken

# --- could not grade: one line, exit 2 ------------------------------------------
if part usage; then
refused "no C compiler" '^hawk: grade: no C compiler: cc is not on PATH' \
  env PATH=/nonexistent "$hawk" grade "$example" "$T/short1-bal.rep"
refused "CC names a missing compiler" '^hawk: grade: no C compiler: no-such-cc is not on PATH' \
  env CC=no-such-cc "$hawk" grade "$example" "$T/short1-bal.rep"
mkdir -p "$work/syntax" && printf 'int mm_init(void) { return 0 }\n' >"$work/syntax/mm.c"
refused "a file that does not compile" "^hawk: grade: .*/syntax/mm.c does not compile with cc" \
  "$hawk" grade "$work/syntax/mm.c" "$T/short1-bal.rep"
if grep -q "syntax/mm.c:1:" "$work/err"; then
  ok "the compiler's messages name the student's file"
else
  fail "the compiler's messages name the student's file" "$(cat "$work/err")"
fi
variant norealloc 's|^void \*mm_realloc(void \*ptr, size_t size) {$|void *mm_realloc_(void *ptr, size_t size);\nvoid *mm_realloc_(void *ptr, size_t size) {|' &&
  refused "mm.c without mm_realloc" "does not compile" "$hawk" grade "$work/norealloc/mm.c" "$T/short1-bal.rep"
fi # usage

# --- --view: a hawk view page of the student's heap per trace ------------------
if part view; then
mkdir -p "$work/views"
out=$("$hawk" grade --rounds 0 --view "$work/views" "$example" "$T/short1-bal.rep" 2>&1)
rc=$?
page=$work/views/short1-bal.html rec=$work/views/short1-bal.calls
if ((rc == 0)) && [[ -s $page && -s $rec ]] && (($(wc -l <"$rec") == 13)); then
  ok "--view DIR: DIR/short1-bal.html and the grader's record (mm_init and 12 calls) written"
else
  fail "--view DIR: DIR/short1-bal.html and the grader's record written" "exit $rc" "$out"
fi
if [[ -s $page ]] && ! grep -Eqi '(src|href)=["'"'"']?(https?:|//)' "$page"; then
  ok "--view: the page is self-contained (no http/https src or href)"
else
  fail "--view: the page is self-contained (no http/https src or href)"
fi
chromium=${CHROMIUM:-chromium}
if command -v "$chromium" >/dev/null 2>&1 && [[ -s $rec ]]; then
  # Each call that placed a payload: #explain at that op names the payload's
  # offset and size as the grader recorded them.  Line 0 of the record is
  # mm_init (op 0, before the first call): #explain there names the heap it
  # asked for, and each call that grew the heap says from what size (the
  # previous line's heap: mm_init's for call 1, never "from 0" for it).
  flags=(--headless --disable-gpu --no-first-run --user-data-dir="$work/profile"
    --virtual-time-budget=5000 --disable-background-networking --disable-component-update)
  ((EUID == 0)) && flags+=(--no-sandbox)
  explain_at() {
    timeout 120 "$chromium" "${flags[@]}" --dump-dom "file://$page#op=$1" 2>/dev/null |
      python3 -c 'import re, sys
s = sys.stdin.read(); i = s.find("id=\"explain\"")
print(re.sub("<[^>]+>", " ", s[i:i + 1500]) if i >= 0 else "")'
  }
  commas() { python3 -c "print(f'{$1:,}')"; }
  bad= checked=0 grew=0 stayed=0 was=
  while read -r n off len heap; do
    if ((n == 0)); then
      explain=$(explain_at 0)
      want="mm_init made the heap $(commas "$heap") bytes"
      if ((off != -1 || len != 0)) || ! grep -qF "$want" <<<"$explain"; then
        bad+="op 0 (record: $n $off $len $heap): want '$want' in: $(head -c 300 <<<"$explain") "
      fi
      was=$heap
      continue
    fi
    if ((off < 0)) && ((heap <= was)); then
      continue
    fi
    explain=$(explain_at "$n")
    if ((off >= 0)); then
      want=$(python3 -c "print(f'payload of {$len:,} bytes at heap offset {$off:#x}')")
      if ! grep -qF "Call $n " <<<"$explain" || ! grep -qF "$want" <<<"$explain"; then
        bad+="op $n: want '$want' in: $(head -c 300 <<<"$explain") "
      fi
      checked=$((checked + 1))
      # A call that left the heap's size as it was says no growth.
      if ((heap <= was)); then
        if grep -qF "The heap grew" <<<"$explain"; then
          bad+="op $n: the heap stayed at $(commas "$heap") bytes, yet: $(head -c 300 <<<"$explain") "
        fi
        stayed=$((stayed + 1))
      fi
    fi
    if ((heap > was)); then
      want="The heap grew (mem_sbrk) from $(commas "$was") to $(commas "$heap") bytes."
      if ! grep -qF "$want" <<<"$explain"; then
        bad+="op $n: want '$want' in: $(head -c 300 <<<"$explain") "
      fi
      grew=$((grew + 1))
    fi
    was=$heap
  done <"$rec"
  if [[ -z $bad ]] && ((checked > 0 && grew > 0 && stayed > 0)); then
    ok "--view: #explain names mm_init's heap at op 0, each of $checked mallocs' payload offset and size and each of $grew growths from the grader's record (and no growth at the $stayed that grew nothing)"
  else
    fail "--view: #explain names mm_init's heap at op 0, each malloc's payload offset and size and each growth from the grader's record" "$bad"
  fi
else
  skip "--view in headless Chromium" "$chromium is not installed (make deps)"
fi
fi # view

# --- could not grade (continued) ----------------------------------------------
if part usage; then
refused "--view to a missing directory" '^hawk: grade: --view /nonexistent/d: not a directory' \
  "$hawk" grade --view /nonexistent/d "$example"
refused "no mm.c" '^hawk: grade: no mm.c given' "$hawk" grade
refused "an unreadable mm.c" '^hawk: grade: cannot read /nonexistent/mm.c' "$hawk" grade /nonexistent/mm.c
refused "--align 4" '^hawk: grade: --align 4: give 8 or 16' "$hawk" grade --align 4 "$example"
refused "--timeout 0" '^hawk: grade: --timeout 0: give seconds' "$hawk" grade --timeout 0 "$example"
refused "--rounds x" '^hawk: grade: --rounds x: give 0 to 100' "$hawk" grade --rounds x "$example"
refused "--map to a missing directory" '^hawk: grade: --map /nonexistent/d: not a directory' \
  "$hawk" grade --map /nonexistent/d "$example"
refused "an unknown option" '^hawk: grade: unknown option --frob' "$hawk" grade --frob 1 "$example"
# A hawk with no ../../shared/traces beside it, and no HAWK_TRACES.
mkdir -p "$work/a/b" && cp "$hawk" "$work/a/b/hawk"
refused "no trace directory" '^hawk: grade: no trace given and no trace directory' \
  env HAWK_TRACES= "$work/a/b/hawk" grade "$example"
out=$("$hawk" grade --rounds 0 "$example" "$work/missing.rep" "$T/short1-bal.rep" 2>&1)
if [[ $? == 1 ]] && grep -q '^missing  *0  *bad trace' <<<"$out" &&
  grep -q '^missing: bad trace: ' <<<"$out"; then
  ok "a missing trace is that trace's result ('bad trace'), the others graded"
else
  fail "a missing trace is that trace's result ('bad trace'), the others graded" "$out"
fi
out=$("$hawk" grade --help)
if [[ $out == "usage: hawk grade "* ]]; then ok "hawk grade --help"; else fail "hawk grade --help" "$out"; fi
fi # usage

# --- an allocation into a live id --------------------------------------------
if part liveid; then
# The malloc-lab format has no such op; the replay keeps the old block
# allocated (a leak), and so does the grader: one id allocated 2,000 times is
# 2,000 live blocks.  The grader's table of live blocks was sized by the ids
# (1): past 170 blocks it wrote over its other tables and crashed, reported
# as the student's allocator crashing (at op 683).
{
  printf '%s\n' 100000 1 2000 1
  for ((k = 0; k < 2000; k++)); do echo 'a 0 8'; done
} >"$work/same_id.rep"
out=$("$hawk" grade --rounds 1 "$example" "$work/same_id.rep" 2>&1)
rc=$?
if ((rc == 0)) && grep -qE '^same_id +2000 +correct +16000 ' <<<"$out"; then
  ok "grade_live_id_kept: one id allocated 2,000 times is correct, its 2,000 blocks live (16,000 bytes)"
else
  fail "grade_live_id_kept: one id allocated 2,000 times is correct, its 2,000 blocks live" \
    "exit $rc" "$out"
fi
# The block left allocated still counts: an allocator that hands out its
# space again overlaps it.
mkdir -p "$work/again"
cat >"$work/again/mm.c" <<'EOF'
#include <stddef.h>
#include "memlib.h"
#include "mm.h"
static char *block; /* every call gets the same 16 bytes */
int mm_init(void) {
  block = mem_sbrk(32);
  return block ? 0 : -1;
}
void *mm_malloc(size_t size) { return size <= 16 ? block + 16 : NULL; }
void mm_free(void *ptr) { (void)ptr; }
void *mm_realloc(void *ptr, size_t size) { return size <= 16 ? ptr : NULL; }
EOF
printf '%s\n' 1000 1 2 1 'a 0 8' 'a 0 8' >"$work/live_twice.rep"
out=$("$hawk" grade --rounds 0 "$work/again/mm.c" "$work/live_twice.rep" 2>&1)
rc=$?
if ((rc == 1)) && grep -qE '^live_twice: overlap: at op 2 \(line 6: a 0 8\): mm_malloc\(8\) returned \[heap\+0x10, \+8\), which overlaps block 0 ' <<<"$out"; then
  ok "grade_live_id_overlap: a block handed out over one left allocated in the same id overlaps"
else
  fail "grade_live_id_overlap: a block handed out over one left allocated in the same id overlaps" \
    "exit $rc" "$out"
fi
fi # liveid

# --- files that are not regular files -------------------------------------------
if part files; then
# A FIFO with no writer as MM.C or as a trace: the open waited for ever (and
# the scratch directory stayed behind when hawk was killed).  Now the open
# does not wait and only a regular file is read.
mkfifo "$work/fifo"
refused "grade_fifo_source: a FIFO as mm.c" '^hawk: grade: .*/fifo: not a regular file$' \
  timeout 10 "$hawk" grade --rounds 0 "$work/fifo" "$T/short1-bal.rep"
out=$(timeout 10 "$hawk" grade --rounds 0 "$example" "$work/fifo" 2>&1)
rc=$?
if ((rc == 1)) && grep -q '^fifo: bad trace: .*/fifo: not a regular file$' <<<"$out"; then
  ok "grade_fifo_trace: a FIFO as a trace is that trace's 'bad trace', exit 1"
else
  fail "grade_fifo_trace: a FIFO as a trace is that trace's 'bad trace', exit 1" "exit $rc" "$out"
fi

# MM.C that never ends (/dev/zero) was copied into the scratch directory
# without a bound (6.9 GB in 20 s); one far larger than any allocator is
# refused by its size, before anything is written.
refused "grade_source_dev_zero: /dev/zero as mm.c" '^hawk: grade: /dev/zero: not a regular file$' \
  timeout 10 "$hawk" grade --rounds 0 /dev/zero "$T/short1-bal.rep"
truncate -s 5M "$work/big.c"
refused "grade_source_too_big: a 5 MiB mm.c" \
  '^hawk: grade: .*/big.c: 5242880 bytes, more than the 4 MiB an mm.c may have$' \
  timeout 10 "$hawk" grade --rounds 0 "$work/big.c" "$T/short1-bal.rep"
if [[ -z $(ls -A "$TMPDIR") ]]; then
  ok "grade_source_scratch_removed: nothing left in TMPDIR by the refused files"
else
  fail "grade_source_scratch_removed: nothing left in TMPDIR by the refused files" "$(ls -A "$TMPDIR")"
fi
fi # files

# --- a trace of no call -------------------------------------------------------------
if part empty; then
# A .rep of its header only scored 40 of 100: 0 calls in 0 ns is 0/0, a
# NaN that passed min(1, ratio) as 1, and the total read "(-nan%)".  A
# trace of no call is a bad trace: nothing to grade, score 0.
printf '%s\n' 0 1 0 1 >"$work/empty.rep"
out=$("$hawk" grade --rounds 1 "$example" "$work/empty.rep" 2>&1)
rc=$?
if ((rc == 1)) && grep -qE '^empty +0 +bad trace( +-)+ +0\.0$' <<<"$out" &&
  grep -qE '^empty: bad trace: .*/empty.rep: no calls to grade$' <<<"$out" &&
  grep -q '^total: 0 of 1 traces correct, mean utilization 0.0%, score 0.0/100$' <<<"$out" &&
  ! grep -qi nan <<<"$out"; then
  ok "grade_empty_trace: a trace of no call is a bad trace, score 0, exit 1"
else
  fail "grade_empty_trace: a trace of no call is a bad trace, score 0, exit 1" "exit $rc" "$out"
fi
fi # empty

# --- processes the student's allocator starts ----------------------------------------
if part fork; then
# grade_kills CASE WHAT VARIANT MARK: hawk grade --timeout 2 of the variant
# (whose mm_init starts a child that runs "sleep MARK") is a timeout in less
# than 10 s, says the grader ended and its child was killed, and leaves no
# "sleep MARK" running.
grade_kills() {
  local case=$1 what=$2 name=$3 mark=$4 start out rc secs left
  start=$(date +%s.%N)
  out=$("$hawk" grade --timeout 2 --rounds 0 "$work/$name/mm.c" "$T/short1-bal.rep" 2>&1)
  rc=$?
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  left=$(pgrep -f "sleep $mark")
  if ((rc == 1)) && awk -v s="$secs" 'BEGIN { exit !(s < 10) }' && [[ -z $left ]] &&
    grep -qE '^short1-bal +12 +timeout ' <<<"$out" &&
    grep -qE '^short1-bal: timeout: a process the allocator started still running after 2 s \(the grader ended at .*\); killed$' <<<"$out"; then
    ok "$case: $what: timeout in $secs s, killed"
  else
    fail "$case: $what: timeout in < 10 s, killed" "exit $rc, $secs s, left: $left" "$out"
    [[ -n $left ]] && kill $left
  fi
}
# An mm_init that starts a child which sleeps 12 s holding the result pipe:
# hawk read the pipe until its end, 10 s past --timeout 2, and left the
# child running.  The grader leads a process group of its own, the pipe is
# read against the deadline, and the group is killed: a timeout in about
# 2 s, no process left.
# (The sleeps' numbers carry this shell's: a run of this part beside
# another, as the mutation tests run them, must not see the other's.)
mark=12.$$1
variant forks 's|^int mm_init(void) {|int mm_init(void) {\n  static int forked;\n  if (!forked++ \&\& fork() == 0) execl("/bin/sleep", "sleep", "'"$mark"'", (char *)0);|
1i #include <unistd.h>'
grade_kills grade_timeout_bounds_children "a child of mm_init holding the pipe" forks "$mark"
# The same child, gone to a session of its own (setsid) before it sleeps:
# the group's kill missed it, and it ran on after hawk had ended.  hawk
# grade adopts what its children leave (a child subreaper) and kills it.
mark=12.$$3
variant escapes 's|^int mm_init(void) {|int mm_init(void) {\n  static int forked;\n  if (!forked++ \&\& fork() == 0) {\n    setsid();\n    execl("/bin/sleep", "sleep", "'"$mark"'", (char *)0);\n  }|
1i #include <unistd.h>'
grade_kills grade_timeout_kills_a_child_in_its_own_session "mm_init's child called setsid" escapes "$mark"
fi # fork

# --- long paths and outputs of the same name --------------------------------------
if part paths; then
# dotted DIR LEN: DIR followed by "/." (and one "/" for an odd length) up to
# LEN bytes: the same directory, named at that length.
dotted() {
  local d=$1
  (((${2} - ${#d}) % 2)) && d="$d/"
  while ((${#d} < $2)); do d="$d/."; done
  printf '%s' "$d"
}
# A TMPDIR of 600 bytes was cut to its first 400 ($work/p): the build went
# there, over the user's driver.c and student.c, and was then unlinked.
mkdir -p "$work/p" "$work/p_tmp"
echo "the user's driver" >"$work/p/driver.c"
echo "the user's student" >"$work/p/student.c"
long=$(dotted "$work/p" 600)
out=$(TMPDIR=$long "$hawk" grade --rounds 0 "$example" "$T/short1-bal.rep" 2>&1)
rc=$?
if ((rc == 0)) && [[ $(cat "$work/p/driver.c") == "the user's driver" &&
  $(cat "$work/p/student.c") == "the user's student" && $(ls "$work/p") == $'driver.c\nstudent.c' ]]; then
  ok "grade_tmpdir_long: a TMPDIR of 600 bytes is used whole, the files of its first 400 untouched"
else
  fail "grade_tmpdir_long: a TMPDIR of 600 bytes is used whole, the files of its first 400 untouched" \
    "exit $rc" "$(ls -l "$work/p")" "$out"
fi
# One whose scratch directory fits in PATH_MAX but not the files in it:
# refused in one line, nothing made.
long=$(dotted "$work/p" 4060)
TMPDIR=$long "$hawk" grade --rounds 0 "$example" "$T/short1-bal.rep" >"$work/out" 2>"$work/err"
rc=$?
if ((rc == 2)) && [[ $(wc -l <"$work/err") == 1 && $(ls "$work/p") == $'driver.c\nstudent.c' ]] &&
  grep -qE '^hawk: grade: TMPDIR is 4060 bytes long: a path in a scratch directory under it would be longer than PATH_MAX \(4096 bytes\)$' "$work/err"; then
  ok "grade_tmpdir_too_long: a TMPDIR of 4,060 bytes is refused in one line, exit 2"
else
  fail "grade_tmpdir_too_long: a TMPDIR of 4,060 bytes is refused in one line, exit 2" "exit $rc" \
    "$(ls "$work/p")" "$(head -c 600 "$work/err")"
fi
# --map and --view DIR of 600 bytes: the outputs go to DIR, not to the
# directory of its first 400 bytes.
mkdir -p "$work/pm/sub"
long=$(dotted "$work/pm" 590)/sub
out=$("$hawk" grade --rounds 0 --map "$long" --view "$long" "$example" "$T/short1-bal.rep" 2>&1)
rc=$?
if ((rc == 0)) && [[ $(ls "$work/pm") == sub &&
  $(ls "$work/pm/sub") == $'short1-bal.calls\nshort1-bal.html\nshort1-bal.svg' ]]; then
  ok "grade_outputs_long_dir: --map and --view to a DIR of 600 bytes write there"
else
  fail "grade_outputs_long_dir: --map and --view to a DIR of 600 bytes write there" "exit $rc" \
    "$(ls -R "$work/pm")" "$out"
fi
# An output path past PATH_MAX is refused before any work.
long=$(dotted "$work/pm/sub" 4085)
refused "grade_outputs_too_long: --map DIR/TRACE.svg past PATH_MAX" \
  '^hawk: grade: --map: the output for .*/short1-bal.rep would be 4100 bytes long, more than PATH_MAX \(4096 bytes\)$' \
  "$hawk" grade --rounds 0 --map "$long" "$example" "$T/short1-bal.rep"
# Two traces of the same file name wrote the same DIR/NAME.svg, the second
# over the first, silently; now refused before any work.
mkdir -p "$work/same/a" "$work/same/b" "$work/same/out"
cp "$T/short1-bal.rep" "$work/same/a/x.rep"
cp "$T/short2-bal.rep" "$work/same/b/x.rep"
for opt in --map --view; do
  ext=.svg
  [[ $opt == --view ]] && ext=.calls
  "$hawk" grade --rounds 0 "$opt" "$work/same/out" "$example" "$work/same/a/x.rep" \
    "$work/same/b/x.rep" >"$work/out" 2>"$work/err"
  rc=$?
  if ((rc == 2)) && [[ $(wc -l <"$work/err") == 1 && -z $(ls -A "$work/same/out") && ! -s $work/out ]] &&
    grep -qE "^hawk: grade: $opt: .*/a/x.rep and .*/b/x.rep would both write x\\$ext: give traces of different file names\$" "$work/err"; then
    ok "grade_outputs_same_name: $opt with two traces named x is refused in one line, nothing written"
  else
    fail "grade_outputs_same_name: $opt with two traces named x is refused in one line, nothing written" \
      "exit $rc" "$(ls "$work/same/out")" "$(head -c 600 "$work/out" "$work/err")"
  fi
done
fi # paths

left=$(ls -A "$TMPDIR")
if [[ -z $left ]]; then
  ok "hawk grade leaves nothing in TMPDIR"
else
  fail "hawk grade leaves nothing in TMPDIR" "$left"
fi
finish
