# lab-table.awk - a Markdown table of `hawk replay --tsv` output, for
# scripts/lab-doc.sh and scripts/lab-tables.sh:
#   awk -F'\t' -v kind=util|tput [-v alloc=1] -f scripts/lab-table.awk FILE.tsv
# kind util: one row per trace, one utilization column per policy or
# allocator, a bold mean row; tput: the same with throughput in millions of
# operations per second.  A column is named by its policy for HawkAlloc rows
# (with alloc: as "HawkAlloc (policy)") and by its allocator otherwise
# (system: glibc).
function label(a, p) {
  if (a == "hawk") return (alloc != "" ? "HawkAlloc (" p ")" : p)
  if (a == "system") return "glibc"
  return a
}
NR == 1 { next }
{
  col = label($2, $3)
  if (!(col in seen)) { seen[col] = 1; cols[++ncol] = col }
  if ($1 ~ /^mean of/) { mu[col] = $7; mt[col] = $8; meanname = $1; next }
  t = $1; sub(/\.rep$/, "", t)
  if (!(t in tseen)) { tseen[t] = 1; rows[++nrow] = t; ops[t] = $4; live[t] = $5 }
  u[t, col] = $7; tp[t, col] = $8
}
function pct(x) { return sprintf("%.1f%%", 100 * x) }
function mops(x) { return sprintf("%.2f", x / 1e6) }
function commas(n,   s) {
  s = sprintf("%d", n)
  while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
  return s
}
END {
  head = "| trace | ops | peak live bytes |"; rule = "| --- | ---: | ---: |"
  for (c = 1; c <= ncol; c++) { head = head " " cols[c] " |"; rule = rule " ---: |" }
  print head; print rule
  for (r = 1; r <= nrow; r++) {
    t = rows[r]; line = "| " t " | " commas(ops[t]) " | " commas(live[t]) " |"
    for (c = 1; c <= ncol; c++)
      line = line " " (kind == "util" ? pct(u[t, cols[c]]) : mops(tp[t, cols[c]])) " |"
    print line
  }
  line = "| **" meanname "** | | |"
  for (c = 1; c <= ncol; c++)
    line = line " **" (kind == "util" ? pct(mu[cols[c]]) : mops(mt[cols[c]])) "** |"
  print line
}
