#!/usr/bin/env bash
# GEMV as a fraction of read bandwidth, robust to this kind of VM's run-to-run bandwidth swings: runs
# kernels_bench REPS times as separate processes (each measures ceiling/read_bw, then every GEMV), takes
# each GEMV's fraction of its own process's read_bw, and prints the median (min–max) per dtype.
#   usage: bench/gemv_sweep.sh [REPS=9] [BUILD=build] [ISAS='avx2|avx512|neon']
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-9}
bin=${2:-build}/bench/kernels_bench
isas=${3:-avx2|avx512|neon}
[ -x "$bin" ] || { echo "gemv_sweep: $bin not built (make build)" >&2; exit 1; }
for _ in $(seq "$reps"); do
  "$bin" --benchmark_filter="ceiling/read_bw|gemv/($isas)/" --benchmark_min_time=0.2s 2>/dev/null |
    awk '/^(ceiling|gemv)\// { for (i = 1; i <= NF; ++i) if ($i ~ /^GB\/s=/) { v = $i; sub(/GB\/s=/, "", v); sub(/\/s$/, "", v); printf "%s %s ", $1, v } }'
  echo
done | python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
names = rows[0][0::2]
bw = [float(r[1]) for r in rows]
print(f"{len(rows)} processes; read_bw GB/s median {statistics.median(bw):.1f} ({min(bw):.1f}-{max(bw):.1f})")
for i, name in enumerate(names[1:], 1):
    gbs = [float(r[2 * i + 1]) for r in rows]
    frac = [g / b * 100 for g, b in zip(gbs, bw)]
    print(f"{name:42s} {statistics.median(gbs):5.1f} GB/s  {statistics.median(frac):3.0f} % of read_bw ({min(frac):.0f}-{max(frac):.0f})")
'
