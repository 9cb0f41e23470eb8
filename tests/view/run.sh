#!/usr/bin/env bash
# run.sh - tests of the heap explorer, `hawk view` (part of `make test`):
#   * the library's events rebuild the heap exactly: `hawk view --check`
#     compares the blocks after every call with hawk_walk's, on classic traces
#     under every policy, with the thread cache and in textbook mode;
#   * the page, loaded from disk in headless Chromium, shows at #op=N exactly
#     the blocks hawk_walk reported after N calls (`--walk N`), and what its
#     explanation (#explain) says about the call is seen in those blocks;
#     #op=peak opens at the trace's peak, computed here from the .rep;
#   * zoomed in to bytes, a block's header, payload, rounding and a free
#     block's footer are drawn in their colours, and a thread-cached block in
#     the legend's; fitted to the heap, each column of blocks under a pixel
#     in the colour of the state with most of its bytes (drawing.py, the
#     canvas read);
#   * a trace's name is escaped in the page's script (<!--<script>&.rep);
#   * the controls, pressed through the DevTools protocol (controls.py):
#     step on and back, start and end, peak, next arena growth, next
#     different decision, play and pause, the scrubber, zoom;
#   * the page makes no network request (Chromium's network log) and links
#     nothing outside itself; each classic trace's page is under 5 MB;
#   * screenshots, kept in build/view/ (the test's artifacts); the two that
#     docs/lab.md shows are the same pictures as this run's (samepng.py);
#   * bad usage (a misspelt policy, an allocator without events) is one line
#     and exit status 2; so is a page that cannot be written (/dev/full),
#     and --walk N past the trace's calls (or out of range).
# Without chromium (make deps installs it) the browser cases are skipped.
# Environment: HAWK (default build/hawk), HAWK_TRACES (default
# <repo>/../shared/traces), CHROMIUM (default chromium), TEST_PARTS (the parts
# to run, tests/harness.sh: compressor, events, usage, unwritable, sizes, cwd,
# browser, which is the five parts pages, drawing, controls, network and
# screenshots; default all).
set -uo pipefail
unset HAWK_VIEW_WALK_AT
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lab-env.sh
source "$here/../../scripts/lab-env.sh" test
chromium=${CHROMIUM:-chromium}
art=$root/build/view # the artifacts: pages and screenshots

mkdir -p "$art"

if [[ ! -x $hawk ]]; then
  fail "hawk built" "$hawk is missing (make tools)"
  finish
fi

# --- the page's compressor: what tools/deflate.c writes, zlib inflates -------
if part compressor; then
if cc -std=c11 -O2 -Wall -Wextra -Werror -I"$root/tools" -I"$root/include" -o "$work/deflate_check" \
  "$here/deflate_check.c" "$root/tools/deflate.c" 2>"$work/cc.err"; then
  head -c 300000 /dev/urandom >"$work/random.bin"
  : >"$work/empty.bin"
  printf 'a%.0s' $(seq 1 70000) >"$work/run.bin"
  cp "$traces/binary2-bal.rep" "$work/trace.bin"
  seq 1 200000 >"$work/numbers.bin"
  # Matches whose lengths are in Fibonacci numbers (1, 1, 2, 3 ... 2,584 of
  # lengths 7, 8, 9, 10, 11, 13 ...) copied from 17,000 random bytes: codes
  # so skewed that a Huffman tree of them is deeper than deflate allows (the
  # code lengths' code: 7 bits), built again from halved frequencies.
  python3 - "$work/fib.bin" <<'EOF'
import random, sys
base = [7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83]
r, fib = random.Random(1), [1, 1]
while len(fib) < len(base):
    fib.append(fib[-1] + fib[-2])
lengths = [n for n, f in zip(base, fib) for _ in range(f)]
r.shuffle(lengths)
out = bytearray(r.randrange(256) for _ in range(17000))
for n in lengths:
    at = len(out) - r.randint(n + 1, 30000)
    out += out[at:at + n]
open(sys.argv[1], "wb").write(out)
EOF
  bad=()
  for f in random empty run trace numbers fib; do
    "$work/deflate_check" "$work/$f.bin" >"$work/$f.z" || bad+=("$f: the compressor failed")
    r=$(python3 -c 'import sys, zlib
a = open(sys.argv[1], "rb").read(); z = open(sys.argv[2], "rb").read()
print("ok" if zlib.decompress(z, -15) == a and (len(a) < 1000 or len(z) < len(a) * 1.01) else "differs")' \
      "$work/$f.bin" "$work/$f.z" 2>&1 | tail -1)
    [[ $r == ok ]] || bad+=("$f: $r")
  done
  if ((${#bad[@]} == 0)); then ok "tools/deflate.c: zlib inflates what it writes"; else fail "tools/deflate.c: zlib inflates what it writes" "${bad[@]}"; fi
else
  fail "tools/deflate.c: zlib inflates what it writes" "$(cat "$work/cc.err")"
fi
fi # compressor

# --- the events against hawk_walk, at every call -------------------------------
if part events; then
for spec in "short1-bal:all:" "short2-bal:all:" "coalescing-bal:all:" "realloc2-bal:all:" \
  "realloc-bal:all:--textbook" "binary-bal:first-fit,segregated:--textbook" \
  "random-bal:first-fit,next-fit,best-fit:--textbook" "amptjp-bal:segregated:"; do
  IFS=: read -r name pol mode <<<"$spec"
  out=$("$hawk" view --check --policy "$pol" $mode --out "$work/c.html" "$traces/$name.rep" 2>&1)
  if [[ $? -eq 0 && $out == *"every call checked against hawk_walk"* ]]; then
    ok "events rebuild hawk_walk's blocks at every call: $name $pol $mode"
  else
    fail "events rebuild hawk_walk's blocks at every call: $name $pol $mode" "$out"
  fi
done
fi # events

# --- bad usage -----------------------------------------------------------------
if part usage; then
out=$("$hawk" view --policy frist-fit --out "$work/x.html" "$traces/short1-bal.rep" 2>&1)
rc=$?
if [[ $rc -eq 2 && $out == *"unknown policy 'frist-fit'"* && ! -e $work/x.html ]]; then
  ok "a misspelt policy: exit 2, one line"
else
  fail "a misspelt policy: exit 2, one line" "status $rc: $out"
fi
libc=$(ldd /bin/true | awk '/libc\.so/ {print $3}')
out=$("$hawk" view --allocator "$libc" --out "$work/x.html" "$traces/short1-bal.rep" 2>&1)
rc=$?
if [[ $rc -eq 2 && $out == *"reports no events"* ]]; then
  ok "an allocator without events: exit 2, one line"
else
  fail "an allocator without events: exit 2, one line" "status $rc: $out"
fi

# --walk N: N from 1 to the trace's calls (short1-bal has 12), read without
# truncation (2^32 + 5 is not 5); another N is one line, exit 2, no page.
for n in 13 4294967301 9223372036854775808 18446744073709551617 0 -1 5x; do
  rm -f "$work/w.html"
  "$hawk" view --walk "$n" --out "$work/w.html" "$traces/short1-bal.rep" >"$work/out" 2>"$work/err"
  rc=$?
  if [[ $rc -eq 2 && ! -s $work/out && ! -e $work/w.html && $(wc -l <"$work/err") -eq 1 ]] &&
    grep -q -e "--walk.*$n" "$work/err"; then
    ok "--walk $n on 12 calls: exit 2, one line ($(cat "$work/err"))"
  else
    fail "--walk $n on 12 calls: exit 2, one line, no page" "status $rc" "$(head -c 300 "$work/out")" \
      "$(cat "$work/err")"
  fi
done
# A trace's name goes into the page's script as a JSON string with '<', '>'
# and '&' as \u escapes: no name changes how the page is parsed ("<!--" then
# "<script>" would keep the script open past its end tag).
cp "$traces/short1-bal.rep" "$work/<!--<script>&.rep"
"$hawk" view --out "$work/name.html" "$work/<!--<script>&.rep" >/dev/null 2>"$work/err"
got=$(python3 - "$work/name.html" <<'EOF'
import json, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'const HAWK = \{trace: ("(?:[^"\\]|\\.)*")', page)
if not m:
    print("no trace name in the page")
elif re.search("[<>&]", m.group(1)) or json.loads(m.group(1)) != "<!--<script>&.rep":
    print("the name is written " + m.group(1))
else:
    print("escaped")
EOF
)
expect "a trace named <!--<script>&.rep: its name in the page's script escaped" escaped "$got$(cat "$work/err")"
"$hawk" view --walk 12 --out "$work/w.html" "$traces/short1-bal.rep" >"$work/out" 2>"$work/err"
rc=$?
if [[ $rc -eq 0 && -s $work/w.html ]] && grep -Eq '^0:\+0x[0-9a-f]+ [0-9]+ (allocated|cached|free)$' "$work/out"; then
  ok "--walk 12 (the last call): its blocks, exit 0"
else
  fail "--walk 12 (the last call): its blocks, exit 0" "status $rc" "$(cat "$work/out" "$work/err")"
fi
# hawk view leaves nothing in TMPDIR (its scratch trace and snapshot
# files): a page written, --check, --walk, a run refused (a misspelt
# policy) and one whose allocator fails (no events).
mkdir -p "$work/viewtmp"
for args in "" "--check" "--walk 5" "--policy frist-fit" "--allocator $libc"; do
  # shellcheck disable=SC2086 # the words of args are options
  TMPDIR=$work/viewtmp "$hawk" view $args --out "$work/t.html" "$traces/short1-bal.rep" >/dev/null 2>&1
  left=$(ls -A "$work/viewtmp")
  if [[ -z $left ]]; then
    ok "hawk view ${args:-(a page)}: nothing left in TMPDIR"
  else
    fail "hawk view ${args:-(a page)}: nothing left in TMPDIR" "$left"
    rm -rf "${work:?}/viewtmp" && mkdir "$work/viewtmp"
  fi
done
fi # usage

# --- a page that cannot be written ---------------------------------------------
if part unwritable; then
# /dev/full (through a link: nothing is made in /dev) takes no byte: one line
# naming the page, exit 2, and no "wrote" line; hawk grade --view writes its
# pages through the same function.
if [[ -c /dev/full ]]; then
  ln -s /dev/full "$work/full.html"
  "$hawk" view --out "$work/full.html" "$traces/short1-bal.rep" >"$work/out" 2>"$work/err"
  rc=$?
  if [[ $rc -eq 2 && $(wc -l <"$work/err") -eq 1 && ! -s $work/out ]] &&
    grep -q "^hawk: view: cannot write $work/full.html: No space left on device\$" "$work/err"; then
    ok "a page on /dev/full: exit 2, one line ($(cat "$work/err"))"
  else
    fail "a page on /dev/full: exit 2, one line" "status $rc" "$(cat "$work/out" "$work/err")"
  fi
  mkdir -p "$work/gv"
  ln -s /dev/full "$work/gv/short1-bal.html"
  "$hawk" grade --rounds 0 --view "$work/gv" "$root/examples/mm.c" "$traces/short1-bal.rep" \
    >"$work/out" 2>"$work/err"
  rc=$?
  # One line names the page, and the grade exits 2 (an output it was asked
  # for is missing), not 0 as when the page was written.
  if ((rc == 2)) && [[ $(grep -c "cannot write $work/gv/short1-bal.html" "$work/err") == 1 ]] &&
    grep -q "cannot write $work/gv/short1-bal.html: No space left on device" "$work/err"; then
    ok "hawk grade --view: a page on /dev/full is named on stderr once, exit 2"
  else
    fail "hawk grade --view: a page on /dev/full is named on stderr once, exit 2" "exit $rc" \
      "$(cat "$work/out" "$work/err")"
  fi
else
  skip "a page on /dev/full" "no /dev/full"
fi
fi # unwritable

# --- page sizes ------------------------------------------------------------------
if part sizes; then
big=()
for t in amptjp binary binary2 cccp coalescing cp-decl expr random random2 realloc realloc2; do
  for mode in "" --textbook; do
    if ! "$hawk" view $mode --out "$work/s.html" "$traces/$t-bal.rep" >/dev/null 2>&1; then
      big+=("$t $mode: hawk view failed")
      continue
    fi
    size=$(stat -c %s "$work/s.html")
    ((size < 5000000)) || big+=("$t $mode: $size bytes")
  done
done
if ((${#big[@]} == 0)); then ok "every classic trace's page is under 5 MB"; else fail "every classic trace's page is under 5 MB" "${big[@]}"; fi
fi # sizes

# --- without --out ---------------------------------------------------------------
# The page goes where the help says, hawk-view.html in the current
# directory, and nothing lands in the repository.
if part cwd; then
status_at_start=$(git -C "$root" status --porcelain --untracked-files=all 2>/dev/null || true)
mkdir -p "$work/cwd"
if (cd "$work/cwd" && "$hawk" view "$traces/short1-bal.rep" >"$work/view.out" 2>&1) &&
  [[ -s $work/cwd/hawk-view.html ]] &&
  "$hawk" view --help | grep -q 'hawk-view.html in the current' &&
  [[ $(git -C "$root" status --porcelain --untracked-files=all 2>/dev/null || true) == "$status_at_start" ]]; then
  ok "hawk view without --out writes ./hawk-view.html, as its help says, and nothing in the repository"
else
  fail "hawk view without --out writes ./hawk-view.html, as its help says, and nothing in the repository" \
    "$(cat "$work/view.out")" "$(ls "$work/cwd")"
fi
fi # cwd

# --- in the browser ------------------------------------------------------------
# Five parts, each a browser run of its own: pages (each page against
# hawk_walk), drawing (the canvas read), controls, network, screenshots;
# "browser" runs all five (a mutation names the one that guards it: on a
# quiet machine the whole took 31 s, the pages 13, the screenshots 10, the
# others 2 to 5; the pages 7.5 s on a loaded one since they are read in one
# browser, dump.py, rather than a launch of Chromium each).
browser_all=0
part browser && browser_all=1
# bpart NAME: whether to run the browser's part NAME.
bpart() { ((browser_all)) || part "$1"; }
[[ $browser_all == 1 || -z ${TEST_PARTS-} || ",$TEST_PARTS," == *,@(pages|drawing|controls|network|screenshots),* ]] ||
  finish
if ! command -v "$chromium" >/dev/null 2>&1; then
  skip "the pages in headless Chromium" "$chromium is not installed (make deps)"
  finish
fi
# The browser sees the DejaVu fonts only, which every machine of this kind
# has (fontconfig's own dependency): fonts that other packages bring along
# (ghostscript's URW fonts, Lato, Noto Mono, Droid) change the glyphs
# Chromium picks, and the screenshots compared by the pixel with docs/lab's
# below differed by 5,586 pixels on a machine where they had been installed.
if [[ -d /usr/share/fonts/truetype/dejavu ]]; then
  cat >"$work/fonts.conf" <<EOF
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>/usr/share/fonts/truetype/dejavu</dir>
  <cachedir>$work/fontcache</cachedir>
  <include ignore_missing="yes">/etc/fonts/conf.d</include>
</fontconfig>
EOF
  export FONTCONFIG_FILE="$work/fonts.conf"
fi
# A profile of its own in the scratch folder; no sandbox when run as root.
browse() {
  # Chromium's own traffic (updates, sync, spelling dictionaries...) off, so
  # that the network log holds only what the page asks for.
  local flags=(--headless --disable-gpu --no-first-run --user-data-dir="$work/profile"
    --virtual-time-budget=5000 --hide-scrollbars --disable-background-networking
    --disable-component-update --disable-sync --disable-default-apps --no-pings
    --disable-client-side-phishing-detection --disable-domain-reliability
    --disable-features=Translate,OptimizationHints,MediaRouter,SpellCheck --no-default-browser-check)
  ((EUID == 0)) && flags+=(--no-sandbox)
  timeout 120 "$chromium" "${flags[@]}" "$@" 2>>"$work/chromium.log"
}

# The peak of a .rep trace, the malloc-lab way: the first call after which
# the live requested bytes are at their most.
rep_peak() {
  python3 - "$1" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
head = [l for l in lines[:5]]
ops = [l.split() for l in lines if l[:1] in ("a", "f", "r")]
live, size, peak, at = 0, {}, -1, 0
for i, o in enumerate(ops, 1):
    if o[0] == "f":
        live -= size.pop(o[1], 0)
    else:
        live += int(o[2]) - size.get(o[1], 0)
        size[o[1]] = int(o[2])
    if live > peak:
        peak, at = live, i
print(at)
EOF
}

# page_make NAME TRACE OP MODE POLICIES: $art/NAME.html, and in
# $work/walk.txt hawk_walk's blocks after call OP (peak: the trace's peak);
# fails (and says so) if hawk view did.
declare -A made # the pages this run made
page_make() {
  local name=$1 trace=$2 at=$3 mode=$4 pols=$5 n=$3
  [[ $at == peak ]] && n=$(rep_peak "$trace")
  if "$hawk" view $mode --policy "$pols" --walk "$n" --out "$art/$name.html" "$trace" \
    >"$work/walk.txt" 2>"$work/err"; then
    made[$name]=1
    return
  fi
  fail "page of $name at #op=$at" "$(cat "$work/err")"
  return 1
}

# need_page NAME TRACE OP MODE POLICIES: page_make, unless the pages part
# made it in this run (a part run alone makes the pages it reads).
need_page() { [[ -n ${made[$1]-} ]] || page_make "$@"; }

# page_add NAME TRACE OP MODE POLICIES: makes the page (page_make) and
# keeps hawk_walk's blocks after call OP for page_check; the page is read
# with the others in one browser (dump.py) at the pages' end (pages_read).
declare -a page_urls=() page_checks=()
page_add() {
  local name=$1 trace=$2 at=$3 mode=$4 first=${5%%,*}
  local n=$at key=$1-$3
  [[ $at == peak ]] && n=$(rep_peak "$trace")
  page_make "$@" || return
  cp "$work/walk.txt" "$work/walk-$key.txt"
  # In textbook mode a call that is an allocation ('a' in the .rep) took a
  # free block: the explanation must say where the new block is.
  local new=""
  [[ $mode == --textbook && $(awk -v n="$n" '/^[afr] / && ++k == n { print $1 }' "$trace") == a ]] &&
    new=new
  page_urls+=("$key" "$n" "file://$art/$name.html#op=$at&dump")
  page_checks+=("$key $name $at $first $n $new")
}

# pages_read: every page page_add made, in one browser, each as
# --dump-dom would print it, into $work/dom/KEY.html; then each checked
# against its hawk_walk (check.py).
pages_read() {
  mkdir -p "$work/dom"
  ((${#page_urls[@]})) || return
  python3 "$here/dump.py" "$chromium" "$work/dom" "${page_urls[@]}" 2>"$work/dump.err"
  local key name at first n new out
  for c in "${page_checks[@]}"; do
    read -r key name at first n new <<<"$c"
    if [[ ! -s $work/dom/$key.html ]]; then
      fail "page of $name at #op=$at" "$(grep "^$key: " "$work/dump.err" || cat "$work/dump.err")"
    elif out=$(python3 "$here/check.py" "$work/dom/$key.html" "$work/walk-$key.txt" "$first" "$n" \
      ${new:+"$new"} 2>&1); then
      ok "page of $name at #op=$at (call $n): $out"
    else
      fail "page of $name at #op=$at" "$out"
    fi
  done
}

if bpart pages; then
page_add short1-textbook "$traces/short1-bal.rep" 3 --textbook first-fit,segregated
page_add short1-textbook "$traces/short1-bal.rep" 10 --textbook first-fit,segregated
page_add random-first-fit "$traces/random-bal.rep" 1000 --textbook first-fit,best-fit
page_add random-first-fit "$traces/random-bal.rep" peak --textbook first-fit,best-fit
# The last call of the first chunk (calls 1 to 2,048): drawn from its own
# chunk, where its changes and events are, not from the next one's.
page_add random-chunk-end "$traces/random-bal.rep" 2048 --textbook first-fit,best-fit
page_add binary-cache "$traces/binary-bal.rep" 2500 "" segregated
page_add realloc-cache "$traces/realloc-bal.rep" 7001 "" next-fit,segregated
page_add coalescing-all "$traces/coalescing-bal.rep" 9999 --textbook next-fit,first-fit,best-fit,segregated
page_add realloc-textbook "$traces/realloc-bal.rep" 301 --textbook first-fit,best-fit
# Requests of 1 and 5 bytes: a block of 32 bytes each, the least the
# library makes (the call's line says "at least 32").
printf '1000\n2\n3\n1\na 0 1\na 1 5\nf 0\n' >"$work/tiny.rep"
page_add tiny-requests "$work/tiny.rep" 2 --textbook segregated,first-fit
# A trace whose keyframes would copy more than tools/view.h's
# VIEW_KEYFRAME_BLOCKS blocks gets longer chunks (chunk_for): 24,000 live
# blocks, then 800,000 calls on one more, in chunks of 4,096 rather than
# 2,048; the page draws a call 3,680 calls into its chunk as hawk_walk
# reports it (read with chunks of 2,048, the page showed the call's block
# as cached, not allocated).
awk 'BEGIN { print 1; print 24001; print 824000; print 1
  for (i = 0; i < 24000; i++) print "a " i " 24"
  for (i = 0; i < 400000; i++) { print "a 24000 40"; print "f 24000" } }' >"$work/toggle.rep"
page_add toggle-chunks "$work/toggle.rep" 700001 "" segregated
pages_read
# The checker itself fails on a block list that is not hawk_walk's: the
# coalescing page just checked (3 blocks), against its walk less its first
# block, refused first for that (its figures then differ too).
out="" refused=0
if [[ -s $work/dom/coalescing-all-9999.html ]]; then
  sed '1d' "$work/walk-coalescing-all-9999.txt" >"$work/walk-less.txt"
  out=$(python3 "$here/check.py" "$work/dom/coalescing-all-9999.html" "$work/walk-less.txt" next-fit 9999 2>&1) ||
    refused=1
fi
if ((refused)) && [[ $out == "the page shows 3 blocks, hawk_walk 2;"* ]]; then
  ok "check.py refuses a page whose blocks differ from hawk_walk's"
else
  fail "check.py refuses a page whose blocks differ from hawk_walk's" "${out:-(no page)}"
fi
expect "a trace of 824,000 calls over 24,000 live blocks: chunks of 4,096 calls" "chunk: 4096" \
  "$(grep -o 'chunk: [0-9]*' "$art/toggle-chunks.html")"
fi # pages

if bpart drawing; then

# The parts of the blocks, zoomed in to bytes, read back from the canvas
# (drawing.py): at call 301 of realloc-bal (textbook, first fit) the malloc's
# block (header, payload, rounding) and a free block (header, footer).
"$hawk" view --textbook --policy first-fit --walk 301 --out "$work/parts.html" \
  "$traces/realloc-bal.rep" >"$work/walk301.txt" 2>"$work/err"
while read -r word rest; do
  case $word in
  ok) ok "drawn to the byte: $rest" ;;
  FAIL) fail "drawn to the byte: ${rest%%: *}" "${rest#*: }" ;;
  *) fail "drawn to the byte: drawing.py said" "$word $rest" ;;
  esac
done < <(timeout 300 python3 "$here/drawing.py" "$work/parts.html" 301 "$work/walk301.txt" \
  "$chromium" 2>&1 || echo "FAIL drawing.py: exit $?")

# A block a thread cache holds, drawn in the legend's colour for it (call
# 2,500 of binary-bal with the cache, segregated fit).
"$hawk" view --policy segregated --walk 2500 --out "$work/cached.html" \
  "$traces/binary-bal.rep" >"$work/walk2500.txt" 2>"$work/err"
while read -r word rest; do
  case $word in
  ok) ok "drawn in its colour: $rest" ;;
  FAIL) fail "drawn in its colour: ${rest%%: *}" "${rest#*: }" ;;
  *) fail "drawn in its colour: drawing.py said" "$word $rest" ;;
  esac
done < <(timeout 300 python3 "$here/drawing.py" --cached "$work/cached.html" 2500 "$work/walk2500.txt" \
  "$chromium" 2>&1 || echo "FAIL drawing.py --cached: exit $?")

# The view fitted to the heap, where blocks under a pixel are gathered by
# column: each column in the colour of the state with most of its bytes
# (random-bal at its peak with the cache, segregated fit: free, allocated
# and cached columns).
peak=$(rep_peak "$traces/random-bal.rep")
"$hawk" view --policy segregated --walk "$peak" --out "$work/fitted.html" \
  "$traces/random-bal.rep" >"$work/walk-fitted.txt" 2>"$work/err"
while read -r word rest; do
  case $word in
  ok) ok "drawn by column: $rest" ;;
  FAIL) fail "drawn by column: ${rest%%: *}" "${rest#*: }" ;;
  *) fail "drawn by column: drawing.py said" "$word $rest" ;;
  esac
done < <(timeout 300 python3 "$here/drawing.py" --fitted "$work/fitted.html" "$peak" \
  "$work/walk-fitted.txt" "$chromium" 2>&1 || echo "FAIL drawing.py --fitted: exit $?")

fi # drawing

if bpart controls; then
# The controls pressed (tests/view/controls.py, through the DevTools
# protocol): one case per control, each as the script reports it.
need_page random-first-fit "$traces/random-bal.rep" peak --textbook first-fit,best-fit
trace=$traces/random-bal.rep
while read -r word rest; do
  case $word in
  ok) ok "controls of random-first-fit: $rest" ;;
  FAIL) fail "controls of random-first-fit: ${rest%%: *}" "${rest#*: }" ;;
  *) fail "controls of random-first-fit: controls.py said" "$word $rest" ;;
  esac
done < <(timeout 600 python3 "$here/controls.py" "$art/random-first-fit.html" \
  "$(grep -c '^[afr] ' "$trace")" "$(rep_peak "$trace")" "$chromium" 2>&1 || echo "FAIL controls.py: exit $?")


fi # controls

if bpart network; then
need_page random-first-fit "$traces/random-bal.rep" peak --textbook first-fit,best-fit
# No network: the page links nothing outside itself, and Chromium's network
# log of a visit holds no request but the file itself.
page=$art/random-first-fit.html
if grep -Eqi '(src|href)=["'"'"']?(https?:|//)|url\(|@import|fetch\(|XMLHttpRequest|WebSocket' "$page"; then
  fail "the page refers to nothing outside itself" "$(grep -Eoi '(src|href)=.{0,40}|url\(.{0,40}|fetch\(|XMLHttpRequest|WebSocket' "$page" | head -3)"
else
  ok "the page refers to nothing outside itself"
fi
# requests NETLOG: the URLs the page asked for, other than files: requests
# of Blink's resource loader (traffic annotation 101845102) or navigations
# (63171670); Chromium's own traffic (updates, accounts...) has others.
requests() {
  python3 - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
urls = set()
for m in re.finditer(r'"traffic_annotation":(\d+),"url":"([^"]+)"', text):
    if m.group(1) in ("101845102", "63171670") and not m.group(2).startswith(("file:", "data:", "about:")):
        urls.add(m.group(2))
print(" ".join(sorted(urls)))
EOF
}
# The detector sees a request when there is one: a page that asks for an image.
printf '<!doctype html><img src="http://127.0.0.1:9/probe.png">' >"$work/probe.html"
browse --log-net-log="$work/probe.json" --dump-dom "file://$work/probe.html" >/dev/null
browse --log-net-log="$work/net.json" --dump-dom "file://$page#op=peak" >/dev/null
probe=$(requests "$work/probe.json")
seen=$(requests "$work/net.json")
if [[ $probe != *127.0.0.1:9/probe.png* ]]; then
  fail "no network request while the page runs" "the network log did not show a probe's request: '$probe'"
elif [[ -n $seen ]]; then
  fail "no network request while the page runs" "requests: $seen"
else
  ok "no network request while the page runs"
fi

fi # network

if bpart screenshots; then
# Screenshots (docs/lab.md shows realloc-textbook.png and
# realloc-textbook-bytes.png, copied from here).
shots=()
need_page realloc-textbook "$traces/realloc-bal.rep" 301 --textbook first-fit,best-fit
need_page random-first-fit "$traces/random-bal.rep" peak --textbook first-fit,best-fit
need_page short1-textbook "$traces/short1-bal.rep" 3 --textbook first-fit,segregated
need_page coalescing-all "$traces/coalescing-bal.rep" 9999 --textbook next-fit,first-fit,best-fit,segregated
browse --window-size=1400,1250 --screenshot="$art/realloc-textbook.png" "file://$art/realloc-textbook.html#op=301" >/dev/null
browse --window-size=1400,700 --screenshot="$art/realloc-textbook-bytes.png" "file://$art/realloc-textbook.html#op=301&view=100-900" >/dev/null
browse --window-size=1400,1500 --screenshot="$art/random-peak.png" "file://$art/random-first-fit.html#op=peak" >/dev/null
browse --window-size=1400,1200 --screenshot="$art/short1-op3.png" "file://$art/short1-textbook.html#op=3" >/dev/null
browse --window-size=1400,1500 --screenshot="$art/coalescing-all.png" "file://$art/coalescing-all.html#op=9999" >/dev/null
for s in random-peak short1-op3 coalescing-all realloc-textbook realloc-textbook-bytes; do
  [[ -s $art/$s.png && $(head -c 8 "$art/$s.png" | od -An -c | tr -d ' ') == '211PNG\r\n032\n' ]] || shots+=("$s.png missing or not a PNG")
done
if ((${#shots[@]} == 0)); then ok "screenshots in build/view/"; else fail "screenshots in build/view/" "${shots[@]}"; fi
# docs/lab.md shows two of them: they must show what this run's do
# (samepng.py: the same size, at most 0.1% of the pixels different, for the
# few anti-aliased ones Chromium varies; a change of the page changes
# thousands, and the copy below regenerates them).
stale=()
for pair in realloc-textbook:view-realloc realloc-textbook-bytes:view-bytes; do
  python3 "$here/samepng.py" "$art/${pair%%:*}.png" "$root/docs/lab/${pair#*:}.png" >"$work/png.out" 2>&1 ||
    stale+=("$(cat "$work/png.out"): cp build/view/${pair%%:*}.png docs/lab/${pair#*:}.png")
done
if ((${#stale[@]} == 0)); then
  ok "docs/lab.md's screenshots of the explorer are the ones this run took"
else
  fail "docs/lab.md's screenshots of the explorer are the ones this run took" "${stale[@]}"
fi
fi # screenshots

finish
