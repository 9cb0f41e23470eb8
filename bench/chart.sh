#!/usr/bin/env bash
# chart.sh - draws a clustered bar chart of ratios to glibc with gnuplot (the
# charts of bench/run.sh and bench/real.sh, docs/performance.md).
#
# Usage: bench/chart.sh DATA.dat OUT.svg TITLE YLABEL
# DATA.dat: a header line of quoted names ("label" "allocator"...), then one
# line per group: a quoted label and one ratio per allocator ("?" for none).
# The y axis is logarithmic, in whole powers of two around the data (at
# least 1/2 to 2), with a dashed line at 1 (glibc).  Writes OUT.svg and,
# beside it, the gnuplot script (OUT minus .svg, plus .gp).
set -euo pipefail
(($# == 4)) || {
  echo "usage: bench/chart.sh DATA.dat OUT.svg TITLE YLABEL" >&2
  exit 2
}
dat=$1 svg=$2 title=$3 ylabel=$4
gp=${svg%.svg}.gp
read -r -a names < <(head -n 1 "$dat" | tr -d '"')
groups=$(($(wc -l <"$dat") - 1))
width=$((300 + 52 * groups))
# A y range of whole powers of two around the data, at least 1/2 to 2.
read -r lo hi tics < <(awk 'NR > 1 { for (i = 2; i <= NF; i++) if ($i != "?" && $i > 0) {
    if (!n++ || $i < min) min = $i; if ($i > max) max = $i } }
  END { lo = -1; hi = 1
    if (n) { while (2 ^ lo > min) lo--; while (2 ^ hi < max) hi++ }
    t = ""; for (e = lo; e <= hi; e++) t = t (t == "" ? "" : ", ") sprintf("\"%s\" %.10g", e < 0 ? "1/" 2 ^ -e : 2 ^ e, 2 ^ e)
    printf "%.10g %.10g %s\n", 2 ^ lo, 2 ^ hi, t }' "$dat")
colors=("#d62728" "#1f77b4" "#2ca02c" "#ff7f0e" "#9467bd")
plot=""
for ((i = 1; i < ${#names[@]}; i++)); do
  [[ -z $plot ]] || plot="$plot, "
  plot="${plot}'$dat' using $((i + 1)):xtic(1) title '${names[i]}' linecolor rgb '${colors[(i - 1) % 5]}'"
done
cat >"$gp" <<GP
set terminal svg size $width,520 dynamic enhanced font 'sans,11' background rgb 'white'
set output '$svg'
set title "$title"
set datafile missing '?'
set key autotitle columnhead
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb '#333333'
set boxwidth 0.9
set logscale y 2
set yrange [$lo:$hi]
set ytics ($tics)
set grid ytics lc rgb '#cccccc'
set ylabel "$ylabel"
set xtics rotate by -40 scale 0 font ',10' nomirror
set key outside top center horizontal
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 linewidth 1.5 linecolor rgb '#000000' front
set label 1 'glibc = 1' at graph 0.005, first 1.08 left font ',9'
plot $plot
GP
gnuplot "$gp" >"${svg%.svg}.gnuplot.log" 2>&1
