#!/usr/bin/env bash
# view-draw.sh - how long a page of `hawk view` takes in headless Chromium to
# read its data and to draw one call (the page writes both into its hidden
# #timing element): a benchmark, never a test (the machine is noisy).
#   bench/view-draw.sh PAGE.html [OP...]     (default ops: 1, the middle, the end)
set -euo pipefail
page=$(readlink -f "$1")
shift
chromium=${CHROMIUM:-chromium}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
ops=("$@")
if ((${#ops[@]} == 0)); then
  n=$(grep -o 'nops: [0-9]*' "$page" | head -1 | cut -d' ' -f2)
  ops=(1 $((n / 2)) "$n")
fi
flags=(--headless --disable-gpu --no-first-run --user-data-dir="$profile" --virtual-time-budget=120000)
((EUID == 0)) && flags+=(--no-sandbox)
echo "$(basename "$page"): $(stat -c %s "$page") bytes"
for op in "${ops[@]}"; do
  t=$(timeout 300 "$chromium" "${flags[@]}" --dump-dom "file://$page#op=$op" 2>/dev/null |
    sed -n 's/.*<pre id="timing"[^>]*>\([^<]*\)<.*/\1/p')
  echo "  #op=$op: ${t:-no timing (the script did not finish)}"
done
