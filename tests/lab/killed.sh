# killed.sh - hawk killed while it works leaves no scratch behind, sourced by
# tests/lab/run.sh and tests/lab/hostile.sh (their $hawk, $work, $root and
# the harness's ok/fail): hawk view's record of its worker, hawk map
# --trace's snapshot directory and hawk grade's build directory, each made
# under TMPDIR, are removed when hawk is killed by SIGTERM or SIGHUP while
# its worker, its replay or the student's allocator runs (they stayed
# there before), and hawk still dies of that signal.  (SIGINT is ignored
# by a background job of a script; hawk keeps such a disposition.)
# shellcheck shell=bash disable=SC2154 # hawk, work, root: set by scripts/lab-env.sh
# Parts (TEST_PARTS, tests/harness.sh): killed, pass-on (hawk run passes a signal
# on to its program only while it is unreaped; needs gdb).

# killed NAME SIGNAL PATTERN DELAY CMD...: runs CMD with TMPDIR=$work/killed,
# waits (at most 20 s) until a path matching PATTERN is in TMPDIR, then DELAY
# seconds more, and sends SIGNAL to hawk; then hawk's status is 128 + the
# signal's number, TMPDIR is empty and no process names $work/killed (the
# worker, the compiler, the student's allocator: hawk stopped them).
killed() {
  local name=$1 sig=$2 pattern=$3 delay=$4
  shift 4
  local tmp=$work/killed
  rm -rf "$tmp" && mkdir -p "$tmp"
  TMPDIR=$tmp "$@" >"$work/killed.out" 2>&1 &
  local pid=$! k seen=
  for ((k = 0; k < 400; k++)); do
    if compgen -G "$tmp/$pattern" >/dev/null; then
      seen=1
      break
    fi
    sleep 0.05
  done
  if [[ -z $seen ]]; then
    kill -KILL "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
    fail "$name: $pattern appeared in TMPDIR" "$(head -c 600 "$work/killed.out")"
    return
  fi
  sleep "$delay"
  kill "-$sig" "$pid"
  { wait "$pid"; } 2>/dev/null # no job notice from bash
  local rc=$? want left procs
  want=$((128 + $(kill -l "$sig")))
  left=$(ls -A "$tmp")
  procs=$(pgrep -af -- "$tmp" | grep -v pgrep || true)
  [[ -n $procs ]] && pkill -KILL -f -- "$tmp" # a failure leaves nothing running
  if ((rc == want)) && [[ -z $left && -z $procs ]]; then
    ok "$name: killed by SIG$sig (status $rc), nothing left in TMPDIR, no process left"
  else
    fail "$name: killed by SIG$sig, status $want, nothing left in TMPDIR, no process left" \
      "status $rc" "left: ${left:0:300}" "processes: ${procs:0:300}" \
      "$(head -c 600 "$work/killed.out")"
  fi
}

if part killed; then
# A replay of some seconds: 400,000 blocks allocated, then freed.
awk 'BEGIN { print 1; print 400000; print 800000; print 1
  for (i = 0; i < 400000; i++) print "a " i " 24"
  for (i = 0; i < 400000; i++) print "f " i }' >"$work/killed.rep"
killed "killed_view" TERM 'hawk-view-*' 0.3 "$hawk" view --out "$work/killed.html" "$work/killed.rep"
killed "killed_view_hup" HUP 'hawk-view-*' 0.3 "$hawk" view --out "$work/killed.html" \
  "$work/killed.rep"
# hawk map --trace of that trace is done in about 0.4 s, and was killed 0.3 s
# after its scratch appeared (or not at all: "status 0"); three times as
# many blocks take it about 1.4 s.
awk 'BEGIN { print 1; print 1200000; print 2400000; print 1
  for (i = 0; i < 1200000; i++) print "a " i " 24"
  for (i = 0; i < 1200000; i++) print "f " i }' >"$work/killed-map.rep"
killed "killed_map_trace" TERM 'hawk-map-*' 0.1 "$hawk" map --trace "$work/killed-map.rep" \
  --out "$work/killed.svg"
rm -f "$work/killed-map.rep"
# hawk grade while cc compiles the student's file (cc's temporary files go
# to hawk's scratch directory: the compiler's TMPDIR) and while the
# student's allocator runs the traces.
killed "killed_grade_compiling" TERM 'hawk-grade-*/student.c' 0 \
  "$hawk" grade --rounds 20 "$root/examples/mm.c"
# A compiler whose own child (as cc1 and as are cc's) would still run, and
# write, after the compiler itself died: the signal goes to the compiler's
# process group.  It says it started with a file in its TMPDIR.  Its other
# child says it was told hawk's signal (a file outside TMPDIR), as a
# terminal's Ctrl-C tells the whole group; the compiler waits for it.  Since
# hawk grade kills its leftovers itself (a subreaper), the children would be
# gone without the group's signal too, but killed, not told: this is what
# the group's signal is for.
cat >"$work/slowcc" <<'EOF'
#!/bin/sh
sh -c 'sleep 30; : >"$1"' sh "$TMPDIR/written-by-the-compilers-child" &
sh -c 'trap ": >\"\$1\"; exit 0" TERM; sleep 30 & wait' sh "$HAWK_TOLD" &
told=$!
trap 'wait $told; exit 1' TERM
: >"$TMPDIR/compiling"
wait
EOF
chmod +x "$work/slowcc"
rm -f "$work/killed-told"
killed "killed_grade_compilers_child" TERM 'hawk-grade-*/compiling' 0 \
  env CC="$work/slowcc" HAWK_TOLD="$work/killed-told" "$hawk" grade --rounds 0 "$root/examples/mm.c"
if [[ -e $work/killed-told ]]; then
  ok "killed_grade_compilers_child_told: the compiler's child got hawk's SIGTERM, not only a kill"
else
  fail "killed_grade_compilers_child_told: the compiler's child got hawk's SIGTERM, not only a kill"
fi
killed "killed_grade_grading" TERM 'hawk-grade-*/ops' 0.3 \
  "$hawk" grade --rounds 20 "$root/examples/mm.c"
# A grader whose mm_init starts a child in a session of its own (setsid),
# out of the grader's group: it ran on after hawk had died.  hawk grade is
# a child subreaper, and its handler kills every child it has.  The child
# is a copy of the grader, whose command line names TMPDIR.
sed 's|^int mm_init(void) {|int mm_init(void) {\n  static int forked;\n  if (!forked++ \&\& fork() == 0) {\n    setsid();\n    for (;;) pause();\n  }|
1i #include <unistd.h>' "$root/examples/mm.c" >"$work/escapes.c"
killed "killed_grade_leftover_in_its_own_session" TERM 'hawk-grade-*/ops' 0.3 \
  "$hawk" grade --rounds 20 "$work/escapes.c"
fi # part killed

# hawk run passes SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 on to its program.
# A signal that came after the waitpid that reaped the program, before hawk
# forgot its number, was passed to that number, which may be another
# process's by then.  gdb stops hawk at that line (the program, true, is
# reaped) and sends SIGTERM: hawk must not call kill.
if part pass-on; then
if command -v gdb >/dev/null; then
line=$(grep -n '^  child_pid = 0;' "$root/tools/run.c" | cut -d: -f1)
out=$(timeout 60 gdb -q -batch -nx -ex "set startup-with-shell off" -ex "break run.c:$line" \
  -ex run -ex "catch syscall kill" -ex "signal SIGTERM" -ex continue -ex continue \
  --args "$hawk" run -- true 2>&1)
if [[ -n $line && $out == *"Breakpoint 1, run_preloaded"* && $out != *"call to syscall kill"* &&
  $out == *"exited normally"* ]]; then
  ok "killed_run_reaped_child_not_signalled: SIGTERM after hawk run reaped its program is not passed on"
else
  fail "killed_run_reaped_child_not_signalled: SIGTERM after hawk run reaped its program is not passed on" \
    "$(tail -n 8 <<<"$out")"
fi
else
  skip "killed_run_reaped_child_not_signalled" "no gdb (make deps installs it)"
fi
fi # part pass-on
