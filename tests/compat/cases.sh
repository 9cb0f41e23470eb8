# shellcheck shell=bash
# cases.sh - the cases of the compatibility suite, run by tests/compat/run.sh.
# Source it; do not run it.
#
# A case NAME is the function case_NAME.  run.sh calls it in a bash of its
# own (errexit, nounset, pipefail) in a fresh, empty directory, with:
#   COMPAT_LIB   absolute path of the library to preload
#   COMPAT_DIR   this directory (workload files: work.pl, work.sql, *.py)
#   COMPAT_SCALE timeout multiplier (default 1)
# The case reports through `problem TEXT...` (the case fails) and `note
# TEXT...` (shown under the case's ok/FAIL line); a case that stops on a
# failing command with no problem recorded fails with its log's last lines.
#
# Every program under test is started through `runp`, with or without the
# preload, and bounded by `timeout`.  After a preloaded run its stdout and
# stderr are searched for "hawkalloc:" (a HawkAlloc message is a failure
# except where a case expects one).

# shellcheck disable=SC2034 # used by run.sh
COMPAT_CASES=(python_multiprocessing_fork python_dict python_threading python_subprocess
  perl sqlite git xz redis jemalloc_foreign)

COMPAT_PYTHON=/usr/bin/python3
# The interpreter's version, for the name of the test-suite package and its
# directory (Debian: /usr/bin/python3 -> python3.11).
COMPAT_PYVER=$(readlink -f "$COMPAT_PYTHON" 2>/dev/null || true)
COMPAT_PYVER=${COMPAT_PYVER##*/python}
[[ $COMPAT_PYVER =~ ^3\.[0-9]+$ ]] || COMPAT_PYVER=3.11
COMPAT_PYTEST=/usr/lib/python$COMPAT_PYVER/test
COMPAT_JEMALLOC=$(ldconfig -p 2>/dev/null | awk '$1 == "libjemalloc.so.2" { print $NF; exit }' || true)
[[ -n $COMPAT_JEMALLOC ]] || COMPAT_JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2

# What each case needs: commands, or absolute paths that must exist; and the
# Debian packages that provide them (run.sh installs missing ones when it can).
declare -gA COMPAT_NEEDS=(
  [python_dict]="$COMPAT_PYTHON $COMPAT_PYTEST/test_dict.py"
  [python_threading]="$COMPAT_PYTHON $COMPAT_PYTEST/test_threading.py"
  [python_subprocess]="$COMPAT_PYTHON $COMPAT_PYTEST/test_subprocess.py"
  [python_multiprocessing_fork]="$COMPAT_PYTHON $COMPAT_PYTEST/test_multiprocessing_fork.py"
  [perl]="perl" [sqlite]="sqlite3" [git]="git $COMPAT_PYTHON"
  [xz]="xz $COMPAT_PYTHON" [redis]="redis-server redis-cli redis-benchmark $COMPAT_PYTHON"
  [jemalloc_foreign]="$COMPAT_PYTHON $COMPAT_JEMALLOC"
)
declare -gA COMPAT_PACKAGES=(
  [python_dict]="python3 libpython$COMPAT_PYVER-testsuite"
  [python_threading]="python3 libpython$COMPAT_PYVER-testsuite"
  [python_subprocess]="python3 libpython$COMPAT_PYVER-testsuite"
  [python_multiprocessing_fork]="python3 libpython$COMPAT_PYVER-testsuite"
  [perl]="perl" [sqlite]="sqlite3" [git]="git python3" [xz]="xz-utils python3"
  [redis]="redis-server redis-tools python3" [jemalloc_foreign]="python3 libjemalloc2"
)

# Prints what case NAME needs and is missing, space-separated.
compat_missing() {
  local need
  for need in ${COMPAT_NEEDS[$1]-} timeout cmp sha256sum; do
    if [[ $need == /* ]]; then
      [[ -e $need ]] || printf '%s ' "$need"
    else
      command -v "$need" >/dev/null 2>&1 || printf '%s ' "$need"
    fi
  done
}

COMPAT_CASES_FILE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

# compat_exec NAME: runs case_NAME in a bash of its own with errexit (in
# place of the calling shell).
compat_exec() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  exec "${BASH:-bash}" -c 'set -Eeuo pipefail
    source "$0"
    export LC_ALL=C TZ=UTC TMPDIR=$PWD/tmp
    mkdir -p "$TMPDIR"
    trap '\''echo "case stopped: \"$BASH_COMMAND\" failed (line $LINENO)" >&2'\'' ERR
    "case_$1"' "$COMPAT_CASES_FILE" "$1"
}

# --- helpers ----------------------------------------------------------------

problem() { printf '%s\n' "$@" >>problems; }
note() { printf '%s\n' "$@" >>notes; }

# Seconds allowed to one program: $1 times COMPAT_SCALE.
limit() { echo $(($1 * ${COMPAT_SCALE:-1})); }

# Describes an exit status: "0", "1", "139 (SIGSEGV)", "124 (timeout)".
describe_status() {
  local rc=$1 sig
  if ((rc == 124)); then
    echo "$rc (timeout)"
  elif ((rc > 128 && rc < 160)) && sig=$(kill -l "$((rc - 128))" 2>/dev/null); then
    echo "$rc (SIG$sig)"
  else
    echo "$rc"
  fi
}

# Prints the last lines of FILE, indented, if it has any.
tail_of() {
  [[ -s $1 ]] || return 0
  echo "last lines of $1:"
  tail -n "${2:-5}" "$1" | cut -c 1-200 | sed 's/^/  /'
}

# runp MODE TAG SECS [VAR=VALUE...] CMD [ARG...]: runs CMD with the system
# allocator (MODE sys) or with HawkAlloc preloaded (MODE hawk), stdin from
# the caller, stdout to TAG.out, stderr to TAG.err, bounded to SECS seconds
# (times COMPAT_SCALE).  Sets rc to its exit status; never fails itself.
# After a hawk run, a "hawkalloc:" line in TAG.out or TAG.err is a problem.
runp() {
  local mode=$1 tag=$2 secs
  secs=$(limit "$3")
  shift 3
  local -a pre=()
  [[ $mode == hawk ]] && pre=("LD_PRELOAD=$COMPAT_LIB")
  local t0
  t0=$(date +%s%N)
  rc=0
  timeout -k 5 "$secs" env "${pre[@]}" "$@" >"$tag.out" 2>"$tag.err" || rc=$?
  echo $((($(date +%s%N) - t0) / 1000000)) >"$tag.ms"
  if [[ $mode == hawk ]]; then
    check_messages "$tag" "$tag.out" "$tag.err"
  fi
  return 0
}

# took TAG...: "system 1.2 s, HawkAlloc 1.3 s" from the times of runp's runs
# (a TAG named sys or hawk is named after the allocator).
took() {
  local tag ms out=""
  for tag in "$@"; do
    ms=$(cat "$tag.ms" 2>/dev/null || echo 0)
    case $tag in sys) tag=system ;; hawk) tag=HawkAlloc ;; esac
    out+="${out:+, }$tag $((ms / 1000)).$((ms % 1000 / 100)) s"
  done
  echo "$out"
}

# check_messages LABEL FILE...: a "hawkalloc:" line in any FILE is a problem.
check_messages() {
  local label=$1 f
  shift
  for f in "$@"; do
    if [[ -f $f ]] && grep -aq 'hawkalloc:' "$f"; then
      problem "$label: HawkAlloc message in $f:" "$(grep -a 'hawkalloc:' "$f" | head -n 5 | cut -c 1-200)"
    fi
  done
}

# expect_rc LABEL WANT FILE: a problem unless $rc is WANT (shows FILE's end).
expect_rc() {
  if [[ $rc != "$2" ]]; then
    problem "$1: exit status $(describe_status "$rc") (expected $2)" "$(tail_of "$3")"
  fi
}

# same LABEL FILE_SYS FILE_HAWK: a problem unless the files are identical.
same() {
  if ! cmp -s "$2" "$3"; then
    problem "$1 differs ($(wc -c <"$2") bytes with the system allocator, $(wc -c <"$3") with HawkAlloc):" \
      "$(diff -a -u --label system --label hawkalloc "$2" "$3" 2>&1 | head -n 12 | cut -c 1-200 || true)"
  fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  "$COMPAT_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# --- CPython's own test modules, PYTHONMALLOC=malloc -----------------------

# py_module MODULE SECS: runs `python3 -m test -j1 MODULE` once with the
# system allocator (the baseline) and once under HawkAlloc, both with
# PYTHONMALLOC=malloc, and compares the outcome of every test (ok, skipped,
# failure, error) read from the --junit-xml reports.  A test that fails or
# is skipped under both is noted, not counted against HawkAlloc.
py_module() {
  local mod=$1 secs=$2 mode
  local -A status=()
  for mode in sys hawk; do
    runp "$mode" "$mode" "$secs" PYTHONMALLOC=malloc "$COMPAT_PYTHON" -m test -j1 \
      --timeout "$(limit $((secs - 20)))" --junit-xml "$PWD/$mode.xml" "$mod"
    status[$mode]=$rc
    "$COMPAT_PYTHON" "$COMPAT_DIR/junit_summary.py" "$mode.xml" >"$mode.tests" || true
  done
  local result_sys result_hawk
  result_sys=$(grep -a '^Tests result:' sys.out | tail -n 1 || true)
  result_hawk=$(grep -a '^Tests result:' hawk.out | tail -n 1 || true)
  if [[ ! -s sys.tests ]]; then
    problem "no test report from the system-allocator run (exit $(describe_status "${status[sys]}"))" \
      "$(tail_of sys.out)"
  fi
  if [[ ! -s hawk.tests ]]; then
    problem "no test report from the HawkAlloc run (exit $(describe_status "${status[hawk]}"))" \
      "$(tail_of hawk.out)" "$(tail_of hawk.err)"
  fi
  if [[ ${status[hawk]} != "${status[sys]}" ]]; then
    problem "exit status: system $(describe_status "${status[sys]}") ($result_sys), hawkalloc $(describe_status "${status[hawk]}") ($result_hawk)"
    if grep -aqE 'crashed|Fatal Python error|Segmentation fault|Aborted|timed out' hawk.out; then
      problem "$(grep -aE 'crashed|Fatal Python error|Segmentation fault|Aborted|timed out' hawk.out | head -n 4 | cut -c 1-200)"
    fi
  fi
  if [[ -s sys.tests && -s hawk.tests ]] && ! cmp -s sys.tests hawk.tests; then
    problem "test outcomes differ (- system, + hawkalloc):" \
      "$(diff sys.tests hawk.tests | grep '^[<>]' | sed 's/^</-/; s/^>/+/' | head -n 15)"
    local t
    for t in $(diff sys.tests hawk.tests | awk '$1 == ">" && ($2 == "failure" || $2 == "error") { print $3 }' | head -n 3); do
      problem "$(grep -a -A 12 "^\(FAIL\|ERROR\): .*${t##*.}" hawk.out | head -n 14 | cut -c 1-200)"
    done
  fi
  local n ok skipped bad
  n=$(wc -l <hawk.tests)
  ok=$(grep -c '^ok ' hawk.tests || true)
  skipped=$(grep -c '^skipped ' hawk.tests || true)
  note "$n tests under HawkAlloc: $ok ok, $skipped skipped; system allocator: $result_sys ($(took sys hawk))"
  bad=$(grep -E '^(failure|error) ' sys.tests | awk '{ print $2 }' | head -n 5 | tr '\n' ' ' || true)
  if [[ -n $bad ]]; then
    note "fails under the system allocator too (not counted): $bad"
  fi
  if ((n > 0 && skipped == n)); then
    note "every test skipped"
  fi
}

case_python_dict() { py_module test_dict 120; }
case_python_threading() { py_module test_threading 240; }
case_python_subprocess() { py_module test_subprocess 300; }
case_python_multiprocessing_fork() { py_module test_multiprocessing_fork 420; }

# --- perl ---------------------------------------------------------------------

case_perl() {
  local mode
  for mode in sys hawk; do
    runp "$mode" "$mode" 120 PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 perl "$COMPAT_DIR/work.pl" 25
    expect_rc "perl ($mode)" 0 "$mode.err"
  done
  same "perl's output" sys.out hawk.out
  note "$(took sys hawk)"
}

# --- sqlite3 ----------------------------------------------------------------

# work.sql builds 100,000 + 150,000 rows, indexes them, updates, deletes,
# VACUUMs; every query's output and the database file itself must be the
# same as with the system allocator, and `PRAGMA integrity_check` (inside the
# script and again in a fresh process under HawkAlloc) must print "ok".
case_sqlite() {
  local mode
  for mode in sys hawk; do
    runp "$mode" "$mode" 180 sqlite3 -batch -bail "$mode.db" <"$COMPAT_DIR/work.sql"
    expect_rc "sqlite3 ($mode)" 0 "$mode.err"
  done
  same "the queries' output" sys.out hawk.out
  same "the database file" sys.db hawk.db
  if ! grep -qx ok hawk.out; then
    problem "PRAGMA integrity_check in the script did not print ok"
  fi
  runp hawk check 120 sqlite3 -batch hawk.db "PRAGMA integrity_check; PRAGMA foreign_key_check;"
  expect_rc "integrity check" 0 check.err
  if [[ $(cat check.out) != ok ]]; then
    problem "PRAGMA integrity_check printed:" "$(head -n 5 check.out)"
  fi
  note "rows after the updates and deletes: $(grep -a '^after|' hawk.out | cut -d '|' -f 2,3 | tr '|' ' ') ($(took sys hawk))"
}

# --- git ----------------------------------------------------------------------

# git_work MODE: builds the repository under MODE into MODE/ and writes what
# is compared to MODE.out.  The history (400 commits over ~600 files, seven
# merged side branches, adds, deletes, renames) comes in through
# fast-import; a few more commits, a branch, a merge and a revert are made
# with the porcelain; then gc --aggressive (two delta threads) and
# fsck --full --strict, whose output goes to MODE.fsck and must be empty.
git_work() {
  local mode=$1
  local -a pre=()
  [[ $mode == hawk ]] && pre=("LD_PRELOAD=$COMPAT_LIB")
  g() { timeout -k 5 "$(limit 120)" env "${pre[@]}" git "$@"; }
  local t0
  t0=$(date +%s%N)
  (
    set -e
    unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_CEILING_DIRECTORIES
    export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
    export GIT_AUTHOR_NAME="Hawk Tester" GIT_AUTHOR_EMAIL=tester@example.invalid
    export GIT_COMMITTER_NAME="Hawk Tester" GIT_COMMITTER_EMAIL=tester@example.invalid
    g -c init.defaultBranch=main init -q "$mode"
    cd "$mode"
    g config gc.auto 0
    g config gc.autoDetach false
    g fast-import --quiet <../history.fi
    g checkout -q main
    local i
    for ((i = 1; i <= 4; i++)); do
      export GIT_AUTHOR_DATE="2025-01-0${i}T10:00:00Z" GIT_COMMITTER_DATE="2025-01-0${i}T10:05:00Z"
      sed -i "s/alpha/ALPHA$i/g" src$i/mod$i/*.txt
      printf 'porcelain %d\n' "$i" >"porcelain$i.txt"
      g add -A
      g commit -q -m "porcelain commit $i"
      if ((i == 2)); then
        g checkout -q -b feature
        sed -i 's/omega/OMEGA/g' src0/mod0/*.txt
        g commit -q -a -m "feature: omega"
        g checkout -q main
      fi
    done
    export GIT_AUTHOR_DATE=2025-01-05T10:00:00Z GIT_COMMITTER_DATE=2025-01-05T10:05:00Z
    g merge -q --no-ff -m "merge feature" feature
    g revert --no-edit HEAD~1 >/dev/null
    g gc --aggressive --quiet
    g fsck --full --strict --no-progress --no-dangling >"../$mode.fsck" 2>&1
    g log --stat --all
    g rev-list --all --objects | sha256sum
    g log -p --all | sha256sum
    g blame -s src1/mod1/file001.txt | sha256sum
    g archive --format=tar HEAD | sha256sum
    g grep -c OMEGA HEAD~1
    g count-objects -v | grep -E '^(count|packs|garbage):'
  ) >"$mode.out" 2>"$mode.err" &
  # Waited for, not run in an `||` list, where bash would ignore its set -e.
  rc=0
  wait $! || rc=$?
  echo $((($(date +%s%N) - t0) / 1000000)) >"$mode.ms"
}

case_git() {
  "$COMPAT_PYTHON" "$COMPAT_DIR/gen_git.py" 400 >history.fi
  local mode
  for mode in sys hawk; do
    git_work "$mode"
    expect_rc "git ($mode)" 0 "$mode.err"
    if [[ -s $mode.fsck ]]; then
      problem "git fsck --full ($mode) reported:" "$(head -n 5 "$mode.fsck")"
    fi
  done
  check_messages git hawk.out hawk.err hawk.fsck
  same "git log --stat and the hashes" sys.out hawk.out
  note "$(grep -c '^commit ' hawk.out) commits, $(du -sk hawk/.git/objects | cut -f 1) KiB of objects after gc --aggressive ($(took sys hawk))"
}

# --- xz with threads ----------------------------------------------------------

# 100 MiB of generated log-like text (one MiB in 16 random bytes), compressed
# with `xz -T2 -1` (about 34 blocks over two threads) under both
# allocators: the .xz files must be identical; then decompressed with -T2
# under HawkAlloc: the round trip must be exact.
case_xz() {
  "$COMPAT_PYTHON" "$COMPAT_DIR/gen_data.py" 100 >data
  local mode
  for mode in sys hawk; do
    runp "$mode" "$mode" 240 xz -T2 -1 -c data
    expect_rc "xz -T2 compression ($mode)" 0 "$mode.err"
  done
  same "the compressed bytes" sys.out hawk.out
  runp hawk dec 120 xz -T2 -d -c hawk.out
  expect_rc "xz -T2 decompression" 0 dec.err
  if ! cmp -s data dec.out; then
    problem "round trip: the decompressed data differs from the input ($(cmp data dec.out 2>&1 | head -n 1))"
  fi
  note "$(wc -c <data) bytes -> $(wc -c <hawk.out) bytes; compression: $(took sys hawk); decompression: $(took dec | sed 's/^dec/HawkAlloc/')"
}

# --- redis-server (links jemalloc) ------------------------------------------

REDIS_PID="" REDIS_PORT=""

# redis_start MODE TAG: starts redis-server on a free loopback port (under
# HawkAlloc for MODE hawk), log to TAG.log, and waits until it answers.
redis_start() {
  local mode=$1 tag=$2 try i
  local -a pre=()
  [[ $mode == hawk ]] && pre=("LD_PRELOAD=$COMPAT_LIB")
  for try in 1 2 3; do
    REDIS_PORT=$(free_port)
    timeout -k 5 "$(limit 300)" env "${pre[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
      --save '' --appendonly no --dir "$PWD" --daemonize no --protected-mode yes \
      --logfile '' >"$tag.log" 2>&1 </dev/null &
    REDIS_PID=$!
    for ((i = 0; i < 100; i++)); do
      if [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" PING 2>/dev/null) == PONG ]]; then
        return 0
      fi
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    redis_stop
    grep -q 'Address already in use' "$tag.log" || break
  done
  problem "redis-server ($mode) did not start:" "$(tail_of "$tag.log")"
  return 1
}

# redis_stop: SHUTDOWN NOSAVE, then waits (10 s at most) for the server; a
# server still there is killed.  Sets rc to the server's exit status.
redis_stop() {
  rc=0
  [[ -n $REDIS_PID ]] || return 0
  if kill -0 "$REDIS_PID" 2>/dev/null; then
    timeout 10 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 100; i++)); do
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$REDIS_PID" 2>/dev/null; then
      kill -TERM "$REDIS_PID" 2>/dev/null || true
      sleep 1
      kill -KILL "$REDIS_PID" 2>/dev/null || true
    fi
  fi
  wait "$REDIS_PID" 2>/dev/null || rc=$?
  REDIS_PID=""
}

# cli ARGS...: one redis-cli call (system allocator) to the running server.
cli() { timeout 30 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# INFO field of the running server.
info_field() { cli INFO "$1" | tr -d '\r' | awk -F: -v k="$2" '$1 == k { print $2 }'; }

# redis_checks: deterministic commands on every data type (strings growing
# with APPEND and SETRANGE, lists, hashes, sets, sorted sets, Lua, SORT,
# UNLINK of big values freed by the lazy-free thread, FLUSHALL ASYNC);
# their replies go to stdout.  Also INFO memory figures to checks.mem.
redis_checks() {
  local i
  {
    echo "FLUSHALL"
    echo "SET greeting 'hello world'"
    echo "APPEND greeting '!!!'"
    echo "GET greeting"
    for ((i = 1; i <= 3000; i++)); do
      echo "SET key:$i value-$i-$((i * 7919 % 10007))"
      echo "RPUSH list item-$i"
      echo "HSET hash field$i $((i * i))"
      echo "SADD set member$((i % 700))"
      echo "ZADD zset $((i * 37 % 1009)) z$i"
      if ((i % 10 == 0)); then echo "APPEND grow $(printf '%0200d' "$i")"; fi
    done
    echo "SETRANGE grow 100000 tail"
    echo "STRLEN grow"
    echo "GETRANGE grow 29980 30020"
    echo "MGET key:1 key:1500 key:3000 missing"
    echo "LLEN list"
    echo "LRANGE list 1000 1004"
    echo "LINDEX list -1"
    echo "HLEN hash"
    echo "HGET hash field2999"
    echo "SCARD set"
    echo "ZCARD zset"
    echo "ZRANGE zset 0 7 WITHSCORES"
    echo "ZRANGEBYSCORE zset 500 501"
    echo "SORT list ALPHA LIMIT 0 5 DESC"
    echo "SUNIONSTORE set2 set set"
    echo "ZUNIONSTORE zset2 2 zset zset WEIGHTS 1 2"
    echo "ZSCORE zset2 z3000"
    echo "EVAL \"local t = {} for i = 1, 20000 do t[i] = tostring(i * 3) end return #table.concat(t, ',')\" 0"
    echo "EVAL \"local n = 0 for i = 1, 500 do n = n + redis.call('STRLEN', 'key:' .. i) end return n\" 0"
    echo "OBJECT ENCODING list"
    echo "OBJECT ENCODING hash"
    echo "DBSIZE"
    echo "CONFIG SET activedefrag yes"
  } | cli
  # Before the big values are dropped: how much memory redis counts as used
  # (through malloc_usable_size) and how much jemalloc itself has handed out.
  {
    echo "used_memory $(info_field memory used_memory)"
    echo "allocator_allocated $(info_field memory allocator_allocated)"
    echo "mem_allocator $(info_field memory mem_allocator)"
  } >checks.mem
  {
    echo "UNLINK hash zset zset2 set2"
    echo "LTRIM list 0 99"
    echo "LLEN list"
    echo "DEL key:1 key:2"
    echo "EXISTS key:1 key:3"
    echo "MEMORY PURGE"
    echo "FLUSHALL ASYNC"
    echo "PING"
    echo "DBSIZE"
  } | cli
}

case_redis() {
  trap 'redis_stop' EXIT
  trap 'exit 143' TERM INT
  local mode
  # The baseline: the same commands against a server with its own jemalloc.
  redis_start sys sys || return 0
  redis_checks >sys.out 2>sys.err || true
  mv checks.mem sys.mem
  redis_stop
  expect_rc "redis-server (system allocator) after SHUTDOWN NOSAVE" 0 sys.log

  redis_start hawk hawk || return 0
  redis_checks >hawk.out 2>hawk.err || true
  mv checks.mem hawk.mem
  same "redis-cli replies" sys.out hawk.out
  if [[ $(sed -n 4p hawk.out) != 'hello world!!!' ]]; then
    problem "GET greeting replied: $(sed -n 4p hawk.out)"
  fi

  # A bounded benchmark (20,000 requests per test, 50 clients), then the
  # state it must leave behind.
  local t0
  t0=$(date +%s%N)
  rc=0
  timeout "$(limit 240)" redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -n 20000 -q \
    >bench.raw 2>bench.err </dev/null || rc=$?
  echo $((($(date +%s%N) - t0) / 1000000)) >bench.ms
  tr '\r' '\n' <bench.raw | grep -a 'requests per second' >bench.out || true
  expect_rc redis-benchmark 0 bench.err
  local tests errors
  tests=$(wc -l <bench.out)
  errors=$(tr '\r' '\n' <bench.raw | grep -aic 'error' || true)
  if ((tests < 15 || errors > 0)); then
    problem "redis-benchmark: $tests tests reported, $errors error lines" "$(tail_of bench.out)" "$(tail_of bench.err)"
  fi
  # Its SET and LPUSH values are the same 3 bytes (from a fixed seed); its
  # LPUSH, RPUSH, LPOP, RPOP and LPUSH (for LRANGE) leave 20,000 elements.
  local -a after
  mapfile -t after < <(printf '%s\n' "PING" "GET key:__rand_int__" "LLEN mylist" "LINDEX mylist 19999" | cli 2>&1)
  if [[ ${after[0]-} != PONG || ${#after[1]} != 3 || ${after[2]-} != 20000 || ${after[3]-} != "${after[1]}" ]]; then
    problem "after the benchmark, PING, GET key:__rand_int__, LLEN mylist, LINDEX mylist 19999 replied '$(cut -c 1-160 <<<"${after[*]}")' (expected PONG, a 3-byte value, 20000, the same value)"
  fi
  local alloc used_memory je_allocated
  alloc=$(info_field memory mem_allocator || true)
  redis_stop
  expect_rc "redis-server (HawkAlloc) after SHUTDOWN NOSAVE" 0 hawk.log
  check_messages "redis-server" hawk.log
  if grep -aqE 'crashed by signal|Guru Meditation|Assertion' hawk.log; then
    problem "redis-server log:" "$(grep -aE 'crashed by signal|Guru Meditation|Assertion' hawk.log | head -n 3)"
  fi

  # Debian's redis-server calls malloc, calloc, realloc, free and
  # malloc_usable_size by their plain names, so under LD_PRELOAD HawkAlloc
  # serves every allocation; it calls jemalloc only for mallctl, nallocx and
  # malloc_stats_print, which hand out no pointers.  jemalloc is loaded but
  # idle, yet INFO still names it (a string fixed at build time).
  used_memory=$(awk '$1 == "used_memory" { print $2 }' hawk.mem)
  je_allocated=$(awk '$1 == "allocator_allocated" { print $2 }' hawk.mem)
  if [[ $alloc != jemalloc* ]]; then
    problem "INFO memory mem_allocator is '$alloc' (expected jemalloc-*, as Debian builds it)"
  fi
  if ! [[ $used_memory =~ ^[0-9]+$ && $je_allocated =~ ^[0-9]+$ ]] ||
    ((used_memory < 1048576 || je_allocated * 8 > used_memory)); then
    problem "expected used_memory >= 1 MiB (HawkAlloc's blocks) and jemalloc's allocator_allocated below an eighth of it:" \
      "$(cat hawk.mem)"
  fi
  note "mem_allocator:$alloc; with data loaded used_memory $used_memory B while jemalloc's allocator_allocated is $je_allocated B (system-allocator run: $(awk '$1 == "allocator_allocated" { print $2 }' sys.mem) B)"
  note "redis-benchmark: $tests tests of 20,000 requests, $(awk '{ for (i = 2; i <= NF; i++) if ($i == "requests") r = $(i - 1)
      if (!n++ || r < lo) lo = r; if (r > hi) hi = r }
    END { printf "%.0f to %.0f requests/s", lo, hi }' bench.out) ($(took bench | sed 's/^bench //'))"
}

# --- a pointer from jemalloc handed to HawkAlloc -------------------------------

# With HawkAlloc and jemalloc both loaded (as in redis-server), a block from
# jemalloc's mallocx() (a name HawkAlloc does not define) given to free,
# realloc or malloc_usable_size must stop the program with HawkAlloc's one
# line naming the call, the pointer and "invalid pointer (not from
# hawkalloc)" and SIGABRT; a HawkAlloc block and a jemalloc block each
# returned to its own allocator work.
case_jemalloc_foreign() {
  local op size ptr expect
  local -a both=("LD_PRELOAD=$COMPAT_LIB $COMPAT_JEMALLOC")
  runp sys pair 30 "${both[@]}" "$COMPAT_PYTHON" "$COMPAT_DIR/foreign.py" pair 100
  expect_rc "own blocks to their own allocators" 0 pair.err
  check_messages "own blocks" pair.out pair.err
  for op in free realloc malloc_usable_size; do
    for size in 24 5000 200000 10000000; do
      runp sys "$op.$size" 30 "${both[@]}" "$COMPAT_PYTHON" "$COMPAT_DIR/foreign.py" "$op" "$size"
      ptr=$(head -n 1 "$op.$size.out")
      expect="hawkalloc: $op($ptr): invalid pointer (not from hawkalloc)"
      if [[ $rc != 134 || $(cat "$op.$size.err") != "$expect" ]]; then
        problem "$op of a $size-byte jemalloc block $ptr: exit $(describe_status "$rc"), stderr:" \
          "$(head -n 3 "$op.$size.err")" "(expected exit 134 (SIGABRT) and the one line: $expect)"
      fi
    done
  done
  note "12 foreign pointers (free, realloc, malloc_usable_size; 24 B to 10 MB) each stopped with the message"
}
