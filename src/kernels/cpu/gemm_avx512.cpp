// AVX-512 (F, BW, VL, DQ, VNNI) table: the AVX2 table with the two GEMMs that gain most from 512-bit
// registers and VNNI, and attention's two decode kernels.
// - f32: the packed layouts of isa.h; a 12×32 micro-kernel on two 6-row A panels × two 16-column B
//   panels (24 zmm accumulators), 6×32 and 6×16 ones at the grid's edges, masked edge stores. On a
//   Sapphire Rapids VM (2 threads) 12×32 measured 183 GFLOP/s at 2048x768x3072 against 131–195 for
//   6×32 alone; splitting k-blocks to 192 (B slice in L1) gained nothing (docs/performance.md). The A
//   panels are prefetched 64 k-steps ahead.
// - int8 (q8_0, q4_0, q4_1, q4_K, a4_32, a8_32 weights × int8 activations): VPDPBUSD multiplies
//   unsigned by signed bytes, so q8_0 / q4_0 weights are stored as w + 128 (unsigned) and activations
//   stay signed; Σ(w + 128)·a over a 32-block exceeds Σw·a by 128·Σa, which the activation quantizer
//   already provides (ActRows::sum), so each block's accumulator starts at −128·Σa. One 32-block of one
//   row and 16 columns costs 8 VPDPBUSD + convert, scale and FMA, against 32 f32 FMAs for the same
//   products. Tile: 4 rows × 2 panels (each activation broadcast feeds 2 VPDPBUSD); measured against
//   8 × 1 and 6 × 2, it was fastest. q4_1, q4_K and MLX a4_32 / a8_32 (w = s·u + o per 32, u the 4- or
//   8-bit unsigned value; kernels/cpu/block_affine.h) feed u itself as the unsigned operand, start at
//   zero and add o·d_a·Σa per block with one more FMA. q5_0 / q5_1 / q5_K go the same way with their 5-bit
//   values (q5_0 as w + 128 = u + 112, like q4_0); q6_K (w = d·sc·(u − 32), one scale per 16) as w + 128,
//   with each block's two 16-value halves accumulated and scaled apart (kHalves), each starting at
//   −128·Σa over its 16 activations. These four are unpacked per row by vector code (unpacked_u), into a
//   16 × 32-byte tile that the same gathers pack; the others are gathered straight from the blocks.
// - attention's decode kernels (dot_heads, mix_rows): the scores and the weighted sum of v rows for the
//   query heads that share a kv head, 16 keys × 1 head or 1 key × 4 heads per step, k / v rows prefetched
//   ahead.
// NLM_AVX512_EMULATE (test builds only) compiles this file without AVX-512 on scalar stand-ins for the
// intrinsics (avx512_emu.h), so the logic is tested on any x86-64 machine.
#ifdef NLM_AVX512_EMULATE
#include "kernels/cpu/avx512_emu.h"
#else
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstring>

#include "core/arena.h"
#include "core/f16.h"
#include "kernels/cpu/block_affine.h"
#include "kernels/cpu/gemm_blocked.h"
#include "kernels/cpu/isa.h"
#include "kernels/quant/blocks.h"

// GCC 12 reports its own _mm512_undefined_ps() inside _mm512_cvtepi32_ps as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace nlm::kernels::cpu {
namespace avx512 {
namespace {

using core::DType;

constexpr int64_t kMR = kPackMR, kNR = kPackNR;
constexpr int64_t kPrefetchA = 64 * kMR;  // floats ahead in an A panel (64 k-steps)

// C row (+)= v on its first n (1..16) columns.
inline void store_row(float* c, __m512 v, int64_t n, bool accumulate) {
  if (n >= 16) {
    if (accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(c));
    _mm512_storeu_ps(c, v);
    return;
  }
  const auto k = static_cast<__mmask16>((1u << n) - 1);
  if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, c));
  _mm512_mask_storeu_ps(c, k, v);
}

// C[6,16] (+)= Ap · Bp over kc (one B panel); writes the mr×nr corner.
void micro16(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t mr, int64_t nr,
             bool accumulate) {
  __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const float* a = ap + k * kMR;
    const __m512 b = _mm512_loadu_ps(bp + k * kNR);
    c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), b, c0);
    c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), b, c1);
    c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), b, c2);
    c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), b, c3);
    c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), b, c4);
    c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), b, c5);
  }
  const __m512 rows[kMR] = {c0, c1, c2, c3, c4, c5};
  for (int64_t i = 0; i < mr; ++i) store_row(c + i * ldc, rows[i], nr, accumulate);
}

// C[6,32] (+)= Ap · [Bp | Bq] over kc (two B panels); writes the mr×nr corner (16 < nr ≤ 32).
void micro32(int64_t kc, const float* ap, const float* bp, const float* bq, float* c, int64_t ldc, int64_t mr,
             int64_t nr, bool accumulate) {
  // Named accumulators: an array would be kept in memory across the loop.
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const float* a = ap + k * kMR;
    const __m512 b0 = _mm512_loadu_ps(bp + k * kNR), b1 = _mm512_loadu_ps(bq + k * kNR);
    __m512 x = _mm512_set1_ps(a[0]);
    c00 = _mm512_fmadd_ps(x, b0, c00), c01 = _mm512_fmadd_ps(x, b1, c01);
    x = _mm512_set1_ps(a[1]);
    c10 = _mm512_fmadd_ps(x, b0, c10), c11 = _mm512_fmadd_ps(x, b1, c11);
    x = _mm512_set1_ps(a[2]);
    c20 = _mm512_fmadd_ps(x, b0, c20), c21 = _mm512_fmadd_ps(x, b1, c21);
    x = _mm512_set1_ps(a[3]);
    c30 = _mm512_fmadd_ps(x, b0, c30), c31 = _mm512_fmadd_ps(x, b1, c31);
    x = _mm512_set1_ps(a[4]);
    c40 = _mm512_fmadd_ps(x, b0, c40), c41 = _mm512_fmadd_ps(x, b1, c41);
    x = _mm512_set1_ps(a[5]);
    c50 = _mm512_fmadd_ps(x, b0, c50), c51 = _mm512_fmadd_ps(x, b1, c51);
  }
  const __m512 rows[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int64_t i = 0; i < mr; ++i) {
    store_row(c + i * ldc, rows[i][0], kNR, accumulate);
    store_row(c + i * ldc + kNR, rows[i][1], nr - kNR, accumulate);
  }
}

// C[12, 32] (+)= A (two 6-row panels, a_next floats apart) · [Bp | Bq] over kc: 24 zmm accumulators, so
// each B vector feeds 12 FMAs and each broadcast 2 (mr > 6, nr > 16).
#define NLM_ROW2(i, ai)                                   \
  x = _mm512_set1_ps(ai);                                 \
  c##i##0 = _mm512_fmadd_ps(x, b0, c##i##0);              \
  c##i##1 = _mm512_fmadd_ps(x, b1, c##i##1)
void micro12x32(int64_t kc, const float* ap, int64_t a_next, const float* bp, const float* bq, float* c,
                int64_t ldc, int64_t mr, int64_t nr, bool accumulate) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00, c80 = c00,
         c81 = c00, c90 = c00, c91 = c00, cA0 = c00, cA1 = c00, cB0 = c00, cB1 = c00;
  const float* aq = ap + a_next;
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    const float* a = ap + k * kMR;
    const float* a2 = aq + k * kMR;
    const __m512 b0 = _mm512_loadu_ps(bp + k * kNR), b1 = _mm512_loadu_ps(bq + k * kNR);
    // An A pair's first call reads it from beyond L2 (the packed A of a batch exceeds L2); measured on
    // Zen 5, 2 threads: 64 k-steps ahead +4–8 % at 2048x768x3072 and 2048x3072x768, 8 or 16 ahead less.
    _mm_prefetch(reinterpret_cast<const char*>(a + kPrefetchA), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(a2 + kPrefetchA), _MM_HINT_T0);
    __m512 x;
    NLM_ROW2(0, a[0]);
    NLM_ROW2(1, a[1]);
    NLM_ROW2(2, a[2]);
    NLM_ROW2(3, a[3]);
    NLM_ROW2(4, a[4]);
    NLM_ROW2(5, a[5]);
    NLM_ROW2(6, a2[0]);
    NLM_ROW2(7, a2[1]);
    NLM_ROW2(8, a2[2]);
    NLM_ROW2(9, a2[3]);
    NLM_ROW2(A, a2[4]);
    NLM_ROW2(B, a2[5]);
  }
  const __m512 rows[12][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51},
                              {c60, c61}, {c70, c71}, {c80, c81}, {c90, c91}, {cA0, cA1}, {cB0, cB1}};
  for (int64_t i = 0; i < std::min<int64_t>(mr, 12); ++i) {
    store_row(c + i * ldc, rows[i][0], kNR, accumulate);
    store_row(c + i * ldc + kNR, rows[i][1], nr - kNR, accumulate);
  }
}
#undef NLM_ROW2

// C[6·rp, 16·np] (+)= rp A panels · np B panels (gemm_blocked.h's wide micro-kernel interface).
void micro(int64_t rp, int64_t np, int64_t kc, const float* ap, int64_t a_next, const float* bp, const float* bq,
           float* c, int64_t ldc, int64_t mr, int64_t nr, bool accumulate) {
  if (rp == 2 && np == 2) return micro12x32(kc, ap, a_next, bp, bq, c, ldc, mr, nr, accumulate);
  for (int64_t r = 0; r < rp; ++r) {  // edges of the grid: 6-row strips
    const int64_t m = std::min(kMR, mr - r * kMR);
    if (m <= 0) break;
    if (np == 2) {
      micro32(kc, ap + r * a_next, bp, bq, c + r * kMR * ldc, ldc, m, nr, accumulate);
    } else {
      micro16(kc, ap + r * a_next, bp, c + r * kMR * ldc, ldc, m, nr, accumulate);
    }
  }
}

// ---- int8 GEMM ----

// One packed 32-block of 16 weight rows: unsigned bytes [j < 8][row < 16][4] (lane `row` of the j-th
// vector holds k = 4j .. 4j+3), then the 16 rows' scales and offsets as f32. q8_0 / q4_0 store w + 128
// (offsets unused: the accumulator starts at −128·Σa); q4_1 / q4_K store their 4-bit values u, with
// w = s·u + o (q4_1: s = d, o = m; q4_K: s = d·sc, o = −dmin·m of the sub-block).
constexpr int64_t kI8Block = 8 * 64 + 2 * 16 * 4;
constexpr int kI8Rows = 4, kI8Panels = 2;  // activation rows and weight panels per micro-kernel call

constexpr bool has_offset(DType t) {
  return t == DType::kQ4_1 || t == DType::kQ4_K || t == DType::kA4_32 || t == DType::kA8_32 ||
         t == DType::kQ5_1 || t == DType::kQ5_K;
}
// Packed from bytes unpacked per row (pack_unpacked) rather than gathered from the blocks.
constexpr bool unpacked_first(DType t) {
  return t == DType::kQ5_0 || t == DType::kQ5_1 || t == DType::kQ5_K || t == DType::kQ6_K;
}
constexpr bool mlx_affine(DType t) { return t == DType::kA4_32 || t == DType::kA8_32; }  // f32 s, b; then qs

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

// Bytes before a 32-block's values (q8_0, q4_0: f16 d; q4_1: d, m; a4_32 / a8_32: f32 s, b).
constexpr int64_t value_offset(DType t) { return mlx_affine(t) ? 8 : t == DType::kQ4_1 ? 4 : 2; }

// Block b of one q5_0 / q5_1 / q5_K / q6_K row as its 32 packed bytes (w + 128; q5_1 / q5_K: u itself).
inline __m256i unpacked_u(DType t, const char* row, int64_t b) {
  const int64_t bb = core::dtype_info(t).block_bytes;
  const __m256i low4 = _mm256_set1_epi8(15);
  const auto load = [](const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); };
  if (t == DType::kQ6_K) {  // 32-value group s = 4h + c: ql >> 4·(c / 2), qh bits 2c, 2c + 1; stored u + 96
    const auto& blk = *reinterpret_cast<const quant::BlockQ6_K*>(row + b / 8 * bb);
    const int s = static_cast<int>(b % 8), h = s / 4, c = s % 4;
    __m256i l = load(blk.ql + 64 * h + 32 * (c % 2));
    if (c >= 2) l = _mm256_srli_epi16(l, 4);
    const __m256i q =
        _mm256_and_si256(_mm256_srl_epi16(load(blk.qh + 32 * h), _mm_cvtsi32_si128(2 * c)), _mm256_set1_epi8(3));
    return _mm256_add_epi8(_mm256_or_si256(_mm256_and_si256(l, low4), _mm256_slli_epi16(q, 4)),
                           _mm256_set1_epi8(96));
  }
  if (t == DType::kQ5_K) {  // sub-block b % 8: nibbles of qs[32·(b % 8 / 2) ..], bit b % 8 of qh[l]
    const auto& blk = *reinterpret_cast<const quant::BlockQ5_K*>(row + b / 8 * bb);
    __m256i q = load(blk.qs + 32 * (b % 8 / 2));
    if (b % 2) q = _mm256_srli_epi16(q, 4);
    const __m256i bit = _mm256_and_si256(_mm256_srl_epi16(load(blk.qh), _mm_cvtsi32_si128(static_cast<int>(b % 8))),
                                         _mm256_set1_epi8(1));
    return _mm256_or_si256(_mm256_and_si256(q, low4), _mm256_slli_epi16(bit, 4));
  }
  // q5_0 / q5_1: value k < 16 in the low nibble of qs[k], k ≥ 16 in the high one; bit k of qh as 16.
  const char* blk = row + b * bb;
  const int64_t qh_at = t == DType::kQ5_0 ? 2 : 4;
  const __m128i qs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + qh_at + 4));
  const __m256i nib = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(qs, 4), qs), low4);
  uint32_t h;
  std::memcpy(&h, blk + qh_at, 4);
  const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  const __m256i hv = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(h)), pick), bit);
  const __m256i u = _mm256_or_si256(nib, _mm256_and_si256(_mm256_cmpeq_epi8(hv, bit), _mm256_set1_epi8(16)));
  return t == DType::kQ5_0 ? _mm256_add_epi8(u, _mm256_set1_epi8(112)) : u;  // q5_0: w + 128 = u + 112
}

// The scale and offset slots of block b of a q5_* / q6_K row (q6_K: its two 16-value halves' scales).
inline void unpacked_scales(DType t, const char* row, int64_t b, float* s, float* o) {
  if (t != DType::kQ6_K) return block_affine<f16>(t, row, b, b + 1, s, o, 1);
  const auto& blk = *reinterpret_cast<const quant::BlockQ6_K*>(row + b / 8 * core::dtype_info(t).block_bytes);
  const int g = static_cast<int>(b % 8), i = 8 * (g / 4) + 2 * (g % 4);
  *s = f16(blk.d) * blk.scales[i];
  *o = f16(blk.d) * blk.scales[i + 1];
}

// Block b (of 32) of one weight row as 32 unsigned bytes (as packed), its scale and offset.
void decode_block(DType t, const char* row, int64_t b, uint8_t* u, float* s, float* o) {
  if (unpacked_first(t)) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(u), unpacked_u(t, row, b));
    return unpacked_scales(t, row, b, s, o);
  }
  block_affine<f16>(t, row, b, b + 1, s, o, 1);
  if (t == DType::kQ4_K) {  // sub-blocks 2j and 2j + 1: the low and high nibbles of qs[32j .. 32j + 32)
    const uint8_t* qs = reinterpret_cast<const quant::BlockQ4_K*>(row)[b / 8].qs + 32 * (b % 8 / 2);
    for (int k = 0; k < 32; ++k) u[k] = b % 2 ? qs[k] >> 4 : qs[k] & 15;
    return;
  }
  const auto* qs = reinterpret_cast<const uint8_t*>(row + b * core::dtype_info(t).block_bytes + value_offset(t));
  if (t == DType::kQ8_0 || t == DType::kA8_32) {
    for (int k = 0; k < 32; ++k) u[k] = t == DType::kQ8_0 ? static_cast<uint8_t>(qs[k] ^ 0x80) : qs[k];
    return;
  }
  const uint8_t bias = t == DType::kQ4_0 ? 120 : 0;  // q4_0: w + 128 = nibble + 120
  for (int j = 0; j < 16; ++j) {
    u[j] = static_cast<uint8_t>((qs[j] & 15) + bias);
    u[j + 16] = static_cast<uint8_t>((qs[j] >> 4) + bias);
  }
}

// 16 full weight rows as nb packed blocks: the j-th vector of a block is one gather of dword j from
// each row (the 16 × 8 dword transpose); the scales (and q4_1's offsets) one gather of the rows' f16
// fields, q4_K's sub-block scales decoded per row.
void pack_i8_panel16(DType t, const char* w, int64_t w_rb, int64_t nb, uint8_t* out) {
  const int64_t bb = core::dtype_info(t).block_bytes;
  int32_t offsets[kNR];
  for (int r = 0; r < kNR; ++r) offsets[r] = static_cast<int32_t>(r * w_rb);
  const __m512i rows = _mm512_loadu_si512(offsets);
  const __m512i sign = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
  const __m512i low4 = _mm512_set1_epi32(0x0F0F0F0F), bias4 = _mm512_set1_epi32(0x78787878);  // nibble + 120
  const bool k_quant = t == DType::kQ4_K;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* o = out + b * kI8Block;
    auto* so = reinterpret_cast<float*>(o + 8 * 64);
    // The block's first value byte in row 0, and where its nibbles sit (q4_0 / q4_1: k < 16 low, k ≥ 16
    // high, 16 bytes; q4_K: one nibble half of 32 bytes).
    const char* vals;
    if (k_quant) {
      vals = w + (b / 8) * bb + 16 + 32 * (b % 8 / 2);
    } else {
      vals = w + b * bb + value_offset(t);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      __m512i v;
      if (t == DType::kQ8_0) {  // w + 128 = w ^ 0x80
        v = _mm512_xor_si512(_mm512_i32gather_epi32(rows, vals + 4 * j, 1), sign);
      } else if (t == DType::kA8_32) {  // already unsigned
        v = _mm512_i32gather_epi32(rows, vals + 4 * j, 1);
      } else if (k_quant) {
        v = _mm512_i32gather_epi32(rows, vals + 4 * j, 1);
        if (b % 2) v = _mm512_srli_epi32(v, 4);
        v = _mm512_and_si512(v, low4);
      } else {
        v = _mm512_i32gather_epi32(rows, vals + 4 * (j % 4), 1);
        if (j >= 4) v = _mm512_srli_epi32(v, 4);
        v = _mm512_and_si512(v, low4);
        if (t == DType::kQ4_0) v = _mm512_add_epi32(v, bias4);
      }
      _mm512_storeu_si512(o + 64 * j, v);
    }
    if (k_quant) {
      for (int r = 0; r < kNR; ++r) block_affine<f16>(t, w + r * w_rb, b, b + 1, so + r, so + kNR + r, 1);
      continue;
    }
    if (mlx_affine(t)) {  // f32 s and b, as bits
      _mm512_storeu_si512(so, _mm512_i32gather_epi32(rows, w + b * bb, 1));
      _mm512_storeu_si512(so + kNR, _mm512_i32gather_epi32(rows, w + b * bb + 4, 1));
      continue;
    }
    const __m512i d = _mm512_i32gather_epi32(rows, w + b * bb, 1);  // f16 d in each dword's low half
    _mm512_storeu_ps(so, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d)));
    if (t == DType::kQ4_1) {
      const __m512i m = _mm512_i32gather_epi32(rows, w + b * bb + 2, 1);
      _mm512_storeu_ps(so + kNR, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(m)));
    }
  }
}

// 16 full q5_* / q6_K rows as nb packed blocks: each row's block unpacked into a 16 × 32-byte tile, then
// the tile transposed by 8 dword gathers, as pack_i8_panel16 does from the blocks themselves.
void pack_unpacked16(DType t, const char* w, int64_t w_rb, int64_t nb, uint8_t* out) {
  alignas(64) uint8_t tile[kNR * 32];
  int32_t offsets[kNR];
  for (int r = 0; r < kNR; ++r) offsets[r] = 32 * r;
  const __m512i rows = _mm512_loadu_si512(offsets);
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* o = out + b * kI8Block;
    auto* so = reinterpret_cast<float*>(o + 8 * 64);
    for (int r = 0; r < kNR; ++r) {
      const char* row = w + r * w_rb;
      _mm256_store_si256(reinterpret_cast<__m256i*>(tile + 32 * r), unpacked_u(t, row, b));
      unpacked_scales(t, row, b, so + r, so + kNR + r);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) _mm512_storeu_si512(o + 64 * j, _mm512_i32gather_epi32(rows, tile + 4 * j, 1));
  }
}

// Weight rows [0, nr) (nr ≤ 16; the rest get zero values, scales and offsets) as nb packed blocks.
void pack_i8_panel(DType t, const char* w, int64_t w_rb, int64_t nr, int64_t nb, uint8_t* out) {
  if (nr == kNR) {
    return unpacked_first(t) ? pack_unpacked16(t, w, w_rb, nb, out) : pack_i8_panel16(t, w, w_rb, nb, out);
  }
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* o = out + b * kI8Block;
    float so[2 * kNR] = {};
    for (int64_t r = 0; r < kNR; ++r) {
      uint8_t u[32] = {};
      if (r < nr) decode_block(t, w + r * w_rb, b, u, so + r, so + kNR + r);
      for (int k = 0; k < 32; ++k) o[(k / 4) * 64 + r * 4 + k % 4] = u[k];
    }
    std::memcpy(o + 8 * 64, so, sizeof so);
  }
}

// out[i, 0..nr) = activation rows m0 .. m0+MR of x times NP packed panels (nb blocks each, bp_next
// bytes apart). Without offsets, x.sum holds each block's accumulator start, −128·Σa (kHalves: one per
// 16-value half, 2·nb per row); with them (kOffset), x.sum is unused and asum holds d_a·Σa per row and
// block (gemm_int8 prepares both).
template <int MR, int NP, bool kOffset, bool kHalves>
void micro_i8(const ActRows& x, const float* asum, int64_t m0, int64_t nb, const uint8_t* bp, int64_t bp_next,
              float* out, int64_t ldo, int64_t nr) {
  static_assert(!(kOffset && kHalves));
  constexpr int64_t kStarts = kHalves ? 2 : 1;  // accumulator starts per block
  const int8_t* a = x.qs + m0 * x.K;
  const float* ad = x.d + m0 * nb;
  __m512 f[MR][NP];
  __m512i s[MR][NP];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
    for (int p = 0; p < NP; ++p) f[i][p] = _mm512_setzero_ps();
  }
  const auto start = [&](int64_t b, int h) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512i init =
          kOffset ? _mm512_setzero_si512() : _mm512_set1_epi32(x.sum[((m0 + i) * nb + b) * kStarts + h]);
#pragma GCC unroll 2
      for (int p = 0; p < NP; ++p) s[i][p] = init;
    }
  };
  // f += s · (the panel's scales at `field` · d_a), plus the offsets' term.
  const auto scale = [&](const uint8_t* blk, int64_t b, int field) {
#pragma GCC unroll 2
    for (int p = 0; p < NP; ++p) {
      const float* so = reinterpret_cast<const float*>(blk + p * bp_next + 8 * 64);
      const __m512 dw = _mm512_loadu_ps(so + field * kNR);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        f[i][p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[i][p]), _mm512_mul_ps(dw, _mm512_set1_ps(ad[i * nb + b])),
                                  f[i][p]);
        if constexpr (kOffset) {
          f[i][p] = _mm512_fmadd_ps(_mm512_loadu_ps(so + kNR), _mm512_set1_ps(asum[(m0 + i) * nb + b]), f[i][p]);
        }
      }
    }
  };
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = bp + b * kI8Block;
    start(b, 0);
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      if (kHalves && j == 4) {  // the first 16 values under the first scale, the rest under the second
        scale(blk, b, 0);
        start(b, 1);
      }
      __m512i wv[NP];
#pragma GCC unroll 2
      for (int p = 0; p < NP; ++p) wv[p] = _mm512_loadu_si512(blk + p * bp_next + 64 * j);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        int32_t q;
        std::memcpy(&q, a + i * x.K + b * 32 + 4 * j, 4);
        const __m512i av = _mm512_set1_epi32(q);
#pragma GCC unroll 2
        for (int p = 0; p < NP; ++p) s[i][p] = _mm512_dpbusd_epi32(s[i][p], wv[p], av);
      }
    }
    scale(blk, b, kHalves ? 1 : 0);
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
    for (int p = 0; p < NP; ++p) {
      if (nr > p * kNR) store_row(out + i * ldo + p * kNR, f[i][p], nr - p * kNR, false);
    }
  }
}

using MicroI8 = void (*)(const ActRows&, const float*, int64_t, int64_t, const uint8_t*, int64_t, float*, int64_t,
                         int64_t);
template <bool kOffset, bool kHalves>
constexpr MicroI8 kMicroI8[kI8Panels][kI8Rows + 1] = {
    {nullptr, micro_i8<1, 1, kOffset, kHalves>, micro_i8<2, 1, kOffset, kHalves>, micro_i8<3, 1, kOffset, kHalves>,
     micro_i8<4, 1, kOffset, kHalves>},
    {nullptr, micro_i8<1, 2, kOffset, kHalves>, micro_i8<2, 2, kOffset, kHalves>, micro_i8<3, 2, kOffset, kHalves>,
     micro_i8<4, 2, kOffset, kHalves>}};

}  // namespace

void gemm_packed(const float* ap, int64_t M, int64_t K, const float* bp, int64_t N, float* c, int64_t ldc) {
  gemm_packed_blocked<micro, 2, 2>(ap, M, K, bp, N, c, ldc);
}

void gemm_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t M,
              int64_t N, int64_t K) {
  const IsaKernels& base = *avx2_kernels();  // the packers: same layouts, AVX2 transposes
  gemm_f32_by_packing(base.pack_a, base.pack_b, gemm_packed, a, lda, b, ldb, c, ldc, M, N, K);
}

// The weight rows are packed once per call (all of them: callers pass a few panels' worth, which stay
// in L2), then each group of 4 activation rows sweeps every panel while its bytes sit in L1.
void gemm_int8(DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows, float* out,
               int64_t ldo) {
  const int64_t nb = x.K / 32, n_panels = (n_rows + kNR - 1) / kNR;
  thread_local core::AlignedBuffer<uint8_t> packed;
  packed.resize(static_cast<size_t>(n_panels * nb * kI8Block));
  for (int64_t p = 0; p < n_panels; ++p) {
    pack_i8_panel(wt, w + p * kNR * w_rb, w_rb, std::min(kNR, n_rows - p * kNR), nb,
                  packed.data() + p * nb * kI8Block);
  }
  const bool offset = has_offset(wt), halves = wt == DType::kQ6_K;
  thread_local core::AlignedBuffer<int32_t> start;
  thread_local core::AlignedBuffer<float> asum;
  if (offset) {
    asum.resize(static_cast<size_t>(M * nb));
    for (int64_t i = 0; i < M * nb; ++i) asum[i] = x.d[i] * static_cast<float>(x.sum[i]);
  } else if (halves) {  // −128·Σa per 16 activations
    start.resize(static_cast<size_t>(2 * M * nb));
    for (int64_t i = 0; i < 2 * M * nb; ++i) {
      int32_t t = 0;
      for (int k = 0; k < 16; ++k) t += x.qs[16 * i + k];
      start[i] = -128 * t;
    }
  } else {
    start.resize(static_cast<size_t>(M * nb));
    for (int64_t i = 0; i < M * nb; ++i) start[i] = -128 * x.sum[i];
  }
  const ActRows xs{x.qs, x.d, offset ? x.sum : start.data(), x.K};
  const auto& micros = offset ? kMicroI8<true, false> : halves ? kMicroI8<false, true> : kMicroI8<false, false>;
  const int64_t pb = nb * kI8Block;
  for (int64_t m0 = 0; m0 < M; m0 += kI8Rows) {
    const int64_t mr = std::min<int64_t>(kI8Rows, M - m0);
    for (int64_t p = 0; p < n_panels;) {
      const int64_t np = std::min<int64_t>(kI8Panels, n_panels - p);
      micros[np - 1][mr](xs, asum.data(), m0, nb, packed.data() + p * pb, pb, out + m0 * ldo + p * kNR, ldo,
                         std::min(kNR * np, n_rows - p * kNR));
      p += np;
    }
  }
}

// Attention's scores s[g·lds + j] = q_g · k_j for 16 keys at a time: per head, one zmm accumulator per
// key over the head dim (the block's 16 k rows stay in L1 for every head), then one transposing
// reduction (15 pairwise two-source permutes and adds, 4 levels) turns the 16 accumulators into the 16
// sums. The k rows kDotAhead blocks ahead are prefetched: a decode step reads each layer's cache from
// DRAM.
struct alignas(64) Lanes {
  int32_t v[16];
};
constexpr Lanes reduce_pairs(int s, int hi) {  // level s (8, 4, 2, 1): x's blocks of s lanes, then y's
  Lanes l{};
  for (int o = 0; o < 16; ++o) {
    const int b = o / s, half = 8 / s;
    l.v[o] = (b < half ? 0 : 16) + 2 * s * (b % half) + o % s + (hi ? s : 0);
  }
  return l;
}
constexpr Lanes kReduceLo[4] = {reduce_pairs(8, 0), reduce_pairs(4, 0), reduce_pairs(2, 0), reduce_pairs(1, 0)};
constexpr Lanes kReduceHi[4] = {reduce_pairs(8, 1), reduce_pairs(4, 1), reduce_pairs(2, 1), reduce_pairs(1, 1)};
constexpr int64_t kDotAhead = 2;

// a[0]'s lane j becomes the sum of a[j]'s lanes (a[] is scratch).
inline __m512 reduce16(__m512 (&a)[16]) {
  const auto level = [&](int l) {
    const __m512i lo = _mm512_loadu_si512(kReduceLo[l].v), hi = _mm512_loadu_si512(kReduceHi[l].v);
    return [=](__m512 x, __m512 y) {
      return _mm512_add_ps(_mm512_permutex2var_ps(x, lo, y), _mm512_permutex2var_ps(x, hi, y));
    };
  };
  const auto l0 = level(0), l1 = level(1), l2 = level(2), l3 = level(3);
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) a[i] = l0(a[2 * i], a[2 * i + 1]);
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) a[i] = l1(a[2 * i], a[2 * i + 1]);
  a[0] = l2(a[0], a[1]);
  a[1] = l2(a[2], a[3]);
  return l3(a[0], a[1]);
}

inline __mmask16 first_lanes(int64_t n) { return static_cast<__mmask16>((1u << std::clamp<int64_t>(n, 0, 16)) - 1); }

// One head's scores against 16 k rows (kb, ldk apart) with the head dim in kC ≤ 8 zmm: the query held in
// registers, one pointer per row (kC = 0: any D, the query reloaded per chunk).
template <int kC>
__m512 dot_block(const float* q, const float* kb, int64_t ldk, int64_t D) {
  __m512 acc[16];
  if constexpr (kC > 0) {
    const __mmask16 last = first_lanes(D - 16 * (kC - 1));
    __m512 qv[kC];
#pragma GCC unroll 8
    for (int c = 0; c < kC; ++c) qv[c] = _mm512_maskz_loadu_ps(c == kC - 1 ? last : 0xFFFF, q + 16 * c);
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) {
      const float* r = kb + j * ldk;
      acc[j] = _mm512_mul_ps(qv[0], _mm512_maskz_loadu_ps(kC == 1 ? last : 0xFFFF, r));
#pragma GCC unroll 8
      for (int c = 1; c < kC; ++c) {
        acc[j] = _mm512_fmadd_ps(qv[c], _mm512_maskz_loadu_ps(c == kC - 1 ? last : 0xFFFF, r + 16 * c), acc[j]);
      }
    }
  } else {
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
    for (int64_t c = 0; c < D; c += 16) {
      const __mmask16 m = first_lanes(D - c);
      const __m512 qv = _mm512_maskz_loadu_ps(m, q + c);
#pragma GCC unroll 16
      for (int j = 0; j < 16; ++j) acc[j] = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, kb + j * ldk + c), acc[j]);
    }
  }
  return reduce16(acc);
}

void dot_heads(const float* q, int64_t ldq, int64_t G, const float* k, int64_t ldk, int64_t n, int64_t D, float* s,
               int64_t lds) {
  using Block = __m512 (*)(const float*, const float*, int64_t, int64_t);
  constexpr Block kBlocks[9] = {dot_block<0>, dot_block<1>, dot_block<2>, dot_block<3>, dot_block<4>,
                                dot_block<5>, dot_block<6>, dot_block<7>, dot_block<8>};
  const int64_t chunks = (D + 15) / 16;
  const Block block = kBlocks[chunks <= 8 ? chunks : 0];
  int64_t j0 = 0;
  for (; j0 + 16 <= n; j0 += 16) {
    const float* ahead = k + std::min(j0 + kDotAhead * 16, n - 16) * ldk;
    for (int j = 0; j < 16; ++j) {
      for (int64_t c = 0; c < D; c += 16) _mm_prefetch(reinterpret_cast<const char*>(ahead + j * ldk + c), _MM_HINT_T0);
    }
    for (int64_t g = 0; g < G; ++g) _mm512_storeu_ps(s + g * lds + j0, block(q + g * ldq, k + j0 * ldk, ldk, D));
  }
  for (; j0 < n; ++j0) {  // the last < 16 keys one at a time
    for (int64_t g = 0; g < G; ++g) {
      __m512 acc = _mm512_setzero_ps();
      for (int64_t c = 0; c < D; c += 16) {
        const __mmask16 m = first_lanes(D - c);
        const __m512 qv = _mm512_maskz_loadu_ps(m, q + g * ldq + c);
        acc = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, k + j0 * ldk + c), acc);
      }
      s[g * lds + j0] = _mm512_reduce_add_ps(acc);
    }
  }
}

// Attention's P·V in tiles of kG ≤ 4 heads × 64 columns (16 zmm accumulators): each v row's 64 columns
// are loaded once per tile and meet kG broadcast weights; columns past D are masked. Rows kMixAhead
// ahead are prefetched.
constexpr int64_t kMixAhead = 24;

template <int kG>
void mix_tile(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t n, int64_t cols, float* o,
              int64_t ldo) {
  const __mmask16 m0 = first_lanes(cols), m1 = first_lanes(cols - 16), m2 = first_lanes(cols - 32),
                  m3 = first_lanes(cols - 48);
  __m512 acc[kG][4];
#pragma GCC unroll 4
  for (int g = 0; g < kG; ++g) acc[g][0] = acc[g][1] = acc[g][2] = acc[g][3] = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    const float* vj = v + j * ldv;
    const char* ahead = reinterpret_cast<const char*>(v + std::min(j + kMixAhead, n - 1) * ldv);
    _mm_prefetch(ahead, _MM_HINT_T0);
    if (m1) _mm_prefetch(ahead + 64, _MM_HINT_T0);
    if (m2) _mm_prefetch(ahead + 128, _MM_HINT_T0);
    if (m3) _mm_prefetch(ahead + 192, _MM_HINT_T0);
    const __m512 v0 = _mm512_maskz_loadu_ps(m0, vj), v1 = _mm512_maskz_loadu_ps(m1, vj + 16);
    const __m512 v2 = _mm512_maskz_loadu_ps(m2, vj + 32), v3 = _mm512_maskz_loadu_ps(m3, vj + 48);
#pragma GCC unroll 4
    for (int g = 0; g < kG; ++g) {
      const __m512 w = _mm512_set1_ps(p[g * ldp + j]);
      acc[g][0] = _mm512_fmadd_ps(w, v0, acc[g][0]);
      acc[g][1] = _mm512_fmadd_ps(w, v1, acc[g][1]);
      acc[g][2] = _mm512_fmadd_ps(w, v2, acc[g][2]);
      acc[g][3] = _mm512_fmadd_ps(w, v3, acc[g][3]);
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < kG; ++g) {
    _mm512_mask_storeu_ps(o + g * ldo, m0, acc[g][0]);
    _mm512_mask_storeu_ps(o + g * ldo + 16, m1, acc[g][1]);
    _mm512_mask_storeu_ps(o + g * ldo + 32, m2, acc[g][2]);
    _mm512_mask_storeu_ps(o + g * ldo + 48, m3, acc[g][3]);
  }
}

void mix_rows(const float* p, int64_t ldp, int64_t G, const float* v, int64_t ldv, int64_t n, int64_t D, float* o,
              int64_t ldo) {
  constexpr void (*kTiles[4])(const float*, int64_t, const float*, int64_t, int64_t, int64_t, float*, int64_t) = {
      mix_tile<1>, mix_tile<2>, mix_tile<3>, mix_tile<4>};
  for (int64_t g0 = 0; g0 < G; g0 += 4) {
    const auto tile = kTiles[std::min<int64_t>(4, G - g0) - 1];
    for (int64_t c = 0; c < D; c += 64) tile(p + g0 * ldp, ldp, v + c, ldv, n, D - c, o + g0 * ldo + c, ldo);
  }
}

}  // namespace avx512

namespace avx512 {
void dot_quant(core::DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows, float* out,
               int64_t ldo);  // quant_avx512.cpp
}  // namespace avx512

// Only this table's own entries; dispatch.cpp fills the rest from the AVX2 table. A constant (no code
// runs here: this file's instructions may not exist on the CPU that asks).
const IsaKernels* avx512_kernels() {
  static constexpr IsaKernels k = {.isa = Isa::kAvx512,
                                   .dot_quant = avx512::dot_quant,
                                   .gemm_f32 = avx512::gemm_f32,
                                   .gemm_packed = avx512::gemm_packed,
                                   .gemm_int8 = avx512::gemm_int8,
                                   .gemm_int8_dtypes = dtype_bit(core::DType::kQ8_0) | dtype_bit(core::DType::kQ4_0) |
                                                       dtype_bit(core::DType::kQ4_1) | dtype_bit(core::DType::kQ4_K) |
                                                       dtype_bit(core::DType::kA4_32) | dtype_bit(core::DType::kA8_32) |
                                                       dtype_bit(core::DType::kQ5_0) | dtype_bit(core::DType::kQ5_1) |
                                                       dtype_bit(core::DType::kQ5_K) | dtype_bit(core::DType::kQ6_K),
                                   .dot_heads = avx512::dot_heads,
                                   .mix_rows = avx512::mix_rows,
                                   // dot_quant's batches decode each weight group once for 4 rows:
                                   // crossovers measured on Zen 4 (docs/performance.md).
                                   .gemm_int8_min_rows = 24,
                                   .gemm_int8_min_rows_k = 32};
  return &k;
}

}  // namespace nlm::kernels::cpu
