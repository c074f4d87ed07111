// ARM64 NEON (+dotprod, +fp16) kernels: vector helpers, f32/f16/bf16 dot rows, the int8 activation
// quantizer and int8 dot products (SDOT) for q8_0 and q4_0. Other entries fall back to the portable
// table. Selected only when the CPU reports asimddp (dispatch.cpp).
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/isa.h"

namespace nlm::kernels::cpu {
namespace neon {
namespace {

using namespace quant;

float dot_f32(const float* a, const float* b, int64_t n) {
  float32x4_t s0 = vdupq_n_f32(0.f), s1 = vdupq_n_f32(0.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
  }
  float acc = vaddvq_f32(vaddq_f32(s0, s1));
  for (; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  const float32x4_t va = vdupq_n_f32(a);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_f32(vld1q_f32(y + i), va, vld1q_f32(x + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

void scale_f32(float s, const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(x + i), s));
  for (; i < n; ++i) y[i] = s * x[i];
}

float sum_sq(const float* x, float c, int64_t n) {
  const float32x4_t vc = vdupq_n_f32(c);
  float32x4_t s = vdupq_n_f32(0.f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t d = vsubq_f32(vld1q_f32(x + i), vc);
    s = vfmaq_f32(s, d, d);
  }
  float acc = vaddvq_f32(s);
  for (; i < n; ++i) acc += (x[i] - c) * (x[i] - c);
  return acc;
}

float sum(const float* x, int64_t n) {
  float32x4_t s = vdupq_n_f32(0.f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) s = vaddq_f32(s, vld1q_f32(x + i));
  float acc = vaddvq_f32(s);
  for (; i < n; ++i) acc += x[i];
  return acc;
}

float max(const float* x, int64_t n) {
  float32x4_t m = vdupq_n_f32(-INFINITY);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) m = vmaxq_f32(m, vld1q_f32(x + i));
  float r = vmaxvq_f32(m);
  for (; i < n; ++i) r = std::max(r, x[i]);
  return r;
}

inline float32x4_t load_w4(core::DType t, const char* w, int64_t k) {
  if (t == core::DType::kF32) return vld1q_f32(reinterpret_cast<const float*>(w) + k);
  const uint16x4_t h = vld1_u16(reinterpret_cast<const uint16_t*>(w) + k);
  if (t == core::DType::kF16) return vcvt_f32_f16(vreinterpret_f16_u16(h));
  return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
}

float load_w1(core::DType t, const char* w, int64_t k) {
  float32x4_t v;
  if (t == core::DType::kF32) return reinterpret_cast<const float*>(w)[k];
  const uint16_t h = reinterpret_cast<const uint16_t*>(w)[k];
  if (t == core::DType::kF16) {
    v = vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h)));
  } else {
    v = vreinterpretq_f32_u32(vshll_n_u16(vdup_n_u16(h), 16));
  }
  return vgetq_lane_f32(v, 0);
}

void dot_float(core::DType wt, const float* x, int64_t ldx, int64_t M, const char* w, int64_t w_rb,
               int64_t n_rows, int64_t K, float* out, int64_t ldo) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const char* wr = w + r * w_rb;
    for (int64_t m = 0; m < M; ++m) {
      const float* xm = x + m * ldx;
      float32x4_t s0 = vdupq_n_f32(0.f), s1 = vdupq_n_f32(0.f);
      int64_t k = 0;
      for (; k + 8 <= K; k += 8) {
        s0 = vfmaq_f32(s0, vld1q_f32(xm + k), load_w4(wt, wr, k));
        s1 = vfmaq_f32(s1, vld1q_f32(xm + k + 4), load_w4(wt, wr, k + 4));
      }
      float acc = vaddvq_f32(vaddq_f32(s0, s1));
      for (; k < K; ++k) acc += xm[k] * load_w1(wt, wr, k);
      out[m * ldo + r] = acc;
    }
  }
}

// quant::quantize_act_ref with the same float operations (vcvtnq: round to nearest even).
void quantize_act(const float* x, int64_t K, int8_t* qs, float* d, int32_t* sum, int64_t group) {
  float am = 0.f;
  for (int64_t b = 0; b < K / 32; ++b, x += 32, qs += 32) {
    if (b % (group / 32) == 0) {
      float32x4_t amax = vdupq_n_f32(0.f);
      for (int64_t j = 0; j < group; j += 4) amax = vmaxq_f32(amax, vabsq_f32(vld1q_f32(x + j)));
      am = vmaxvq_f32(amax);
    }
    float32x4_t v[8];
    for (int j = 0; j < 8; ++j) v[j] = vld1q_f32(x + 4 * j);
    d[b] = am / 127.f;
    const float id = am > 0.f ? 127.f / am : 0.f;
    int32x4_t total = vdupq_n_s32(0);
    int16_t q16[32];
    for (int j = 0; j < 8; ++j) {
      const int32x4_t q = vcvtnq_s32_f32(vmulq_n_f32(v[j], id));
      total = vaddq_s32(total, q);
      vst1_s16(q16 + 4 * j, vmovn_s32(q));
    }
    sum[b] = vaddvq_s32(total);
    vst1q_s8(qs, vcombine_s8(vmovn_s16(vld1q_s16(q16)), vmovn_s16(vld1q_s16(q16 + 8))));
    vst1q_s8(qs + 16, vcombine_s8(vmovn_s16(vld1q_s16(q16 + 16)), vmovn_s16(vld1q_s16(q16 + 24))));
  }
}

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

void dot_quant(core::DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows,
               float* out, int64_t ldo) {
  if (wt != core::DType::kQ8_0 && wt != core::DType::kQ4_0) {
    return portable_kernels().dot_quant(wt, x, M, w, w_rb, n_rows, out, ldo);
  }
  const int64_t nb = x.K / 32;
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t m = 0; m < M; ++m) {
      const char* wr = w + r * w_rb;
      out[m * ldo + r] = wt == core::DType::kQ8_0 ? row_q8_0(wr, x.qs + m * x.K, x.d + m * nb, nb)
                                                  : row_q4_0(wr, x.qs + m * x.K, x.d + m * nb, nb);
    }
  }
}

}  // namespace
}  // namespace neon

const IsaKernels* neon_kernels() {
  static const IsaKernels k = {
      Isa::kNeon,     neon::dot_float, neon::dot_quant, neon::quantize_act, nullptr,
      neon::dot_f32,  neon::axpy_f32,  neon::scale_f32, neon::sum_sq,       neon::sum,
      neon::max,      nullptr,         nullptr,         nullptr,            nullptr,
      nullptr,
  };
  return &k;
}

}  // namespace nlm::kernels::cpu
