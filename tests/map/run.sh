#!/usr/bin/env bash
# run.sh - pictures that work on small heaps (`make test-map`), each checked
# by parsing the SVG (svg.py):
#   * a small heap is drawn zoomed in: the ruler spans a power of two from
#     16 KiB to 1 MiB, and the allocated pixels stand for the bytes the
#     snapshot's own walk counts; a big heap keeps the 4 MiB scale;
#   * the picture is titled with the trace, the policy and the op (the peak's
#     op computed here from the trace), or with the program;
#   * --at OP draws the heap after that op; bad values are refused;
#   * --policy all (and a list) writes one picture per policy, and FILE.svg
#     with them stacked, a row each;
#   * map --trace writes the pictures named and nothing else (no FILE.snap
#     beside them, no scratch left in $TMPDIR, whatever the end); an --out
#     that is a directory is one line;
#   * map --out PATH -- CMD removes only regular files at PATH and its
#     snapshot's path (a directory is one line; a link or device is kept);
#   * map --out PATH -- CMD names the frames of its own run, not one an
#     earlier run left beside the picture;
#   * glob characters in --map / --out match only themselves: no snapshot
#     but the run's own is drawn or named;
#   * an --allocator ELF file whose offsets wrap or run off its end is
#     answered (replay, view), never a crash;
#   * a free block one pixel wide is visibly different from the white line
#     between blocks (contrast of the colours).
# Environment: HAWK (default build/hawk), HAWK_TRACES.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lab-env.sh
source "$here/../../scripts/lab-env.sh" test
T=$traces
# hawk's scratch (map --trace's snapshot) in the test's own folder: a build
# that leaves it behind leaves nothing outside $work.
export TMPDIR=$work/tmp
mkdir -p "$TMPDIR"
svg() { python3 "$here/svg.py" "$@"; }
if [[ ! -x $hawk ]] || ! command -v python3 >/dev/null; then
  fail "build/hawk is built and python3 is installed"
  finish
fi

# The op (1-based) after which a .rep trace first has its most live bytes.
peak_op() {
  awk 'NR > 4 { n++ } NR > 4 && $1 == "a" { s[$2] = $3; l += $3 }
    NR > 4 && $1 == "f" { l -= s[$2]; s[$2] = 0 }
    NR > 4 && $1 == "r" { l += $3 - s[$2]; s[$2] = $3 }
    NR > 4 && l > p { p = l; at = n } END { print at }' "$1"
}

# --- zoomed in on a small heap --------------------------------------------------

out=$("$hawk" map --textbook --policy first-fit --trace "$T/realloc2-bal.rep" --out "$work/r2.svg" 2>&1)
if [[ $? != 0 ]]; then
  fail "hawk map --trace realloc2-bal.rep" "$out"
else
  # The ruler's last label is the bytes across the strip: a power of two
  # from 16 KiB to 1 MiB, given in KiB.
  ruler=$(svg ruler "$work/r2.svg")
  span=$(awk '{ v = $(NF - 1); u = $NF } END { if (u == "KiB") print v * 1024; else if (u == "MiB") print v * 1048576 }' <<<"$ruler")
  if [[ $ruler == "+0 "*" KiB" && -n $span ]] && ((span >= 16384 && span <= 1048576 && (span & (span - 1)) == 0)); then
    ok "a small heap (realloc2-bal) is zoomed in: the ruler spans $span bytes ($ruler)"
  else
    fail "a small heap (realloc2-bal) is zoomed in: a ruler of 16 KiB to 1 MiB" "$ruler"
  fi
  # The allocated and cached pixels, at span/1024 bytes a pixel, against the
  # blocks hawk_walk reports at the same op of the same replay (hawk view
  # --walk: the snapshot itself is hawk map's scratch, not kept).
  "$hawk" view --textbook --policy first-fit --walk "$(peak_op "$T/realloc2-bal.rep")" \
    --out "$work/r2.html" "$T/realloc2-bal.rep" >"$work/r2.walk" 2>&1
  walk=$(awk '$3 == "allocated" || $3 == "cached" { s += $2 } END { print s }' "$work/r2.walk")
  drawn=$(svg strip "$work/r2.svg" | tr ' ' '\n' | awk -F'[=:]' -v bpp="$((${span:-0} / 1024))" '$1 == "a" || $1 == "c" { w += $3 } END { print int(w * bpp) }')
  if [[ -n $walk && -n $drawn ]] && awk -v a="$walk" -v b="$drawn" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d <= a * 0.03 + 128) }'; then
    ok "the zoomed strip's allocated pixels stand for the walk's bytes ($drawn drawn, $walk walked)"
  else
    fail "the zoomed strip's allocated pixels stand for the walk's bytes" "drawn $drawn" "walked $walk"
  fi
  # The block that grew left its first place behind: a free block of its own
  # (with a tooltip) before the allocated one.
  if svg alone "$work/r2.svg" | awk '/^free block, [0-9.]+ KiB/ { f = 1 } f && /^allocated block/ { ok = 1 } END { exit !ok }'; then
    ok "the hole realloc2-bal leaves behind is drawn as a block of its own"
  else
    fail "the hole realloc2-bal leaves behind is drawn as a block of its own" "$(svg alone "$work/r2.svg")"
  fi
  want="realloc2-bal.rep, first-fit (textbook), after op $(peak_op "$T/realloc2-bal.rep") of 14401, the peak of live bytes"
  expect "the picture is titled with the trace, the policy and the peak's op" "$want" "$(svg title "$work/r2.svg")"
  # Every byte count for people beside its exact count is rounded to the
  # nearest tenth (short1-bal's footprint: 10,440 bytes, 10.2 KiB).
  "$hawk" map --out "$work/s1.svg" --trace "$T/short1-bal.rep" >/dev/null 2>&1
  got="$(svg bytes "$work/r2.svg") / $(svg bytes "$work/s1.svg")"
  if [[ $got =~ ^[1-9][0-9]*\ pairs,\ all\ rounded\ /\ [1-9][0-9]*\ pairs,\ all\ rounded$ ]]; then
    ok "the sizes beside their byte counts are rounded to the nearest tenth ($got)"
  else
    fail "the sizes beside their byte counts are rounded to the nearest tenth" "$got"
  fi
  got="$(svg legend "$work/r2.svg") / $(svg legend "$work/s1.svg")"
  expect "the legends say what is drawn: each state's swatch in its blocks' class, view 2's arenas and large blocks in their fills" \
    "as drawn / as drawn" "$got"
  expect "a zoomed picture's note: blocks of three pixels and up are drawn one by one" "3 px" \
    "$(svg zoomnote "$work/s1.svg")"
  if grep -q "first-fit (textbook), after op" "$work/r2.svg" && [[ ! -e $work/r2.snap.blocks ]]; then
    ok "the heading says it too, and the blocks file is gone"
  else
    fail "the heading says it too, and the blocks file is gone" "$(ls "$work")"
  fi
fi
"$hawk" map --trace "$T/random-bal.rep" --out "$work/rnd.svg" >/dev/null 2>&1
expect "a big heap (random-bal, 16 MB) keeps the 4 MiB scale" "+0 +1 MiB +2 MiB +3 MiB +4 MiB" \
  "$(svg ruler "$work/rnd.svg")"
(cd "$work" && "$hawk" map --out prog.svg -- true >/dev/null 2>&1)
expect "a program's picture is titled with the program" "HawkAlloc heap map: true at exit" \
  "$(svg title "$work/prog.svg")"

# --- --at OP -------------------------------------------------------------------

# short1-bal: a 0 2040, a 1 2040, f 1, ...; in textbook mode (no cache).
for at in 2 3; do
  "$hawk" map --textbook --trace "$T/short1-bal.rep" --at $at --out "$work/s$at.svg" >"$work/out" 2>&1
  expect "--at $at: titled 'after op $at of 12'" "short1-bal.rep, segregated (textbook), after op $at of 12" \
    "$(svg title "$work/s$at.svg")"
done
expect "--at 2: two allocated blocks of 2 KiB" 2 "$(svg alone "$work/s2.svg" | grep -c '^allocated block, 2 KiB')"
expect "--at 3: one (block 1 freed)" 1 "$(svg alone "$work/s3.svg" | grep -c '^allocated block, 2 KiB')"
# refused CASE RE ARGS...: exit 2 and a line matching RE.
refused() {
  local name=$1 re=$2
  shift 2
  "$hawk" map "$@" >"$work/out" 2>&1
  local rc=$?
  if ((rc == 2)) && grep -qE -e "$re" "$work/out"; then
    ok "$name: exit 2, '$(grep -E -e "$re" "$work/out" | head -n 1 | cut -c1-80)'"
  else
    fail "$name: exit 2 and a line matching $re" "exit $rc" "$(cat "$work/out")"
  fi
}
refused "--at 0" '^hawk: map: --at 0: give an op number' --trace "$T/short1-bal.rep" --at 0 --out "$work/x.svg"
refused "--at x" '^hawk: map: --at x: give an op number' --trace "$T/short1-bal.rep" --at x --out "$work/x.svg"
refused "--at past the end" '--at 13: the trace has ops 1 to 12' --trace "$T/short1-bal.rep" --at 13 --out "$work/x.svg"
refused "--at without --trace" '^hawk: map: --at needs --trace' --at 3 --out "$work/x.svg" -- true

# --- --policy all -----------------------------------------------------------------

"$hawk" map --textbook --policy all --trace "$T/binary-bal.rep" --out "$work/b.svg" >"$work/out" 2>&1
rc=$?
got=
for p in first-fit next-fit best-fit segregated; do
  got+="$(svg title "$work/b-$p.svg" 2>/dev/null | cut -d, -f2);"
done
expect "--policy all: one picture per policy, each titled with it (exit $rc)" \
  " first-fit (textbook); next-fit (textbook); best-fit (textbook); segregated (textbook);" "$got"
# ...and one stacked picture, FILE.svg, a row per policy in the order given.
stacked=$(python3 - "$work/b.svg" <<'EOF' 2>&1
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
rows = [e for e in root if e.tag == ns + "svg"]
ys = [float(e.get("y", "0")) for e in rows]
heights = [float(e.get("height")) for e in rows]
ok = all(ys[k + 1] >= ys[k] + heights[k] for k in range(len(rows) - 1))
ok = ok and float(root.get("height")) >= ys[-1] + heights[-1]
print(";".join(e.find(ns + "title").text.split(",")[1] for e in rows) + (";" if ok else " (rows overlap)"))
EOF
)
expect "--policy all: one stacked picture with a row per policy" \
  " first-fit (textbook); next-fit (textbook); best-fit (textbook); segregated (textbook);" "$stacked"
"$hawk" map --policy best-fit,next-fit --trace "$T/short1-bal.rep" --out "$work/l.svg" >/dev/null 2>&1
expect "--policy best-fit,next-fit: two pictures" "l-best-fit.svg l-next-fit.svg" \
  "$(cd "$work" && ls l-*.svg | tr '\n' ' ' | sed 's/ $//')"
refused "a misspelt policy in the list" "does not know the policy 'frist-fit'" \
  --policy first-fit,frist-fit --trace "$T/short1-bal.rep" --out "$work/m.svg"

# --- what map --trace writes: the pictures named, nothing else -------------------
# The worker's snapshot and blocks file go to a directory of hawk's own under
# $TMPDIR, removed at every end; FILE.snap beside the picture (a file of the
# user's) is left alone.  files DIR: the names in DIR, on one line.
files() { (cd "$1" && ls -A | tr '\n' ' ' | sed 's/ $//'); }
mkdir -p "$work/only" "$work/all"
echo precious >"$work/only/keep.snap"
"$hawk" map --trace "$T/short1-bal.rep" --out "$work/only/keep.svg" >"$work/out" 2>&1
expect "map --trace writes the picture only: keep.snap beside it kept, no scratch left (exit $?)" \
  "keep.snap keep.svg; keep.snap kept; scratch: " \
  "$(files "$work/only"); keep.snap $(grep -qx precious "$work/only/keep.snap" && echo kept || echo replaced); scratch: $(files "$work/tmp")"
"$hawk" map --policy all --trace "$T/short1-bal.rep" --out "$work/all/p.svg" >"$work/out" 2>&1
expect "map --trace --policy all writes its five pictures only, no scratch left (exit $?)" \
  "p-best-fit.svg p-first-fit.svg p-next-fit.svg p-segregated.svg p.svg; scratch: " \
  "$(files "$work/all"); scratch: $(files "$work/tmp")"
mkdir -p "$work/none"
for bad in "--policy frist-fit" "--at 13"; do
  # shellcheck disable=SC2086
  "$hawk" map $bad --trace "$T/short1-bal.rep" --out "$work/none/q.svg" >"$work/out" 2>&1
  expect "map --trace $bad: refused (exit $?), nothing written, no scratch left" "; scratch: " \
    "$(files "$work/none"); scratch: $(files "$work/tmp")"
done
# An --out that is a directory: one line before any replay, and no DIR.snap.
mkdir -p "$work/adir"
refused "--out a directory" '^hawk: map: cannot write .*/adir: Is a directory$' \
  --trace "$T/short1-bal.rep" --out "$work/adir"
if [[ $(wc -l <"$work/out") == 1 && ! -e $work/adir.snap ]]; then
  ok "--out a directory: that line only, and no adir.snap beside it"
else
  fail "--out a directory: that line only, and no adir.snap beside it" "$(cat "$work/out")" "$(files "$work")"
fi

# Pictures that cannot be written (/dev/full, through links: nothing is made
# in /dev): one line each, exit 2 (checked with fflush and ferror, as fclose
# alone may miss an earlier failed write).
if [[ -c /dev/full ]]; then
  ln -s /dev/full "$work/none/full.svg"
  mkdir -p "$work/g0"
  "$hawk" run --map "$work/g0/s.svg" -- true >/dev/null 2>&1
  for args in "map --trace $T/short1-bal.rep --out $work/none/full.svg" \
    "map --policy all --trace $T/short1-bal.rep --out $work/none/full.svg" \
    "render --out $work/none/full.svg $work/g0/s.snap"; do
    # shellcheck disable=SC2086
    "$hawk" $args >/dev/null 2>"$work/err"
    rc=$?
    if ((rc == 2)) && [[ $(wc -l <"$work/err") == 1 ]] &&
      grep -q "cannot write .*full.svg: No space left on device" "$work/err"; then
      ok "hawk ${args//$work\//} (/dev/full): exit 2, one line"
    else
      fail "hawk ${args//$work\//} (/dev/full): exit 2, one line" "status $rc" "$(cat "$work/err")"
    fi
  done
  rm -f "$work/none/"*
fi

# map --out PATH -- CMD clears an earlier run's picture and snapshot first:
# regular files only.  A directory at PATH is one line and exit 2 before CMD
# runs; a link (here to /dev/null) or a device node is the user's, written
# through and left in place.
mkdir -p "$work/emptyd"
"$hawk" map --out "$work/emptyd" -- true >"$work/out" 2>&1
rc=$?
if ((rc == 2)) && [[ -d $work/emptyd && ! -e $work/emptyd.snap && $(wc -l <"$work/out") == 1 ]] &&
  grep -q "^hawk: map: cannot write .*/emptyd: Is a directory$" "$work/out"; then
  ok "map --out an empty directory -- true: kept, one line, exit 2"
else
  fail "map --out an empty directory -- true: kept, one line, exit 2" "exit $rc" "$(cat "$work/out")" \
    "$(ls -ld "$work/emptyd"*)"
fi
ln -s /dev/null "$work/nul.svg"
"$hawk" map --out "$work/nul.svg" -- true >"$work/out" 2>&1
expect "map --out a link to /dev/null -- true: the link kept (exit $?)" "/dev/null" \
  "$(readlink "$work/nul.svg")"
rm -f "$work/nul."*
if ((EUID == 0)) && mknod "$work/nodev" c 1 3 2>/dev/null; then
  "$hawk" map --out "$work/nodev" -- true >"$work/out" 2>&1
  if [[ -c $work/nodev ]]; then
    ok "map --out a device node -- true: the node kept"
  else
    fail "map --out a device node -- true: the node kept" "$(ls -l "$work/nodev")"
  fi
  rm -f "$work/nodev"*
fi

# A frame an earlier run left beside the picture (older than this run) is not
# named as one this run took.
mkdir -p "$work/fr"
touch -d '2001-01-01' "$work/fr/p-0001.svg"
"$hawk" map --out "$work/fr/p.svg" -- true >"$work/out" 2>&1
if grep -q 'frame' "$work/out"; then
  fail "map --out DIR/p.svg -- true names no frame an earlier run left" "$(cat "$work/out")"
else
  ok "map --out DIR/p.svg -- true names no frame an earlier run left"
fi

# --- glob characters in --map / --out ---------------------------------------------
# The run's frames are found by a pattern made of the picture's path: its own
# characters match only themselves.  A snapshot of someone else's in the same
# directory, written during the run (touched), is not drawn.
mkdir -p "$work/g0" "$work/g"
[[ -e $work/g0/s.snap ]] || "$hawk" run --map "$work/g0/s.svg" -- true >/dev/null 2>&1
for name in '*' '?' '[v]'; do
  cp "$work/g0/s.snap" "$work/g/victim-1.snap"
  cp "$work/g0/s.snap" "$work/g/v-0001.snap"
  for cmd in "run --map" "map --out"; do
    rm -f "$work/g/"*.svg
    touch "$work/g/victim-1.snap" "$work/g/v-0001.snap"
    # shellcheck disable=SC2086
    "$hawk" $cmd "$work/g/$name.svg" -- true >"$work/out" 2>&1
    expect "hawk $cmd 'DIR/$name.svg' draws its own picture only (exit $?)" "$name.svg" \
      "$(cd "$work/g" && ls -A -- *.svg | tr '\n' ' ' | sed 's/ $//')"
  done
  if grep -q 'frame' "$work/out"; then
    fail "hawk map --out 'DIR/$name.svg' names no frame of another's" "$(cat "$work/out")"
  else
    ok "hawk map --out 'DIR/$name.svg' names no frame of another's"
  fi
  rm -f "$work/g/"*
done

# --- a damaged ELF file as --allocator ----------------------------------------------
# Not a picture: hawk reads the section headers, symbol table and string table
# of an --allocator library (libpath.c, library_exports) before any
# subcommand that takes --allocator (replay, view) replays; the cases are here
# because they need no more than that.  Each offset or size the reader follows
# wraps past 2^64 or runs off the file's end: an answer, never a crash (view:
# "reports no events", exit 2; replay: the loader's refusal, exit 1).
python3 - "$work" <<'EOF_ELF'
import struct, sys
def elf(name, shoff, sections, size=512, tail=b"", shnum=None, st_name=0):
    # sections: (type, offset, size, link), their headers at 64; a symbol at
    # 0x100 named by st_name, "hawk_events" at 0x140; tail at the end
    body = bytearray(max(size, 64))
    body[0:16] = b"\x7fELF\x02\x01\x01" + bytes(9)
    struct.pack_into("<HHIQQQIHHHHHH", body, 16, 3, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64,
                     len(sections) if shnum is None else shnum, 0)
    for k, (typ, off, sz, link) in enumerate(sections):
        struct.pack_into("<IIQQQQIIQQ", body, 64 + 64 * k, 0, typ, 0, 0, off, sz, link, 0, 8, 24)
    if size > 0x140:
        body[0x100:0x100 + 24] = struct.pack("<IBBHQQ", st_name, 0x12, 0, 1, 0, 0)
        body[0x140:0x140 + 12] = b"hawk_events\0"
    if tail:
        body[len(body) - len(tail):] = tail
    open(f"{sys.argv[1]}/{name}.so", "wb").write(bytes(body))
M = 1 << 64
elf("shoff-wraps", M - 64, [], size=64, shnum=1)       # e_shoff + one header wraps to 0
elf("symtab-offset-wraps", 64, [(11, M - 24, 24, 1), (3, 0x140, 12, 0)])
elf("strtab-size-wraps", 64, [(11, 0x100, 24, 1), (3, 0x140, M - 0x140 + 16, 0)],
    st_name=0x7ff00000)
elf("symtab-size-wraps", 64, [(11, 0x100, M - 0x100 + 24, 1), (3, 0x140, 12, 0)])
elf("strtab-link-past-the-headers", 64, [(11, 0x100, 24, 7), (3, 0x140, 12, 0)])
# the string table is the file's last 8 bytes, "hawk_eve" with no NUL: a
# comparison with "hawk_events" must stop at the table's end
elf("name-unterminated-at-the-end", 64, [(11, 0x100, 24, 1), (3, 4096 - 8, 8, 0)], size=4096,
    tail=b"hawk_eve")
EOF_ELF
for f in shoff-wraps symtab-offset-wraps strtab-size-wraps symtab-size-wraps \
  strtab-link-past-the-headers name-unterminated-at-the-end; do
  "$hawk" view --allocator "$work/$f.so" --out "$work/elf.html" "$T/short1-bal.rep" >"$work/out" 2>&1
  rc=$?
  if ((rc == 2)) && [[ $(wc -l <"$work/out") == 1 ]] && grep -q "$f.so reports no events" "$work/out"; then
    ok "ELF $f: view --allocator: exit 2, one line"
  else
    fail "ELF $f: view --allocator: exit 2, one line" "exit $rc" "$(head -c 600 "$work/out")"
  fi
  "$hawk" replay --allocator "$work/$f.so" "$T/short1-bal.rep" >"$work/out" 2>&1
  rc=$?
  if ((rc == 1)) && grep -q "FAILED: .*$f.so was not loaded" "$work/out"; then
    ok "ELF $f: replay --allocator: exit 1, the loader's refusal"
  else
    fail "ELF $f: replay --allocator: exit 1, the loader's refusal" "exit $rc" "$(head -c 600 "$work/out")"
  fi
done

# --- a free pixel against the line between blocks ----------------------------------

read -r bg a c <<<"$(svg contrast "$work/r2.svg")"
if awk -v x="$bg" 'BEGIN { exit !(x >= 2.0) }'; then
  ok "free (.f) against the white line between blocks: contrast $bg (at least 2)"
else
  fail "free (.f) against the white line between blocks: contrast at least 2" "got $bg"
fi
if awk -v x="$a" -v y="$c" 'BEGIN { exit !(x >= 1.5 && y > 1.0) }'; then
  ok "free differs from allocated (contrast $a) and thread-cached ($c)"
else
  fail "free differs from allocated and thread-cached" "$a $c"
fi
finish
