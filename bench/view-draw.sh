#!/usr/bin/env bash
# view-draw.sh - how fast a page of `hawk view` is in headless Chromium: a
# benchmark, never a test (the machine is noisy).  For each op it opens
# PAGE.html#op=OP&bench from disk, driven through the DevTools protocol (on a
# pipe, in real time: --virtual-time-budget would stop the page's clock
# while it waits), and prints what the page wrote into its hidden #timing
# element: when the first call was drawn, counted from the start of loading
# (parsing the page, inflating and decoding the chunk of that call), when
# the charts were, then the time to jump to 20 calls scattered over the
# trace (each jump decodes the chunk it lands in unless it already was) and
# to step on 20 times, and where that time went.
#   bench/view-draw.sh PAGE.html [OP...]     (default ops: 1, the middle, the end)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
page=$(readlink -f "$1")
shift
chromium=${CHROMIUM:-chromium}
ops=("$@")
if ((${#ops[@]} == 0)); then
  n=$(grep -o 'nops: [0-9]*' "$page" | head -1 | cut -d' ' -f2)
  ops=(1 $((n / 2)) "$n")
fi
echo "$(basename "$page"): $(stat -c %s "$page") bytes"
for op in "${ops[@]}"; do
  t=$(timeout 300 python3 - "file://$page#op=$op&bench" "$chromium" "$root/tests/view" <<'EOF'
import sys
sys.path.insert(0, sys.argv[3])
from cdp import Page
with Page(sys.argv[1], sys.argv[2]) as p:  # real time: the page's clock runs while it waits
    text = p.until("(t => t && (!/bench/.test(location.hash) || /jump/.test(t)) && t)"
                   "((document.getElementById('timing') || {}).textContent || '')")
print(text or "no timing (the script did not finish)")
EOF
  ) || t="no timing (chromium failed)"
  echo "  #op=$op: $t"
done
