#!/usr/bin/env bash
# Runs bench/region's modes interleaved, ROUNDS times (default 5), and
# prints a markdown table: per mode the median wall time, the median CPU
# time (user + system) and the page faults of one run, and the ratio of
# the CPU time to hawk-free's.  mi-heap and mi-free only where region-mi
# was built with mimalloc.h.  REQUESTS and OBJECTS as region's arguments.
#   bench/region.sh   (make bench-region)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
req=${REQUESTS:-2000}
obj=${OBJECTS:-3000}
modes=(hawk-heap hawk-free libc-free)
if build/bench/region-mi mi-heap 1 1 >/dev/null 2>&1; then modes+=(mi-heap mi-free); fi
declare -A wall cpu flt
for ((r = 0; r < rounds; r++)); do
  for m in "${modes[@]}"; do
    case $m in
      hawk-*) bin=build/bench/region ;;
      mi-*) bin=build/bench/region-mi ;;
      *) bin=build/bench/region-libc ;;
    esac
    t=$( { /usr/bin/time -f '%e %U %S %R' "$bin" "$m" "$req" "$obj" >/dev/null; } 2>&1 | tail -n 1)
    read -r e u s f <<<"$t"
    wall[$m]+="$e "
    cpu[$m]+="$(echo "$u + $s" | bc) "
    flt[$m]=$f
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${cpu[hawk-free]}" | median)
echo "$req requests of $obj objects (16-512 bytes), $rounds interleaved rounds, medians:"
echo
echo "| mode | wall s | CPU s (user+sys) | page faults | CPU / hawk-free |"
echo "| --- | ---: | ---: | ---: | ---: |"
for m in "${modes[@]}"; do
  w=$(echo "${wall[$m]}" | median)
  c=$(echo "${cpu[$m]}" | median)
  ratio=$(awk -v c="$c" -v b="$base" 'BEGIN { if (b > 0) printf "%.2f", c / b; else print "-" }')
  echo "| $m | $w | $c | ${flt[$m]} | $ratio |"
done
