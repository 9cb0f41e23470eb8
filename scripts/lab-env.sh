# lab-env.sh - what the lab's scripts and tests share: a clean environment (no
# preload and none of the library's variables, which would change every figure
# they compare) and
#   root    the repository (this file's folder's parent)
#   hawk    the tool: HAWK, default <repo>/build/hawk
#   traces  the malloc-lab traces: HAWK_TRACES, default <repo>/../shared/traces
# `source lab-env.sh test` also sources tests/harness.sh and makes the scratch
# folder $work (make_work), as the test runners want.  Sourced by
# scripts/lab-tables.sh, scripts/lab-doc.sh, tests/lab/run.sh,
# tests/lab/heaps.sh, tests/labdoc/run.sh, tests/map/run.sh, tests/view/run.sh.
unset LD_PRELOAD HAWKALLOC_POLICY HAWKALLOC_HEAPS HAWKALLOC_STATS HAWKALLOC_TRACE HAWKALLOC_MAP \
  HAWKALLOC_TCACHE
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hawk=${HAWK:-$root/build/hawk}
traces=${HAWK_TRACES:-$root/../shared/traces}
if [[ ${1-} == test ]]; then
  # shellcheck source=tests/harness.sh
  source "$root/tests/harness.sh"
  make_work
fi
