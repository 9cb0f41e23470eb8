#!/usr/bin/env bash
# The bash completion of hawk (completion/hawk): sources it, fills COMP_WORDS
# and COMP_CWORD as bash does, calls the completion function and checks
# COMPREPLY.  Each command's options are checked against what
# `hawk COMMAND --help` prints, so the two cannot drift apart.
# Ends with "N passed, N failed".
#   tests/completion/run.sh   (part of make test)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
hawk=${HAWK:-$root/build/hawk}
script=${HAWK_COMPLETION:-$root/completion/hawk}

# shellcheck source=tests/harness.sh
source "$root/tests/harness.sh"
make_work

# shellcheck source=/dev/null
source "$script"
if [[ $(complete -p hawk 2>/dev/null) != "complete -F _hawk hawk" ]]; then
  fail "sourcing completion/hawk registers 'complete -F _hawk hawk'" "$(complete -p hawk 2>&1)"
  echo
  echo "$passed passed, $failed failed"
  exit 1
fi
ok "sourcing completion/hawk registers 'complete -F _hawk hawk'"

# complete_line 'hawk run --po': the sorted completions of the line's last
# word (an empty last word when the line ends with a space).
complete_line() {
  local line=$1
  read -r -a COMP_WORDS <<<"$line"
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE=$line
  COMP_POINT=${#line}
  COMPREPLY=()
  _hawk hawk "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
# expect LINE WANT: the completions of LINE are exactly WANT (sorted).
expect() {
  local got
  got=$(complete_line "$1")
  if [[ $got == "$2" ]]; then ok "'$1' completes to: $2"; else fail "'$1' completes to: $2" "got: $got"; fi
}
# includes LINE WORD...: the completions of LINE include every WORD.
includes() {
  local line=$1 got w missing=
  shift
  got=" $(complete_line "$line") "
  for w in "$@"; do [[ $got == *" $w "* ]] || missing+=" $w"; done
  if [[ -z $missing ]]; then ok "'$line' offers $*"; else fail "'$line' offers $*" "missing:$missing" "got:$got"; fi
}

expect "hawk " "--help --version -h grade help map render replay run view"
expect "hawk r" "render replay run"
expect "hawk help " "grade map render replay run view"
expect "hawk run --policy " "best-fit first-fit next-fit segregated"
expect "hawk run --policy be" "best-fit"
expect "hawk replay --policy " "all best-fit first-fit next-fit segregated"
expect "hawk replay --policy first-fit,n" "first-fit,next-fit"
expect "hawk replay --allocator s" "system"
expect "hawk run --heaps 1" "1 10 11 12 13 14 15 16"
expect "hawk run --st" "--stats"
expect "hawk replay --ts" "--tsv"
expect "hawk grade --al" "--align"
expect "hawk map --a" "--at"
expect "hawk map --policy a" "all"
expect "hawk grade --align " "16 8"

# Each command, and each command's options, as `hawk --help` and
# `hawk COMMAND --help` print them.
if [[ -x $hawk ]]; then
  commands=$("$hawk" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p')
  # shellcheck disable=SC2086
  includes "hawk " $commands
  # shellcheck disable=SC2086
  includes "hawk help " $(grep -vx help <<<"$commands")
  for c in $(grep -vx help <<<"$commands"); do
    help=$("$hawk" "$c" --help 2>&1)
    opts=$({
      grep -oE '\[--?[a-z][a-z-]*' <<<"$help" | tr -d '['
      grep -oE '^ +--?[a-z][a-z-]*' <<<"$help" | tr -d ' '
    } | sort -u)
    # shellcheck disable=SC2086
    includes "hawk $c -" $opts
  done
else
  fail "build/hawk is built (make tools)"
fi

# Files: --map and --out offer only .svg files (and directories); a trace
# to replay may be any file.
mkdir "$work/pics"
touch "$work/p.svg" "$work/p.txt" "$work/trace.rep"
expect "hawk map --out $work/p" "$work/p.svg $work/pics"
expect "hawk run --map $work/p" "$work/p.svg $work/pics"
expect "hawk replay $work/" "$work/p.svg $work/p.txt $work/pics $work/trace.rep"
touch "$work/p.snap"
expect "hawk render $work/p" "$work/p.snap $work/pics"
expect "hawk replay --allocator $work/p" "$work/pics"
# The pattern is the file name's, not the path's: in a directory whose name
# holds ".so" (mktemp's names may) a snapshot is still not a library.
mkdir "$work/lib.so.d"
touch "$work/lib.so.d/p.snap" "$work/lib.so.d/p.so"
expect "hawk replay --allocator $work/lib.so.d/p" "$work/lib.so.d/p.so"
# After --, a command, then its arguments (files).
includes "hawk run --stats -- ech" echo
includes "hawk map -- l" ls
expect "hawk run -- ls $work/t" "$work/trace.rep"

finish
