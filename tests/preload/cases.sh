# shellcheck shell=bash
# cases.sh - the workloads of the preload suite, shared by tests/preload/run.sh
# (correctness) and bench/preload-ratio.sh (speed).  Source it; do not run it.
#
# A case NAME is made of up to two functions:
#   prep_NAME   optional; writes the case's inputs into $IN (the current
#               directory) under the system allocator.  Never timed.
#   case_NAME   the workload; runs in a fresh, empty directory and writes its
#               results to stdout.  Every program under test is started
#               through `prog`, which adds the allocator environment; helper
#               commands (cp, sha256sum, ...) run without it.
# Both see $IN (the prepared inputs, read-only for case_NAME) and $SCALE (a
# positive integer; 1 is the size the test suite uses, larger is more work).
#
# Entry points:
#   PRELOAD_CASES                  the case names, in suite order
#   preload_prep NAME IN SCALE     prepares the inputs of a case into IN
#   preload_run NAME IN SCALE [VAR=VALUE...]
#                                  runs the case in the current directory with
#                                  the programs under test given VAR=VALUE
#                                  (e.g. LD_PRELOAD=/abs/libhawkalloc.so);
#                                  returns the first failing exit status.
# PRELOAD_TIMEOUT (seconds, default 300) bounds each program under test, so a
# hung allocator fails the case (exit 124) instead of hanging the suite.

# shellcheck disable=SC2034 # used by the scripts that source this file
PRELOAD_CASES=(true ls python python_malloc perl sqlite bash sort gcc git)

# The commands each case needs besides coreutils; a case whose commands are
# missing is skipped (scripts/install-deps.sh installs them).
declare -gA PRELOAD_NEEDS=(
  [true]="" [ls]="" [python]=/usr/bin/python3 [python_malloc]=/usr/bin/python3
  [perl]=perl [sqlite]=sqlite3 [bash]=bash [sort]="" [gcc]="gcc as ld" [git]=git
)

# Prints the commands that case NAME needs and that are missing.
preload_missing() {
  local cmd
  for cmd in ${PRELOAD_NEEDS[$1]-} awk timeout sha256sum; do
    command -v "$cmd" >/dev/null 2>&1 || printf '%s ' "$cmd"
  done
}

# Programs under test are called by absolute path where it matters: a pyenv
# shim or wrapper script would put a shell, not the real ELF, under LD_PRELOAD.
PRELOAD_PYTHON=/usr/bin/python3

# Runs a program under test: "$@" with the case environment added.  `timeout`
# and `env` themselves are exec'd without it; only "$@" (and its children)
# get it.
prog() {
  timeout -k 5 "${PRELOAD_TIMEOUT:-300}" env "${PRELOAD_ENV[@]}" "$@"
}

PRELOAD_CASES_FILE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

# preload_exec FUNCTION IN SCALE [VAR=VALUE...]: runs FUNCTION in a bash of
# its own with errexit, so that the first failing command ends it with its
# status however the caller tests the result (inside `if`, `||` or `!` bash
# would ignore errexit in a function or subshell).
preload_exec() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  "${BASH:-bash}" -c 'set -euo pipefail
    source "$0"
    fn=$1 IN=$2 SCALE=$3
    PRELOAD_ENV=("${@:4}")
    export LC_ALL=C TZ=UTC
    "$fn"' "$PRELOAD_CASES_FILE" "$@"
}

preload_prep() {
  mkdir -p "$2"
  if declare -F "prep_$1" >/dev/null; then
    (cd "$2" && preload_exec "prep_$1" "${@:2}")
  fi
}

preload_run() {
  preload_exec "case_$1" "${@:2}"
}

# --- the cases ------------------------------------------------------------

# Process start-up and exit only, 200 times per scale step: long enough for
# the benchmark to measure the start-up cost of the allocator.
case_true() {
  local i n=$((200 * SCALE))
  for ((i = 0; i < n; i++)); do prog true; done
  echo "true x$n"
}

# Directory walking, stat, user/group lookups through NSS, sorting names.
case_ls() {
  local i
  for ((i = 0; i < SCALE; i++)); do prog ls -lR /usr/lib; done
}

prep_python() {
  cat >work.py <<'EOF'
# Allocation-heavy: many small dicts, lists and strings, JSON round trip,
# sorting, sets, big string joins, deletion of half the objects.
import collections, hashlib, json, random, sys

n = 100000 * int(sys.argv[1])
rng = random.Random(12345)
letters = "abcdefghijklmnopqrstuvwxyz"
words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9)))
         for _ in range(5000)]
recs = []
for i in range(n):
    recs.append({"id": i,
                 "name": words[rng.randrange(len(words))] + str(i % 977),
                 "tags": [words[(i * 31 + k) % len(words)] for k in range(i % 5)],
                 "score": (i * 7919) % 10007 / 7.0})
by_name = collections.defaultdict(list)
for r in recs:
    by_name[r["name"]].append(r["id"])
text = json.dumps(recs, sort_keys=True)
back = json.loads(text)
assert back == recs
parts = ["%d:%s:%d" % (r["id"], r["name"], len(r["tags"])) for r in back]
blob = "|".join(parts)
del recs[::2]
tags = set(t for r in recs for t in r["tags"])
ranked = sorted(back, key=lambda r: (r["score"], r["name"]))
buf = bytearray()
for r in ranked[:20000]:
    buf += repr(r).encode()
counts = collections.Counter(w[0] for w in blob.split("|") if w)
h = hashlib.sha256()
h.update(text.encode())
h.update(blob.encode())
h.update(bytes(buf))
print(len(recs), len(by_name), len(tags), len(blob), len(buf))
print(sorted(counts.items())[:5])
print(ranked[0], ranked[-1])
print(h.hexdigest())
EOF
}

case_python() {
  prog env PYTHONHASHSEED=0 "$PRELOAD_PYTHON" -s "$IN/work.py" "$SCALE"
}

# The same with pymalloc off, so every Python object goes through malloc.
prep_python_malloc() { prep_python; }
case_python_malloc() {
  prog env PYTHONHASHSEED=0 PYTHONMALLOC=malloc "$PRELOAD_PYTHON" -s "$IN/work.py" "$SCALE"
}

case_perl() {
  # shellcheck disable=SC2016 # Perl code, not shell.
  prog env PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 perl -e '
    my $n = 100000 * $ARGV[0]; my (%h, @a, %g);
    for my $i (1 .. $n) {
      my ($x, $k) = (($i * 7919) % 40009, "");
      do { $k .= chr(97 + $x % 26); $x = int($x / 26) } while $x;
      $k .= "q" x ($i % 4);
      $h{$k}++; push @a, "$k-$i";
    }
    my @m = grep { /^[a-m]\w*q-(\d*7)$/ } @a;
    for (@a) { push @{ $g{$1} }, $2 if /^(\w)\w*-(\d+)$/ }
    my $s = join ",", map { "$_=" . scalar(@{ $g{$_} }) } sort keys %g;
    (my $t = join " ", @a) =~ s/([aeiou]+)/uc $1/ge;
    my @w = split /[AEIOU]+/, $t;
    my @top = (sort { $h{$b} <=> $h{$a} || $a cmp $b } keys %h)[0 .. 9];
    my %inv; push @{ $inv{ $h{$_} } }, $_ for keys %h;
    print scalar(keys %h), " ", scalar(@m), " ", scalar(@w), "\n$s\n";
    print length($t), " ", unpack("%32C*", $t), "\n@top\n";
    print join(" ", map { "$_:" . scalar(@{ $inv{$_} }) } sort { $a <=> $b } keys %inv), "\n";
  ' "$SCALE"
}

prep_sqlite() {
  awk -v n=$((50000 * SCALE)) 'BEGIN {
    print "PRAGMA journal_mode=DELETE;"
    print "CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, val REAL, note TEXT);"
    print "BEGIN;"
    for (i = 1; i <= n; i++)
      printf "INSERT INTO t VALUES(%d,%d,%s,%d.%02d,%s);\n", i, (i * 7919) % 97,
        "'\''name" (i * 31) % 4099 "'\''", (i * 13) % 1000, i % 100,
        (i % 3 ? "'\''note-" i "-" substr("abcdefghijklmnopqrstuvwxyz", i % 26 + 1) "'\''" : "NULL")
    print "COMMIT;"
    print "CREATE INDEX t_name ON t(name);"
    print "SELECT grp, count(*), sum(val), max(name), min(note) FROM t GROUP BY grp ORDER BY grp;"
    print "SELECT name, count(*) AS c, group_concat(id) FROM t GROUP BY name ORDER BY c DESC, name LIMIT 20;"
    print "SELECT id, name, val FROM t ORDER BY val DESC, id LIMIT 25;"
    print "UPDATE t SET note = upper(note) || printf('\''%08d'\'', id) WHERE id % 5 = 0;"
    print "DELETE FROM t WHERE grp % 4 = 1;"
    print "CREATE TABLE s AS SELECT grp, name, count(*) AS c, avg(val) AS a FROM t GROUP BY grp, name;"
    print "SELECT count(*), sum(c), round(sum(a), 4) FROM s;"
    print "SELECT a.grp, count(*) FROM s AS a JOIN t AS b ON a.name = b.name AND a.grp = b.grp GROUP BY a.grp ORDER BY 2 DESC, 1 LIMIT 10;"
    print "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 20000) SELECT count(*), sum(length(printf('\''%x-%s'\'', x, x * x))) FROM r;"
    print "VACUUM;"
    print "PRAGMA integrity_check;"
    print "SELECT count(*), sum(length(note)) FROM t;"
  }' >load.sql
}

case_sqlite() {
  prog sqlite3 -batch -bail db.sqlite <"$IN/load.sql"
}

case_bash() {
  # shellcheck disable=SC2016 # bash code for the bash under test.
  prog bash --norc --noprofile -c '
    n=$1; declare -A m; a=(); s=""; line=""
    for ((i = 0; i < n; i++)); do
      k="key$((i * 7919 % 1000))"
      m[$k]+="$i,"
      a+=("item-$i-$k")
      line+="$i:"
      if ((${#line} > 2000)); then s+="${line:0:100}"; line=""; fi
    done
    b=("${a[@]/item/ITEM}")
    c=("${b[@]:100:5000}")
    unset "a[@]"; a=()
    total=0; for v in "${m[@]}"; do ((total += ${#v})); done
    keys=$(printf "%s\n" "${!m[@]}" | sort | head -n 3 | tr "\n" " ")
    printf "%d %d %d %d %d\n" "${#b[@]}" "${#c[@]}" "${#m[@]}" "$total" "${#s}"
    printf "%s| %s %s\n" "$keys" "${b[n-1]}" "${c[4999]}"
    printf "%s\n" "${s:0:300}"
  ' bash $((30000 * SCALE))
}

prep_sort() {
  awk -v n=$((200000 * SCALE)) 'BEGIN {
    srand(42)
    for (i = 0; i < n; i++) {
      w = ""
      for (j = int(rand() * 8) + 1; j > 0; j--) w = w sprintf("%c", 97 + int(rand() * 26))
      printf "%d %s %.3f\n", int(rand() * 1000000) - 500000, w, rand() * 1000
    }
  }' >input.txt
}

case_sort() {
  prog sort -n "$IN/input.txt"
  prog sort "$IN/input.txt"
  # Small buffer: temporary files and merges; two threads.
  prog sort -S 1M --parallel=2 -T . -k2,2 -k3,3gr "$IN/input.txt"
  prog sort -u -k2,2 "$IN/input.txt"
}

prep_gcc() {
  cat >prog.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
  return (x > y) - (x < y);
}

int main(void) {
  enum { N = 200000 };
  unsigned *v = malloc(N * sizeof *v), seed = 1, sum = 0;
  char *s = NULL;
  size_t len = 0;
  for (int i = 0; i < N; i++) v[i] = seed = seed * 1103515245u + 12345u;
  qsort(v, N, sizeof *v, cmp);
  for (int i = 0; i < N; i += 1000) {
    char buf[32];
    int k = snprintf(buf, sizeof buf, "%u,", v[i] % 100000);
    s = realloc(s, len + (size_t)k + 1);
    memcpy(s + len, buf, (size_t)k + 1);
    len += (size_t)k;
  }
  for (size_t i = 0; i < len; i++) sum = sum * 31 + (unsigned char)s[i];
  printf("%u %u %zu %u\n", v[0], v[N - 1], len, sum);
  free(s);
  free(v);
  return 0;
}
EOF
  # A bigger translation unit, so cc1 does real work.
  awk -v n=$((150 * SCALE)) 'BEGIN {
    print "struct node { struct node *next; long v; };"
    for (i = 0; i < n; i++) {
      printf "long f%d(struct node *p, long k) {\n  long s = %d;\n", i, i
      printf "  for (; p; p = p->next) { s += p->v * k + %d; if (s %% %d == 0) s ^= k << %d; }\n", i, i + 3, i % 13
      printf "  switch (k & 7) { case 0: s += %d; break; case 1: s -= k; break; case 3: s *= 3; break; default: s += f%d(0, k >> 1); }\n", i * 17, (i > 0 ? i - 1 : 0)
      printf "  return s;\n}\n"
    }
  }' >big.c
}

case_gcc() {
  cp "$IN/prog.c" "$IN/big.c" .
  prog gcc -O2 -o prog prog.c
  prog ./prog
  prog gcc -O2 -S -o prog.s prog.c
  prog gcc -O2 -S -o big.s big.c
  sha256sum prog.s big.s
}

prep_git() {
  # Snapshots c1..c6 of a tree of some hundreds of files; each commit of the
  # case copies one over the work tree.
  local c i d
  for ((c = 1; c <= 6; c++)); do
    for ((i = 0; i < 60 * c * SCALE; i++)); do
      d="c$c/dir$((i % 17))/sub$((i % 5))"
      mkdir -p "$d"
      if ((i % 7 != c)); then
        awk -v i="$i" -v c="$c" 'BEGIN {
          for (l = 0; l < 20 + i % 40; l++)
            printf "line %d of file %d, rev %d: %s\n", l, i, (l % 9 == 0 ? c : 1), substr("lorem ipsum dolor sit amet consectetur", 1 + (i + l) % 20)
        }' >"$d/file$i.txt"
      fi
    done
  done
}

case_git() {
  # Only the repository made here, whatever git environment the caller has.
  unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_CEILING_DIRECTORIES
  export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
  export GIT_AUTHOR_NAME="Hawk Tester" GIT_AUTHOR_EMAIL=tester@example.invalid
  export GIT_COMMITTER_NAME="Hawk Tester" GIT_COMMITTER_EMAIL=tester@example.invalid
  local c
  prog git -c init.defaultBranch=main init -q repo
  cd repo || exit
  prog git config gc.autoDetach false
  for ((c = 1; c <= 6; c++)); do
    find . -path ./.git -prune -o -type f -exec rm -f {} +
    cp -R "$IN/c$c/." .
    export GIT_AUTHOR_DATE="2024-01-0${c}T12:00:00Z" GIT_COMMITTER_DATE="2024-01-0${c}T12:30:00Z"
    prog git add -A
    prog git commit -q -m "revision $c" -m "Snapshot $c of the generated tree."
  done
  prog git gc --quiet
  prog git fsck --full --strict --no-progress
  prog git log --stat
  prog git diff --stat HEAD~5 HEAD | tail -n 3
  prog git rev-list --all --objects | sha256sum
  prog git count-objects -v | grep -E '^(count|in-pack|packs):'
}
