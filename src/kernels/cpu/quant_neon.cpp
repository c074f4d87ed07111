// ARM64 NEON int8 dot products (SDOT, +dotprod) of quantized weight rows with the int8 activations of
// quant::quantize_act: per 16 weights one sdot into 4 int32 lanes. q8_0 / q4_0: the block's lanes → f32,
// times d_w·d_x. q4_K / q6_K: one activation scale per super-block (quant::act_group), so the sub-block
// scales multiply the int32 lanes (mla) and the super-block converts once; q4_K's mins use the per-32
// activation sums. q4_1 and the MLX affine blocks (a4, a8) add their offsets through the same sums. q5_0 /
// q5_1 / q5_K: their q4 counterparts with the fifth bit or'ed in as 16 (a byte test per value).
#include <arm_neon.h>

#include <type_traits>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/vec_neon.h"
#include "kernels/quant/blocks.h"
#include "kernels/quant/quant.h"

namespace nlm::kernels::cpu::neon {
namespace {

using namespace quant;

inline float f16(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }

float row_q8_0(const char* w, const int8_t* xq, const float* xd, int64_t nb) {
  const auto* b = reinterpret_cast<const BlockQ8_0*>(w);
  float32x4_t acc = vdupq_n_f32(0.f);
  for (int64_t i = 0; i < nb; ++i) {
    int32x4_t p = vdotq_s32(vdupq_n_s32(0), vld1q_s8(b[i].qs), vld1q_s8(xq + 32 * i));
    p = vdotq_s32(p, vld1q_s8(b[i].qs + 16), vld1q_s8(xq + 32 * i + 16));
    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), f16(b[i].d) * xd[i]);
  }
  return vaddvq_f32(acc);
}

float row_q4_0(const char* w, const int8_t* xq, const float* xd, int64_t nb) {
  const auto* b = reinterpret_cast<const BlockQ4_0*>(w);
  const uint8x16_t m4 = vdupq_n_u8(15);
  const int8x16_t eight = vdupq_n_s8(8);
  float32x4_t acc = vdupq_n_f32(0.f);
  for (int64_t i = 0; i < nb; ++i) {
    const uint8x16_t q = vld1q_u8(b[i].qs);
    const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, m4)), eight);
    const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
    int32x4_t p = vdotq_s32(vdupq_n_s32(0), lo, vld1q_s8(xq + 32 * i));
    p = vdotq_s32(p, hi, vld1q_s8(xq + 32 * i + 16));
    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), f16(b[i].d) * xd[i]);
  }
  return vaddvq_f32(acc);
}

// q4_K and q5_K (q5_K: plus bit 2c (low nibbles) or 2c+1 (high nibbles) of qh[l] as 16).
template <typename Block>
float row_k4(const char* w, const int8_t* xq, const float* xd, const int32_t* xs, int64_t ng) {
  constexpr bool k5 = std::is_same_v<Block, BlockQ5_K>;
  const auto* blocks = reinterpret_cast<const Block*>(w);
  const uint8x16_t m4 = vdupq_n_u8(15), k16 = vdupq_n_u8(16);
  const int32x4_t zero = vdupq_n_s32(0);
  float total = 0.f;
  for (int64_t g = 0; g < ng; ++g, xq += 256) {
    const Block& b = blocks[g];
    uint8_t sc[8], mn[8];
    for (int s = 0; s < 8; ++s) k4_scale_min(b.scales, s, &sc[s], &mn[s]);
    int32x4_t acc = zero;
    for (int c = 0; c < 4; ++c) {  // sub-blocks 2c (low nibbles) and 2c+1 (high nibbles)
      const uint8x16_t q0 = vld1q_u8(b.qs + 32 * c), q1 = vld1q_u8(b.qs + 32 * c + 16);
      uint8x16_t l0 = vandq_u8(q0, m4), l1 = vandq_u8(q1, m4), h0 = vshrq_n_u8(q0, 4), h1 = vshrq_n_u8(q1, 4);
      if constexpr (k5) {
        const uint8x16_t qh0 = vld1q_u8(b.qh), qh1 = vld1q_u8(b.qh + 16);
        const uint8x16_t bl = vdupq_n_u8(static_cast<uint8_t>(1u << (2 * c))), bh = vshlq_n_u8(bl, 1);
        l0 = vorrq_u8(l0, vandq_u8(vtstq_u8(qh0, bl), k16));
        l1 = vorrq_u8(l1, vandq_u8(vtstq_u8(qh1, bl), k16));
        h0 = vorrq_u8(h0, vandq_u8(vtstq_u8(qh0, bh), k16));
        h1 = vorrq_u8(h1, vandq_u8(vtstq_u8(qh1, bh), k16));
      }
      const int8_t* x = xq + 64 * c;
      int32x4_t lo = vdotq_s32(zero, vreinterpretq_s8_u8(l0), vld1q_s8(x));
      lo = vdotq_s32(lo, vreinterpretq_s8_u8(l1), vld1q_s8(x + 16));
      int32x4_t hi = vdotq_s32(zero, vreinterpretq_s8_u8(h0), vld1q_s8(x + 32));
      hi = vdotq_s32(hi, vreinterpretq_s8_u8(h1), vld1q_s8(x + 48));
      acc = vmlaq_n_s32(acc, lo, sc[2 * c]);
      acc = vmlaq_n_s32(acc, hi, sc[2 * c + 1]);
    }
    int32_t mins = 0;
    for (int s = 0; s < 8; ++s) mins += mn[s] * xs[8 * g + s];
    const float dx = xd[8 * g];
    total += f16(b.d) * dx * static_cast<float>(vaddvq_s32(acc)) - f16(b.dmin) * dx * static_cast<float>(mins);
  }
  return total;
}

// q5_0 (x = d·(q − 16), q − 16 signed into sdot) and q5_1 (x = d·q + m, q in 0..31, m through the sums).
template <typename Block, bool kMin>
float row_q5(const char* w, const int8_t* xq, const float* xd, const int32_t* xs, int64_t nb) {
  const auto* blocks = reinterpret_cast<const Block*>(w);
  const uint8x16_t m4 = vdupq_n_u8(15), k16 = vdupq_n_u8(kMin ? 0 : 16);
  float32x4_t acc = vdupq_n_f32(0.f);
  float offsets = 0.f;
  for (int64_t i = 0; i < nb; ++i) {
    const Block& b = blocks[i];
    uint8x16_t h0, h1;
    fifth_bits(b.qh, &h0, &h1);
    const uint8x16_t q = vld1q_u8(b.qs);
    const int8x16_t lo = vreinterpretq_s8_u8(vsubq_u8(vorrq_u8(vandq_u8(q, m4), h0), k16));
    const int8x16_t hi = vreinterpretq_s8_u8(vsubq_u8(vorrq_u8(vshrq_n_u8(q, 4), h1), k16));
    int32x4_t p = vdotq_s32(vdupq_n_s32(0), lo, vld1q_s8(xq + 32 * i));
    p = vdotq_s32(p, hi, vld1q_s8(xq + 32 * i + 16));
    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), f16(b.d) * xd[i]);
    if constexpr (kMin) offsets += f16(b.m) * xd[i] * static_cast<float>(xs[i]);
  }
  return vaddvq_f32(acc) + offsets;
}

// q2_K / q3_K: 32-block b takes bits 2·(b % 4) of qs[32·(b / 4) .. + 32); each 16-value half has its own
// scale (mla on its sdot lanes). q3_K: v = low2 + 4·hbit − 4, signed; q2_K: u = low2 and the mins as
// mn·Σx per 16 (sdot of x with ones).
template <bool kQ3>
float row_k23(const char* w, const int8_t* xq, const float* xd, int64_t ng) {
  const int32x4_t zero = vdupq_n_s32(0);
  const uint8x16_t m2 = vdupq_n_u8(3);
  float total = 0.f;
  for (int64_t g = 0; g < ng; ++g, xq += 256) {
    int32x4_t acc = zero, mins = zero;
    float d = 0.f, dmin = 0.f;
    const uint8_t *qs, *hmask = nullptr;
    int sc[16], mn[16] = {};
    if constexpr (kQ3) {
      const auto& b = reinterpret_cast<const BlockQ3_K*>(w)[g];
      for (int s = 0; s < 16; ++s) sc[s] = k3_scale(b.scales, s) - 32;
      qs = b.qs;
      hmask = b.hmask;
      d = f16(b.d);
    } else {
      const auto& b = reinterpret_cast<const BlockQ2_K*>(w)[g];
      for (int s = 0; s < 16; ++s) {
        sc[s] = b.scales[s] & 15;
        mn[s] = b.scales[s] >> 4;
      }
      qs = b.qs;
      d = f16(b.d);
      dmin = f16(b.dmin);
    }
    for (int blk = 0; blk < 8; ++blk) {
      const int8x16_t shift = vdupq_n_s8(static_cast<int8_t>(-2 * (blk % 4)));
      for (int h = 0; h < 2; ++h) {
        const uint8_t* q = qs + 32 * (blk / 4) + 16 * h;
        uint8x16_t u = vandq_u8(vshlq_u8(vld1q_u8(q), shift), m2);
        int8x16_t v;
        if constexpr (kQ3) {
          const uint8x16_t hb = vtstq_u8(vld1q_u8(hmask + 16 * h), vdupq_n_u8(static_cast<uint8_t>(1u << blk)));
          v = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(u, vandq_u8(hb, vdupq_n_u8(4)))), vdupq_n_s8(4));
        } else {
          v = vreinterpretq_s8_u8(u);
        }
        const int8x16_t x = vld1q_s8(xq + 32 * blk + 16 * h);
        acc = vmlaq_n_s32(acc, vdotq_s32(zero, v, x), sc[2 * blk + h]);
        if constexpr (!kQ3) mins = vmlaq_n_s32(mins, vdotq_s32(zero, vdupq_n_s8(1), x), mn[2 * blk + h]);
      }
    }
    const float dx = xd[8 * g];
    total += d * dx * static_cast<float>(vaddvq_s32(acc)) - dmin * dx * static_cast<float>(vaddvq_s32(mins));
  }
  return total;
}

float row_q6_K(const char* w, const int8_t* xq, const float* xd, int64_t ng) {
  const auto* blocks = reinterpret_cast<const BlockQ6_K*>(w);
  const uint8x16_t m4 = vdupq_n_u8(15), m2 = vdupq_n_u8(3);
  const int8x16_t k32 = vdupq_n_s8(32);
  const int32x4_t zero = vdupq_n_s32(0);
  float total = 0.f;
  for (int64_t g = 0; g < ng; ++g) {
    const BlockQ6_K& b = blocks[g];
    int32x4_t acc = zero;
    for (int h = 0; h < 2; ++h) {
      for (int c = 0; c < 4; ++c) {  // 32 values at 128h + 32c; 16-value halves under scales 2c, 2c+1
        for (int half = 0; half < 2; ++half) {
          const uint8x16_t l = vld1q_u8(b.ql + 64 * h + 32 * (c % 2) + 16 * half);
          const uint8x16_t lo = c / 2 ? vshrq_n_u8(l, 4) : vandq_u8(l, m4);
          const uint8x16_t qh = vld1q_u8(b.qh + 32 * h + 16 * half);
          const uint8x16_t hi = vandq_u8(vshlq_u8(qh, vdupq_n_s8(static_cast<int8_t>(-2 * c))), m2);
          const int8x16_t q = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(lo, vshlq_n_u8(hi, 4))), k32);
          const int32x4_t p = vdotq_s32(zero, q, vld1q_s8(xq + 256 * g + 128 * h + 32 * c + 16 * half));
          acc = vmlaq_n_s32(acc, p, b.scales[8 * h + 2 * c + half]);
        }
      }
    }
    total += f16(b.d) * xd[8 * g] * static_cast<float>(vaddvq_s32(acc));
  }
  return total;
}

// Affine blocks (x = s·q + m; 8-bit q stored + 128): Σ x̂·w = s·dx·Σq·qx + m·dx·Σqx, with 8-bit q fed to
// sdot as q − 128 and the 128·s moved into m.
inline float scale_of(const BlockQ4_1& b) { return f16(b.d); }
inline float bias_of(const BlockQ4_1& b) { return f16(b.m); }
inline float scale_of(const BlockA4& b) { return b.s; }
inline float bias_of(const BlockA4& b) { return b.b; }
inline float scale_of(const BlockA8& b) { return b.s; }
inline float bias_of(const BlockA8& b) { return b.b + 128.f * b.s; }

template <typename Block>
float row_affine(const char* w, const int8_t* xq, const float* xd, const int32_t* xs, int64_t nb) {
  const auto* blocks = reinterpret_cast<const Block*>(w);
  const int32x4_t zero = vdupq_n_s32(0);
  float32x4_t acc = vdupq_n_f32(0.f);
  float offsets = 0.f;
  for (int64_t i = 0; i < nb; ++i) {
    const Block& b = blocks[i];
    const int8_t* x = xq + 32 * i;
    int32x4_t p;
    if constexpr (sizeof(b.qs) == 32) {
      const uint8x16_t k128 = vdupq_n_u8(128);
      p = vdotq_s32(zero, vreinterpretq_s8_u8(veorq_u8(vld1q_u8(b.qs), k128)), vld1q_s8(x));
      p = vdotq_s32(p, vreinterpretq_s8_u8(veorq_u8(vld1q_u8(b.qs + 16), k128)), vld1q_s8(x + 16));
    } else {
      const uint8x16_t q = vld1q_u8(b.qs);
      p = vdotq_s32(zero, vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(15))), vld1q_s8(x));
      p = vdotq_s32(p, vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), vld1q_s8(x + 16));
    }
    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), scale_of(b) * xd[i]);
    offsets += bias_of(b) * xd[i] * static_cast<float>(xs[i]);
  }
  return vaddvq_f32(acc) + offsets;
}

}  // namespace

void dot_quant(core::DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows,
               float* out, int64_t ldo) {
  using core::DType;
  const int64_t nb = x.K / 32;
  for (int64_t r = 0; r < n_rows; ++r) {
    const char* wr = w + r * w_rb;
    for (int64_t m = 0; m < M; ++m) {
      const int8_t* xq = x.qs + m * x.K;
      const float* xd = x.d + m * nb;
      const int32_t* xs = x.sum + m * nb;
      float v = 0.f;
      switch (wt) {
        case DType::kQ8_0: v = row_q8_0(wr, xq, xd, nb); break;
        case DType::kQ4_0: v = row_q4_0(wr, xq, xd, nb); break;
        case DType::kQ4_1: v = row_affine<BlockQ4_1>(wr, xq, xd, xs, nb); break;
        case DType::kQ4_K: v = row_k4<BlockQ4_K>(wr, xq, xd, xs, nb / 8); break;
        case DType::kQ6_K: v = row_q6_K(wr, xq, xd, nb / 8); break;
        case DType::kQ5_0: v = row_q5<BlockQ5_0, false>(wr, xq, xd, xs, nb); break;
        case DType::kQ5_1: v = row_q5<BlockQ5_1, true>(wr, xq, xd, xs, nb); break;
        case DType::kQ5_K: v = row_k4<BlockQ5_K>(wr, xq, xd, xs, nb / 8); break;
        case DType::kQ2_K: v = row_k23<false>(wr, xq, xd, nb / 8); break;
        case DType::kQ3_K: v = row_k23<true>(wr, xq, xd, nb / 8); break;
        case DType::kA4_32: v = row_affine<BlockA4>(wr, xq, xd, xs, nb); break;
        case DType::kA8_32: v = row_affine<BlockA8>(wr, xq, xd, xs, nb); break;
        default: return portable_kernels().dot_quant(wt, x, M, w, w_rb, n_rows, out, ldo);
      }
      out[m * ldo + r] = v;
    }
  }
}

// f16 (fcvtl), bf16 and q8_0 rows vectorized; other dtypes through quant::dequantize. The same values:
// the conversions are exact and q8_0 is d·q in f32 either way.
void dequantize(const void* src, core::DType t, int64_t n, float* dst) {
  using core::DType;
  const auto* s = static_cast<const uint8_t*>(src);
  int64_t i = 0;
  switch (t) {
    case DType::kF16:
      for (; i + 4 <= n; i += 4) {
        vst1q_f32(dst + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(s + 2 * i)))));
      }
      break;
    case DType::kBF16:
      for (; i + 4 <= n; i += 4) {
        const uint32x4_t h = vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(s + 2 * i)), 16);
        vst1q_f32(dst + i, vreinterpretq_f32_u32(h));
      }
      break;
    case DType::kQ8_0: {
      const auto* b = static_cast<const BlockQ8_0*>(src);
      for (int64_t k = 0; k < n / 32; ++k) {
        const float d = f16(b[k].d);
        for (int j = 0; j < 32; j += 8) {
          const int16x8_t q = vmovl_s8(vld1_s8(b[k].qs + j));
          vst1q_f32(dst + 32 * k + j, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(q))), d));
          vst1q_f32(dst + 32 * k + j + 4, vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(q)), d));
        }
      }
      return;
    }
    default: return quant::dequantize(src, t, n, dst);
  }
  if (i < n) quant::dequantize(s + 2 * i, t, n - i, dst + i);  // f16 / bf16 tail
}

}  // namespace nlm::kernels::cpu::neon
