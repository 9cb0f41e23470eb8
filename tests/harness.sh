# harness.sh - what the shell test runners share (tests/*/run.sh source it):
# the counters, one line a case ("ok   NAME" or "FAIL NAME" with indented
# details, "skip NAME: WHY"), a scratch folder removed at exit, and the
# summary line "N passed, N failed[, N skipped]" that scripts/run-tests.sh
# and CI read.
passed=0
failed=0
skipped=0

ok() {
  echo "ok   $1"
  passed=$((passed + 1))
}

# fail NAME [DETAIL...]: each detail on its own line, cut at 2000 bytes.
fail() {
  echo "FAIL $1"
  shift
  local line
  for line in "$@"; do echo "     ${line:0:2000}"; done
  failed=$((failed + 1))
}

skip() {
  echo "skip $1: $2"
  skipped=$((skipped + 1))
}

# expect NAME WANT GOT: ok when WANT and GOT are equal.
expect() {
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1" "expected: $2" "got:      $3"; fi
}

# part NAME: whether to run the script's part NAME: yes, unless TEST_PARTS
# names the parts to run (NAME,NAME...), as the mutations of
# tests/mutate/mutations.txt do to run only the part that guards them (a
# script of several minutes then takes seconds).  A script's parts are its
# "# --- " sections; their bodies are not indented, as they hold heredocs and
# multi-line python that indenting would change.
part() {
  [[ -z ${TEST_PARTS-} || ",$TEST_PARTS," == *",$1,"* ]] || return 1
  parts_run=$((${parts_run:-0} + 1))
}

# A scratch folder in $work, removed when the script exits.
make_work() {
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
}

# Prints the summary and exits 0 when nothing failed.
finish() {
  # A part misspelt in TEST_PARTS must not pass for a script that ran none.
  if [[ -n ${TEST_PARTS-} ]] && ((${parts_run:-0} == 0)); then
    fail "TEST_PARTS=$TEST_PARTS selects no part of ${0##*/}"
  fi
  echo
  if ((skipped > 0)); then
    echo "$passed passed, $failed failed, $skipped skipped"
  else
    echo "$passed passed, $failed failed"
  fi
  ((failed == 0))
  exit
}
