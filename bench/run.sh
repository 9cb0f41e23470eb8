#!/usr/bin/env bash
# run.sh - the benchmark suite (`make bench`, `make bench-quick`).
#
# Runs the programs of bench/ (built by make into build/bench/) under
# HawkAlloc (a snapshot of build/libhawkalloc.so taken at the start), glibc
# (no preload), jemalloc, mimalloc and tcmalloc, at 1, 2 and 4 threads,
# ROUNDS rounds.  Each round runs every benchmark configuration once under
# every allocator, the allocators in an order that rotates from one round and
# configuration to the next.  A small launcher (launch.c) measures each run's
# wall time and peak RSS (wait4's ru_maxrss).  Then:
#   * each round, `hawk replay --tsv` (tools/replay.c) of the malloc-lab
#     traces under every allocator, in an order that rotates too: the
#     throughput of the lab's trace replay (all ops / all best times);
#   * the instruction counts of the single-thread mix (mixed, 1 thread) under
#     valgrind --tool=callgrind, per allocator;
#   * bench/preload-ratio.sh (the real programs of the preload suite, HawkAlloc
#     against the system allocator), unless BENCH_PRELOAD=0.
# Writes build/bench/results.md (tables of median time and peak RSS, ratios
# to glibc, their geometric means, with hawkalloc-nochecks the checks' cost
# round by round (the median of each round's paired ratio), larson 2t/1t
# scaling, callgrind counts),
# build/bench/time.svg and rss.svg (gnuplot), and build/bench/raw.tsv (every
# run).  Installs what is missing with apt-get when root: libjemalloc2,
# libmimalloc2.0, libtcmalloc-minimal4, gnuplot-nox, valgrind.
#
# Environment:
#   ROUNDS            rounds (default 5; bench-quick: 1; bench-checks: 7)
#   BENCH_QUICK=1     small sizes (a tenth), a short callgrind run, no preload
#                     suite unless BENCH_PRELOAD=1 (`make bench-quick`)
#   BENCH_THREADS     thread counts (default "1 2 4")
#   BENCH_ONLY        benchmarks to run (default: all: lifo random larson
#                     prodcons realloc mixed frag trace simple xfree pool
#                     mstress large)
#   BENCH_REPLAY=0    skip the replay line: each round, `hawk replay` of the
#                     malloc-lab traces under every allocator (build/hawk,
#                     `make tools`), throughput in ops/s
#   BENCH_ALLOCATORS  allocators (default "glibc hawkalloc jemalloc mimalloc
#                     tcmalloc"; glibc is the baseline of the ratios)
#   BENCH_SCALE       multiplies every size (default 1; may be a fraction)
#   BENCH_TRACES      directory of the malloc-lab traces (*.rep); default
#                     <repo>/../shared/traces; missing: the trace benchmark is
#                     skipped
#   BENCH_TIMEOUT     seconds allowed to one run (default 180)
#   BENCH_BUDGET      seconds for the timed rounds (default 1080): no new round
#                     starts when it would end past the budget (a busy machine)
#   BENCH_CALLGRIND=0 skip the callgrind counts
#   BENCH_PRELOAD=0|1 skip / run bench/preload-ratio.sh (default 1, quick 0)
#   BENCH_OUT         output directory (default <repo>/build/bench)
#   HAWK_PRELOAD_LIB  HawkAlloc library (default <repo>/build/libhawkalloc.so)
#   HAWK_NOCHECKS_LIB the allocator "hawkalloc-nochecks": HawkAlloc built
#                     without its always-on checks (default
#                     <repo>/build/nochecks/libhawkalloc.so; make bench-checks)
# Exit status: 0, or 1 when HawkAlloc failed a run (crash, wrong data,
# timeout) that glibc completed; 2 on a usage or setup error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out=${BENCH_OUT:-$root/build/bench}
bin=$root/build/bench
quick=${BENCH_QUICK:-0}
rounds=${ROUNDS:-5}
threads_list=${BENCH_THREADS:-1 2 4}
scale=${BENCH_SCALE:-1}
timeout=${BENCH_TIMEOUT:-180}
budget=${BENCH_BUDGET:-1080}
do_callgrind=${BENCH_CALLGRIND:-1}
if [[ $quick == 1 ]]; then
  do_preload=${BENCH_PRELOAD:-0}
  scale=$(awk -v s="$scale" 'BEGIN { print s / 10 }')
else
  do_preload=${BENCH_PRELOAD:-1}
fi
traces=${BENCH_TRACES:-$root/../shared/traces}
do_replay=${BENCH_REPLAY:-1}
hawk_tool=${HAWK_TOOL:-$root/build/hawk}
# Timing rounds inside each `hawk replay` (it keeps the best): 10, where every
# allocator's best has settled (docs/performance.md, "The replay line's
# rounds"); with 3, mimalloc's and tcmalloc's best rounds of the random
# traces were still their first, slow ones.
replay_rounds=10
[[ $quick == 1 ]] && replay_rounds=1
hawk_lib=${HAWK_PRELOAD_LIB:-$root/build/libhawkalloc.so}
nochecks_lib=${HAWK_NOCHECKS_LIB:-$root/build/nochecks/libhawkalloc.so}

all_benches=(lifo random larson prodcons realloc mixed frag trace simple xfree pool mstress large)
# The size knob of each benchmark at scale 1 (see each program's comment):
# 0.4 to 1.2 s under glibc with one thread on the 2.5 GHz Xeon of
# docs/performance.md.
declare -A size=(
  [lifo]=30000000 [random]=18000000 [larson]=8000000 [prodcons]=10000000
  [realloc]=8000000 [mixed]=3000000 [frag]=3000000 [trace]=60
  [simple]=40000000 [xfree]=12000000 [pool]=16000000 [mstress]=4000000 [large]=150
)
cg_ops=300000 # operations of the callgrind run of `mixed`
[[ $quick == 1 ]] && cg_ops=50000

read -r -a benches <<<"${BENCH_ONLY:-${all_benches[*]}}"
read -r -a threads <<<"$threads_list"
read -r -a allocators <<<"${BENCH_ALLOCATORS:-glibc hawkalloc jemalloc mimalloc tcmalloc}"

die() {
  echo "bench: $*" >&2
  exit 2
}
log() { echo "bench: $*" >&2; }

[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "BENCH_TIMEOUT must be a positive integer"
[[ $budget =~ ^[1-9][0-9]*$ ]] || die "BENCH_BUDGET must be a positive integer"
awk -v s="$scale" 'BEGIN { exit !(s > 0) }' || die "BENCH_SCALE must be positive"
for t in "${threads[@]}"; do [[ $t =~ ^[1-9][0-9]*$ ]] || die "bad thread count '$t'"; done
for b in "${benches[@]}"; do [[ -n ${size[$b]-} ]] || die "no benchmark '$b' (choose from: ${all_benches[*]})"; done
[[ " ${allocators[*]} " == *" glibc "* ]] || die "BENCH_ALLOCATORS must include glibc (the baseline)"
for b in "${benches[@]}" launch cpu; do
  [[ -x $bin/$b ]] || die "$bin/$b is missing; build with 'make bench' (or 'make bench-progs')"
done
[[ -f $hawk_lib ]] || die "$hawk_lib does not exist; build it with 'make lib'"
mkdir -p "$out"
start_time=$(date +%s)
load_start=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo unknown)

# --- dependencies -------------------------------------------------------

pkg_ok() { [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]; }
missing=()
for p in libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4; do pkg_ok "$p" || missing+=("$p"); done
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
[[ $do_callgrind == 0 ]] || command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
if ((${#missing[@]})); then
  if ((EUID == 0)) && command -v apt-get >/dev/null 2>&1; then
    log "installing ${missing[*]}"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"; } >"$out/apt.log" 2>&1; then
      log "apt-get failed (see $out/apt.log); going on without ${missing[*]}"
    fi
  else
    log "missing ${missing[*]} (needs root and apt-get); going on without them"
  fi
fi

# The shared object of a package matching a pattern, from dpkg -L.
pkg_lib() {
  local f
  f=$(dpkg -L "$1" 2>/dev/null | grep -m 1 -E "$2") || return 1
  [[ -e $f ]] && printf '%s\n' "$f"
}

notes=()
declare -A lib=() expect=()
# HawkAlloc: a private copy, so the library can be rebuilt under us without
# mixing two versions in one run.
snap=$out/libhawkalloc.snapshot.so
cp -f "$hawk_lib" "$snap"
hawk_sha=$(sha256sum "$snap" | cut -c 1-16)
hawk_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$root" status --porcelain -- src include 2>/dev/null) ]]; then
  hawk_rev="$hawk_rev + uncommitted changes in src/"
fi
for a in "${allocators[@]}"; do
  case $a in
    glibc) lib[$a]="" ;;
    hawkalloc) lib[$a]=$snap ;;
    hawkalloc-nochecks)
      [[ -e $nochecks_lib ]] || die "no $nochecks_lib (make $nochecks_lib)"
      lib[$a]=$out/libhawkalloc-nochecks.snapshot.so
      cp -f "$nochecks_lib" "${lib[$a]}" ;;
    jemalloc) lib[$a]=$(pkg_lib libjemalloc2 '/libjemalloc\.so\.2$') || lib[$a]=- ;;
    mimalloc) lib[$a]=$(pkg_lib libmimalloc2.0 '/libmimalloc\.so\.2(\.0)?$') || lib[$a]=- ;;
    tcmalloc) lib[$a]=$(pkg_lib libtcmalloc-minimal4 '/libtcmalloc_minimal\.so\.4$') || lib[$a]=- ;;
    *) die "unknown allocator '$a' (choose from: glibc hawkalloc hawkalloc-nochecks jemalloc mimalloc tcmalloc)" ;;
  esac
done

# Checks that each allocator really serves malloc under LD_PRELOAD: the
# programs print the object their `malloc` resolved to.
origin() { sed -n 's/.* malloc=\(.*\)$/\1/p' "$1" | head -n 1; }
usable=()
for a in "${allocators[@]}"; do
  if [[ ${lib[$a]} == - ]]; then
    notes+=("$a: skipped, its package is not installed")
    continue
  fi
  "$bin/launch" -p "${lib[$a]}" -t 60 -o "$out/probe.res" -- "$bin/lifo" 1 1000 \
    >"$out/probe.out" 2>"$out/probe.err" || true
  o=$(origin "$out/probe.out")
  if [[ $a == glibc ]]; then
    ok=$([[ $o == */libc.so.6 ]] && echo 1 || echo 0)
  else
    ok=$([[ -n $o && $(realpath -e "$o" 2>/dev/null) == "$(realpath -e "${lib[$a]}")" ]] && echo 1 || echo 0)
  fi
  if [[ $ok != 1 ]]; then
    notes+=("$a: skipped, its malloc is not in effect under LD_PRELOAD=${lib[$a]} (programs report '${o:-nothing}': $(tail -n 1 "$out/probe.err"))")
    continue
  fi
  expect[$a]=$o
  usable+=("$a")
done
allocators=("${usable[@]}")
[[ -n ${expect[glibc]-} ]] || die "the benchmark programs do not run under glibc (see $out/probe.err)"

if [[ " ${benches[*]} " == *" trace "* ]]; then
  if [[ -d $traces ]] && compgen -G "$traces/*.rep" >/dev/null; then
    traces=$(cd "$traces" && pwd)
  else
    notes+=("trace: skipped, no *.rep traces in $traces (set BENCH_TRACES)")
    benches=("${benches[@]/trace/}")
    read -r -a benches <<<"${benches[*]}"
  fi
fi

# The replay line: `hawk replay` names glibc "system", HawkAlloc "hawk" (the
# snapshot, through HAWK_LIB) and any other library by its file name.
declare -A replay_arg=() replay_alloc=() replay_rates=()
replay_traces=${BENCH_TRACES:-$root/../shared/traces}
if [[ $do_replay != 0 ]]; then
  if [[ ! -x $hawk_tool ]]; then
    notes+=("replay: skipped, no $hawk_tool (make tools)")
    do_replay=0
  elif ! compgen -G "$replay_traces/*.rep" >/dev/null; then
    notes+=("replay: skipped, no *.rep traces in $replay_traces (set BENCH_TRACES)")
    do_replay=0
  else
    for a in "${allocators[@]}"; do
      case $a in
        glibc) replay_arg[$a]=system replay_alloc[system]=$a ;;
        hawkalloc) replay_arg[$a]=hawk replay_alloc[hawk]=$a ;;
        *) replay_arg[$a]=${lib[$a]} replay_alloc[${lib[$a]##*/}]=$a ;;
      esac
    done
  fi
fi

configs=()
for b in "${benches[@]}"; do
  for t in "${threads[@]}"; do configs+=("$b/$t"); done
done
((${#configs[@]})) || die "nothing to run"

knob() { # the size argument of benchmark $1
  awk -v n="${size[$1]}" -v s="$scale" 'BEGIN { v = int(n * s + 0.5); print (v < 1 ? 1 : v) }'
}
args_of() { # the arguments of configuration $1 (bench/threads)
  local b=${1%/*} t=${1#*/}
  printf '%s\n' "$t" "$(knob "$b")"
  [[ $b != trace ]] || printf '%s\n' "$traces"
}

# --- timed runs ---------------------------------------------------------

raw=$out/raw.tsv
printf 'bench\tthreads\tallocator\tround\twall_s\tmaxrss_kb\tstatus\tops\tcheck\n' >"$raw"
declare -A walls=() rsses=() fails=() ops=() checks=() dead=() cpu_walls=() wround=()
nallocs=${#allocators[@]}
log "${#configs[@]} configurations x ${nallocs} allocators x $rounds rounds (scale $scale); HawkAlloc $hawk_rev"
rounds_start=$(date +%s)
rounds_done=0
for ((r = 0; r < rounds; r++)); do
  if ((r > 0)); then
    el=$(($(date +%s) - rounds_start))
    if ((el + el / r > budget)); then
      notes+=("stopped after $r of $rounds rounds: another would pass the time budget of $budget s (BENCH_BUDGET); the machine was slower or busier than usual")
      log "stopping after $r rounds (time budget $budget s)"
      break
    fi
  fi
  log "round $((r + 1))/$rounds"
  for ((c = 0; c < ${#configs[@]}; c++)); do
    cfg=${configs[c]}
    mapfile -t args < <(args_of "$cfg")
    if [[ ${cfg%/*} == larson ]]; then
      # The machine's own ceiling, under the same conditions: a compute loop
      # with no allocation at the same thread count.
      rm -f "$out/run.res"
      "$bin/launch" -t "$timeout" -o "$out/run.res" -- "$bin/cpu" "${cfg#*/}" \
        "$(awk -v s="$scale" 'BEGIN { v = int(6e8 * s); print (v < 1 ? 1 : v) }')" \
        >"$out/run.out" 2>"$out/run.err" || true
      if [[ -s $out/run.res ]] && read -r w m s _ <"$out/run.res" && [[ $s == status=exit:0 ]]; then
        cpu_walls[${cfg#*/}]="${cpu_walls[${cfg#*/}]-} ${w#wall=}"
        printf 'cpu\t%s\tnone\t%d\t%s\t%s\texit:0\t-\t-\n' "${cfg#*/}" "$((r + 1))" "${w#wall=}" "${m#maxrss_kb=}" >>"$raw"
      fi
    fi
    for ((k = 0; k < nallocs; k++)); do
      a=${allocators[(r + c + k) % nallocs]}
      key="$cfg/$a"
      [[ -z ${dead[$key]-} ]] || continue
      rm -f "$out/run.res"
      "$bin/launch" -p "${lib[$a]}" -t "$timeout" -o "$out/run.res" -- \
        "$bin/${cfg%/*}" "${args[@]}" >"$out/run.out" 2>"$out/run.err" || true
      w=0 m=0 s=launch-failed
      [[ ! -s $out/run.res ]] || read -r w m s _ <"$out/run.res"
      w=${w#wall=} m=${m#maxrss_kb=} s=${s#status=}
      o=$(origin "$out/run.out")
      n=$(sed -n 's/.* ops=\([0-9]*\) .*/\1/p' "$out/run.out" | head -n 1)
      x=$(sed -n 's/.* check=\([0-9a-f]*\) .*/\1/p' "$out/run.out" | head -n 1)
      if [[ $s == exit:0 && $o != "${expect[$a]}" ]]; then
        s="wrong-malloc"
      elif [[ $s == exit:0 && (-z $n || -z $x) ]]; then
        s="no-report"
      fi
      printf '%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n' "${cfg%/*}" "${cfg#*/}" "$a" "$((r + 1))" \
        "$w" "$m" "$s" "${n:--}" "${x:--}" >>"$raw"
      if [[ $s != exit:0 ]]; then
        fails[$key]="${fails[$key]-}${fails[$key]:+, }$s"
        msg=$({ grep -v '^$' "$out/run.err" || true; } | tail -n 1 | cut -c 1-200)
        notes+=("$cfg under $a, round $((r + 1)): $s${msg:+: $msg}")
        log "  $cfg $a: $s ${msg}"
        [[ $s != timeout ]] || dead[$key]=1
        continue
      fi
      walls[$key]="${walls[$key]-} $w"
      wround[$key/$r]=$w
      rsses[$key]="${rsses[$key]-} $m"
      ops[$key]=$n
      if [[ -n ${checks[$cfg]-} && ${checks[$cfg]} != "$x" ]]; then
        notes+=("$cfg under $a, round $((r + 1)): checksum $x differs from ${checks[$cfg]} (the data read back is not what every other run read)")
      fi
      checks[$cfg]=${checks[$cfg]-$x}
    done
  done
  if [[ $do_replay != 0 ]]; then
    order=()
    for ((k = 0; k < nallocs; k++)); do order+=("${replay_arg[${allocators[(r + k) % nallocs]}]}"); done
    rc=0
    HAWK_LIB=$snap timeout -k 5 "$timeout" "$hawk_tool" replay --tsv --rounds "$replay_rounds" \
      --allocator "$(
        IFS=,
        echo "${order[*]}"
      )" "$replay_traces"/*.rep >"$out/replay.out" 2>"$out/replay.err" || rc=$?
    while IFS=$'\t' read -r tr lbl _ n _ _ _ rate _; do
      a=${replay_alloc[$lbl]-}
      [[ -n $a ]] || continue
      if [[ $n == FAIL ]]; then
        fails[replay/$a]="${fails[replay/$a]-}${fails[replay/$a]:+, }$tr"
        notes+=("replay of $tr under $a, round $((r + 1)): failed: $(grep -m 1 "$tr.*FAILED" "$out/replay.err" | cut -c 1-200)")
      elif [[ $tr == mean\ of* && $rate =~ ^[0-9]+$ ]]; then
        replay_rates[$a]="${replay_rates[$a]-} $rate"
        printf 'replay\t-\t%s\t%d\t-\t-\texit:0\t%s\t-\n' "$a" "$((r + 1))" "$rate" >>"$raw"
      fi
    done <"$out/replay.out"
    if ((rc != 0)); then
      notes+=("replay, round $((r + 1)): hawk replay exited with status $rc: $({ grep -v '^$' "$out/replay.err" || true; } | tail -n 1 | cut -c 1-200)")
      log "  replay: status $rc"
    fi
  fi
  rounds_done=$((r + 1))
done

median() {
  printf '%s\n' "$*" | tr -s ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 }
    END { if (NR) printf "%.6g", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
declare -A mwall=() mrss=()
for cfg in "${configs[@]}"; do
  for a in "${allocators[@]}"; do
    key="$cfg/$a"
    if [[ -n ${walls[$key]-} ]]; then
      mwall[$key]=$(median "${walls[$key]}")
      mrss[$key]=$(median "${rsses[$key]}")
    fi
  done
done

# --- callgrind ----------------------------------------------------------

declare -A cg_total=() cg_own=()
cg_note=""
if [[ $do_callgrind != 0 ]] && command -v valgrind >/dev/null 2>&1; then
  log "callgrind: mixed, 1 thread, $cg_ops operations"
  for a in "${allocators[@]}"; do
    f=$out/callgrind.$a.out
    rm -f "$f"
    pre=(-u LD_PRELOAD)
    [[ -z ${lib[$a]} ]] || pre=("LD_PRELOAD=${lib[$a]}")
    if ! env "${pre[@]}" valgrind --tool=callgrind --callgrind-out-file="$f" \
      --log-file="$out/callgrind.$a.log" "$bin/mixed" 1 "$cg_ops" >"$out/callgrind.$a.stdout" 2>&1; then
      notes+=("callgrind under $a failed: $(tail -n 1 "$out/callgrind.$a.log")")
      continue
    fi
    o=$(origin "$out/callgrind.$a.stdout")
    if [[ $o != "${expect[$a]}" ]]; then
      notes+=("callgrind under $a: malloc came from '$o', not ${expect[$a]}: LD_PRELOAD not in effect; count dropped")
      continue
    fi
    # Exclusive Ir summed per object file; the benchmark's own code is the
    # object named after the program.
    read -r total own < <(awk -v prog="$bin/mixed" '
      function setob(s,   id) {
        if (match(s, /^\([0-9]+\) /)) { id = substr(s, 1, RLENGTH - 1); names[id] = substr(s, RLENGTH + 1) }
        else if (match(s, /^\([0-9]+\)$/)) id = s
        else { id = s; names[id] = s }
        return id
      }
      /^ob=/ { cur = setob(substr($0, 4)); next }
      /^cob=/ { setob(substr($0, 5)); next }
      /^calls=/ { skip = 1; next }
      /^[0-9+*-]/ { if (skip) { skip = 0; next } n = split($0, a, " "); t[cur] += a[n]; all += a[n] }
      END { for (k in t) if (names[k] == prog) own += t[k]; printf "%d %d\n", all, own }' "$f")
    cg_total[$a]=$total
    cg_own[$a]=$own
  done
  for a in "${allocators[@]}"; do
    if [[ $a != glibc && -n ${cg_total[$a]-} && ${cg_total[$a]} == "${cg_total[glibc]-}" ]]; then
      notes+=("callgrind under $a counted exactly glibc's instructions: the preload probably did not take effect")
    fi
  done
elif [[ $do_callgrind != 0 ]]; then
  cg_note="valgrind is not installed: no instruction counts."
fi

# --- preload suite ------------------------------------------------------

preload_rc=0
if [[ $do_preload == 1 ]]; then
  log "preload suite (bench/preload-ratio.sh, $rounds_done rounds)"
  ROUNDS=$rounds_done HAWK_PRELOAD_LIB=$snap "$here/preload-ratio.sh" >"$out/preload.md" \
    2>"$out/preload.log" || preload_rc=$?
  ((preload_rc == 0)) || notes+=("bench/preload-ratio.sh exited with status $preload_rc (see $out/preload.log)")
fi

# --- report -------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.3f", a / b }'; }
geomean() { printf '%s\n' "$*" | tr -s ' ' '\n' | awk '$1 > 0 { s += log($1); n++ } END { if (n) printf "%.3f", exp(s / n) }'; }
fmt_time() { awk -v v="$1" 'BEGIN { printf "%.3f", v }'; }
fmt_mib() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }'; }

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
glibc_ver=$(getconf GNU_LIBC_VERSION 2>/dev/null || echo unknown)
glibc_pkg=$(pkgver libc6)
elapsed_runs=$(($(date +%s) - start_time))

declare -A tr_list=() rr_list=()
{
  echo "# HawkAlloc benchmark results"
  echo
  echo "Generated by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "* Machine: $(nproc) CPUs ($cpu), Linux $(uname -r), $glibc_ver (Debian libc6 $glibc_pkg)."
  echo "* Allocators: HawkAlloc $hawk_rev (library sha256 $hawk_sha...), glibc $glibc_pkg (no preload)," \
    "jemalloc $(pkgver libjemalloc2), mimalloc $(pkgver libmimalloc2.0), tcmalloc $(pkgver libtcmalloc-minimal4) (Debian packages, LD_PRELOAD)."
  echo "* Load average (1, 5, 15 min) at the start: $load_start; at the end: $(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo unknown)" \
    "(other work on the machine competes for its $(nproc) CPUs)."
  echo "* $rounds_done interleaved rounds; size scale $scale; threads ${threads[*]}; medians of the rounds." \
    "Peak RSS is wait4's ru_maxrss. Ratios are allocator / glibc: below 1 is faster or smaller."
  echo
  echo "## Wall time: median seconds (ratio to glibc)"
  echo
  printf '| benchmark | threads |'
  for a in "${allocators[@]}"; do printf ' %s |' "$a"; done
  printf '\n| --- | ---: |'
  for a in "${allocators[@]}"; do printf ' ---: |'; done
  echo
  for cfg in "${configs[@]}"; do
    printf '| %s | %s |' "${cfg%/*}" "${cfg#*/}"
    base=${mwall[$cfg/glibc]-}
    for a in "${allocators[@]}"; do
      key=$cfg/$a
      v=${mwall[$key]-}
      if [[ -z $v ]]; then
        printf ' %s |' "${fails[$key]:-failed}"
        continue
      fi
      f=""
      [[ -z ${fails[$key]-} ]] || f=" [${fails[$key]}]"
      if [[ $a == glibc ]]; then
        printf ' %s%s |' "$(fmt_time "$v")" "$f"
      elif [[ -n $base ]]; then
        q=$(ratio "$v" "$base")
        tr_list[$a]="${tr_list[$a]-} $q"
        printf ' %s (%s)%s |' "$(fmt_time "$v")" "$q" "$f"
      else
        printf ' %s%s |' "$(fmt_time "$v")" "$f"
      fi
    done
    echo
  done
  echo
  echo "## Peak RSS: median MiB (ratio to glibc)"
  echo
  printf '| benchmark | threads |'
  for a in "${allocators[@]}"; do printf ' %s |' "$a"; done
  printf '\n| --- | ---: |'
  for a in "${allocators[@]}"; do printf ' ---: |'; done
  echo
  for cfg in "${configs[@]}"; do
    printf '| %s | %s |' "${cfg%/*}" "${cfg#*/}"
    base=${mrss[$cfg/glibc]-}
    for a in "${allocators[@]}"; do
      key=$cfg/$a
      v=${mrss[$key]-}
      if [[ -z $v ]]; then
        printf ' %s |' "${fails[$key]:-failed}"
      elif [[ $a == glibc || -z $base ]]; then
        printf ' %s |' "$(fmt_mib "$v")"
      else
        q=$(ratio "$v" "$base")
        rr_list[$a]="${rr_list[$a]-} $q"
        printf ' %s (%s) |' "$(fmt_mib "$v")" "$q"
      fi
    done
    echo
  done
  echo
  echo "## Geometric means of the ratios to glibc"
  echo
  echo "| allocator | time ratio | peak RSS ratio | configurations |"
  echo "| --- | ---: | ---: | ---: |"
  for a in "${allocators[@]}"; do
    if [[ $a == glibc ]]; then
      echo "| glibc | 1.000 | 1.000 | ${#configs[@]} |"
      continue
    fi
    read -r -a tl <<<"${tr_list[$a]-}"
    echo "| $a | $(geomean "${tr_list[$a]-}") | $(geomean "${rr_list[$a]-}") | ${#tl[@]} |"
  done
  if [[ " ${allocators[*]} " == *" hawkalloc "* ]]; then
    echo
    echo "HawkAlloc against each allocator (geometric mean of hawkalloc / other over the same configurations):"
    echo
    echo "| other | time ratio | peak RSS ratio |"
    echo "| --- | ---: | ---: |"
    for a in "${allocators[@]}"; do
      [[ $a != hawkalloc ]] || continue
      tq=() rq=()
      for cfg in "${configs[@]}"; do
        h=${mwall[$cfg/hawkalloc]-} o=${mwall[$cfg/$a]-}
        [[ -z $h || -z $o ]] || tq+=("$(ratio "$h" "$o")")
        h=${mrss[$cfg/hawkalloc]-} o=${mrss[$cfg/$a]-}
        [[ -z $h || -z $o ]] || rq+=("$(ratio "$h" "$o")")
      done
      echo "| $a | $(geomean "${tq[@]}") | $(geomean "${rq[@]}") |"
    done
  fi
  if [[ " ${allocators[*]} " == *" hawkalloc "* && " ${allocators[*]} " == *" hawkalloc-nochecks "* ]]; then
    # The checks' cost from runs made side by side: in each round the two
    # builds run one right after the other (or with glibc between them),
    # so a ratio of one round's pair sees the same load on the machine;
    # its median over the rounds ignores the rounds where one run of the
    # pair met a burst of other work (make bench-checks, docs/security.md).
    echo
    echo "## The checks' cost, round by round"
    echo
    echo "HawkAlloc's time divided by the time of the build without the checks in the same round (the two" \
      "runs of a configuration follow each other in every round, in an order that rotates), the median of" \
      "the rounds per configuration, then the geometric mean over the configurations; beside it the ratio" \
      "of the medians of the tables above. The paired median is the steadier figure on a shared machine."
    echo
    echo "| benchmark | threads | rounds | median of paired ratios | lowest | highest | ratio of medians |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    pm=() rm_=()
    for cfg in "${configs[@]}"; do
      pr=()
      for ((q = 0; q < rounds_done; q++)); do
        x=${wround[$cfg/hawkalloc/$q]-} y=${wround[$cfg/hawkalloc-nochecks/$q]-}
        [[ -z $x || -z $y ]] || pr+=("$(awk -v a="$x" -v b="$y" 'BEGIN { if (b > 0) printf "%.6f", a / b }')")
      done
      ((${#pr[@]})) || continue
      m=$(median "${pr[*]}")
      lo=$(printf '%s\n' "${pr[@]}" | sort -g | head -n 1)
      hi=$(printf '%s\n' "${pr[@]}" | sort -g | tail -n 1)
      rq=$(ratio "${mwall[$cfg/hawkalloc]-}" "${mwall[$cfg/hawkalloc-nochecks]-}")
      pm+=("$m")
      [[ -z $rq ]] || rm_+=("$rq")
      printf '| %s | %s | %d | %.3f | %.3f | %.3f | %s |\n' "${cfg%/*}" "${cfg#*/}" "${#pr[@]}" "$m" "$lo" "$hi" "${rq:--}"
    done
    echo "| geometric mean | | | $(geomean "${pm[*]-}") | | | $(geomean "${rm_[*]-}") |"
    echo
    echo "checks / no checks: median of paired rounds $(geomean "${pm[*]-}") (geometric mean over ${#pm[@]} configurations), ratio of medians $(geomean "${rm_[*]-}")"
  fi
  if [[ " ${configs[*]} " == *" larson/1 "* && " ${configs[*]} " == *" larson/2 "* ]]; then
    echo
    echo "## Larson scaling"
    echo
    echo "Throughput (replacements per second; the op count is fixed) at 2 threads divided by" \
      "throughput at 1 thread, from the median times; 4 threads too where measured (this machine has $(nproc) CPUs)."
    echo
    line="larson 2t/1t:"
    echo "| allocator | 1 thread Mops/s | 2 threads Mops/s | 2t/1t | 4t/1t |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for a in "${allocators[@]}"; do
      w1=${mwall[larson/1/$a]-} w2=${mwall[larson/2/$a]-} w4=${mwall[larson/4/$a]-}
      n1=${ops[larson/1/$a]-} n2=${ops[larson/2/$a]-} n4=${ops[larson/4/$a]-}
      t1=$(if [[ -n $w1 ]]; then awk -v n="$n1" -v w="$w1" 'BEGIN { printf "%.2f", n / 2 / w / 1e6 }'; fi)
      t2=$(if [[ -n $w2 ]]; then awk -v n="$n2" -v w="$w2" 'BEGIN { printf "%.2f", n / 2 / w / 1e6 }'; fi)
      s2=$(if [[ -n $w1 && -n $w2 ]]; then awk -v a="$n2" -v b="$w2" -v c="$n1" -v d="$w1" 'BEGIN { printf "%.2f", (a / b) / (c / d) }'; fi)
      s4=$(if [[ -n $w1 && -n $w4 ]]; then awk -v a="$n4" -v b="$w4" -v c="$n1" -v d="$w1" 'BEGIN { printf "%.2f", (a / b) / (c / d) }'; fi)
      echo "| $a | ${t1:--} | ${t2:--} | ${s2:--} | ${s4:--} |"
      line="$line $a ${s2:--}x,"
    done
    c1=${cpu_walls[1]-} c2=${cpu_walls[2]-}
    if [[ -n $c1 && -n $c2 ]]; then
      ceil=$(awk -v a="$(median "$c1")" -v b="$(median "$c2")" 'BEGIN { printf "%.2f", a / b }')
      ceil4=$([[ -z ${cpu_walls[4]-} ]] || awk -v a="$(median "$c1")" -v b="$(median "${cpu_walls[4]}")" 'BEGIN { printf "%.2f", a / b }')
      echo "| (machine ceiling: \`cpu\`, no allocation) | | | $ceil | ${ceil4:--} |"
      line="${line%,}; machine ceiling (compute loop, no allocation) ${ceil}x,"
    fi
    echo
    echo "${line%,}"
  fi
  if ((${#replay_rates[@]})); then
    echo
    echo "## Trace replay: \`hawk replay\` throughput"
    echo
    echo "Every malloc-lab trace of \`$replay_traces\` replayed by \`hawk replay --tsv --rounds $replay_rounds\`" \
      "(tools/replay.c: each trace in a fresh process per allocator, every block checked) once per round, the" \
      "allocators in an order that rotates with the round. Throughput is all operations over all best times;" \
      "the median of the rounds. Ratios are allocator / glibc: above 1 is faster."
    echo
    echo "| allocator | Mops/s | throughput / glibc | rounds |"
    echo "| --- | ---: | ---: | ---: |"
    base=$(median "${replay_rates[glibc]-}")
    for a in "${allocators[@]}"; do
      v=$(median "${replay_rates[$a]-}")
      read -r -a rl <<<"${replay_rates[$a]-}"
      if [[ -z $v ]]; then
        echo "| $a | ${fails[replay/$a]:+failed: }${fails[replay/$a]:--} | - | 0 |"
        continue
      fi
      echo "| $a | $(awk -v v="$v" 'BEGIN { printf "%.1f", v / 1e6 }') | $(ratio "$v" "$base") | ${#rl[@]} |"
    done
  fi
  if ((${#cg_total[@]})); then
    echo
    echo "## Instructions: callgrind, \`mixed\` with 1 thread and $cg_ops operations"
    echo
    echo "Counted by \`valgrind --tool=callgrind\` (deterministic). \"Benchmark code\" is the program's own" \
      "work (random numbers, writing and checking patterns), the same under every allocator; the rest is the" \
      "allocator, the C library and the dynamic loader."
    echo
    echo "| allocator | total Ir | benchmark code Ir | rest Ir | rest per op | total / glibc |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    nops=$(sed -n 's/.* ops=\([0-9]*\) .*/\1/p' "$out/callgrind.glibc.stdout" 2>/dev/null | head -n 1)
    for a in "${allocators[@]}"; do
      [[ -n ${cg_total[$a]-} ]] || continue
      rest=$((cg_total[$a] - cg_own[$a]))
      echo "| $a | ${cg_total[$a]} | ${cg_own[$a]} | $rest | $(awk -v r="$rest" -v n="${nops:-0}" 'BEGIN { if (n) printf "%.1f", r / n; else print "-" }') | $(ratio "${cg_total[$a]}" "${cg_total[glibc]-}") |"
    done
  elif [[ -n $cg_note ]]; then
    echo
    echo "$cg_note"
  fi
  if [[ $do_preload == 1 && -s $out/preload.md ]]; then
    echo
    sed 's/^## /## Real programs: /' "$out/preload.md"
  fi
  echo
  echo "## Run-to-run spread"
  echo
  echo "Slowest run divided by fastest run of the same configuration and allocator: the median over the" \
    "configurations, and the worst case. This machine's CPUs are shared; read ratios within this spread with care."
  echo
  echo "| allocator | median max/min | worst max/min | worst configuration |"
  echo "| --- | ---: | ---: | --- |"
  for a in "${allocators[@]}"; do
    sp=() worst=0 wcfg=-
    for cfg in "${configs[@]}"; do
      [[ -n ${walls[$cfg/$a]-} ]] || continue
      q=$(printf '%s\n' "${walls[$cfg/$a]}" | tr -s ' ' '\n' | awk 'NF { if (!n++ || $1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { if (n && lo > 0) printf "%.2f", hi / lo }')
      [[ -n $q ]] || continue
      sp+=("$q")
      if awk -v a="$q" -v b="$worst" 'BEGIN { exit !(a > b) }'; then worst=$q wcfg="${cfg%/*} ${cfg#*/}t"; fi
    done
    ((${#sp[@]})) || continue
    echo "| $a | $(awk -v v="$(median "${sp[*]}")" 'BEGIN { printf "%.2f", v }') | $worst | $wcfg |"
  done
  if ((${#notes[@]})); then
    echo
    echo "## Notes"
    echo
    printf -- '- %s\n' "${notes[@]}"
  fi
  echo
  echo "The whole run took $elapsed_runs s; every timed run is in raw.tsv."
} >"$out/results.md"

# --- charts -------------------------------------------------------------

chart() { # chart KIND(time|rss) TITLE YLABEL
  local kind=$1 dat=$out/$1.dat a cfg v base others=() hdr='"config"'
  for a in "${allocators[@]}"; do [[ $a == glibc ]] || others+=("$a"); done
  ((${#others[@]})) || return 0
  for a in "${others[@]}"; do hdr="$hdr \"$a\""; done
  {
    echo "$hdr"
    for cfg in "${configs[@]}"; do
      printf '"%s %st"' "${cfg%/*}" "${cfg#*/}"
      for a in "${others[@]}"; do
        if [[ $kind == time ]]; then v=${mwall[$cfg/$a]-} base=${mwall[$cfg/glibc]-}; else v=${mrss[$cfg/$a]-} base=${mrss[$cfg/glibc]-}; fi
        q=$(ratio "$v" "$base")
        printf ' %s' "${q:-?}"
      done
      echo
    done
    printf '"geomean"'
    for a in "${others[@]}"; do
      if [[ $kind == time ]]; then q=$(geomean "${tr_list[$a]-}"); else q=$(geomean "${rr_list[$a]-}"); fi
      printf ' %s' "${q:-?}"
    done
    echo
  } >"$dat"
  "$here/chart.sh" "$dat" "$out/$kind.svg" "$2" "$3"
}
if command -v gnuplot >/dev/null 2>&1; then
  chart time "Wall time relative to glibc (median of $rounds_done round(s); lower is faster)" \
    "time / glibc time (log scale)" || log "gnuplot failed on time.svg (see $out/time.gnuplot.log)"
  chart rss "Peak RSS relative to glibc (median of $rounds_done round(s); lower is smaller)" \
    "peak RSS / glibc peak RSS (log scale)" || log "gnuplot failed on rss.svg (see $out/rss.gnuplot.log)"
else
  log "gnuplot is not installed: no charts"
fi
rm -f "$out/run.res" "$out/run.out" "$out/run.err" "$out/probe.res" "$out/probe.out" "$out/probe.err"

total=$(($(date +%s) - start_time))
log "done in $total s: $out/results.md, $out/time.svg, $out/rss.svg, $out/raw.tsv"
awk '/^## / { on = /^## Geometric means/ } on' "$out/results.md"
grep -m 1 '^larson 2t/1t' "$out/results.md" || true
grep -m 1 '^checks / no checks:' "$out/results.md" || true
awk '/^## / { on = /^## Trace replay/ } on && /^\|/' "$out/results.md"

# Exit 1 when HawkAlloc failed a configuration that glibc completed.
[[ -z ${fails[replay/hawkalloc]-} || -n ${fails[replay/glibc]-} ]] || exit 1
for cfg in "${configs[@]}"; do
  if [[ -n ${fails[$cfg/hawkalloc]-} && -n ${mwall[$cfg/glibc]-} ]]; then
    exit 1
  fi
done
exit 0
