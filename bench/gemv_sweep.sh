#!/usr/bin/env bash
# GEMV as a fraction of read bandwidth, robust to this kind of VM's run-to-run bandwidth swings: runs
# kernels_bench REPS times as separate processes (each measures ceiling/read_bw, then every GEMV), takes
# each GEMV's fraction of its own process's read_bw, and prints the median (min–max) per dtype. The
# gemv_vs_bw rows carry their own fraction (frac: the GEMV against a sum run call by call beside it),
# printed as measured.
#   usage: bench/gemv_sweep.sh [REPS=9] [BUILD=build] [ISAS='avx2|avx512|neon']
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-9}
bin=${2:-build}/bench/kernels_bench
isas=${3:-avx2|avx512|neon}
[ -x "$bin" ] || { echo "gemv_sweep: $bin not built (make build)" >&2; exit 1; }
for _ in $(seq "$reps"); do
  "$bin" --benchmark_filter="ceiling/read_bw|gemv(_vs_bw)?/($isas)/" --benchmark_min_time=0.2s 2>/dev/null |
    awk '/^(ceiling|gemv)/ {
      gbs = "-"; frac = "-"
      for (i = 1; i <= NF; ++i) {
        if ($i ~ /^GB\/s=/) { gbs = $i; sub(/GB\/s=/, "", gbs); sub(/\/s$/, "", gbs) }
        if ($i ~ /^frac=/) { frac = $i; sub(/frac=/, "", frac) }
      }
      printf "%s %s %s ", $1, gbs, frac
    }'
  echo
done | python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
names = rows[0][0::3]
bw = [float(r[1]) for r in rows]
print(f"{len(rows)} processes; read_bw GB/s median {statistics.median(bw):.1f} ({min(bw):.1f}-{max(bw):.1f})")
for i, name in enumerate(names[1:], 1):
    gbs = [float(r[3 * i + 1]) for r in rows]
    if rows[0][3 * i + 2] != "-":
        frac = [float(r[3 * i + 2]) * 100 for r in rows]
        what = "of the sum beside it"
    else:
        frac = [g / b * 100 for g, b in zip(gbs, bw)]
        what = "of read_bw"
    print(f"{name:42s} {statistics.median(gbs):5.1f} GB/s  {statistics.median(frac):3.0f} % {what} ({min(frac):.0f}-{max(frac):.0f})")
'
