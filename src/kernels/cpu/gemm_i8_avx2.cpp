// AVX2 int8 GEMM for 4- and 5-bit block weights (q4_0, q4_1, q4_K, MLX a4_32, q5_0, q5_1, q5_K) and
// q6_K × int8 activations, for CPUs without VNNI. VPMADDUBSW multiplies unsigned by signed bytes and adds
// adjacent pairs into int16 lanes, saturating. The weights' 4-bit values (u ≤ 15) are the unsigned
// operand and activations stay signed (|a| ≤ 127), so a pair is at most 3810 and 8 of them (one
// 32-block: 16 products per lane) at most 30480: a whole block accumulates in int16 without saturation,
// and one VPMADDWD by ones widens it.
// One 32-block of one row and 8 columns costs 8 VPMADDUBSW + 7 adds + 1 VPMADDWD + the scaling,
// against 32 f32 FMAs for the same products.
//  - w = s·u + o per 32-block (q4_0: s = d, o = −8d; q4_1: s = d, o = m; q4_K: s = d·sc, o = −dmin·m of
//    the sub-block; a4_32: its f32 s and b), so Σw·a = s·d_a·Σu·q + o·d_a·Σq. For q4_0 the offset term
//    is integer (−8·Σq is added before the conversion), for the others one more FMA.
//  - 5-bit values (q5_0: o = −16d, integer start −16·Σq; q5_1 and q5_K as q4_1 and q4_K): a pair is at
//    most 7874, so the chain is widened after 4 steps and at the block's end; tiles of 2 rows.
//  - q8_0 is not taken: its signed bytes need two such planes (w + 128 = 16·hi + lo), twice the work,
//    which measured no faster than the f32 GEMM on dequantized panels (docs/performance.md).
// Weights are repacked per call into 16-column panels; per 32-block: [k/4][2 strips of 8 columns]
// [4 bytes], then 16 scales s and 16 offsets o (f32).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/arena.h"
#include "kernels/cpu/block_affine.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/vec_avx2.h"
#include "kernels/quant/blocks.h"

namespace nlm::kernels::cpu::avx2 {
namespace {

using core::DType;

constexpr int64_t kPanel = 16;  // columns per packed panel (2 strips of 8)

constexpr int64_t kBlockBytes = 512 + 2 * kPanel * 4;  // one packed 32-block of a panel

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

// Block b (of 32) of one weight row: its 4- or 5-bit values in element order.
inline __m256i load_u(DType t, const char* row, int64_t b) {
  using namespace quant;
  const int64_t bb = core::dtype_info(t).block_bytes;
  if (t == DType::kQ4_K || t == DType::kQ5_K) {
    // Sub-blocks 2j and 2j + 1: the low and high nibbles of qs[32j .. 32j + 32); q5_K: plus bit b % 8
    // of qh[l] as 16.
    const char* blk = row + b / 8 * bb;
    const uint8_t* qs = t == DType::kQ4_K ? reinterpret_cast<const BlockQ4_K*>(blk)->qs
                                          : reinterpret_cast<const BlockQ5_K*>(blk)->qs;
    __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * (b % 8 / 2)));
    if (b % 2) q = _mm256_srli_epi16(q, 4);
    q = _mm256_and_si256(q, _mm256_set1_epi8(15));
    if (t == DType::kQ4_K) return q;
    const uint8_t* qh_bytes = reinterpret_cast<const BlockQ5_K*>(blk)->qh;
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh_bytes));
    const __m256i bit = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(static_cast<int>(b % 8))),
                                         _mm256_set1_epi8(1));
    return _mm256_or_si256(q, _mm256_slli_epi16(bit, 4));
  }
  // q4_0 / q4_1 / q5_0 / q5_1 / a4_32: element k < 16 in the low nibble of qs[k], k ≥ 16 in the high
  // nibble of qs[k − 16]; qs ends the block; q5_0 / q5_1 keep the fifth bits in the 4 bytes before it.
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + b * bb + bb - 16));
  const __m128i m4 = _mm_set1_epi8(15);
  const __m256i u = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
  if (t != DType::kQ5_0 && t != DType::kQ5_1) return u;
  return _mm256_or_si256(u, fifth_bits(reinterpret_cast<const uint8_t*>(row + b * bb + bb - 20)));
}

// Whether dtype t's values reach 5 bits (then an int16 chain holds 4 steps of a block, not 8).
constexpr bool five_bit(DType t) { return t == DType::kQ5_0 || t == DType::kQ5_1 || t == DType::kQ5_K; }

// Scale s and offset o of every block of weight row `row` into column c of the packed blocks (zeros for
// a missing column: row null).
void pack_scales(DType t, const char* row, int64_t c, int64_t nb, uint8_t* out) {
  float* s = reinterpret_cast<float*>(out + 512) + c;
  if (row) return block_affine<f16>(t, row, 0, nb, s, s + kPanel, kBlockBytes / 4);
  for (int64_t b = 0; b < nb; ++b) s[b * kBlockBytes / 4] = s[b * kBlockBytes / 4 + kPanel] = 0.f;
}

// Weight rows [0, nr) (nr ≤ 16; missing columns get zeros) as nb packed panel blocks: per block and
// strip, the 8 columns' values (8 dwords each) go through one 8 × 8 dword transpose.
void pack_panel(DType t, const char* w, int64_t w_rb, int64_t nr, int64_t nb, uint8_t* out) {
  for (int64_t c = 0; c < kPanel; ++c) pack_scales(t, c < nr ? w + c * w_rb : nullptr, c, nb, out);
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* o = out + b * kBlockBytes;
    for (int s = 0; s < 2; ++s) {
      __m256 r[8], c[8];
      for (int j = 0; j < 8; ++j) {
        const int64_t col = 8 * s + j;
        r[j] = col < nr ? _mm256_castsi256_ps(load_u(t, w + col * w_rb, b)) : _mm256_setzero_ps();
      }
      transpose8(r, c);
      for (int kq = 0; kq < 8; ++kq) _mm256_storeu_ps(reinterpret_cast<float*>(o + (kq * 2 + s) * 32), c[kq]);
    }
  }
}

inline __m256i load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

inline void store_cols(float* c, __m256 v, int64_t n) {
  if (n >= 8) {
    _mm256_storeu_ps(c, v);
    return;
  }
  alignas(32) float tmp[8];
  _mm256_store_ps(tmp, v);
  std::memcpy(c, tmp, static_cast<size_t>(n) * sizeof(float));
}

// Per activation row and block, what the block-end adds besides the scaled integer sum: for q4_0 the
// integer start −8·Σq (its offset is −8 times its scale), for q4_1 / q4_K the f32 d_a·Σq that
// multiplies the packed offsets; for q6_K, `start` holds the block's two 16-value sums (see below).
union RowExtra {
  const int32_t* start;
  const float* asum;
};

// out[i, 0 .. nr) for activation rows m0 .. m0+MR and one packed panel (2 strips of 8 columns).
// kSplit (5-bit values: a pair is at most 2·31·127 = 7874): the int16 chain is widened after 4 of the
// block's 8 steps and again at its end.
template <int MR, bool kIntStart, bool kSplit = false>
void micro(const ActRows& x, RowExtra extra, int64_t m0, const uint8_t* panel, float* out, int64_t ldo, int64_t nr) {
  constexpr int NV = 2;
  const int64_t nb = x.K / 32;
  const int8_t* a = x.qs + m0 * x.K;
  const float* ad = x.d + m0 * nb;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 f[MR][NV];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) f[i][v] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + b * kBlockBytes;
    const int8_t* ab = a + b * 32;
    __m256i acc[MR][NV], wide[MR][NV];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int kq = 0; kq < 8; ++kq) {
      if (kSplit && kq == 4) {
#pragma GCC unroll 4
        for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
          for (int v = 0; v < NV; ++v) {
            wide[i][v] = _mm256_madd_epi16(acc[i][v], ones);
            acc[i][v] = _mm256_setzero_si256();
          }
        }
      }
      __m256i wv[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) wv[v] = load32(blk + (kq * 2 + v) * 32);
#pragma GCC unroll 4
      for (int i = 0; i < MR; ++i) {
        int32_t q;
        std::memcpy(&q, ab + i * x.K + 4 * kq, 4);
        const __m256i av = _mm256_set1_epi32(q);
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
          acc[i][v] = _mm256_add_epi16(acc[i][v], _mm256_maddubs_epi16(wv[v], av));
          asm("" : "+x"(acc[i][v]));  // keeps the chain serial: GCC otherwise regroups the adds and spills
        }
      }
    }
    const float* so = reinterpret_cast<const float*>(blk + 512);
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const __m256 sv = _mm256_loadu_ps(so + 8 * v);
#pragma GCC unroll 4
      for (int i = 0; i < MR; ++i) {
        __m256i s32 = _mm256_madd_epi16(acc[i][v], ones);
        if constexpr (kSplit) s32 = _mm256_add_epi32(s32, wide[i][v]);
        if constexpr (kIntStart) s32 = _mm256_add_epi32(s32, _mm256_set1_epi32(extra.start[(m0 + i) * nb + b]));
        const __m256 scale = _mm256_mul_ps(sv, _mm256_set1_ps(ad[i * nb + b]));
        f[i][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), scale, f[i][v]);
        if constexpr (!kIntStart) {
          const __m256 ov = _mm256_loadu_ps(so + kPanel + 8 * v);
          f[i][v] = _mm256_fmadd_ps(ov, _mm256_set1_ps(extra.asum[(m0 + i) * nb + b]), f[i][v]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      if (nr > 8 * v) store_cols(out + i * ldo + 8 * v, f[i][v], nr - 8 * v);
    }
  }
}

using Micro = void (*)(const ActRows&, RowExtra, int64_t, const uint8_t*, float*, int64_t, int64_t);

// Tiles of 3 rows × 16 columns: 6 int16 + 6 f32 accumulators, 2 weight vectors, the broadcast and a
// product (16 ymm). Indexed by the tile's row count.
constexpr int kRows = 3;
constexpr int64_t kMC = 48;  // activation rows per sweep of the panels (in L2)

// ---- q6_K ----
// Values u = q + 32 ≤ 63: a VPMADDUBSW pair is at most 16002, so two steps (8 products per lane) fit
// int16. Each 16-value sub-block's two such chains are widened by VPMADDWD against the sub-block's int8
// scale (in both lanes of a column) and summed in int32 over the whole 256-value super-block (at most
// 16 · 16·63·127 · 128 plus the offsets, below 2^31). The −32 offset adds Σ_sub (−32·sc)·Σa_sub: one
// VPMADDWD per block of the column's pair (−32·sc_A, −32·sc_B) by the row's pair of 16-value sums. The
// activations' scale is per 256 for q6_K (quant::act_group), so one int→float per super-block.
// Packed block: values as above, then per strip three int16 vectors (sc_A, sc_B and the offset pair per
// column), then the 16 columns' d (f32).
constexpr int64_t kBlockBytes6 = 512 + 2 * 96 + kPanel * 4;

// Block b (of 32) of one q6_K weight row: its values u in element order, the scales of its two
// 16-value sub-blocks and the super-block's d.
inline __m256i load_u6(const char* row, int64_t b, int8_t* sc, float* d) {
  const auto* blk = reinterpret_cast<const quant::BlockQ6_K*>(row) + b / 8;
  const int j = static_cast<int>(b % 8), half = j / 4, quarter = j % 4;  // layout of deq_q6_K
  __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->ql + 64 * half + 32 * (quarter % 2)));
  if (quarter >= 2) lo = _mm256_srli_epi16(lo, 4);
  __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->qh + 32 * half));
  hi = _mm256_srl_epi16(hi, _mm_cvtsi32_si128(2 * quarter));
  hi = _mm256_slli_epi16(_mm256_and_si256(hi, _mm256_set1_epi8(3)), 4);
  sc[0] = blk->scales[8 * half + 2 * quarter];
  sc[1] = blk->scales[8 * half + 2 * quarter + 1];
  *d = f16(blk->d);
  return _mm256_or_si256(_mm256_and_si256(lo, _mm256_set1_epi8(15)), hi);
}

void pack_panel6(const char* w, int64_t w_rb, int64_t nr, int64_t nb, uint8_t* out) {
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* o = out + b * kBlockBytes6;
    int16_t scv[2][3][16] = {};  // per strip: sc_A, sc_B, (−32·sc_A, −32·sc_B), two lanes per column
    float dd[kPanel] = {};
    for (int s = 0; s < 2; ++s) {
      __m256 r[8], c[8];
      for (int j = 0; j < 8; ++j) {
        const int64_t col = 8 * s + j;
        r[j] = _mm256_setzero_ps();
        if (col >= nr) continue;
        int8_t sc[2];
        r[j] = _mm256_castsi256_ps(load_u6(w + col * w_rb, b, sc, dd + col));
        scv[s][0][2 * j] = scv[s][0][2 * j + 1] = sc[0];
        scv[s][1][2 * j] = scv[s][1][2 * j + 1] = sc[1];
        scv[s][2][2 * j] = static_cast<int16_t>(-32 * sc[0]);
        scv[s][2][2 * j + 1] = static_cast<int16_t>(-32 * sc[1]);
      }
      transpose8(r, c);
      for (int kq = 0; kq < 8; ++kq) _mm256_storeu_ps(reinterpret_cast<float*>(o + (kq * 2 + s) * 32), c[kq]);
    }
    std::memcpy(o + 512, scv, sizeof scv);
    std::memcpy(o + 512 + sizeof scv, dd, sizeof dd);
  }
}

// out[i, 0 .. nr) for activation rows m0 .. m0+MR and one packed q6_K panel. pairs[i·nb + b] holds the
// row's two 16-value sums of block b as int16 (low: first).
template <int MR>
void micro6(const ActRows& x, RowExtra extra, int64_t m0, const uint8_t* panel, float* out, int64_t ldo, int64_t nr) {
  constexpr int NV = 2;
  const int64_t nb = x.K / 32;
  const int8_t* a = x.qs + m0 * x.K;
  const float* ad = x.d + m0 * nb;
  const int32_t* pairs = extra.start + m0 * nb;
  __m256 f[MR][NV];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) f[i][v] = _mm256_setzero_ps();
  }
  for (int64_t sb = 0; sb < nb; sb += 8) {
    __m256i acc[MR][NV];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_si256();
    }
    for (int64_t b = sb; b < sb + 8; ++b) {
      const uint8_t* blk = panel + b * kBlockBytes6;
      const int8_t* ab = a + b * 32;
      const uint8_t* scv = blk + 512;  // [strip][A, B, offset], 32 bytes each
#pragma GCC unroll 4
      for (int kp = 0; kp < 4; ++kp) {  // pairs of 4-value steps; sub-block kp / 2
        __m256i chain[MR][NV];
#pragma GCC unroll 2
        for (int step = 0; step < 2; ++step) {
          const int kq = 2 * kp + step;
          __m256i wv[NV];
#pragma GCC unroll 2
          for (int v = 0; v < NV; ++v) wv[v] = load32(blk + (kq * 2 + v) * 32);
#pragma GCC unroll 4
          for (int i = 0; i < MR; ++i) {
            int32_t q;
            std::memcpy(&q, ab + i * x.K + 4 * kq, 4);
            const __m256i av = _mm256_set1_epi32(q);
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) {
              const __m256i t = _mm256_maddubs_epi16(wv[v], av);
              chain[i][v] = step == 0 ? t : _mm256_add_epi16(chain[i][v], t);
            }
          }
        }
#pragma GCC unroll 4
        for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
          for (int v = 0; v < NV; ++v) {
            const __m256i sc = load32(scv + (3 * v + kp / 2) * 32);  // the sub-block's scale
            acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_madd_epi16(chain[i][v], sc));
            asm("" : "+x"(acc[i][v]));
          }
        }
      }
#pragma GCC unroll 4
      for (int i = 0; i < MR; ++i) {
        const __m256i pr = _mm256_set1_epi32(pairs[i * nb + b]);
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
          acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_madd_epi16(load32(scv + (3 * v + 2) * 32), pr));
        }
      }
    }
    const float* dw = reinterpret_cast<const float*>(panel + sb * kBlockBytes6 + 512 + 192);
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const __m256 dv = _mm256_loadu_ps(dw + 8 * v);
#pragma GCC unroll 4
      for (int i = 0; i < MR; ++i) {
        f[i][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[i][v]), _mm256_mul_ps(dv, _mm256_set1_ps(ad[i * nb + sb])),
                                  f[i][v]);
      }
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      if (nr > 8 * v) store_cols(out + i * ldo + 8 * v, f[i][v], nr - 8 * v);
    }
  }
}

template <bool kIntStart>
constexpr Micro kMicro[kRows + 1] = {nullptr, micro<1, kIntStart>, micro<2, kIntStart>, micro<3, kIntStart>};
// 5-bit values: 2 rows × 16 columns (4 int16 chains, 4 int32 halves, 4 f32 sums).
constexpr int kRows5 = 2;
template <bool kIntStart>
constexpr Micro kMicro5[kRows5 + 1] = {nullptr, micro<1, kIntStart, true>, micro<2, kIntStart, true>};
// q6_K: 2 rows × 16 columns (4 int16 chains, 4 int32 and 4 f32 sums).
constexpr int kRows6 = 2;
constexpr Micro kMicro6[kRows6 + 1] = {nullptr, micro6<1>, micro6<2>};

}  // namespace

// The weight rows are packed once per call (callers pass a few panels' worth). Then per group of kMC
// activation rows, every panel is swept by tiles of rows, each over the whole K.
void gemm_int8(DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows, float* out,
               int64_t ldo) {
  const bool q6 = wt == DType::kQ6_K;
  const int64_t nb = x.K / 32, n_panels = (n_rows + kPanel - 1) / kPanel;
  const int64_t pb = nb * (q6 ? kBlockBytes6 : kBlockBytes);
  thread_local core::AlignedBuffer<uint8_t> packed;
  packed.resize(static_cast<size_t>(n_panels * pb));
  for (int64_t p = 0; p < n_panels; ++p) {
    const char* wp = w + p * kPanel * w_rb;
    const int64_t nr = std::min(kPanel, n_rows - p * kPanel);
    if (q6) {
      pack_panel6(wp, w_rb, nr, nb, packed.data() + p * pb);
    } else {
      pack_panel(wt, wp, w_rb, nr, nb, packed.data() + p * pb);
    }
  }
  RowExtra extra;
  thread_local core::AlignedBuffer<int32_t> ints;
  thread_local core::AlignedBuffer<float> floats;
  if (q6) {  // the two 16-value sums of each block, as an int16 pair
    ints.resize(static_cast<size_t>(M * nb));
    for (int64_t i = 0; i < M * nb; ++i) {
      const int8_t* q = x.qs + (i / nb) * x.K + (i % nb) * 32;
      int32_t s0 = 0, s1 = 0;
      for (int k = 0; k < 16; ++k) {
        s0 += q[k];
        s1 += q[16 + k];
      }
      ints[i] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(s0)) |
                                     (static_cast<uint32_t>(static_cast<uint16_t>(s1)) << 16));
    }
    extra.start = ints.data();
  } else if (wt == DType::kQ4_0 || wt == DType::kQ5_0) {  // offsets −8·d and −16·d
    const int32_t k = wt == DType::kQ4_0 ? -8 : -16;
    ints.resize(static_cast<size_t>(M * nb));
    for (int64_t i = 0; i < M * nb; ++i) ints[i] = k * x.sum[i];
    extra.start = ints.data();
  } else {
    floats.resize(static_cast<size_t>(M * nb));
    for (int64_t i = 0; i < M * nb; ++i) floats[i] = x.d[i] * static_cast<float>(x.sum[i]);
    extra.asum = floats.data();
  }
  const bool int_start = wt == DType::kQ4_0 || wt == DType::kQ5_0;
  const Micro* micros = q6               ? kMicro6
                        : five_bit(wt)   ? (int_start ? kMicro5<true> : kMicro5<false>)
                        : int_start      ? kMicro<true>
                                         : kMicro<false>;
  const int rows = q6 ? kRows6 : five_bit(wt) ? kRows5 : kRows;
  for (int64_t mb = 0; mb < M; mb += kMC) {
    const int64_t me = std::min(M, mb + kMC);
    for (int64_t p = 0; p < n_panels; ++p) {
      const int64_t nr = std::min(kPanel, n_rows - p * kPanel);
      for (int64_t m0 = mb; m0 < me; m0 += rows) {
        micros[std::min<int64_t>(rows, me - m0)](x, extra, m0, packed.data() + p * pb, out + m0 * ldo + p * kPanel,
                                                 ldo, nr);
      }
    }
  }
}

}  // namespace nlm::kernels::cpu::avx2
