#!/usr/bin/env bash
# The man pages (man/): each passes `mandoc -T lint -W warning` with nothing
# to say, every option `hawk ... --help' prints is in hawk(1), every
# HAWKALLOC_* variable of src/options.c and every misuse message of src/ is
# in hawkalloc(7), every hawk_* function of include/hawkalloc.h is in
# hawkalloc(3).  Ends with "N passed, N failed".
#   tests/man/run.sh   (make test-man; part of make test)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
hawk=${HAWK:-$root/build/hawk}
man=$root/man

# shellcheck source=tests/harness.sh
source "$root/tests/harness.sh"
# check NAME LIST: ok when LIST (what is missing) is empty.
check() {
  if [[ -z $2 ]]; then ok "$1"; else fail "$1" "missing: $(echo $2)"; fi
}
# The page's text as written, with roff's \- and \(dq turned back into - and ".
page_text() { sed -e 's/\\-/-/g' -e 's/\\(dq/"/g' -e 's/\\&//g' "$man/$1"; }

if ! command -v mandoc >/dev/null 2>&1; then
  fail "mandoc is installed (make deps installs it)"
else
  for page in hawk.1 hawkalloc.3 hawkalloc.7; do
    out=$(mandoc -T lint -W warning "$man/$page" 2>&1)
    rc=$?
    if [[ $rc -eq 0 && -z $out ]]; then
      ok "mandoc -T lint -W warning $page: clean"
    else
      fail "mandoc -T lint -W warning $page: clean" "exit $rc" "$out"
    fi
  done
fi

# hawk(1): each command of `hawk --help`, and each option of the overall and
# of each command's help.
if [[ ! -x $hawk ]]; then
  fail "build/hawk is built (make tools)"
else
  text=$(page_text hawk.1)
  commands=$("$hawk" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p')
  missing=
  for c in $commands; do
    grep -q "^\.SS hawk $c\b" <<<"$text" || missing+=" $c"
  done
  if [[ -z $commands ]]; then
    fail "hawk --help lists commands"
  else
    check "hawk(1) has a section for each command of hawk --help ($(echo $commands))" "$missing"
  fi
  for c in "" $commands; do
    # Options as the help prints them: in the usage lines ([--stats]) and at
    # the start of the lines that describe them ("  --stats  print ...").
    help=$("$hawk" $c --help 2>&1)
    opts=$({
      grep -oE '\[--?[a-z][a-z-]*' <<<"$help" | tr -d '['
      grep -oE '^ +--?[a-z][a-z-]*' <<<"$help" | tr -d ' '
    } | sort -u)
    # The overall help names its options in its text; --version is not in it.
    [[ -z $c ]] && opts=$( (grep -oE -- '--[a-z][a-z-]*' <<<"$help"; echo --version) | sort -u)
    missing=
    for o in $opts; do
      grep -qE -- "(^|[^a-z-])$o([^a-z-]|\$)" <<<"$text" || missing+=" $o"
    done
    check "hawk(1) names every option of 'hawk ${c:+$c }--help' ($(echo $opts))" "$missing"
  done
fi

# hawkalloc(7): every variable of the options table.
text=$(page_text hawkalloc.7)
vars=$(grep -oE '"HAWKALLOC_[A-Z_]+"' "$root/src/options.c" | tr -d '"' | sort -u)
missing=
for v in $vars; do grep -qE "^\.(B|BI|TP).*\b$v\b" <<<"$text" || missing+=" $v"; done
check "hawkalloc(7) describes every variable of src/options.c ($(echo $vars | wc -w))" "$missing"

# hawkalloc(7): every complete misuse message written in src/.
msgs=$(grep -ohE '"(double free|invalid pointer|heap corruption)[^"]*"' "$root"/src/*.c |
  tr -d '"' | grep -E '^[^(]*(\([^)]*\))?$' | sort -u)
missing=
while IFS= read -r m; do
  [[ -z $m ]] && continue
  grep -qF -- "$m" <<<"$text" || missing+=" '$m'"
done <<<"$msgs"
check "hawkalloc(7) lists every misuse message of src/ ($(grep -c . <<<"$msgs"))" "$missing"

# hawkalloc(3): every function and macro of the public header.
text=$(page_text hawkalloc.3)
names=$(grep -oE '\bhawk_[a-z_]+\(|#define HAWKALLOC_VERSION[A-Z_]*\b' "$root/include/hawkalloc.h" |
  sed -e 's/($//' -e 's/#define //' | sort -u)
missing=
for n in $names; do
  grep -qE "^\.(B|BI|BR|SH|Nm).*\b$n\b" <<<"$text" || missing+=" $n"
done
check "hawkalloc(3) names every function and version macro of hawkalloc.h ($(echo $names | wc -w))" \
  "$missing"

finish
