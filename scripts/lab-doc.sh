#!/usr/bin/env bash
# lab-doc.sh - regenerates the pictures and tables of the learners' tutorial,
# docs/lab.md, into docs/lab/ (`make lab-doc`), and copies each generated
# table into docs/lab.md between its markers:
#   <!-- lab-doc:NAME -->  ...docs/lab/NAME.md...  <!-- /lab-doc:NAME -->
#
# What it measures, in order (about 5 minutes on 2 cores):
#   machine.md        the machine, the library's commit, the other allocators
#   policies.md       `hawk replay --policy all` over the 11 default -bal traces:
#                     peak utilization and throughput per placement policy
#   textbook.md       the same in textbook mode (`--textbook`: no thread cache)
#   ceilings.md       docs/lab/ceiling.py: the best utilization the block format
#                     allows on each trace, against the default policy's
#   allocators.md     the same traces under HawkAlloc's default policy, glibc and
#                     whichever of jemalloc, mimalloc, tcmalloc are installed
#   runs.md           docs/lab/runs.c: where binary-bal's blocks land
#   random-first-fit.svg, random-segregated.svg
#                     `hawk map --trace random-bal.rep` under two policies
#   python-holes.svg, python-exit.svg, python-stats.md, python-replay.md
#                     python3 running docs/lab/holes.py under `hawk run --map
#                     --stats`, and its trace (`hawk run --trace`) replayed
#                     under every policy and glibc
#   realloc2-first-fit.svg, realloc2-segregated.svg
#                     `hawk map --textbook --trace realloc2-bal.rep`: a small
#                     heap, drawn zoomed in
#   grade.md          `hawk grade examples/mm.c` on the 11 -bal traces
#   grade-binary-bal.svg
#                     `hawk grade --map`: examples/mm.c's heap on binary-bal
#   tracing.md        the cost of HAWKALLOC_TRACE: real programs of the preload
#                     suite (tests/preload/cases.sh) timed with and without it
#   targets.md        issue #4's targets against the measured values
# The .tsv files beside them are hawk replay's raw output.
#
# Environment:
#   ROUNDS        timed runs per case and mode for tracing.md (default 5)
#   TRACE_CASES   preload cases timed for tracing.md
#                 (default: every case of tests/preload/cases.sh)
#   HAWK_TRACES   the malloc-lab traces (default: <repo>/../shared/traces)
#   LAB_OUT       output directory (default: <repo>/docs/lab); docs/lab.md is
#                 only updated when LAB_OUT is the default
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lab-env.sh"
export LC_ALL=C
hawk=$root/build/hawk # this tree's, whatever HAWK says
out=${LAB_OUT:-$root/docs/lab}
rounds=${ROUNDS:-5}
trace_cases=()
[[ -z ${TRACE_CASES:-} ]] || read -r -a trace_cases <<<"$TRACE_CASES"
lib=$root/build/libhawkalloc.so
python=/usr/bin/python3

# The 11 default traces of the malloc lab (short1 and short2 are tests of the
# tools, not workloads).
bal_traces=(amptjp binary binary2 cccp coalescing cp-decl expr random random2 realloc realloc2)

log() { printf 'lab-doc: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
for t in "${bal_traces[@]}"; do
  [[ -f $traces/$t-bal.rep ]] || die "no $traces/$t-bal.rep (set HAWK_TRACES)"
done
[[ -x $python ]] || die "$python is needed (apt-get install python3)"

work=$(mktemp -d "${TMPDIR:-/tmp}/hawk-lab-doc.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$out"
started=$SECONDS

# --- build -------------------------------------------------------------------

log "building the library and build/hawk"
if ! make -C "$root" lib tools >"$work/make.log" 2>&1; then
  tail -n 20 "$work/make.log" >&2
  die "make lib tools failed"
fi
mkdir -p "$root/build/lab"
cc -O1 -fno-builtin -Wall -Wextra -o "$root/build/lab/runs" "$root/docs/lab/runs.c"

# --- helpers -----------------------------------------------------------------

# median V...: the median of the numbers, 3 decimals.
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# tsv_table KIND FILE [alloc]: a Markdown table of hawk replay --tsv output.
#   KIND util  : one row per trace, one utilization column per policy or
#                allocator, a bold mean row
#   KIND tput  : the same with throughput in millions of operations per second
# A column is named by its policy for HawkAlloc rows (with "alloc": as
# "HawkAlloc (policy)") and by its allocator otherwise (system: glibc).
tsv_table() {
  awk -F'\t' -v kind="$1" -v alloc="${3-}" -f "$here/lab-table.awk" "$2"
}

# mean_of FILE ALLOCATOR POLICY FIELD: a field of the "mean of" row.
mean_of() {
  awk -F'\t' -v a="$2" -v p="$3" -v f="$4" '$1 ~ /^mean of/ && $2 == a && $3 == p { print $f }' "$1"
}

check_svg() {
  local f=$1 bytes
  bytes=$(stat -c %s "$f")
  if command -v xmllint >/dev/null 2>&1 && ! xmllint --noout "$f" 2>"$work/xmllint.err"; then
    head -n 5 "$work/xmllint.err" >&2
    die "$f is not well-formed XML"
  fi
  ((bytes < 1048576)) || log "warning: $f is $bytes bytes (over 1 MiB)"
}

# --- the machine ---------------------------------------------------------------

log "machine"
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
[[ -n $cpu ]] || cpu=$(uname -m)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$root" status --porcelain -- src include tools Makefile 2>/dev/null) ]]; then
  commit="$commit with uncommitted changes in src/, include/, tools/ or the Makefile"
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
others=()
for pkg in libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4; do
  v=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
  [[ -z $v ]] || others+=("$pkg $v")
done
{
  echo "Measured on: $(nproc) CPUs, $cpu; Linux $(uname -r);" \
    "$(getconf GNU_LIBC_VERSION 2>/dev/null || echo "unknown libc"); $(date -u +%Y-%m-%d)." \
    "HawkAlloc at commit $commit."
  if ((${#others[@]})); then
    echo "Other allocators: Debian packages $(printf '%s, ' "${others[@]}" | sed 's/, $//')."
  fi
} >"$out/machine.md"

# --- placement policies over the classic traces ----------------------------------

log "replaying the 11 -bal traces under every policy"
files=()
for t in "${bal_traces[@]}"; do files+=("$traces/$t-bal.rep"); done
"$hawk" replay --tsv --rounds 5 --policy all "${files[@]}" >"$out/policies.tsv"
{
  echo "Peak utilization (peak live bytes / peak footprint; higher is better):"
  echo
  tsv_table util "$out/policies.tsv"
  echo
  echo "Throughput (millions of calls per second, best of 5 rounds; the mean row is all calls"
  echo "divided by all best times):"
  echo
  tsv_table tput "$out/policies.tsv"
} >"$out/policies.md"

# --- textbook mode: the policies without the thread cache ---------------------------

log "replaying the 11 -bal traces under every policy in textbook mode"
"$hawk" replay --tsv --rounds 1 --textbook --policy all "${files[@]}" >"$out/textbook.tsv"
{
  echo "Peak utilization in textbook mode (\`--textbook\`, HAWKALLOC_TCACHE=0: no thread cache,"
  echo "one heap; higher is better):"
  echo
  tsv_table util "$out/textbook.tsv"
} >"$out/textbook.md"

# --- other allocators ----------------------------------------------------------------

log "replaying the 11 -bal traces under other allocators"
allocs=hawk,system
missing_allocs=()
for a in jemalloc mimalloc tcmalloc; do
  if "$hawk" replay --tsv --rounds 1 --allocator "$a" "$traces/short1-bal.rep" >/dev/null 2>&1; then
    allocs+=",$a"
  else
    missing_allocs+=("$a")
  fi
done
"$hawk" replay --tsv --rounds 5 --allocator "$allocs" "${files[@]}" >"$out/allocators.tsv"
default_policy=$(awk -F'\t' '$1 ~ /^mean of/ && $2 == "hawk" { print $3 }' "$out/allocators.tsv")
# The block format's ceiling on each trace against the default policy.
"$python" "$root/docs/lab/ceiling.py" --measured "$out/policies.tsv" --policy "$default_policy" \
  "${files[@]}" >"$out/ceilings.md"
{
  echo "Peak utilization (HawkAlloc: its default policy, $default_policy, footprint from its own"
  echo "counters; every other allocator: footprint = growth of the peak resident memory, VmHWM,"
  echo "during the replay, counted in whole 4 KiB pages):"
  echo
  tsv_table util "$out/allocators.tsv" alloc
  echo
  echo "Throughput (millions of calls per second, best of 5 rounds):"
  echo
  tsv_table tput "$out/allocators.tsv" alloc
  if ((${#missing_allocs[@]})); then
    echo
    echo "Not installed here, so not measured: ${missing_allocs[*]}."
  fi
} >"$out/allocators.md"

# --- where binary-bal's blocks land ----------------------------------------------

log "docs/lab/runs.c under glibc and HawkAlloc"
# shellcheck disable=SC2016 # the commands are shown, not run
{
  echo '```'
  echo '$ build/lab/runs                   # glibc'
  "$root/build/lab/runs"
  echo '$ LD_PRELOAD=$PWD/build/libhawkalloc.so build/lab/runs'
  LD_PRELOAD=$lib "$root/build/lab/runs"
  echo '$ build/lab/runs 16 112 4000       # binary2-bal, glibc'
  "$root/build/lab/runs" 16 112 4000
  echo '$ LD_PRELOAD=$PWD/build/libhawkalloc.so build/lab/runs 16 112 4000'
  LD_PRELOAD=$lib "$root/build/lab/runs" 16 112 4000
  echo '```'
} >"$out/runs.md"

# --- pictures of a classic trace --------------------------------------------------

log "heap pictures of random-bal"
for p in first-fit segregated; do
  "$hawk" map --trace "$traces/random-bal.rep" --policy "$p" --out "$work/random-$p.svg" >&2
  mv "$work/random-$p.svg" "$out/random-$p.svg"
  check_svg "$out/random-$p.svg"
done

# --- pictures of a small heap, zoomed in ------------------------------------------

log "heap pictures of realloc2-bal (textbook mode)"
"$hawk" map --textbook --trace "$traces/realloc2-bal.rep" --policy first-fit,segregated \
  --out "$work/realloc2.svg" >&2
for p in first-fit segregated; do
  mv "$work/realloc2-$p.svg" "$out/realloc2-$p.svg"
  check_svg "$out/realloc2-$p.svg"
done

# --- hawk grade of the reference malloc-lab allocator ----------------------------------

log "hawk grade examples/mm.c"
{
  echo '```'
  echo '$ build/hawk grade examples/mm.c'
  (cd "$root" && HAWK_TRACES=$traces "$hawk" grade examples/mm.c)
  echo '```'
} >"$out/grade.md"
(cd "$root" && "$hawk" grade --rounds 0 --map "$work" examples/mm.c "$traces/binary-bal.rep" >&2)
mv "$work/binary-bal.svg" "$out/grade-binary-bal.svg"
check_svg "$out/grade-binary-bal.svg"

# --- a real program: python3 -----------------------------------------------------------

log "python3 docs/lab/holes.py: picture, statistics, trace"
(cd "$work" && PYTHONMALLOC=malloc "$hawk" run --map "$work/python.svg" --stats -- \
  "$python" "$root/docs/lab/holes.py" >"$work/python.out" 2>"$work/python.err")
[[ -f $work/python-0001.svg && -f $work/python.svg ]] || die "python3 wrote no heap picture"
mv "$work/python-0001.svg" "$out/python-holes.svg"
mv "$work/python.svg" "$out/python-exit.svg"
check_svg "$out/python-holes.svg"
check_svg "$out/python-exit.svg"
{
  echo '```'
  echo '$ PYTHONMALLOC=malloc build/hawk run --map build/lab/py.svg --stats -- /usr/bin/python3 docs/lab/holes.py'
  cat "$work/python.out"
  grep '^hawkalloc:' "$work/python.err"
  echo '```'
} >"$out/python-stats.md"

(cd "$work" && PYTHONMALLOC=malloc "$hawk" run --trace "$work/python.trace" -- \
  "$python" "$root/docs/lab/holes.py" >/dev/null)
trace_bytes=$(stat -c %s "$work/python.trace")
"$hawk" replay --tsv --policy all --allocator hawk "$work/python.trace" \
  >"$work/python-policies.tsv" 2>"$work/python-replay.err"
"$hawk" replay --tsv --allocator system "$work/python.trace" \
  >"$work/python-system.tsv" 2>>"$work/python-replay.err"
{
  cat "$work/python-policies.tsv"
  tail -n +2 "$work/python-system.tsv"
} | sed 's/^python\.trace/python3 holes.py/' | awk -F'\t' -v OFS='\t' '
  # the "mean of" rows of the two runs go last
  $1 ~ /^mean of/ { m[++n] = $0; next } { print } END { for (i = 1; i <= n; i++) print m[i] }' \
  >"$out/python-replay.tsv"
{
  echo "The trace: $(awk -v b="$trace_bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }')," \
    "$(awk -F'\t' 'NR == 2 { print $4 }' "$out/python-replay.tsv") calls."
  echo
  echo '| run | policy or allocator | peak live bytes | footprint | peak utilization | Mcalls/s | arenas at the peak | free blocks at the peak |'
  echo '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |'
  awk -F'\t' '$1 !~ /^mean of/ && NR > 1 {
      name = ($2 == "hawk" ? $3 : ($2 == "system" ? "glibc*" : $2))
      printf "| %s | %s | %s | %s | %.1f%% | %.2f | %s | %s |\n", $1, name, $5, $6, 100 * $7, $8 / 1e6, $9, $10
    }' "$out/python-replay.tsv"
  echo
  echo "\\* glibc's footprint is the growth of its resident memory during the replay."
} >"$out/python-replay.md"

# --- the cost of tracing --------------------------------------------------------------

# shellcheck source=../tests/preload/cases.sh
source "$root/tests/preload/cases.sh"
((${#trace_cases[@]} > 0)) || trace_cases=("${PRELOAD_CASES[@]}")
log "the cost of tracing: ${trace_cases[*]}, $rounds rounds"

# timed NAME MODE: runs case NAME once under HawkAlloc, traced or not, in a
# fresh directory; sets $secs, fails the script when the case fails.
timed() {
  local name=$1 mode=$2 dir="$work/run.$1.$2" t0 t1 rc=0
  local env=("LD_PRELOAD=$lib")
  [[ $mode == plain ]] || env+=("HAWKALLOC_TRACE=$work/run.trace")
  rm -rf "$dir" "$work/run.trace"
  mkdir -p "$dir"
  t0=$EPOCHREALTIME
  (cd "$dir" && preload_run "$name" "$work/in.$name" 1 "${env[@]}") \
    </dev/null >"$dir.out" 2>"$dir.err" || rc=$?
  t1=$EPOCHREALTIME
  if ((rc != 0)); then
    tail -n 5 "$dir.err" >&2
    die "case $name failed ($mode, exit $rc)"
  fi
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
  if [[ $mode == traced && -f $work/run.trace ]]; then
    last_trace_bytes=$(stat -c %s "$work/run.trace")
  fi
  rm -rf "$dir" "$work/run.trace"
}

rows=() notes=() worst=0 worst_case=""
for name in "${trace_cases[@]}"; do
  declare -F "case_$name" >/dev/null || die "no preload case '$name' (choose from: ${PRELOAD_CASES[*]})"
  missing=$(preload_missing "$name")
  if [[ -n $missing ]]; then
    notes+=("$name: skipped, missing ${missing% }")
    continue
  fi
  log "  $name"
  last_trace_bytes=0
  preload_prep "$name" "$work/in.$name" 1 >"$work/prep.log" 2>&1 || die "could not prepare case $name"
  # Warm-up pair, untimed; the outputs must agree.
  timed "$name" plain
  timed "$name" traced
  if ! cmp -s "$work/run.$name.plain.out" "$work/run.$name.traced.out"; then
    notes+=("$name: the output differs with tracing on")
  fi
  plain=() traced=()
  for ((r = 0; r < rounds; r++)); do
    # Interleaved, and each mode goes first every other round.
    if ((r % 2 == 0)); then
      timed "$name" plain
      plain+=("$secs")
      timed "$name" traced
      traced+=("$secs")
    else
      timed "$name" traced
      traced+=("$secs")
      timed "$name" plain
      plain+=("$secs")
    fi
  done
  m_plain=$(median "${plain[@]}")
  m_traced=$(median "${traced[@]}")
  ratio=$(awk -v p="$m_plain" -v t="$m_traced" 'BEGIN { printf "%.2f", (p > 0 ? t / p : 0) }')
  size=$(awk -v b="$last_trace_bytes" 'BEGIN {
    if (b >= 1e6) printf "%.0f MB", b / 1e6; else printf "%.1f kB", b / 1e3 }')
  rows+=("| $name | $m_plain | $m_traced | $ratio | $size |")
  if awk -v r="$ratio" -v w="$worst" 'BEGIN { exit !(r > w) }'; then
    worst=$ratio worst_case=$name
  fi
  rm -rf "$work/in.$name"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "Each program under HawkAlloc (\`LD_PRELOAD\`), without and with \`HAWKALLOC_TRACE\`:"
  echo "wall time of the whole case of tests/preload/cases.sh, median of $rounds interleaved runs"
  echo "each after one untimed warm-up pair. Load average $load_start at the start of the"
  echo "generator, $load_end at the end of this table (2 CPUs: other work on the machine shows"
  echo "up in both columns). Each traced program starts the trace file anew and a program"
  echo "started by a traced one leaves it alone, so the last column is the trace of the last"
  echo "program the case ran (python_malloc and sqlite: one program; sort: four, git: many)."
  echo
  echo "| case | untraced median s | traced median s | traced / untraced | trace file left |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
  if ((${#notes[@]})); then
    echo
    printf -- '- %s\n' "${notes[@]}"
  fi
} >"$out/tracing.md"

# --- the targets --------------------------------------------------------------------

util_default=$(mean_of "$out/policies.tsv" hawk "$default_policy" 7)
util_system=$(mean_of "$out/allocators.tsv" system - 7)
{
  echo "| target (issue #4) | measured | met |"
  echo "| --- | --- | --- |"
  awk -v u="$util_default" -v p="$default_policy" -v s="$util_system" 'BEGIN {
    printf "| mean peak utilization over the 11 default -bal traces, default policy (%s) >= 95%% | %.1f%% (glibc, by resident memory: %.1f%%) | %s |\n",
      p, 100 * u, 100 * s, (u >= 0.95 ? "yes" : "no") }'
  if [[ -n $worst_case ]]; then
    awk -v w="$worst" -v c="$worst_case" -v n="${#rows[@]}" -v all="${#PRELOAD_CASES[@]}" 'BEGIN {
      printf "| tracing costs at most 2x the untraced time | worst %.2fx (%s) | %s |\n",
        w, c, (w > 2 ? "no" : n < all ? "yes, on the " n " cases measured of " all : "yes") }'
  fi
} >"$out/targets.md"

# --- docs/lab.md -------------------------------------------------------------------

doc=$root/docs/lab.md
if [[ -z ${LAB_OUT-} && -f $doc ]]; then
  awk -v dir="$out" '
    match($0, /^<!-- lab-doc:[a-z0-9-]+ -->$/) {
      print
      name = substr($0, 14, length($0) - 17)
      file = dir "/" name ".md"
      if ((getline line < file) > 0) {
        print line
        while ((getline line < file) > 0) print line
        close(file)
        skipping = name
      }
      next
    }
    skipping != "" && $0 == "<!-- /lab-doc:" skipping " -->" { skipping = "" }
    skipping == "" { print }' "$doc" >"$work/lab.md"
  cat "$work/lab.md" >"$doc"
  log "updated the generated parts of docs/lab.md"
fi

log "done in $((SECONDS - started)) s: $out"
