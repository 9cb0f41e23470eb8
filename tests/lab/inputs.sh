# inputs.sh - hostile input files given to the lab's commands, sourced once by
# tests/lab/run.sh before its summary (its $hawk, $work, $traces and the
# harness's ok/fail/expect): each is refused with one line on stderr and the
# command's exit status for bad input, in bounded time and memory, and what
# the line quotes of the file is shown without its control characters.
# shellcheck shell=bash disable=SC2154 # hawk and work: set by run.sh (scripts/lab-env.sh)
# Parts (TEST_PARTS, tests/harness.sh): fifo, quote, sparse, allocator, shrink, names,
# heaps, fsize.

# peak_kib CMD...: runs CMD (stdout discarded, stderr into $work/inputs.err,
# at most 60 s) and prints "STATUS SECONDS KIB": its exit status, time and
# largest resident size.
peak_kib() {
  python3 -c '
import resource, subprocess, sys, time
t = time.monotonic()
try:
    with open(sys.argv[1], "wb") as err:
        rc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=err,
                            timeout=60).returncode
except subprocess.TimeoutExpired:
    rc = "timeout"
print(rc, "%.1f" % (time.monotonic() - t), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
' "$work/inputs.err" "$@"
}

# refused_line NAME STATUS PATTERN CMD...: CMD (at most 10 s) exits with
# STATUS and its stderr is one line matching the extended regex PATTERN.
refused_line() {
  local name=$1 want=$2 re=$3
  shift 3
  timeout 10 "$@" >/dev/null 2>"$work/inputs.err"
  local rc=$?
  local lines
  lines=$(wc -l <"$work/inputs.err")
  if ((rc == want && lines == 1)) && grep -qE "$re" "$work/inputs.err"; then
    ok "$name"
  else
    fail "$name" "exit $rc (want $want), $lines lines on stderr (want 1)" \
      "$(head -c 600 "$work/inputs.err" | cat -v)"
  fi
}

# --- a FIFO with no writer ------------------------------------------------------

# Every command that reads a file opened it before looking at what it is: on
# a FIFO nobody writes to the open waited for ever.  Now the open does not
# wait, and anything but a regular file is refused, as a directory is.
if part fifo; then
mkfifo "$work/fifo"
refused_line "inputs_fifo_replay: hawk replay of a FIFO is refused (exit 1)" 1 \
  'fifo: not a regular file$' "$hawk" replay "$work/fifo"
refused_line "inputs_fifo_view: hawk view of a FIFO is refused (exit 2)" 2 \
  'fifo: not a regular file$' "$hawk" view --out "$work/fifo.html" "$work/fifo"
refused_line "inputs_fifo_map: hawk map --trace of a FIFO is refused (exit 1)" 1 \
  'fifo: not a regular file$' "$hawk" map --trace "$work/fifo" --out "$work/fifo.svg"
refused_line "inputs_fifo_render: hawk render of a FIFO is refused (exit 2)" 2 \
  'fifo: not a regular file$' "$hawk" render --out "$work/fifo.svg" "$work/fifo"
refused_line "inputs_fifo_render_summary: hawk render --summary of a FIFO is refused (exit 2)" 2 \
  'fifo: not a regular file$' "$hawk" render --summary "$work/fifo"

fi # part fifo

# --- what an error line quotes of a trace ----------------------------------------

# The .rep reader quoted a bad token as it was (up to 20 bytes): an escape
# sequence in the file went to the terminal (ESC[2K ESC[1A erased a line of
# it), a NUL ended the quote early (found ''), and a bad block id was not
# quoted at all.  Now every byte that is not printable ASCII is a '?', as
# the library shows a control character, and a long token is cut at 20
# bytes with "...".
# quoted NAME FILE PATTERN: the replay of FILE fails (exit 1) with one line
# matching PATTERN (fixed string), none of its bytes a control character.
quoted() {
  local name=$1 file=$2 want=$3
  timeout 10 "$hawk" replay "$file" >/dev/null 2>"$work/inputs.err"
  local rc=$?
  if ((rc == 1)) && [[ $(wc -l <"$work/inputs.err") == 1 ]] &&
    grep -qF -- "$want" "$work/inputs.err" &&
    ! LC_ALL=C tr -d '\n' <"$work/inputs.err" | LC_ALL=C grep -q '[^[:print:]]'; then
    ok "$name"
  else
    fail "$name" "exit $rc, want one line with: $want" "$(head -c 600 "$work/inputs.err" | cat -v)"
  fi
}
if part quote; then
printf '\033[2K\033[1Ahi 2 3 4\n' >"$work/escape.rep"
quoted "inputs_rep_escape_shown: an escape sequence in a .rep is quoted as '?[2K?[1Ahi'" \
  "$work/escape.rep" "line 1: expected the header's 4 numbers, found '?[2K?[1Ahi'"
printf '\0\0\0 1 2 3\n' >"$work/nul_first.rep"
quoted "inputs_rep_nul_shown: NUL bytes in a .rep are quoted as '???'" \
  "$work/nul_first.rep" "line 1: expected the header's 4 numbers, found '???'"
printf '1 2 3 4\na 0 8\nf 0\0\n' >"$work/nul_id.rep"
quoted "inputs_rep_bad_id_quoted: a bad block id is quoted ('0?')" \
  "$work/nul_id.rep" "line 3: 'f' needs a block id, found '0?'"
printf '1 2 3 4\n\033 5\n' >"$work/escape_op.rep"
quoted "inputs_rep_escape_op_shown: an escape as the operation is quoted as '?'" \
  "$work/escape_op.rep" "line 2: unknown operation '?'"
{
  printf '1 2 3 4\na 0 '
  head -c 300 /dev/zero | tr '\0' '9'
  printf '\033[31m\n'
} >"$work/long_size.rep"
quoted "inputs_rep_long_token_cut: a 305-byte size is quoted as its first 20 bytes and '...'" \
  "$work/long_size.rep" "line 2: bad size '99999999999999999999...'"

fi # part quote

# --- sparse files: long on paper, nothing on disk --------------------------------

# A .rep of 1 GiB of zeros (truncate -s: no disk used) was read whole as one
# line before its first token was looked at (3.6 s, 1 GiB resident; 8 GiB:
# no answer in 20 s); a snapshot was read whole before its 40-byte header
# was (5.6 s, 1 GiB).  A .rep line is now scanned for at most 4,096 bytes,
# and a snapshot is read record by record after its header is checked.
# small_and_quick NAME STATUS PATTERN CMD...: CMD exits with STATUS in less
# than 10 s and 64 MiB, and says PATTERN (extended regex) in one line.
small_and_quick() {
  local name=$1 want=$2 re=$3
  shift 3
  local rc secs kib
  read -r rc secs kib <<<"$(peak_kib "$@")"
  if [[ $rc == "$want" ]] && awk -v s="$secs" 'BEGIN { exit !(s < 10) }' && ((kib < 65536)) &&
    [[ $(wc -l <"$work/inputs.err") == 1 ]] && grep -qE "$re" "$work/inputs.err"; then
    ok "$name ($secs s, $kib KiB)"
  else
    fail "$name" "exit $rc (want $want), $secs s, $kib KiB (want < 10 s, < 65536 KiB)" \
      "$(head -c 600 "$work/inputs.err" | cat -v)"
  fi
}
if part sparse; then
truncate -s 1G "$work/sparse_1G.rep"
small_and_quick "inputs_sparse_rep_1G: a 1 GiB .rep of zeros is refused by its first line" 1 \
  "line 1: more than 4096 bytes, found '\?{20}\.\.\.': not a malloc-lab trace$" \
  "$hawk" replay "$work/sparse_1G.rep"
truncate -s 8G "$work/sparse_8G.rep"
small_and_quick "inputs_sparse_rep_8G: an 8 GiB .rep of zeros is refused by its first line" 1 \
  "line 1: more than 4096 bytes" "$hawk" replay "$work/sparse_8G.rep"
printf '%s\n' 1000 2 2 1 'a 0 8' >"$work/sparse_tail.rep"
truncate -s 256M "$work/sparse_tail.rep"
small_and_quick "inputs_sparse_rep_tail: a .rep whose last line goes on in 256 MiB of zeros" 1 \
  "line 6: more than 4096 bytes" "$hawk" replay "$work/sparse_tail.rep"
truncate -s 1G "$work/sparse_1G.snap"
small_and_quick "inputs_sparse_snap_1G: a 1 GiB snapshot of zeros is refused by its header" 2 \
  'sparse_1G.snap: not a HawkAlloc heap snapshot \(no HAWKSNAP magic\)$' \
  "$hawk" render --summary "$work/sparse_1G.snap"
# A snapshot's header (docs/snapshot-format.md: version 2, 40 bytes), then
# zeros: records of type 0 and no payload, each passed over.
python3 -c 'import struct, sys
sys.stdout.buffer.write(b"HAWKSNAP" + struct.pack("<6Iq", 2, 40, 0, 0, 0, 0, 0))' >"$work/head.snap"
cp "$work/head.snap" "$work/sparse_tail.snap"
truncate -s 256M "$work/sparse_tail.snap"
small_and_quick "inputs_sparse_snap_tail: a snapshot header, then 256 MiB of zeros" 2 \
  'truncated at byte 268435456: no end record$' "$hawk" render --summary "$work/sparse_tail.snap"
# ... and a text record (maps) that says it is 200 MiB long, in zeros.
{
  cat "$work/head.snap"
  python3 -c 'import struct, sys; sys.stdout.buffer.write(struct.pack("<II", 9, 200 << 20))'
} >"$work/sparse_maps.snap"
truncate -s 256M "$work/sparse_maps.snap"
small_and_quick "inputs_sparse_snap_text: a 200 MiB text record in a snapshot is refused unread" 2 \
  'byte 40: a text record of type 9 and 209715200 bytes, more than a snapshot has$' \
  "$hawk" render --summary "$work/sparse_maps.snap"
fi # part sparse

# --- an allocator's name -----------------------------------------------------------

# --allocator NAME preloaded ./NAME when the current directory had a file of
# that name: `cd DIR && hawk replay --allocator jemalloc T.rep` ran DIR's
# jemalloc.  A name is looked up in the library directories only; a path
# (with a slash) is taken as given.  And the name went into glob patterns
# as it was: "libc.so*" found the C library.  Its metacharacters are now
# taken as themselves.
if part allocator; then
mkdir -p "$work/cwdlib"
printf '%s\n' 1000 1 2 1 'a 0 8' 'f 0' >"$work/cwdlib/tiny.rep"
cat >"$work/cwdlib/evil.c" <<EOF
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void ran(void) {
  close(open("$work/cwdlib/ran", O_WRONLY | O_CREAT, 0644));
}
EOF
cc -shared -fPIC -o "$work/cwdlib/jemalloc" "$work/cwdlib/evil.c"
for cmd in replay view; do
  rm -f "$work/cwdlib/ran"
  case $cmd in
  replay) args=(replay --rounds 1 --allocator jemalloc tiny.rep) ;;
  view) args=(view --allocator jemalloc --out "$work/cwdlib.html" tiny.rep) ;;
  esac
  err=$(cd "$work/cwdlib" && timeout 20 "$hawk" "${args[@]}" 2>&1 >/dev/null)
  rc=$?
  # jemalloc installed: replay runs it (0), view says the system's library
  # reports no events (exit 2); not installed: one line, exit 2
  if [[ ! -e $work/cwdlib/ran ]] && { ((rc == 0)) ||
    { ((rc == 2)) && [[ $(wc -l <<<"$err") == 1 && $err != *cwdlib* ]] &&
      [[ $err == *"'jemalloc' is"*installed* || ($cmd == view && $err == *"reports no events"*) ]]; }; }; then
    ok "inputs_allocator_not_from_cwd: hawk $cmd --allocator jemalloc does not load ./jemalloc (exit $rc)"
  else
    fail "inputs_allocator_not_from_cwd: hawk $cmd --allocator jemalloc does not load ./jemalloc" \
      "exit $rc, ./jemalloc ran: $([[ -e $work/cwdlib/ran ]] && echo yes || echo no)" "$err"
  fi
done
# With a slash, the path is taken as given.
rm -f "$work/cwdlib/ran"
(cd "$work/cwdlib" && timeout 20 "$hawk" replay --rounds 1 --allocator ./jemalloc tiny.rep >/dev/null 2>&1)
if [[ -e $work/cwdlib/ran ]]; then
  ok "inputs_allocator_path: --allocator ./jemalloc loads that file"
else
  fail "inputs_allocator_path: --allocator ./jemalloc loads that file"
fi
refused_line "inputs_allocator_glob: --allocator 'libc.so*' is a name, not a pattern" 2 \
  "^hawk: replay: the allocator 'libc.so\*' is not installed \(" \
  "$hawk" replay --rounds 1 --allocator 'libc.so*' "$work/cwdlib/tiny.rep"
fi # part allocator

# --- a trace that shrinks while it is read ------------------------------------------

# The loader maps the whole file: when another process truncated it while
# it was parsed, the next read of a lost page raised SIGBUS, which killed
# hawk view and hawk grade (status 135, no message; grade left its
# hawk-grade-* scratch) and replay's and map --trace's worker ("the worker
# died of signal 7").  Now one line names the file and says it shrank, with
# the command's status for a bad trace.  The shrink is not left to timing:
# a watcher truncates the file as soon as the command or one of its
# children has it mapped (which is only while the loader parses it: a 20 MB
# .rep, about 0.3 s), and says whether it saw the mapping.
if part shrink; then
python3 -c '
import sys
n = 1000000
with open(sys.argv[1], "w") as f:
    f.write("%d\n%d\n%d\n1\n" % (100000, n, 2 * n))
    f.write("".join("a %d 24\n" % i for i in range(n)))
    f.write("".join("f %d\n" % i for i in range(n)))' "$work/shrink_full.rep"
# shrunk NAME STATUS OUT_RE CMD...: CMD (TMPDIR $work/shrink_tmp) on
# $work/shrink.rep, truncated to 0 bytes when mapped, exits with STATUS,
# says OUT_RE (extended regex) in one line on stderr, or on stdout when
# STATUS is 1 for grade, and leaves nothing in TMPDIR.
# The watcher races the command's parse (on a loaded machine it can look
# too late and truncate under a worker instead): a case has three tries,
# and fails only when none of them gives what it wants.
shrunk() {
  local name=$1 want=$2 re=$3 try good=0 tries=""
  shift 3
  local got said left
  for try in 1 2 3; do
    cp "$work/shrink_full.rep" "$work/shrink.rep"
    rm -rf "$work/shrink_tmp" && mkdir "$work/shrink_tmp"
    got=$(TMPDIR=$work/shrink_tmp python3 -c '
import glob, os, subprocess, sys, time
path, out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def tree(pid):
    """pid and its descendants, the command first: its own load comes before
    its workers, and a scan of every process on a loaded machine took longer
    than the load (the mapping of a worker was then the one truncated)."""
    out, todo = [], [pid]
    while todo:
        q = todo.pop(0)
        out.append(q)
        for c in glob.glob("/proc/%d/task/*/children" % q):
            try:
                todo += [int(x) for x in open(c).read().split()]
            except (OSError, ValueError):
                pass
    return out
with open(out, "wb") as o, open(err, "wb") as e:
    p = subprocess.Popen(cmd, stdout=o, stderr=e)
    seen, t0 = False, time.monotonic()
    while not seen and p.poll() is None and time.monotonic() - t0 < 30:
        for maps in ["/proc/%d/maps" % q for q in tree(p.pid)]:
            try:
                with open(maps) as f:
                    seen = path in f.read()
            except OSError:
                continue
            if seen:
                os.truncate(path, 0)
                break
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "timeout"
print(rc, "seen" if seen else "unseen")' "$work/shrink.rep" "$work/shrink.out" "$work/inputs.err" "$@")
    said=$work/inputs.err
    [[ $1 == *hawk && $2 == grade ]] && said=$work/shrink.out
    left=$(ls -A "$work/shrink_tmp")
    if [[ $got == "$want seen" && -z $left && $(wc -l <"$work/inputs.err") == "$([[ $said == "$work/inputs.err" ]] && echo 1 || echo 0)" ]] &&
      grep -qE "$re" "$said"; then
      good=1
      break
    fi
    tries+="${tries:+, }$got"
  done
  if ((good)); then
    ok "$name${tries:+ (at try $try; before: $tries)}"
  else
    fail "$name" "got: $tries (want: $want seen); left in TMPDIR: ${left:0:200}" \
      "$(head -c 600 "$work/inputs.err" | cat -v)" "$(tail -c 600 "$work/shrink.out" | cat -v)"
  fi
}
shrank='shrink.rep: the file shrank while it was read \(truncated by another process\)$'
shrunk "inputs_shrink_view: hawk view of a .rep truncated while it is read: one line, exit 2" 2 \
  "^hawk: view: .*/$shrank" "$hawk" view --out "$work/shrink.html" "$work/shrink.rep"
shrunk "inputs_shrink_replay: hawk replay: the trace's line, exit 1" 1 \
  "^hawk replay: shrink.rep \(hawk\): FAILED: .*/$shrank" "$hawk" replay --rounds 1 "$work/shrink.rep"
shrunk "inputs_shrink_map: hawk map --trace: one line, exit 1" 1 "^hawk: map: .*/$shrank" \
  "$hawk" map --out "$work/shrink.svg" --trace "$work/shrink.rep"
shrunk "inputs_shrink_grade: hawk grade: a bad trace, exit 1, the scratch removed" 1 \
  "^shrink: bad trace: .*/$shrank" "$hawk" grade --rounds 0 "$root/examples/mm.c" "$work/shrink.rep"
rm -f "$work/shrink_full.rep" "$work/shrink.rep"
fi # part shrink

# --- file names with control bytes ----------------------------------------------------

# A trace's file name reached the terminal raw in hawk replay's table and
# FAILED line and hawk grade's table and the lines under it: a name with an
# escape sequence (ESC ] 0 ; title BEL, ESC [ 31 m) set the terminal's title
# and colour.  Shown with '?' for every byte not printable ASCII, as the
# .rep reader's quotes are.
if part names; then
esc=$'x\e]0;PWNED\a\e[31mred'
mkdir -p "$work/names"
printf '%s\n' 1000 1 2 1 'a 0 8' 'f 0' >"$work/names/$esc.rep"
mkdir -p "$work/names/${esc}bad.rep" # not a regular file: its error line names it
# names_shown NAME WANT TEXT: TEXT has no ESC or BEL and holds WANT.
names_shown() {
  if [[ $3 != *[$'\e\a']* && $3 == *"$2"* ]]; then
    ok "$1"
  else
    fail "$1" "want '$2' and no control byte" "$(head -c 600 <<<"$3" | cat -v)"
  fi
}
shown='x?]0;PWNED??[31mred'
out=$("$hawk" replay --rounds 1 "$work/names/$esc.rep" 2>&1)
names_shown "inputs_names_replay_table: hawk replay's table shows a name's control bytes as '?'" \
  "$shown.rep  hawk" "$out"
out=$("$hawk" replay --rounds 1 "$work/names/${esc}bad.rep" 2>&1)
names_shown "inputs_names_replay_failed: hawk replay's FAILED line too" \
  "hawk replay: ${shown}bad.rep (hawk): FAILED: $work/names/${shown}bad.rep: " "$out"
out=$("$hawk" grade --rounds 0 "$root/examples/mm.c" "$work/names/$esc.rep" \
  "$work/names/${esc}bad.rep" 2>&1)
names_shown "inputs_names_grade_table: hawk grade's table" "$shown       2  correct" "$out"
names_shown "inputs_names_grade_lines: and the lines under it" \
  "${shown}bad: bad trace: $work/names/${shown}bad.rep: " "$out"
out=$("$hawk" view --out "$work/names.html" "$work/names/${esc}none.rep" 2>&1)
names_shown "inputs_names_error_line: hawk's one-line errors too (view of a missing file)" \
  "hawk: view: $work/names/${shown}none.rep: No such file or directory" "$out"
fi # part names

# --- numbers given as options ---------------------------------------------------------

if part heaps; then
# A leading space or sign passed hawk run's strtol; the library then refused the
# value ("not a number; using 4") and the run exited 0.  Digits only now.
for v in " 5" "+5" "05x" "" "-0"; do
  err=$("$hawk" run --heaps "$v" -- true 2>&1)
  rc=$?
  if ((rc == 2)) && [[ $err == "hawk: run: --heaps takes a number from 1 to 16" ]]; then
    ok "run_heaps_strict: hawk run --heaps '$v' is refused in one line, exit 2"
  else
    fail "run_heaps_strict: hawk run --heaps '$v' is refused in one line, exit 2" "exit $rc" "$err"
  fi
done
fi # part heaps

# --- the file-size limit and a full standard output ---------------------------

# A write past the file-size limit (ulimit -f) fails with EFBIG and brings a
# SIGXFSZ whose default action killed hawk (status 153, no word, the page cut
# short); a full standard output (/dev/full) was a silent exit 0.  hawk
# ignores SIGXFSZ, each output says in one line that it cannot be written,
# and the program `hawk run` starts gets the disposition hawk was given.
if part fsize; then
printf '%s\n' 1000 2 2 1 'a 0 8' 'f 0' >"$work/fsize.rep"
err=$( (ulimit -f 20 && exec "$hawk" view --out "$work/fsize.html" "$work/fsize.rep") 2>&1 >/dev/null)
rc=$?
if ((rc == 2)) && [[ $err == "hawk: view: cannot write $work/fsize.html: File too large" ]]; then
  ok "fsize_view: hawk view past the file-size limit says so in one line, exit 2"
else
  fail "fsize_view: hawk view past the file-size limit says so in one line, exit 2" "exit $rc" "$err"
fi
err=$("$hawk" replay --rounds 0 --tsv "$work/fsize.rep" 2>&1 >/dev/full)
rc=$?
if ((rc == 1)) && [[ $err == "hawk: cannot write the standard output: No space left on device" ]]; then
  ok "fsize_full_stdout: hawk replay into /dev/full says so in one line, exit 1"
else
  fail "fsize_full_stdout: hawk replay into /dev/full says so in one line, exit 1" "exit $rc" "$err"
fi
( (ulimit -f 1 && exec "$hawk" run -- sh -c "head -c 5000 /dev/zero >'$work/fsize.out'") 2>/dev/null)
rc=$?
if ((rc == 128 + $(kill -l XFSZ))); then
  ok "fsize_run: the program hawk run starts still dies of SIGXFSZ past the limit (status $rc)"
else
  fail "fsize_run: the program hawk run starts still dies of SIGXFSZ past the limit" "exit $rc"
fi
fi # part fsize
