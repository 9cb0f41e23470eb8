#!/usr/bin/env bash
# hostile.sh - the lab's hostile-input cases on their own: tests/lab/records.sh
# (records and traces that made the commands hang, crash or grow),
# tests/lab/inputs.sh (files that are FIFOs, sparse, or carry control bytes)
# and tests/lab/killed.sh (hawk killed leaves no scratch), which
# tests/lab/run.sh sources too.  The mutations of tools/ that these
# cases guard run this script, seconds long, rather than the whole lab suite,
# and only the part of it that guards them (TEST_PARTS, tests/harness.sh):
# align, leak, keyframes, collide, map-at (records.sh), fifo, quote, sparse,
# allocator, shrink, names, heaps, fsize (inputs.sh), killed, pass-on (killed.sh).
# Ends with "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lab-env.sh
source "$here/../../scripts/lab-env.sh" test
for f in "$hawk" "$root/build/libhawkalloc.so"; do
  if [[ ! -f $f ]]; then
    echo "hostile: $f does not exist; build it with 'make lib tools'" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
done
# shellcheck source=tests/lab/records.sh
source "$here/records.sh"
# shellcheck source=tests/lab/inputs.sh
source "$here/inputs.sh"
# shellcheck source=tests/lab/killed.sh
source "$here/killed.sh"
finish
