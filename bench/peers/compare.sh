#!/bin/bash
# nativelm next to its peers, in one run, on the same weights (../shared/peers makes the models).
#
#   PEERS=/tmp/peers bash bench/peers/compare.sh [OUT_DIR]     (after `make build`; default OUT_DIR /tmp/nlm-compare)
#
# Prerequisites: the peer harness set up as ../shared/peers/README.md says (models under $PEERS/gguf/models,
# ONNX files under $PEERS/onnx, `npm ci` in $PEERS/js; PyTorch from Debian's python3-torch). Run it on an idle
# machine: every program uses 2 threads. Raw outputs land in OUT_DIR; tables are built from them by hand
# into docs/performance.md.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS=${PEERS:-/tmp/peers}
OUT=${1:-/tmp/nlm-compare}
M=$PEERS/gguf/models
BUILD=${BUILD:-$ROOT/build}
PY=/usr/bin/python3
OPENBLAS=/usr/lib/x86_64-linux-gnu/openblas-openmp
WHAT=${WHAT:-kernels embed llm}
mkdir -p "$OUT"
stamp() { echo "== $1 $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT/log.txt"; }

if [[ " $WHAT " == *" kernels "* ]]; then
  stamp kernels
  "$BUILD/bench/kernels_bench" --benchmark_filter='ceiling|gemm/(openblas|avx2)/f32|gemv/avx2/(f16|q8_0|q4_0|q4_K)/' \
    --benchmark_min_time=0.5 > "$OUT/kernels.txt" 2>&1
fi

if [[ " $WHAT " == *" embed "* ]]; then
  for shape in minilm-l6 bert-base; do
    stamp "embed $shape"
    NLM_EMBED_MODEL=$M/$shape-random-hf NLM_TOKEN_IDS=$PEERS/data/token_ids.json \
      "$BUILD/bench/embed_bench" > "$OUT/embed_nativelm_$shape.txt" 2>&1
    "$PY" "$ROOT/bench/peers/serve_latency.py" "$BUILD/nativelm" "$M/$shape-random-hf" "$PEERS/data/token_ids.json" \
      > "$OUT/serve_latency_$shape.txt" 2>&1
    (cd "$PEERS/js" && node bench_embed_ort.mjs "$OUT/embed_ort_$shape.json" "$PEERS/onnx/$shape-random.onnx") \
      > "$OUT/embed_ort_$shape.txt" 2>&1
    (cd "$PEERS/js" && node bench_embed_llamacpp.mjs "$OUT/embed_llamacpp_$shape.json" "$M/$shape-random-f32.gguf") \
      > "$OUT/embed_llamacpp_$shape.txt" 2>&1
    (cd "$PEERS" && LD_LIBRARY_PATH=$OPENBLAS "$PY" onnx/bert_torch.py bench "$shape" "$OUT/torch_$shape.json") \
      > "$OUT/torch_$shape.txt" 2>&1
  done
fi

if [[ " $WHAT " == *" llm "* ]]; then
  for model in smollm2-135m smollm2-360m tinyllama-1.1b; do
    stamp "llm $model"
    "$BUILD/bench/llm_bench" --model "$M/$model-random-f16.gguf" > "$OUT/llm_nativelm_$model.txt" 2>&1
    (cd "$PEERS/js" && node bench_llm.mjs "$OUT/llm_llamacpp_$model.json" "$M/$model-random-f16.gguf") \
      > "$OUT/llm_llamacpp_$model.txt" 2>&1
  done
fi
stamp done
