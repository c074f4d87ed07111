#pragma once
// The per-ISA kernel table behind kernels.h. One table per instruction set (portable C++, AVX2+FMA,
// AVX-512); dispatch.cpp picks one at start-up. Entries a table leaves null fall back to the portable
// table's (AVX-512: to the AVX2 table's). Tables are constants, so asking for one runs none of its
// ISA's instructions. Nothing outside src/kernels sees this header.
#include <cstdint>

#include "core/dtype.h"
#include "kernels/dispatch.h"
#include "kernels/quant/blocks.h"

namespace nlm::kernels::cpu {

// M activation rows quantized to int8 per 32 (quant::ActQ8 per row, rows `stride` apart in each array),
// with the scale group quant::act_group(weight dtype): kernels for q4_K / q6_K may read one d per 256.
struct ActRows {
  const int8_t* qs;     // [M, K]
  const float* d;       // [M, K/32]
  const int32_t* sum;   // [M, K/32]
  int64_t K;
};

// Packed f32 GEMM operands, laid out the same on every ISA (so a weight packed once at load serves
// whichever table runs):
//  - B (a weight, N rows × K, row r = output column r): panels of kPackNR rows; panel p is [K][kPackNR]
//    floats at p·kPackNR·K, rows past N zero.
//  - A (activations, M × K): k-blocks of kPackKC; within the block at k0 (kc = min(kPackKC, K − k0)),
//    m-panels of kPackMR rows, each [kc][kPackMR], at k0·Mp + q·kPackMR·kc (Mp = M rounded up to
//    kPackMR; rows past M zero).
inline constexpr int64_t kPackMR = 6, kPackNR = 16, kPackKC = 768;

struct IsaKernels {
  Isa isa;
  // out[m·ldo + r] = Σ_k x[m·ldx + k] · w_r[k] for m < M and the `n_rows` consecutive weight rows
  // w_r = w + r·w_rb (dtype f32 / f16 / bf16).
  void (*dot_float)(core::DType wt, const float* x, int64_t ldx, int64_t M, const char* w, int64_t w_rb,
                    int64_t n_rows, int64_t K, float* out, int64_t ldo);
  // The same for quantized weights against int8 activations.
  void (*dot_quant)(core::DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows,
                    float* out, int64_t ldo);
  // Quantizes one row of K activations (K % group == 0) as quant::quantize_act_ref does.
  void (*quantize_act)(const float* x, int64_t K, int8_t* qs, float* d, int32_t* sum, int64_t group);
  // C[M,N] (ldc) = A[M,K] (lda) · B[N,K]ᵀ (ldb), f32, single-threaded, any sizes.
  void (*gemm_f32)(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t M,
                   int64_t N, int64_t K);
  // Vector helpers used by norms, softmax and attention.
  float (*dot_f32)(const float* a, const float* b, int64_t n);
  void (*scale_f32)(float s, const float* x, float* y, int64_t n);  // y = s·x
  float (*sum_sq)(const float* x, float c, int64_t n);               // Σ(x − c)²
  float (*sum)(const float* x, int64_t n);
  float (*max)(const float* x, int64_t n);
  float (*exp_sub_sum)(float* x, float m, int64_t n);  // x = exp(x − m), returns Σ
  void (*rms_apply)(const float* x, const float* w, float inv, bool add_one, float* y, int64_t n);
  void (*ln_apply)(const float* x, const float* w, const float* b, float mean, float inv, float* y, int64_t n);
  void (*unary)(int op, const float* x, float* y, int64_t n);  // op: kOp* below
  void (*binary)(int op, const float* a, const float* b, float* y, int64_t n);
  // Packed GEMM (layouts above). pack_a writes m-panels [q0, q1) of every k-block; pack_b writes every
  // panel of B's N rows; gemm_packed computes C[M, N] (ldc) from packed A and the panels of N columns
  // starting at bp.
  void (*pack_a)(const float* a, int64_t lda, int64_t M, int64_t K, int64_t q0, int64_t q1, float* ap);
  void (*pack_b)(const float* b, int64_t ldb, int64_t N, int64_t K, float* bp);
  void (*gemm_packed)(const float* ap, int64_t M, int64_t K, const float* bp, int64_t N, float* c, int64_t ldc);
  // Int8 GEMM for the weight dtypes in gemm_int8_dtypes (null where the ISA has none): the same sums as
  // dot_quant, for any M, with the weight rows repacked per call for the ISA's int8 dot instruction.
  // Single-threaded.
  void (*gemm_int8)(core::DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows,
                    float* out, int64_t ldo);
  uint32_t gemm_int8_dtypes;  // dtype_bit(t) for each t that gemm_int8 takes
  // n values of a weight row to f32, bit for bit as quant::dequantize (GEMM panels, embedding rows).
  void (*dequantize)(const void* src, core::DType t, int64_t n, float* dst);
  // s[g·lds + j] = Σ_c q[g·ldq + c] · k[j·ldk + c] for g < G, j < n, c < D: attention's scores of the G
  // query heads that share one kv head (each k row is read once for all G).
  void (*dot_heads)(const float* q, int64_t ldq, int64_t G, const float* k, int64_t ldk, int64_t n, int64_t D,
                    float* s, int64_t lds);
  // o[g·ldo + c] = Σ_j p[g·ldp + j] · v[j·ldv + c] for g < G, c < D, j < n: attention's weighted sum of
  // value rows for the G query heads that share one kv head (each v row is read once for all G).
  void (*mix_rows)(const float* p, int64_t ldp, int64_t G, const float* v, int64_t ldv, int64_t n, int64_t D,
                   float* o, int64_t ldo);
  // The fewest activation rows for which gemm_int8 beats dot_quant's batches, for the 32-value block
  // formats and for the K-quants (256-value super-blocks); 0: kernels::kGemmMinRows.
  int64_t gemm_int8_min_rows;
  int64_t gemm_int8_min_rows_k;
};

constexpr uint32_t dtype_bit(core::DType t) { return 1u << static_cast<int>(t); }

enum UnaryOp { kOpGelu, kOpGeluTanh, kOpSilu };
enum BinaryOp { kOpAdd, kOpMul, kOpSwiglu, kOpGeglu, kOpGegluTanh };

const IsaKernels& portable_kernels();
const IsaKernels* avx2_kernels();    // null when not compiled in
const IsaKernels* avx512_kernels();  // null when not compiled in
const IsaKernels* neon_kernels();    // null when not compiled in (x86)
// The AVX-512 table's VBMI paths (q4_0's GEMV), on from start-up where the CPU has VBMI (always in the
// emulated test build). avx512_use_vbmi(false) turns them off so that tests check both paths on one
// machine; it returns whether they are on afterwards (never where VBMI is missing). Not for use while
// kernels run.
bool avx512_use_vbmi(bool on);
bool avx512_vbmi();

// The active table (dispatch.cpp), every entry non-null except gemm_int8.
const IsaKernels& active_kernels();

}  // namespace nlm::kernels::cpu
