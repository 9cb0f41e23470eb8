#!/usr/bin/env bash
# demo.sh - `make demo`: runs a real program, /usr/bin/python3 building a
# word-frequency table of a generated text, with HawkAlloc preloaded and
# HAWKALLOC_STATS=1, so the library prints its statistics when the program
# exits, and HAWKALLOC_MAP, so it draws the heap at exit as an SVG picture.
# It runs nothing but python3 and the library, and writes only the picture,
# into build/ (DEMO_OUT), never elsewhere in the repository.
# Environment: HAWK_PRELOAD_LIB (default <repo>/build/libhawkalloc.so),
# DEMO_WORDS (words of generated text, default 300000), DEMO_OUT (where the
# picture goes, default <repo>/build/demo-heap.svg).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lib=${HAWK_PRELOAD_LIB:-$root/build/libhawkalloc.so}
python=/usr/bin/python3 # the real ELF, not a wrapper, so LD_PRELOAD applies
words=${DEMO_WORDS:-300000}
picture=${DEMO_OUT:-$root/build/demo-heap.svg}

if [[ ! -f $lib ]]; then
  echo "demo: $lib does not exist; build it with 'make lib'" >&2
  exit 1
fi
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
if [[ ! -x $python ]]; then
  echo "demo: $python is missing (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hawk-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/words.py" <<'EOF'
# Generates a text of made-up words with a Zipf-like distribution, then counts
# words and word pairs: a few hundred thousand small strings, dicts and lists.
import collections, random, sys

n = int(sys.argv[1])
rng = random.Random(2024)
syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "hawk", "al", "loc", "ar", "en", "ta"]
vocab = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))
                for _ in range(30000)})
rng.shuffle(vocab)
weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
text = " ".join(rng.choices(vocab, weights, k=n))

tokens = text.split()
freq = collections.Counter(tokens)
pairs = collections.Counter(zip(tokens, tokens[1:]))
lengths = collections.Counter(len(t) for t in tokens)

print(f"text: {len(text):,} characters, {len(tokens):,} words, "
      f"{len(freq):,} distinct words, {len(pairs):,} distinct word pairs")
print()
print("top 10 words")
top = freq.most_common(10)
width = top[0][1]
for word, count in top:
    print(f"  {word:<12} {count:>7,}  {'#' * max(1, round(40 * count / width))}")
print()
print("top 3 word pairs: " + ", ".join(f"'{a} {b}' ({c:,})" for (a, b), c in pairs.most_common(3)))
print("word lengths:     " + " ".join(f"{k}:{v}" for k, v in sorted(lengths.items())[:12]))

# The heap while every table above is still alive: glibc's malloc_stats(),
# which HawkAlloc answers with its statistics and a picture of its arenas.
import atexit, ctypes, sys
sys.stdout.flush()
sys.stderr.write("-- while the word tables are alive (malloc_stats() called from Python):\n")
sys.stderr.flush()
ctypes.CDLL(None).malloc_stats()
atexit.register(lambda: sys.stderr.write("\n-- at exit (HAWKALLOC_STATS=1):\n") and sys.stderr.flush())
EOF

# PYTHONMALLOC=malloc turns pymalloc off: every Python object is a malloc.
echo "== HawkAlloc demo: $python counts the words of a generated text"
settings="LD_PRELOAD=${lib#"$root"/} HAWKALLOC_STATS=1 HAWKALLOC_MAP=${picture#"$root"/}"
settings+=" PYTHONMALLOC=malloc"
[[ -z ${HAWKALLOC_POLICY-} ]] || settings+=" HAWKALLOC_POLICY=$HAWKALLOC_POLICY"
echo "   $settings"
echo
rc=0
t0=$EPOCHREALTIME
mkdir -p "$(dirname "$picture")"
LD_PRELOAD=$lib HAWKALLOC_STATS=1 HAWKALLOC_MAP=$picture PYTHONMALLOC=malloc \
  "$python" -s "$tmp/words.py" "$words" 2>"$tmp/stderr" || rc=$?
t1=$EPOCHREALTIME
echo
echo "   python3 ran for $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s under HawkAlloc, exit status $rc"
echo
echo "== HawkAlloc's statistics and heap pictures (on stderr)"
if [[ -s $tmp/stderr ]]; then
  sed 's/^/   /' "$tmp/stderr"
else
  echo "   (none: this build of the library prints no statistics yet)"
fi

echo
if [[ -s $picture ]]; then
  echo "== the heap at exit, drawn to scale: $picture (open it in a browser)"
else
  echo "== no heap picture was written to $picture"
fi
exit "$rc"
