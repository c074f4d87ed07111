#pragma once
// nativelm compute kernels: the public API models call. Flat free functions over plain pointers (f32
// activations) and core::TensorView (weights of any dtype). Shapes are written outermost first, as in
// PyTorch; "[M,K]" means M rows of K contiguous floats unless an ld* (leading dimension, in floats)
// says otherwise (ld = 0 means dense).
//
// Conventions
// - Every function is synchronous and may use the process-wide thread pool (core/thread_pool.h) inside;
//   it is safe to call from several threads (parallel regions are serialized) and from inside a
//   parallel_for task (then it runs on the calling thread).
// - Kernels never fail. They allocate only thread-local scratch (quantized activations, a decoded weight
//   panel, attention scores) that grows to the largest shape seen and is then reused.
//   Broken preconditions (wrong shapes, out-of-range ids) are NLM_CHECKed: validate user input first.
// - Outputs may alias inputs only where a comment says "in place ok".
// - The SIMD variant (AVX-512+VNNI / AVX2+FMA / portable; NEON on ARM64) is chosen once at start-up
//   (kernels/dispatch.h: active_isa(), NLM_ISA=portable|avx2|neon). Every variant is tested against
//   the scalar references in kernels/ref/.
// - Weight dtypes (core/dtype.h): f32, f16, bf16, q8_0, q4_0, q4_1, q4_K, q6_K laid out bit for bit as
//   GGUF stores them (use mmapped GGUF data in place), and MLX affine groups after convert_mlx_affine().
//
// Example (one Llama block, decode):
//   kernels::rms_norm(x, 1, d, w_norm, eps, h);                 // h = norm(x)          [1,d]
//   kernels::matmul(h, 1, q_proj, nullptr, q);                  // q = h·Wqᵀ            [1,Hq*D]
//   kernels::rope(q, 1, Hq, D, D, cos, sin, RopeLayout::kNeox); // in place
//   kernels::attention(q, k_cache, v_cache, o, p);              // o = softmax(qkᵀ)v    [1,Hq*D]
#include <cstdint>

#include "core/arena.h"
#include "core/dtype.h"
#include "core/tensor.h"

namespace nlm::kernels {

using core::DType;
using core::TensorView;

// ---------------------------------------------------------------------------------------------------
// Linear layers and weights.

// True for dtypes matmul / embed_rows / dequantize_row accept as weights.
bool is_weight_dtype(DType t);

// y[M,N] = x[M,K] · W[N,K]ᵀ (+ bias[N]).
// w: [N,K] (w.rows() = N, w.cols() = K), any weight dtype, rows w.row_bytes apart; K a multiple of the
// dtype's block size. bias may be null. x rows ldx floats apart, y rows ldy apart. y must not alias x.
// Small M runs the GEMV path (memory bound): for quantized weights (q8_0, q4_0, q4_1, q4_K, q6_K,
// a4_32, a8_32) the activations are quantized to int8 per 32 (q8_0-style: step max|x|/127, round to
// nearest even) and the dot products run in integers, so results differ from f32 math by that rounding.
// Larger M (gemm_min_rows) runs a GEMM: where gemm_runs_int8(w.dtype) and the view carries no
// gemm_panels, in int8 with activations quantized as above, from the ISA's own row count (12 on AVX2;
// on AVX-512, whose GEMV decodes each weight group once for a whole batch, 24 rows for the 32-value
// block formats and 32 for the K-quants: the crossovers measured on Zen 4, docs/performance.md;
// kGemmMinRows on NEON, unmeasured); otherwise the blocked, packed f32 GEMM (weights decoded exactly to f32 panels,
// activations used as they are), from kGemmMinRows rows for f32 weights and views with gemm_panels, from
// kDecodedGemmMinRows rows for weights it must decode per call (below that, decoding and packing every
// weight row cost more than the GEMV path: TinyLlama-shaped f16 and q8_0 prompts of 16–40 tokens on
// Zen 3, docs/performance.md).
inline constexpr int64_t kGemmMinRows = 16;
inline constexpr int64_t kDecodedGemmMinRows = 40;
// True when the active ISA has an int8 GEMM for weights of dtype t (AVX2: 4-bit and q6_K; AVX-512 and
// NEON: q8_0 and 4-bit, NEON also q6_K).
bool gemm_runs_int8(DType t);
// The fewest activation rows for which matmul runs a GEMM with weight view w on the active ISA.
int64_t gemm_min_rows(const TensorView& w);
// True when matmul with M activation rows and weight view w runs a GEMM on the active ISA.
bool matmul_runs_gemm(const TensorView& w, int64_t M);
void matmul(const float* x, int64_t M, const TensorView& w, const float* bias, float* y, int64_t ldx = 0,
            int64_t ldy = 0);

// The 2-D weight w decoded to f32 and packed as the GEMM path reads it. Setting a view's `gemm_panels`
// to the buffer's data() lets every later matmul with M >= kGemmMinRows skip decoding and packing the
// weight. Costs 4·N·K bytes (rounded up to 16 rows): for encoders (small weights, every call a GEMM),
// not for LLM weights, which decode mostly runs through the GEMV path.
core::AlignedBuffer<float> pack_gemm_panels(const TensorView& w);

// out[n, D] = table[ids[i], :] converted to f32. table: [V, D] of any weight dtype.
void embed_rows(const TensorView& table, const int32_t* ids, int64_t n, float* out, int64_t ld_out = 0);

// dst[n] = src converted to f32 (src: n elements of dtype t, n a multiple of its block size).
void dequantize_row(const void* src, DType t, int64_t n, float* dst);
// dst = src encoded as dtype t (f32, f16, bf16, q8_0, q4_0, q4_1, q4_K, q6_K); n a multiple of the
// block size; dst holds core::dtype_row_bytes(t, n) bytes. Round to nearest; q4_K/q6_K use a simple
// min/max search (see quant/quantize.cpp for the error bounds the tests check).
void quantize_row(const float* src, DType t, int64_t n, void* dst);

// MLX affine quantization (mlx.core.quantize, "affine" mode): w[N,K] = scales[N,K/g]·q + biases[N,K/g],
// each row of q one little-endian bit stream in uint32 words ([N, K·bits/32]), bits 2, 3, 4, 5, 6 or 8,
// group g in {32, 64, 128}, scales/biases f16, bf16 or f32 (scale_dtype). Converts exactly into dst,
// which must hold dtype_row_bytes(mlx_affine_dtype(bits), K)·N bytes, laid out as a TensorView of that
// dtype. Returns false (and writes nothing) for unsupported bits/group/dtype.
DType mlx_affine_dtype(int bits);  // kA4_32 (bits ≤ 4) or kA8_32 (32-element blocks, f32 scale and bias)
bool convert_mlx_affine(const uint32_t* wq, const void* scales, const void* biases, DType scale_dtype,
                        int64_t N, int64_t K, int bits, int group, void* dst);

// ---------------------------------------------------------------------------------------------------
// Normalization. x, y: [rows, dim]; in place ok (y == x).

// y = (x - mean) / sqrt(var + eps) · w + b (w, b may be null: 1 and 0). var is the biased variance.
void layer_norm(const float* x, int64_t rows, int64_t dim, const float* w, const float* b, float eps,
                float* y);
// y = x / sqrt(mean(x²) + eps) · w; add_one: · (1 + w) (Gemma). w may be null (1).
void rms_norm(const float* x, int64_t rows, int64_t dim, const float* w, float eps, float* y,
              bool add_one = false);
// Row-wise softmax in place: x[rows, n]. -inf entries get 0; a row of only -inf becomes all 0.
void softmax(float* x, int64_t rows, int64_t n);
// x[rows, dim] /= max(||x||₂, eps), in place (torch.nn.functional.normalize).
void l2_normalize(float* x, int64_t rows, int64_t dim, float eps = 1e-12f);

// ---------------------------------------------------------------------------------------------------
// Element-wise, n floats; in place ok.

void gelu(const float* x, int64_t n, float* y);       // x·Φ(x) with erf (BERT, "gelu")
void gelu_tanh(const float* x, int64_t n, float* y);  // tanh approximation ("gelu_pytorch_tanh", "gelu_new")
void silu(const float* x, int64_t n, float* y);       // x·sigmoid(x)
void swiglu(const float* gate, const float* up, int64_t n, float* y);  // silu(gate)·up
void geglu(const float* gate, const float* up, int64_t n, float* y, bool tanh_approx);  // gelu(gate)·up
void add(const float* a, const float* b, int64_t n, float* y);  // y = a + b
void mul(const float* a, const float* b, int64_t n, float* y);  // y = a · b
void scale(const float* x, int64_t n, float s, float* y);       // y = s · x
// x[rows, cols] += bias[cols], in place.
void add_bias(float* x, int64_t rows, int64_t cols, const float* bias);

// ---------------------------------------------------------------------------------------------------
// Rotary position embeddings.

enum class RopeLayout {
  kNeox,         // rotate pairs (i, i + rot_dim/2): HF "rotate_half", GGUF NEOX mode (qwen2, gemma, phi3)
  kInterleaved,  // rotate pairs (2i, 2i + 1): GPT-J, GGUF llama "norm" mode (after GGUF's Q/K permute)
};

// inv_freq[i] = theta^(-2i/rot_dim), i < rot_dim/2 (the default, unscaled frequencies). Scaled variants
// (linear, llama3, yarn, longrope, dynamic) are computed by the model from config and passed as tables.
void rope_default_inv_freq(float theta, int64_t rot_dim, float* inv_freq);
// cos/sin tables [n_tokens, rot_dim/2]: cos[t, i] = cos(positions[t] · inv_freq[i]) · attention_factor
// (attention_factor = 1 unless yarn/longrope says otherwise). Angles are computed in double.
void rope_cos_sin(const float* inv_freq, int64_t rot_dim, const int32_t* positions, int64_t n_tokens,
                  float attention_factor, float* cos, float* sin);
// Rotates x[n_tokens, n_heads, head_dim] in place: the first rot_dim dims of each head (partial rotary
// when rot_dim < head_dim), using cos/sin [n_tokens, rot_dim/2] from rope_cos_sin. ld: floats between
// tokens (0 = n_heads·head_dim), so q/k slices of a fused qkv buffer can be rotated in place.
void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t rot_dim, const float* cos,
          const float* sin, RopeLayout layout, int64_t ld = 0);

// ---------------------------------------------------------------------------------------------------
// Attention: out = softmax(mask(softcap(scale · q·kᵀ) + bias)) · v, per query head.

struct AttentionParams {
  int64_t n_q = 0;     // Tq: queries
  int64_t n_kv = 0;    // Tk: keys / values (e.g. the filled part of a KV cache)
  int n_heads = 0;     // Hq
  int n_kv_heads = 0;  // Hkv, divides Hq (GQA; 1 = MQA). Query head h reads kv head h / (Hq / Hkv).
  int head_dim = 0;    // D
  float scale = 0.f;   // multiplies q·k; 0 means 1/sqrt(D)
  bool causal = false;
  int64_t q_pos0 = 0;  // key index of query 0: query i sits at key position q_pos0 + i (causal, window)
  int64_t window = 0;  // sliding window: query at p sees keys j > p - window only (0 = unlimited)
  float softcap = 0.f;                // logits = softcap · tanh(logits / softcap) (0 = off; Gemma 2)
  const uint8_t* key_mask = nullptr;  // [Tk]: 0 = padding, never attended (null = all valid)
  const float* bias = nullptr;        // [Hq, Tq, Tk] additive bias after scale/softcap (MPNet, T5)
  int64_t ld_q = 0, ld_kv = 0, ld_o = 0;  // floats between tokens (0 = dense: H·D)
  int64_t kv_head_stride = 0;  // floats between kv head h's k (v) and head h + 1's (0 = D: [Tk, Hkv, D])
};

// q: [Tq, Hq, D]; k, v: [Tk, Hkv, D] (or, with kv_head_stride and ld_kv, any layout such as a cache's
// [Hkv, capacity, D]); out: [Tq, Hq, D] (must not alias q/k/v). A query that sees no key (all masked)
// gets zeros.
void attention(const float* q, const float* k, const float* v, float* out, const AttentionParams& p);

// ---------------------------------------------------------------------------------------------------
// Pooling for embeddings.

enum class Pooling {
  kMean,  // mean of the unmasked tokens
  kCls,   // the first unmasked token
  kMax,   // element-wise max over the unmasked tokens
  kLast,  // the last unmasked token (decoder embedders: right padding → last real token)
};

// x: [batch, n_tokens, dim]; mask: [batch, n_tokens] (1 = real token; null = all real); out: [batch, dim].
// A sequence with no real token gets zeros.
void pool(const float* x, int64_t batch, int64_t n_tokens, int64_t dim, const uint8_t* mask, Pooling mode,
          float* out);

}  // namespace nlm::kernels
