#!/usr/bin/env bash
# real.sh - real programs under every allocator, side by side (`make bench-real`).
#
# Runs programs that stress an allocator the way interpreters, servers and
# compilers do, each under glibc, HawkAlloc (a snapshot of
# build/libhawkalloc.so), jemalloc, mimalloc and tcmalloc (Debian's
# packages), all through LD_PRELOAD; glibc's run preloads the C library
# itself, so that a program linked with another allocator (redis-server
# links jemalloc) uses glibc's malloc too.  The programs (inputs generated
# once, before the timing, under glibc):
#   python         python3 (its own small-object allocator on): dicts, lists,
#                  strings, a JSON round trip, sorts, deletions
#   python_malloc  the same with PYTHONMALLOC=malloc: every object is a malloc
#   perl           perl: a large hash, sorts, string building, nested arrays
#   perl_threads   perl with 2 ithreads and Thread::Queue: the multi-threaded
#                  program (threads build hashes and strings in parallel; the
#                  queues hand shared data from thread to thread)
#   sqlite         sqlite3 :memory:: inserts, indexes, group by, joins,
#                  updates, deletes
#   redis          redis-server on loopback: redis-cli --pipe loads a data set,
#                  then redis-benchmark (14 commands, random keys); measured:
#                  the server's CPU time (its "time" below), its peak RSS and
#                  the requests per second
#   gcc            g++ -O2 -S of a generated C++ file of templates and STL
#   clang          clang++ -O1 -S of the same file
#   jq             jq over a generated JSON file (select, group_by, sort_by)
# Each round runs every program once under every allocator, the allocators in
# an order that rotates with the round and the program.  Before the timing, a
# short run of each program's executables under each allocator checks, with
# LD_DEBUG=bindings and LD_BIND_NOW=1, that every `malloc` binding to a
# library names the allocator's (a program where it does not is not measured
# under that allocator), and one untimed run under glibc warms the caches and
# gives the reference output: every timed run's output must be identical to
# it (a difference is a failure, "wrong-output").  bench/launch measures wall time, CPU time (user +
# system, children included) and peak RSS (wait4's ru_maxrss, the largest of
# the processes).  Writes <out>/results.md (medians, ratios to glibc and
# their geometric means), <out>/time.svg and rss.svg (gnuplot) and
# <out>/raw.tsv (every run).
#
# Usage: bench/real.sh            (make bench-real; make deps-bench installs
#                                 the programs and the allocators as root)
# Environment:
#   ROUNDS            timed rounds (default 3)
#   REAL_SCALE        workload size multiplier, a positive integer (default 1:
#                     each program runs 0.5-2 s under glibc here)
#   REAL_ONLY         programs to run (default: all of the above)
#   BENCH_ALLOCATORS  allocators (default "glibc hawkalloc jemalloc mimalloc
#                     tcmalloc"; glibc is the baseline and must stay)
#   BENCH_TIMEOUT     seconds allowed to one run (default 300)
#   BENCH_OUT         output directory (default <repo>/build/bench-real)
#   HAWK_PRELOAD_LIB  HawkAlloc library (default <repo>/build/libhawkalloc.so)
# Exit status: 0; 1 when HawkAlloc failed a run (crash, timeout, wrong
# output) that glibc completed; 2 on a usage or setup error.
# Progress goes to stderr, the summary to stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out=${BENCH_OUT:-$root/build/bench-real}
bin=$root/build/bench
rounds=${ROUNDS:-3}
scale=${REAL_SCALE:-1}
timeout=${BENCH_TIMEOUT:-300}
hawk_lib=${HAWK_PRELOAD_LIB:-$root/build/libhawkalloc.so}
all_progs=(python python_malloc perl perl_threads sqlite redis gcc clang jq)
read -r -a progs <<<"${REAL_ONLY:-${all_progs[*]}}"
read -r -a allocators <<<"${BENCH_ALLOCATORS:-glibc hawkalloc jemalloc mimalloc tcmalloc}"
py=/usr/bin/python3 # the ELF itself: a pyenv shim would put a shell under LD_PRELOAD

die() {
  echo "bench-real: $*" >&2
  exit 2
}
log() { echo "bench-real: $*" >&2; }

[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ $scale =~ ^[1-9][0-9]*$ ]] || die "REAL_SCALE must be a positive integer"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "BENCH_TIMEOUT must be a positive integer"
[[ " ${allocators[*]} " == *" glibc "* ]] || die "BENCH_ALLOCATORS must include glibc (the baseline)"
for p in "${progs[@]}"; do
  [[ " ${all_progs[*]} " == *" $p "* ]] || die "no program '$p' (choose from: ${all_progs[*]})"
done
for b in launch lifo; do
  [[ -x $bin/$b ]] || die "$bin/$b is missing; build with 'make bench-progs'"
done
[[ -f $hawk_lib ]] || die "$hawk_lib does not exist; build it with 'make lib'"
[[ -x $py ]] || die "$py is missing (it generates the inputs): make deps-bench"
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/hawk-real.XXXXXX")
redis_pid="" # the launcher of the redis-server being measured
# stop_redis: kills the server (its process group) and reaps its launcher.
stop_redis() {
  local c
  [[ -n $redis_pid ]] || return 0
  for c in $(pgrep -P "$redis_pid"); do kill -KILL -- "-$c" 2>/dev/null || true; done
  wait "$redis_pid" 2>/dev/null || true
  redis_pid=""
}
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  stop_redis
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start_time=$(date +%s)
load_start=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo unknown)

# --- allocators ---------------------------------------------------------

pkg_lib() {
  local f
  f=$(dpkg -L "$1" 2>/dev/null | grep -m 1 -E "$2") || return 1
  [[ -e $f ]] && printf '%s\n' "$f"
}
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }

notes=()
declare -A lib=()
libc=$(ldd "$bin/launch" | awk '$1 == "libc.so.6" { print $3 }')
[[ -f $libc ]] || die "cannot find the C library of $bin/launch (ldd)"
snap=$out/libhawkalloc.snapshot.so
cp -f "$hawk_lib" "$snap"
hawk_sha=$(sha256sum "$snap" | cut -c 1-16)
hawk_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$root" status --porcelain -- src include 2>/dev/null) ]]; then
  hawk_rev="$hawk_rev + uncommitted changes in src/"
fi
for a in "${allocators[@]}"; do
  case $a in
    glibc) lib[$a]=$libc ;;
    hawkalloc) lib[$a]=$snap ;;
    jemalloc) lib[$a]=$(pkg_lib libjemalloc2 '/libjemalloc\.so\.2$') || lib[$a]=- ;;
    mimalloc) lib[$a]=$(pkg_lib libmimalloc2.0 '/libmimalloc\.so\.2(\.0)?$') || lib[$a]=- ;;
    tcmalloc) lib[$a]=$(pkg_lib libtcmalloc-minimal4 '/libtcmalloc_minimal\.so\.4$') || lib[$a]=- ;;
    *) die "unknown allocator '$a' (choose from: glibc hawkalloc jemalloc mimalloc tcmalloc)" ;;
  esac
done
# A probe: the benchmark program lifo prints the file its malloc came from.
usable=()
for a in "${allocators[@]}"; do
  if [[ ${lib[$a]} == - ]]; then
    notes+=("$a: skipped, its package is not installed (make deps-bench)")
    continue
  fi
  o=$("$bin/launch" -p "${lib[$a]}" -t 60 -o /dev/null -- "$bin/lifo" 1 1000 2>/dev/null |
    sed -n 's/.* malloc=\(.*\)$/\1/p')
  if [[ -z $o || $(realpath -e "$o" 2>/dev/null) != "$(realpath -e "${lib[$a]}")" ]]; then
    notes+=("$a: skipped, its malloc is not in effect under LD_PRELOAD=${lib[$a]} (lifo reports '${o:-nothing}')")
    continue
  fi
  usable+=("$a")
done
allocators=("${usable[@]}")
[[ " ${allocators[*]} " == *" glibc "* ]] || die "the probe program does not run under glibc"
nallocs=${#allocators[@]}

# --- the programs -------------------------------------------------------

# needs NAME: the commands program NAME needs.
needs() {
  case $1 in
    python | python_malloc) echo "$py" ;;
    perl | perl_threads) echo perl ;;
    sqlite) echo sqlite3 ;;
    redis) echo redis-server redis-cli redis-benchmark ;;
    gcc) echo g++ ;;
    clang) echo clang++ ;;
    jq) echo jq ;;
  esac
}

IN=$work/in
mkdir -p "$IN"

# prep NAME: writes program NAME's inputs into $IN (under glibc, untimed).
prep() {
  case $1 in
    python | python_malloc)
      [[ -f $IN/work.py ]] || cat >"$IN/work.py" <<'EOF'
# Allocation-heavy Python: objects, dicts, lists, strings, a JSON round trip,
# sorts, sets and deletion of most of what was built.
import collections, hashlib, json, random, sys

n = 30000 * int(sys.argv[1])
rng = random.Random(12345)
letters = "abcdefghijklmnopqrstuvwxyz"
words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 12)))
         for _ in range(8000)]

class Node:
    __slots__ = ("key", "kids", "text")
    def __init__(self, key, text):
        self.key, self.kids, self.text = key, [], text

recs, nodes = [], {}
for i in range(n):
    w = words[(i * 7919) % len(words)]
    recs.append({"id": i, "name": w + str(i % 977),
                 "tags": [words[(i * 31 + k) % len(words)] for k in range(i % 6)],
                 "score": (i * 7919) % 10007 / 7.0, "pos": [i % 640, i % 480]})
    node = Node(i, w * (1 + i % 4))
    nodes[i] = node
    if i:
        nodes[(i * 2654435761) % 4294967296 % i].kids.append(node)
by_name = collections.defaultdict(list)
for r in recs:
    by_name[r["name"]].append(r["id"])
text = json.dumps(recs, sort_keys=True)
back = json.loads(text)
assert back == recs
parts = ["%d:%s:%d" % (r["id"], r["name"], len(r["tags"])) for r in back]
blob = "|".join(parts)
for i in range(0, n, 3):
    del nodes[i]
del recs[::2]
tags = collections.Counter(t for r in recs for t in r["tags"])
ranked = sorted(back, key=lambda r: (r["score"], r["name"]))
buf = []
for r in ranked[:40000]:
    buf.append(repr(r))
depth = sum(len(v.kids) for v in nodes.values())
h = hashlib.sha256()
h.update(text.encode())
h.update(blob.encode())
h.update("".join(buf).encode())
print(len(recs), len(by_name), len(tags), len(blob), depth)
print(tags.most_common(3))
print(h.hexdigest())
EOF
      ;;
    perl)
      cat >"$IN/work.pl" <<'EOF'
# A large hash, sorts, string building, nested arrays and deletions.
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
my $n = 50000 * $ARGV[0];
my (%h, %groups);
for my $i (0 .. $n - 1) {
  $h{"key$i"} = join(",", $i, ($i * 7919) % 1000, "v" x ($i % 23), $i % 97);
  push @{ $groups{ $i % 2000 } }, [$i, "x$i"];
}
my @keys = sort { $h{$a} cmp $h{$b} or $a cmp $b } keys %h;
my $s = "";
$s .= substr($h{$_}, 0, 12) . ";" for @keys;
my %len;
$len{ length $_ }++ for values %h;
delete $h{"key$_"} for grep { $_ % 3 } 0 .. $n - 1;
my @big = map { scalar @{ $groups{$_} } } sort { $a <=> $b } keys %groups;
my $joined = join "|", map { join ",", map { $_->[1] } @{ $groups{$_} } } 0 .. 99;
print scalar(keys %h), " ", length($s), " ", scalar(@big), " ", length($joined), "\n";
print join(",", map { "$_=$len{$_}" } sort { $a <=> $b } keys %len), "\n";
print md5_hex($s . $joined), "\n";
EOF
      ;;
    perl_threads)
      cat >"$IN/threads.pl" <<'EOF'
# Two worker threads take jobs from a queue, each builds a hash of strings,
# sorts it and returns a digest through a second queue: parallel allocation
# in two interpreters, and shared data handed between threads.
use strict;
use warnings;
use threads;
use Thread::Queue;
use Digest::MD5 qw(md5_hex);
my $jobs = 48 * $ARGV[0];
my $q = Thread::Queue->new;
my $r = Thread::Queue->new;
my @w = map {
  threads->create(sub {
    while (defined(my $job = $q->dequeue)) {
      my ($id, $n, $seed) = @$job;
      my %h;
      for my $i (1 .. $n) { $h{"$id:$i"} = ("v" x ($i % 40)) . ($i * $seed % 1009) }
      my @s = sort { $h{$a} cmp $h{$b} or $a cmp $b } keys %h;
      my $str = join "", map { substr($h{$_}, -4) } @s;
      $r->enqueue([$id, scalar(@s), md5_hex($str), [map { length } @s[0 .. 9]]]);
    }
  })
} 1 .. 2;
$q->enqueue([$_, 6000 + ($_ % 7) * 500, 31 + $_]) for 1 .. $jobs;
$q->end;
$_->join for @w;
my @res;
while (defined(my $x = $r->dequeue_nb)) { push @res, $x }
for my $x (sort { $a->[0] <=> $b->[0] } @res) {
  print join(" ", $x->[0], $x->[1], $x->[2], join(",", @{ $x->[3] })), "\n";
}
EOF
      ;;
    sqlite)
      local rows=$((150000 * scale))
      cat >"$IN/work.sql" <<EOF
CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, b TEXT, c REAL);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $rows)
INSERT INTO t SELECT i, (i * 7919) % 1000, printf('name-%d-%x', i % 977, i * i), i * 0.5 FROM s;
CREATE INDEX t_a ON t(a);
CREATE INDEX t_b ON t(b);
CREATE TABLE u AS SELECT a, count(*) AS n, sum(c) AS total, max(b) AS last FROM t GROUP BY a;
SELECT a, n, total, last FROM u ORDER BY total DESC LIMIT 5;
SELECT count(*), sum(x.c) FROM t x JOIN u y ON x.a = y.a WHERE x.b LIKE 'name-1%';
UPDATE t SET b = b || '-' || upper(substr(b, 6)) WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), sum(length(b)), max(b), min(b) FROM t;
SELECT length(group_concat(b, ',')) FROM (SELECT b FROM t ORDER BY b DESC LIMIT 20000);
SELECT b, count(*) FROM t GROUP BY substr(b, 1, 8) ORDER BY 2 DESC, 1 LIMIT 5;
EOF
      ;;
    redis)
      # The data set loaded with redis-cli --pipe (RESP): strings of 1 to
      # 4,000 bytes, hashes, lists, sorted sets, growing strings, deletions.
      "$py" - "$IN/redis.resp" "$scale" <<'EOF'
import sys
out, scale = sys.argv[1], int(sys.argv[2])
def cmd(*a):
    b = [x if isinstance(x, bytes) else str(x).encode() for x in a]
    return b"*%d\r\n" % len(b) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in b)
n = 20000 * scale
with open(out, "wb") as f:
    for i in range(n):
        f.write(cmd("SET", "key:%d" % i, b"v" * (1 + (i * 37) % 4000)))
        f.write(cmd("HSET", "h:%d" % (i % 5000), "f%d" % i, "value-%d" % (i * 7)))
        f.write(cmd("RPUSH", "l:%d" % (i % 1000), "item-%d" % i))
        f.write(cmd("ZADD", "z:%d" % (i % 100), (i * 7919) % 100003, "m%d" % i))
        f.write(cmd("APPEND", "s:%d" % (i % 500), "chunk-%d;" % i))
    for i in range(0, n, 3):
        f.write(cmd("DEL", "key:%d" % i))
    for i in range(0, 1000, 2):
        f.write(cmd("LTRIM", "l:%d" % i, 0, 9))
EOF
      ;;
    gcc | clang)
      [[ -f $IN/gen.cpp ]] || "$py" - "$IN/gen.cpp" "$scale" <<'EOF'
import sys
out, scale = sys.argv[1], int(sys.argv[2])
n = 3 * scale
src = ["#include <algorithm>", "#include <map>", "#include <memory>", "#include <numeric>",
       "#include <set>", "#include <sstream>", "#include <string>", "#include <unordered_map>",
       "#include <vector>", ""]
for i in range(n):
    src.append(f"""
struct S{i} {{
  int id; std::string name; std::vector<double> v{i};
  bool operator<(const S{i} &o) const {{ return id < o.id || (id == o.id && name < o.name); }}
}};
template <class T> T fold{i}(const std::vector<T> &xs) {{
  return std::accumulate(xs.begin(), xs.end(), T{{}}, [](T a, const T &b) {{ return a + b; }});
}}
std::string f{i}(int n) {{
  std::map<std::string, S{i}> m; std::unordered_map<int, std::set<std::string>> u;
  std::vector<std::unique_ptr<S{i}>> owned;
  for (int k = 0; k < n; ++k) {{
    std::ostringstream os; os << "k" << k * {i + 3};
    S{i} s{{k, os.str(), std::vector<double>(k % 7, {i}.5)}};
    u[k % 13].insert(s.name);
    owned.push_back(std::make_unique<S{i}>(s));
    m.emplace(s.name, std::move(s));
  }}
  std::vector<S{i}> all; for (auto &kv : m) all.push_back(kv.second);
  std::sort(all.begin(), all.end());
  return all.empty() ? std::string() : all.front().name + std::to_string(owned.size() + u[n % 13].size() + fold{i}(all.back().v{i}));
}}""")
src.append("int main() { std::string r;")
for i in range(n):
    src.append(f"  r += f{i}({i} % 50);")
src.append("  return (int)r.size(); }")
open(out, "w").write("\n".join(src) + "\n")
EOF
      ;;
    jq)
      "$py" - "$IN/data.json" "$scale" <<'EOF'
import json, sys
out, scale = sys.argv[1], int(sys.argv[2])
n = 40000 * scale
words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"]
recs = [{"id": i, "name": words[i % 16] + "-" + words[(i * 7) % 16] + str(i % 311),
         "score": (i * 7919) % 1000, "tags": [words[(i + k) % 16] for k in range(i % 5)],
         "geo": {"x": (i * 31) % 640, "y": (i * 17) % 480, "zone": "z%d" % (i % 40)},
         "text": "lorem ipsum " * (i % 9)} for i in range(n)]
with open(out, "w") as f:
    json.dump(recs, f)
EOF
      cat >"$IN/query.jq" <<'EOF'
[.[] | select(.score > 200)
     | {id, name, zone: .geo.zone, t: (.tags | join("-")), w: (.text | length), s: .score}]
| group_by(.zone)
| map({zone: .[0].zone, n: length, ids: (map(.id) | add),
       names: (map(.name) | unique | length), top: (sort_by(-.s, .id) | .[0:3] | map(.name))})
| sort_by(-.n, .zone)
EOF
      ;;
  esac
}

# cmdline NAME: sets the arrays cmd (the program under test), envv (extra
# environment) and the file stdin_file (/dev/null unless set).
cmdline() {
  envv=() stdin_file=/dev/null
  case $1 in
    python) envv=(PYTHONHASHSEED=0) cmd=("$py" -s "$IN/work.py" "$scale") ;;
    python_malloc) envv=(PYTHONHASHSEED=0 PYTHONMALLOC=malloc) cmd=("$py" -s "$IN/work.py" "$scale") ;;
    perl) envv=(PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0) cmd=(perl "$IN/work.pl" "$scale") ;;
    perl_threads) envv=(PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0) cmd=(perl "$IN/threads.pl" "$scale") ;;
    sqlite) cmd=(sqlite3 :memory:) stdin_file=$IN/work.sql ;;
    gcc) cmd=(g++ -O2 -std=c++17 -S -o - "$IN/gen.cpp") ;;
    clang) cmd=(clang++ -O1 -std=c++17 -S -o - "$IN/gen.cpp") ;;
    jq) cmd=(jq -c -f "$IN/query.jq" "$IN/data.json") ;;
  esac
}

# probe_cmd NAME: a short run of program NAME's executables (cmd, envv).
probe_cmd() {
  cmdline "$1"
  case $1 in
    python | python_malloc) cmd=("$py" -s -c pass) ;;
    perl | perl_threads) cmd=(perl -e 1) ;;
    sqlite) cmd=(sqlite3 :memory: "select 1;") ;;
    redis) envv=() cmd=(redis-server --version) ;;
    gcc) cmd=(g++ -S -o /dev/null -x c++ /dev/null) ;;
    clang) cmd=(clang++ -S -o /dev/null -x c++ /dev/null) ;;
    jq) cmd=(jq -n 1) ;;
  esac
}

# run_redis LIB DIR [VAR=VALUE...]: one redis run; writes DIR/res (launch's
# line for the server, whose wall time is replaced by the client's) and
# DIR/out (the data set's digest after the load, which must be the same under
# every allocator); DIR/rps gets redis-benchmark's requests per second.
run_redis() {
  local l=$1 dir=$2 port i t0 t1 rc=0 v eargs=() m s c try up=0
  shift 2
  for v in "$@"; do eargs+=(-e "$v"); done
  # A free port, and a check that the server answering is ours (other work
  # on the machine may run a redis-server too).
  for ((try = 0; try < 5 && !up; try++)); do
    port=$((20000 + (RANDOM % 20000)))
    [[ -z $(redis-cli -p "$port" ping 2>/dev/null) ]] || continue
    rm -f "$dir/server.res"
    "$bin/launch" -p "$l" "${eargs[@]}" -t "$timeout" -o "$dir/server.res" -- \
      redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --enable-debug-command yes --dir "$dir" --logfile "$dir/redis.log" \
      </dev/null >/dev/null 2>"$dir/err" &
    redis_pid=$!
    for ((i = 0; i < 200; i++)); do
      [[ $(redis-cli -p "$port" ping 2>/dev/null) != PONG ]] || break
      [[ ! -s $dir/server.res ]] || break # it exited
      sleep 0.05
    done
    if [[ $(redis-cli -p "$port" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p') == \
      "$(pgrep -P "$redis_pid")" ]]; then
      up=1
    else
      stop_redis
    fi
  done
  if ((!up)); then
    echo "wall=0 maxrss_kb=0 status=server-did-not-start cpu=0" >"$dir/res"
    return
  fi
  t0=$EPOCHREALTIME
  {
    redis-cli -p "$port" --pipe <"$IN/redis.resp" >"$dir/pipe.log" 2>&1 &&
      grep -q 'errors: 0,' "$dir/pipe.log" &&
      redis-cli -p "$port" dbsize >"$dir/out" &&
      redis-cli -p "$port" debug digest >>"$dir/out" &&
      redis-benchmark -p "$port" -q --csv -n $((4000 * scale)) -r 100000 -d 120 -c 16 \
        -t set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset \
        >"$dir/bench.csv" 2>"$dir/bench.err"
  } || rc=$?
  t1=$EPOCHREALTIME
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$redis_pid" || true
  redis_pid=""
  if ((rc != 0)); then
    echo "wall=0 maxrss_kb=0 status=client-failed cpu=0" >"$dir/res"
    echo "client failed: $(tail -n 1 "$dir/pipe.log") $(tail -n 1 "$dir/bench.err" 2>/dev/null)" >>"$dir/err"
    return
  fi
  # Requests per second over the whole benchmark: all requests / all time.
  awk -F'"' 'NR > 1 && $4 > 0 { n += '$((4000 * scale))'; t += '$((4000 * scale))' / $4 }
    END { if (t > 0) printf "%.0f\n", n / t }' "$dir/bench.csv" >"$dir/rps"
  read -r _ m s c <"$dir/server.res" || true
  echo "wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }') $m $s $c" >"$dir/res"
}

# run_one NAME ALLOCATOR DIR [VAR=VALUE...]: one run of program NAME into
# DIR (res, out, err).
run_one() {
  local name=$1 a=$2 dir=$3
  shift 3
  rm -rf "$dir"
  mkdir -p "$dir"
  if [[ $name == redis ]]; then
    run_redis "${lib[$a]}" "$dir" "$@"
    return
  fi
  cmdline "$name"
  local v eargs=()
  for v in "${envv[@]}" "$@"; do eargs+=(-e "$v"); done
  (cd "$dir" && "$bin/launch" -p "${lib[$a]}" "${eargs[@]}" -t "$timeout" -o "$dir/res" -- \
    "${cmd[@]}" <"$stdin_file" >"$dir/out" 2>"$dir/err") || true
}

# bound_ok DIR ALLOCATOR: every `malloc` binding to a shared library in
# DIR/ld.* (LD_DEBUG) names the allocator's library; prints what it found
# otherwise.
bound_ok() {
  local want got
  want=$(realpath -e "${lib[$2]}")
  got=$(cat "$1"/ld.* 2>/dev/null | sed -n "s/.* to \(.*\) \[[0-9]*\]: normal symbol \`malloc'.*/\1/p" | sort -u)
  [[ -n $got ]] || {
    echo "no malloc binding"
    return 1
  }
  local f bad=""
  while read -r f; do
    # A non-PIE executable that takes malloc's address (python3) holds the
    # canonical address in its PLT: bindings to it lead on to the library.
    [[ ${f##*/} == *.so* ]] || continue
    [[ $(realpath -e "$f" 2>/dev/null) == "$want" ]] || bad="$bad $f"
  done <<<"$got"
  [[ -z $bad ]] || {
    echo "malloc bound to$bad"
    return 1
  }
}

# --- warm-up: inputs, bindings, reference outputs ------------------------

raw=$out/raw.tsv
printf 'program\tallocator\tround\twall_s\tcpu_s\tmaxrss_kb\tstatus\toutput\treq_per_s\n' >"$raw"
declare -A ref=() fails=() walls=() cpus=() rsses=() rpss=() dead=()
ran=()
status_of() { sed -n 's/.*status=\([^ ]*\).*/\1/p' "$1/res" 2>/dev/null; }
log "${#progs[@]} programs x $nallocs allocators x $rounds rounds (scale $scale); HawkAlloc $hawk_rev"
for name in "${progs[@]}"; do
  miss=""
  for c in $(needs "$name"); do command -v "$c" >/dev/null 2>&1 || miss="$miss $c"; done
  if [[ -n $miss ]]; then
    notes+=("$name: skipped, missing$miss (make deps-bench)")
    continue
  fi
  if ! prep "$name" >"$work/prep.log" 2>&1; then
    notes+=("$name: skipped, could not prepare its inputs: $(tail -n 1 "$work/prep.log")")
    continue
  fi
  log "warm-up: $name"
  # Bindings: a short run of the same programs with every symbol bound at
  # start (LD_BIND_NOW), under each allocator.
  probe_cmd "$name"
  for a in "${allocators[@]}"; do
    d=$work/probe
    rm -rf "$d" "$work"/probe.ld.*
    mkdir -p "$d"
    eargs=()
    for v in "${envv[@]}" LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$work/probe.ld"; do eargs+=(-e "$v"); done
    "$bin/launch" -p "${lib[$a]}" "${eargs[@]}" -t 60 -o "$d/res" -- "${cmd[@]}" \
      </dev/null >"$d/out" 2>"$d/err" || true
    for f in "$work"/probe.ld.*; do [[ ! -e $f ]] || mv "$f" "$d/ld.${f##*.}"; done
    if ! why=$(bound_ok "$d" "$a"); then
      notes+=("$name under $a: not measured, $why (LD_DEBUG=bindings), not ${lib[$a]}")
      dead[$name/$a]=1 fails[$name/$a]=not-bound
    fi
  done
  # The reference output, and a warm-up: one untimed run under glibc.
  d=$work/warm
  run_one "$name" glibc "$d"
  s=$(status_of "$d")
  if [[ $s != exit:0 ]]; then
    msg=$(grep -v '^$' "$d/err" 2>/dev/null | tail -n 1 | cut -c 1-200)
    notes+=("$name: dropped, it fails under glibc: ${s:-no result}${msg:+: $msg}")
    continue
  fi
  ref[$name]=$(sha256sum <"$d/out" | cut -c 1-16)
  ran+=("$name")
done
((${#ran[@]})) || die "no program could run"

# --- timed rounds -------------------------------------------------------

for ((r = 0; r < rounds; r++)); do
  log "round $((r + 1))/$rounds"
  for ((c = 0; c < ${#ran[@]}; c++)); do
    name=${ran[c]}
    for ((k = 0; k < nallocs; k++)); do
      a=${allocators[(r + c + k) % nallocs]}
      key=$name/$a
      [[ -z ${dead[$key]-} ]] || continue
      d=$work/run
      run_one "$name" "$a" "$d"
      w=0 m=0 s=no-result cpu=0
      [[ ! -s $d/res ]] || read -r w m s cpu <"$d/res"
      w=${w#wall=} m=${m#maxrss_kb=} s=${s#status=} cpu=${cpu#cpu=}
      sum=$(sha256sum <"$d/out" 2>/dev/null | cut -c 1-16)
      rps=$(cat "$d/rps" 2>/dev/null || true)
      if [[ $s == exit:0 && $sum != "${ref[$name]}" ]]; then s=wrong-output; fi
      printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$a" "$((r + 1))" "$w" "$cpu" "$m" \
        "$s" "$sum" "${rps:--}" >>"$raw"
      if [[ $s != exit:0 ]]; then
        fails[$key]="${fails[$key]-}${fails[$key]:+, }$s"
        msg=$(grep -v '^$' "$d/err" 2>/dev/null | tail -n 1 | cut -c 1-200)
        notes+=("$name under $a, round $((r + 1)): $s${msg:+: $msg}")
        log "  $name $a: $s $msg"
        [[ $s != timeout ]] || dead[$key]=1
        continue
      fi
      walls[$key]="${walls[$key]-} $w"
      cpus[$key]="${cpus[$key]-} $cpu"
      rsses[$key]="${rsses[$key]-} $m"
      [[ -z $rps ]] || rpss[$key]="${rpss[$key]-} $rps"
    done
  done
done

# --- report -------------------------------------------------------------

median() {
  printf '%s\n' "$*" | tr -s ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 }
    END { if (NR) printf "%.6g", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.3f", a / b }'; }
geomean() { printf '%s\n' "$*" | tr -s ' ' '\n' | awk '$1 > 0 { s += log($1); n++ } END { if (n) printf "%.3f", exp(s / n) }'; }
declare -A mwall=() mcpu=() mrss=() mrps=() mtime=()
for name in "${ran[@]}"; do
  for a in "${allocators[@]}"; do
    key=$name/$a
    [[ -n ${walls[$key]-} ]] || continue
    mwall[$key]=$(median "${walls[$key]}")
    mcpu[$key]=$(median "${cpus[$key]}")
    mrss[$key]=$(median "${rsses[$key]}")
    [[ -z ${rpss[$key]-} ]] || mrps[$key]=$(median "${rpss[$key]}")
    # The program's "time": wall time, except the server's CPU time for redis
    # (its wall time is the client's).
    if [[ $name == redis ]]; then mtime[$key]=${mcpu[$key]}; else mtime[$key]=${mwall[$key]}; fi
  done
done

# table TITLE ARRAY FORMAT: one row per program, median (ratio to glibc);
# adds the ratios to the list named lists_ARRAY.
declare -A list_time=() list_cpu=() list_rss=()
table() {
  local title=$1 arr=$2 fmt=$3 name a v base q
  local -n m=$arr lst=list_${4}
  echo "## $title"
  echo
  printf '| program |'
  for a in "${allocators[@]}"; do printf ' %s |' "$a"; done
  printf '\n| --- |'
  for a in "${allocators[@]}"; do printf ' ---: |'; done
  echo
  for name in "${ran[@]}"; do
    printf '| %s |' "$name"
    base=${m[$name/glibc]-}
    for a in "${allocators[@]}"; do
      v=${m[$name/$a]-}
      if [[ -z $v ]]; then
        printf ' %s |' "${fails[$name/$a]:-failed}"
        continue
      fi
      v2=$(awk -v v="$v" -v f="$fmt" 'BEGIN { printf f, v }')
      if [[ $a == glibc || -z $base ]]; then
        printf ' %s |' "$v2"
      else
        q=$(ratio "$v" "$base")
        # shellcheck disable=SC2004 # lst is an associative array (nameref)
        lst[$a]="${lst[$a]-} $q"
        printf ' %s (%s) |' "$v2" "$q"
      fi
    done
    echo
  done
  echo
}
declare -A mrssm=() # peak RSS in MiB, for table
# shellcheck disable=SC2034 # read through table's nameref
for k in "${!mrss[@]}"; do mrssm[$k]=$(awk -v v="${mrss[$k]}" 'BEGIN { print v / 1024 }'); done
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
{
  echo "# Real programs under every allocator"
  echo
  echo "Generated by \`bench/real.sh\` (\`make bench-real\`) on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "* Machine: $(nproc) CPUs ($cpu_model), Linux $(uname -r), $(getconf GNU_LIBC_VERSION 2>/dev/null) (Debian libc6 $(pkgver libc6))."
  echo "* Allocators: HawkAlloc $hawk_rev (library sha256 $hawk_sha...), glibc $(pkgver libc6)," \
    "jemalloc $(pkgver libjemalloc2), mimalloc $(pkgver libmimalloc2.0), tcmalloc $(pkgver libtcmalloc-minimal4); all through LD_PRELOAD (glibc: the C library itself)."
  echo "* Programs: python3 $("$py" -c 'import platform; print(platform.python_version())' 2>/dev/null)," \
    "perl $(perl -e 'print substr($^V, 1)' 2>/dev/null), sqlite3 $(sqlite3 --version 2>/dev/null | cut -d ' ' -f 1)," \
    "redis-server $(redis-server --version 2>/dev/null | sed -n 's/.*v=\([^ ]*\).*/\1/p')," \
    "g++ $(g++ -dumpfullversion 2>/dev/null), clang++ $(clang++ -dumpversion 2>/dev/null), $(jq --version 2>/dev/null)."
  echo "* Load average (1, 5, 15 min) at the start: $load_start; at the end: $(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null)" \
    "(other work on the machine competes for its $(nproc) CPUs)."
  echo "* $rounds interleaved rounds, scale $scale; medians of the rounds. Ratios are allocator / glibc: below 1 is faster or smaller." \
    "\"Time\" is the wall time, except for redis: the server's CPU time for the same requests."
  echo
  table "Time: median seconds (ratio to glibc)" mtime "%.3f" time
  table "CPU time (user + system): median seconds (ratio to glibc)" mcpu "%.3f" cpu
  table "Peak RSS: median MiB (ratio to glibc)" mrssm "%.1f" rss
  if [[ " ${ran[*]} " == *" redis "* ]]; then
    echo "## redis-server under redis-benchmark"
    echo
    echo "| allocator | requests/s | server CPU per request (us) | CPU / glibc | requests/s / glibc |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    nreq=$((14 * 4000 * scale))
    for a in "${allocators[@]}"; do
      [[ -n ${mcpu[redis/$a]-} ]] || continue
      echo "| $a | ${mrps[redis/$a]:--} | $(awk -v c="${mcpu[redis/$a]}" -v n="$nreq" 'BEGIN { printf "%.1f", c / n * 1e6 }') |" \
        "$(ratio "${mcpu[redis/$a]}" "${mcpu[redis/glibc]-}") | $(ratio "${mrps[redis/$a]-}" "${mrps[redis/glibc]-}") |"
    done
    echo
    echo "Server CPU covers the load of the data set (redis-cli --pipe) and the $nreq requests of redis-benchmark."
    echo
  fi
  echo "## Geometric means of the ratios to glibc"
  echo
  echo "| allocator | time | CPU | peak RSS | programs | programs above glibc's time |"
  echo "| --- | ---: | ---: | ---: | ---: | --- |"
  for a in "${allocators[@]}"; do
    if [[ $a == glibc ]]; then
      echo "| glibc | 1.000 | 1.000 | 1.000 | ${#ran[@]} | |"
      continue
    fi
    read -r -a tl <<<"${list_time[$a]-}"
    above=()
    for name in "${ran[@]}"; do
      q=$(ratio "${mtime[$name/$a]-}" "${mtime[$name/glibc]-}")
      [[ -z $q ]] || ! awk -v q="$q" 'BEGIN { exit !(q > 1) }' || above+=("$name $q")
    done
    echo "| $a | $(geomean "${list_time[$a]-}") | $(geomean "${list_cpu[$a]-}") | $(geomean "${list_rss[$a]-}") | ${#tl[@]} |" \
      "$(
        IFS=,
        j="${above[*]}"
        echo "${j//,/, }"
      ) |"
  done
  if [[ " ${allocators[*]} " == *" hawkalloc "* ]]; then
    echo
    echo "HawkAlloc against each allocator (geometric mean of hawkalloc / other over the programs both ran):"
    echo
    echo "| other | time | CPU | peak RSS |"
    echo "| --- | ---: | ---: | ---: |"
    for a in "${allocators[@]}"; do
      [[ $a != hawkalloc ]] || continue
      tq=() cq=() rq=()
      for name in "${ran[@]}"; do
        h=${mtime[$name/hawkalloc]-} o=${mtime[$name/$a]-}
        [[ -z $h || -z $o ]] || tq+=("$(ratio "$h" "$o")")
        h=${mcpu[$name/hawkalloc]-} o=${mcpu[$name/$a]-}
        [[ -z $h || -z $o ]] || cq+=("$(ratio "$h" "$o")")
        h=${mrss[$name/hawkalloc]-} o=${mrss[$name/$a]-}
        [[ -z $h || -z $o ]] || rq+=("$(ratio "$h" "$o")")
      done
      echo "| $a | $(geomean "${tq[@]}") | $(geomean "${cq[@]}") | $(geomean "${rq[@]}") |"
    done
  fi
  echo
  echo "## Outputs"
  echo
  nbad=0
  for k in "${!fails[@]}"; do [[ ${fails[$k]} != *wrong-output* ]] || nbad=$((nbad + 1)); done
  if ((nbad == 0)); then
    echo "Every run's output (for redis: the data set's size and DEBUG DIGEST after the load) was identical to glibc's."
  else
    echo "$nbad program/allocator pairs gave an output different from glibc's (see the notes)."
  fi
  if ((${#notes[@]})); then
    echo
    echo "## Notes"
    echo
    printf -- '- %s\n' "${notes[@]}"
  fi
  echo
  echo "The whole run took $(($(date +%s) - start_time)) s; every timed run is in raw.tsv."
} >"$out/results.md"

# --- charts -------------------------------------------------------------

others=()
for a in "${allocators[@]}"; do [[ $a == glibc ]] || others+=("$a"); done
for kind in time rss; do
  dat=$out/$kind.dat
  {
    printf '"program"'
    printf ' "%s"' "${others[@]}"
    echo
    for name in "${ran[@]}" geomean; do
      printf '"%s"' "$name"
      for a in "${others[@]}"; do
        if [[ $name == geomean ]]; then
          if [[ $kind == time ]]; then q=$(geomean "${list_time[$a]-}"); else q=$(geomean "${list_rss[$a]-}"); fi
        elif [[ $kind == time ]]; then
          q=$(ratio "${mtime[$name/$a]-}" "${mtime[$name/glibc]-}")
        else
          q=$(ratio "${mrss[$name/$a]-}" "${mrss[$name/glibc]-}")
        fi
        printf ' %s' "${q:-?}"
      done
      echo
    done
  } >"$dat"
done
if command -v gnuplot >/dev/null 2>&1 && ((${#others[@]})); then
  "$here/chart.sh" "$out/time.dat" "$out/time.svg" \
    "Real programs: time relative to glibc (median of $rounds rounds; redis: server CPU; lower is faster)" \
    "time / glibc time (log scale)" || log "gnuplot failed on time.svg"
  "$here/chart.sh" "$out/rss.dat" "$out/rss.svg" \
    "Real programs: peak RSS relative to glibc (median of $rounds rounds; lower is smaller)" \
    "peak RSS / glibc peak RSS (log scale)" || log "gnuplot failed on rss.svg"
else
  log "gnuplot is not installed: no charts"
fi

log "done in $(($(date +%s) - start_time)) s: $out/results.md, $out/time.svg, $out/rss.svg, $out/raw.tsv"
awk '/^## / { on = /^## Geometric means/ } on' "$out/results.md"

# Exit 1 when HawkAlloc failed a program that glibc completed.
for name in "${ran[@]}"; do
  if [[ -n ${fails[$name/hawkalloc]-} && -n ${mtime[$name/glibc]-} ]]; then exit 1; fi
done
exit 0
