#!/usr/bin/env bash
# The examples of examples/: each builds against the library and runs, and
# every line it prints is in the docs/lab.md chapter that quotes it (the
# chapter's output comes from the program).  Ends with "N passed, N failed".
#   tests/examples/run.sh   (part of make test; make examples builds them)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/harness.sh
source "$root/tests/harness.sh"

ex=$root/build/examples/region
if [[ ! -x $ex ]]; then
  fail "build/examples/region is built (make examples)"
else
  out=$("$ex" 2>&1)
  rc=$?
  if [[ $rc -eq 0 && -n $out ]]; then ok "examples/region runs"; else fail "examples/region runs" "exit $rc" "$out"; fi
  missing=
  while IFS= read -r line; do
    grep -qF -- "$line" "$root/docs/lab.md" || missing+=" [$line]"
  done <<<"$out"
  if [[ -z $missing ]]; then
    ok "every line examples/region prints is in docs/lab.md ($(grep -c . <<<"$out"))"
  else
    fail "every line examples/region prints is in docs/lab.md" "missing:$missing"
  fi
fi
finish
