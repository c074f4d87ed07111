// ARM64 NEON int8 GEMM (SDOT, +dotprod) for q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q5_K, q6_K and MLX a4_32
// weights × int8 activations.
// SDOT by lane adds, per int32 lane c, Σ_j w[c][j]·a[4·lane + j]: one register holds 4 weight columns × 4
// k, the other 16 k of one activation row, and the lane picks the 4-byte group, so activations need no
// broadcast. Both operands are signed, so values go in as they are: q8_0 w, q4_0 nibble − 8, q5_0 value
// − 16, q4_1 / q5_1 / q4_K / q5_K / a4_32 the 4- or 5-bit value u with w = s·u + o per 32-block (q4_1 /
// q5_1: s = d, o = m; q4_K / q5_K: s = d·sc, o = −dmin·m of the sub-block; a4_32: its f32 s and b),
// whose offset adds o·d_a·Σa by one FMA per block.
// Weights are repacked per call into 16-column panels; per 32-block: [k/4][16 columns][4] bytes, then
// 16 scales and 16 offsets (f32). Tiles: 4 rows × 8 columns (8 int32 + 8 f32 accumulators, the 4 rows'
// 32 activations in 8 registers, 2 weight registers).
#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "core/arena.h"
#include "kernels/cpu/block_affine.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/vec_neon.h"
#include "kernels/quant/blocks.h"

namespace nlm::kernels::cpu::neon {
namespace {

using core::DType;

constexpr int64_t kPanel = 16;                         // columns per packed panel
constexpr int64_t kBlockBytes = 512 + 2 * kPanel * 4;  // one packed 32-block of a panel
constexpr int kRows = 4;                               // activation rows per tile
constexpr int64_t kMC = 48;                            // activation rows per sweep of the panels

inline float f16(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }

constexpr bool has_offset(DType t) {
  return t == DType::kQ4_1 || t == DType::kQ4_K || t == DType::kA4_32 || t == DType::kQ5_1 || t == DType::kQ5_K;
}

// Block b (of 32) of one weight row as 32 signed values in element order.
void load_values(DType t, const char* row, int64_t b, int8_t* v) {
  using namespace quant;
  if (t == DType::kQ8_0) {
    std::memcpy(v, reinterpret_cast<const BlockQ8_0*>(row)[b].qs, 32);
    return;
  }
  const uint8x16_t m4 = vdupq_n_u8(15);
  const int64_t bb = core::dtype_info(t).block_bytes;
  if (t == DType::kQ4_K || t == DType::kQ5_K) {
    // Sub-blocks 2j and 2j + 1: the low and high nibbles of qs[32j .. 32j + 32); q5_K: plus bit b % 8 of
    // qh[l] as 16.
    const char* blk = row + b / 8 * bb;
    const bool k5 = t == DType::kQ5_K;
    const uint8_t* qs_all =
        k5 ? reinterpret_cast<const BlockQ5_K*>(blk)->qs : reinterpret_cast<const BlockQ4_K*>(blk)->qs;
    const uint8_t* qs = qs_all + 32 * (b % 8 / 2);
    const uint8x16_t bit = vdupq_n_u8(static_cast<uint8_t>(1u << (b % 8)));
    for (int h = 0; h < 2; ++h) {
      const uint8x16_t q = vld1q_u8(qs + 16 * h);
      uint8x16_t u = b % 2 ? vshrq_n_u8(q, 4) : vandq_u8(q, m4);
      if (k5) {
        const uint8x16_t qh = vld1q_u8(reinterpret_cast<const BlockQ5_K*>(blk)->qh + 16 * h);
        u = vorrq_u8(u, vandq_u8(vtstq_u8(qh, bit), vdupq_n_u8(16)));
      }
      vst1q_u8(reinterpret_cast<uint8_t*>(v) + 16 * h, u);
    }
    return;
  }
  // q4_0 / q4_1 / q5_0 / q5_1 / a4_32: element k < 16 in the low nibble of qs[k], k ≥ 16 in the high
  // nibble of qs[k − 16]; qs ends the block; q5_0 / q5_1 keep the fifth bits in the 4 bytes before it.
  const uint8x16_t q = vld1q_u8(reinterpret_cast<const uint8_t*>(row + b * bb + bb - 16));
  uint8x16_t lo = vandq_u8(q, m4), hi = vshrq_n_u8(q, 4);
  if (t == DType::kQ5_0 || t == DType::kQ5_1) {
    uint8x16_t h0, h1;
    fifth_bits(reinterpret_cast<const uint8_t*>(row + b * bb + bb - 20), &h0, &h1);
    lo = vorrq_u8(lo, h0);
    hi = vorrq_u8(hi, h1);
  }
  const int8x16_t bias = vdupq_n_s8(t == DType::kQ4_0 ? 8 : t == DType::kQ5_0 ? 16 : 0);
  vst1q_s8(v, vsubq_s8(vreinterpretq_s8_u8(lo), bias));
  vst1q_s8(v + 16, vsubq_s8(vreinterpretq_s8_u8(hi), bias));
}

// Scale and offset of every block of weight row `row` into column c of the packed blocks (zeros for a
// missing column: row null).
void pack_scales(DType t, const char* row, int64_t c, int64_t nb, uint8_t* out) {
  float* s = reinterpret_cast<float*>(out + 512) + c;
  if (row) return block_affine<f16>(t, row, 0, nb, s, s + kPanel, kBlockBytes / 4);
  for (int64_t b = 0; b < nb; ++b) s[b * kBlockBytes / 4] = s[b * kBlockBytes / 4 + kPanel] = 0.f;
}

// Weight rows [0, nr) (nr ≤ 16; missing columns get zeros) as nb packed panel blocks.
void pack_panel(DType t, const char* w, int64_t w_rb, int64_t nr, int64_t nb, uint8_t* out) {
  for (int64_t c = 0; c < kPanel; ++c) pack_scales(t, c < nr ? w + c * w_rb : nullptr, c, nb, out);
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* o = out + b * kBlockBytes;
    for (int64_t c = 0; c < kPanel; ++c) {
      int8_t v[32] = {};
      if (c < nr) load_values(t, w + c * w_rb, b, v);
      for (int kq = 0; kq < 8; ++kq) std::memcpy(o + kq * 64 + c * 4, v + 4 * kq, 4);
    }
  }
}

// Rows 0 .. MR of out, columns [8·s, 8·s + 8) ∩ [0, nr).
template <int MR>
inline void store_tile(const float32x4_t (&f)[MR][2], int s, float* out, int64_t ldo, int64_t nr) {
  for (int i = 0; i < MR; ++i) {
    for (int v = 0; v < 2; ++v) {
      const int64_t c0 = 8 * s + 4 * v, n = std::min<int64_t>(4, nr - c0);
      if (n == 4) {
        vst1q_f32(out + i * ldo + c0, f[i][v]);
      } else if (n > 0) {
        float tmp[4];
        vst1q_f32(tmp, f[i][v]);
        std::memcpy(out + i * ldo + c0, tmp, static_cast<size_t>(n) * sizeof(float));
      }
    }
  }
}

// The 8 steps of 4 k of one block: 2 weight registers (8 columns) against each row's group KQ.
template <int KQ, int MR>
inline void steps(const int8_t* wb, const int8x16_t (&a)[MR][2], int32x4_t (&acc)[MR][2]) {
  const int8x16_t w0 = vld1q_s8(wb + KQ * 64), w1 = vld1q_s8(wb + KQ * 64 + 16);
  for (int i = 0; i < MR; ++i) {
    acc[i][0] = vdotq_laneq_s32(acc[i][0], w0, a[i][KQ / 4], KQ % 4);
    acc[i][1] = vdotq_laneq_s32(acc[i][1], w1, a[i][KQ / 4], KQ % 4);
  }
  if constexpr (KQ + 1 < 8) steps<KQ + 1, MR>(wb, a, acc);
}

// out[i, 8·s .. 8·s + 8) ∩ [0, nr) for activation rows m0 .. m0+MR and strip s of one packed panel.
// asum[i·nb + b] = d_a·Σa of the row's block (kOffset only).
template <int MR, bool kOffset>
void micro(const ActRows& x, const float* asum, int64_t m0, const uint8_t* panel, int s, float* out, int64_t ldo,
           int64_t nr) {
  const int64_t nb = x.K / 32;
  const int8_t* xa = x.qs + m0 * x.K;
  const float* ad = x.d + m0 * nb;
  float32x4_t f[MR][2];
  for (int i = 0; i < MR; ++i) f[i][0] = f[i][1] = vdupq_n_f32(0.f);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + b * kBlockBytes;
    int8x16_t a[MR][2];
    int32x4_t acc[MR][2];
    for (int i = 0; i < MR; ++i) {
      a[i][0] = vld1q_s8(xa + i * x.K + 32 * b);
      a[i][1] = vld1q_s8(xa + i * x.K + 32 * b + 16);
      acc[i][0] = acc[i][1] = vdupq_n_s32(0);
    }
    steps<0, MR>(reinterpret_cast<const int8_t*>(blk) + 32 * s, a, acc);
    const auto* so = reinterpret_cast<const float*>(blk + 512) + 8 * s;
    for (int v = 0; v < 2; ++v) {
      const float32x4_t sv = vld1q_f32(so + 4 * v);
      for (int i = 0; i < MR; ++i) {
        f[i][v] = vfmaq_f32(f[i][v], vcvtq_f32_s32(acc[i][v]), vmulq_n_f32(sv, ad[i * nb + b]));
        if constexpr (kOffset) f[i][v] = vfmaq_n_f32(f[i][v], vld1q_f32(so + kPanel + 4 * v), asum[(m0 + i) * nb + b]);
      }
    }
  }
  store_tile<MR>(f, s, out, ldo, nr);
}

using Micro = void (*)(const ActRows&, const float*, int64_t, const uint8_t*, int, float*, int64_t, int64_t);
template <bool kOffset>
constexpr Micro kMicro[kRows + 1] = {nullptr, micro<1, kOffset>, micro<2, kOffset>, micro<3, kOffset>,
                                     micro<4, kOffset>};

// ---- q6_K ----
// Values q − 32 (signed) with int8 scales per 16: per sub-block the 4 SDOT steps go to a fresh int32
// sum that is multiplied by the columns' scales (MLA) into the super-block's sum (at most 16 ·
// 16·32·127 · 128 < 2^31); one int→float per super-block (q6_K's activation scale is per 256). Packed
// block: values as above, then the columns' two sub-block scales as int32 [2][16], then their d (f32).
constexpr int64_t kBlockBytes6 = 512 + 2 * kPanel * 4 + kPanel * 4;
constexpr int kRows6 = 3;

// Block b (of 32) of one q6_K row as 32 signed values, its two sub-block scales and the super-block d.
void load_values6(const char* row, int64_t b, int8_t* v, int32_t* sc, float* d) {
  const auto* blk = reinterpret_cast<const quant::BlockQ6_K*>(row) + b / 8;
  const int j = static_cast<int>(b % 8), half = j / 4, quarter = j % 4;  // layout of deq_q6_K
  for (int h = 0; h < 2; ++h) {
    const uint8x16_t l = vld1q_u8(blk->ql + 64 * half + 32 * (quarter % 2) + 16 * h);
    const uint8x16_t lo = quarter >= 2 ? vshrq_n_u8(l, 4) : vandq_u8(l, vdupq_n_u8(15));
    const int8x16_t shift = vdupq_n_s8(static_cast<int8_t>(-2 * quarter));  // right by 2·quarter
    const uint8x16_t qh = vshlq_u8(vld1q_u8(blk->qh + 32 * half + 16 * h), shift);
    const uint8x16_t u = vorrq_u8(lo, vshlq_n_u8(vandq_u8(qh, vdupq_n_u8(3)), 4));
    vst1q_s8(v + 16 * h, vsubq_s8(vreinterpretq_s8_u8(u), vdupq_n_s8(32)));
  }
  sc[0] = blk->scales[8 * half + 2 * quarter];
  sc[1] = blk->scales[8 * half + 2 * quarter + 1];
  *d = f16(blk->d);
}

void pack_panel6(const char* w, int64_t w_rb, int64_t nr, int64_t nb, uint8_t* out) {
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* o = out + b * kBlockBytes6;
    int32_t sc[2][kPanel] = {};
    float d[kPanel] = {};
    for (int64_t c = 0; c < kPanel; ++c) {
      int8_t v[32] = {};
      int32_t s2[2] = {};
      if (c < nr) load_values6(w + c * w_rb, b, v, s2, d + c);
      sc[0][c] = s2[0];
      sc[1][c] = s2[1];
      for (int kq = 0; kq < 8; ++kq) std::memcpy(o + kq * 64 + c * 4, v + 4 * kq, 4);
    }
    std::memcpy(o + 512, sc, sizeof sc);
    std::memcpy(o + 512 + sizeof sc, d, sizeof d);
  }
}

// Steps KQ .. 3 of one sub-block (activation register h) into `part`.
template <int KQ, int MR>
inline void sub_steps(const int8_t* wb, const int8x16_t (&a)[MR][2], int h, int32x4_t (&part)[MR][2]) {
  const int8x16_t w0 = vld1q_s8(wb + KQ * 64), w1 = vld1q_s8(wb + KQ * 64 + 16);
  for (int i = 0; i < MR; ++i) {
    part[i][0] = vdotq_laneq_s32(part[i][0], w0, a[i][h], KQ % 4);
    part[i][1] = vdotq_laneq_s32(part[i][1], w1, a[i][h], KQ % 4);
  }
  if constexpr (KQ % 4 < 3) sub_steps<KQ + 1, MR>(wb, a, h, part);
}

template <int MR>
void micro6(const ActRows& x, const float*, int64_t m0, const uint8_t* panel, int s, float* out, int64_t ldo,
            int64_t nr) {
  const int64_t nb = x.K / 32;
  const int8_t* xa = x.qs + m0 * x.K;
  const float* ad = x.d + m0 * nb;
  float32x4_t f[MR][2];
  for (int i = 0; i < MR; ++i) f[i][0] = f[i][1] = vdupq_n_f32(0.f);
  for (int64_t sb = 0; sb < nb; sb += 8) {
    int32x4_t sup[MR][2];
    for (int i = 0; i < MR; ++i) sup[i][0] = sup[i][1] = vdupq_n_s32(0);
    for (int64_t b = sb; b < sb + 8; ++b) {
      const uint8_t* blk = panel + b * kBlockBytes6;
      const int8_t* wb = reinterpret_cast<const int8_t*>(blk) + 32 * s;
      int8x16_t a[MR][2];
      for (int i = 0; i < MR; ++i) {
        a[i][0] = vld1q_s8(xa + i * x.K + 32 * b);
        a[i][1] = vld1q_s8(xa + i * x.K + 32 * b + 16);
      }
      for (int h = 0; h < 2; ++h) {
        int32x4_t part[MR][2];
        for (int i = 0; i < MR; ++i) part[i][0] = part[i][1] = vdupq_n_s32(0);
        if (h == 0) {
          sub_steps<0, MR>(wb, a, 0, part);
        } else {
          sub_steps<4, MR>(wb, a, 1, part);
        }
        const auto* sc = reinterpret_cast<const int32_t*>(blk + 512) + h * kPanel + 8 * s;
        for (int v = 0; v < 2; ++v) {
          const int32x4_t scv = vld1q_s32(sc + 4 * v);
          for (int i = 0; i < MR; ++i) sup[i][v] = vmlaq_s32(sup[i][v], part[i][v], scv);
        }
      }
    }
    const auto* dw = reinterpret_cast<const float*>(panel + sb * kBlockBytes6 + 512 + 2 * kPanel * 4) + 8 * s;
    for (int v = 0; v < 2; ++v) {
      const float32x4_t dv = vld1q_f32(dw + 4 * v);
      for (int i = 0; i < MR; ++i) {
        f[i][v] = vfmaq_f32(f[i][v], vcvtq_f32_s32(sup[i][v]), vmulq_n_f32(dv, ad[i * nb + sb]));
      }
    }
  }
  store_tile<MR>(f, s, out, ldo, nr);
}

constexpr Micro kMicro6[kRows6 + 1] = {nullptr, micro6<1>, micro6<2>, micro6<3>};

}  // namespace

// The weight rows are packed once per call (callers pass a few panels' worth). Then per group of kMC
// activation rows, every panel strip is swept by tiles of rows, each over the whole K.
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
  const bool offset = has_offset(wt);
  thread_local core::AlignedBuffer<float> asum;
  if (offset) {
    asum.resize(static_cast<size_t>(M * nb));
    for (int64_t i = 0; i < M * nb; ++i) asum[i] = x.d[i] * static_cast<float>(x.sum[i]);
  }
  const Micro* micros = q6 ? kMicro6 : offset ? kMicro<true> : kMicro<false>;
  const int rows = q6 ? kRows6 : kRows;
  for (int64_t mb = 0; mb < M; mb += kMC) {
    const int64_t me = std::min(M, mb + kMC);
    for (int64_t p = 0; p < n_panels; ++p) {
      const int64_t nr = std::min(kPanel, n_rows - p * kPanel);
      for (int s = 0; s < 2 && 8 * s < nr; ++s) {
        for (int64_t m0 = mb; m0 < me; m0 += rows) {
          micros[std::min<int64_t>(rows, me - m0)](x, asum.data(), m0, packed.data() + p * pb, s,
                                                   out + m0 * ldo + p * kPanel, ldo, nr);
        }
      }
    }
  }
}

}  // namespace nlm::kernels::cpu::neon
