// ARM64 NEON element-wise kernels: softmax's exp-and-sum, the norms' final scaling, GELU (erf and tanh),
// SiLU and the gated products. The math follows vec_avx2.h step for step (same range reduction,
// polynomials and constants), 4 lanes at a time; tails go through a zero-padded 4-float buffer.
#include <arm_neon.h>

#include <algorithm>

#include "kernels/cpu/isa.h"

namespace nlm::kernels::cpu::neon {
namespace {

inline float32x4_t dup(float v) { return vdupq_n_f32(v); }

// exp(x), relative error below 2 ulp over [-87.3, 88.7]; flushes to 0 below, +inf above.
inline float32x4_t exp4(float32x4_t x) {
  const float32x4_t lo = dup(-87.3365f);
  const uint32x4_t under = vcltq_f32(x, lo);
  x = vmaxq_f32(vminq_f32(x, dup(88.7228f)), lo);
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, dup(1.44269504088896341f)));
  float32x4_t r = vfmsq_f32(x, n, dup(0.693359375f));
  r = vfmsq_f32(r, n, dup(-2.12194440e-4f));
  float32x4_t p = dup(1.9875691500e-4f);
  p = vfmaq_f32(dup(1.3981999507e-3f), p, r);
  p = vfmaq_f32(dup(8.3334519073e-3f), p, r);
  p = vfmaq_f32(dup(4.1665795894e-2f), p, r);
  p = vfmaq_f32(dup(1.6666665459e-1f), p, r);
  p = vfmaq_f32(dup(5.0000001201e-1f), p, r);
  p = vfmaq_f32(vaddq_f32(r, dup(1.f)), p, vmulq_f32(r, r));
  // 2^n in two steps so n = 128 (x near 88.7) does not overflow the exponent field.
  const int32x4_t ni = vcvtq_s32_f32(n);
  const int32x4_t h1 = vshrq_n_s32(ni, 1);
  const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(h1, vdupq_n_s32(127)), 23));
  const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(ni, h1), vdupq_n_s32(127)), 23));
  p = vmulq_f32(vmulq_f32(p, s1), s2);
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(p), under));
}

inline float32x4_t sigmoid4(float32x4_t x) { return vdivq_f32(dup(1.f), vaddq_f32(dup(1.f), exp4(vnegq_f32(x)))); }
inline float32x4_t tanh4(float32x4_t x) { return vfmsq_f32(dup(-1.f), dup(-2.f), sigmoid4(vaddq_f32(x, x))); }

// erf(x) by Abramowitz & Stegun 7.1.26: |error| ≤ 1.5e-7 (absolute).
inline float32x4_t erf4(float32x4_t x) {
  const uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u));
  const float32x4_t a = vabsq_f32(x);
  const float32x4_t t = vdivq_f32(dup(1.f), vfmaq_f32(dup(1.f), dup(0.3275911f), a));
  float32x4_t p = dup(1.061405429f);
  p = vfmaq_f32(dup(-1.453152027f), p, t);
  p = vfmaq_f32(dup(1.421413741f), p, t);
  p = vfmaq_f32(dup(-0.284496736f), p, t);
  p = vfmaq_f32(dup(0.254829592f), p, t);
  p = vmulq_f32(p, t);
  const float32x4_t y = vfmsq_f32(dup(1.f), p, exp4(vnegq_f32(vmulq_f32(a, a))));
  return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(y), sign));
}

inline float32x4_t gelu4(float32x4_t v) {
  return vmulq_f32(vmulq_f32(dup(0.5f), v), vaddq_f32(dup(1.f), erf4(vmulq_f32(v, dup(0.70710678118654752f)))));
}
inline float32x4_t gelu_tanh4(float32x4_t v) {
  const float32x4_t v3 = vmulq_f32(vmulq_f32(v, v), v);
  const float32x4_t in = vmulq_f32(dup(0.79788456080286536f), vfmaq_f32(v, dup(0.044715f), v3));
  return vmulq_f32(vmulq_f32(dup(0.5f), v), vaddq_f32(dup(1.f), tanh4(in)));
}
inline float32x4_t silu4(float32x4_t v) { return vmulq_f32(v, sigmoid4(v)); }

// y[i..i+4) = f(x[i..i+4), i) over n elements; the last partial vector through zero-padded buffers
// (`extra` arrays are read at the same offsets: up to two, null allowed).
template <typename F>
inline void map(const float* x, const float* e0, const float* e1, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    vst1q_f32(y + i, f(vld1q_f32(x + i), e0 ? vld1q_f32(e0 + i) : dup(0.f), e1 ? vld1q_f32(e1 + i) : dup(0.f)));
  }
  if (i == n) return;
  float bx[4] = {}, b0[4] = {}, b1[4] = {}, by[4];
  const int64_t left = n - i;
  std::copy(x + i, x + n, bx);
  if (e0) std::copy(e0 + i, e0 + n, b0);
  if (e1) std::copy(e1 + i, e1 + n, b1);
  vst1q_f32(by, f(vld1q_f32(bx), vld1q_f32(b0), vld1q_f32(b1)));
  std::copy(by, by + left, y + i);
}

}  // namespace

float exp_sub_sum(float* x, float mx, int64_t n) {
  const float32x4_t vm = dup(mx);
  float32x4_t s = dup(0.f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t e = exp4(vsubq_f32(vld1q_f32(x + i), vm));
    vst1q_f32(x + i, e);
    s = vaddq_f32(s, e);
  }
  float total = vaddvq_f32(s);
  if (i < n) {
    float b[4] = {mx, mx, mx, mx};  // padding lanes (exp(0)) are dropped below
    std::copy(x + i, x + n, b);
    vst1q_f32(b, exp4(vsubq_f32(vld1q_f32(b), vm)));
    for (int64_t j = 0; j < n - i; ++j) {
      x[i + j] = b[j];
      total += b[j];
    }
  }
  return total;
}

void rms_apply(const float* x, const float* w, float inv, bool add_one, float* y, int64_t n) {
  const float32x4_t vi = dup(inv), one = dup(add_one ? 1.f : 0.f);
  if (!w) {
    return map(x, nullptr, nullptr, y, n, [&](float32x4_t v, float32x4_t, float32x4_t) { return vmulq_f32(v, vi); });
  }
  map(x, w, nullptr, y, n,
      [&](float32x4_t v, float32x4_t wv, float32x4_t) { return vmulq_f32(vmulq_f32(v, vi), vaddq_f32(wv, one)); });
}

void ln_apply(const float* x, const float* w, const float* b, float mean, float inv, float* y, int64_t n) {
  const float32x4_t vi = dup(inv), vm = dup(mean);
  map(x, w, b, y, n, [&](float32x4_t v, float32x4_t wv, float32x4_t bv) {
    float32x4_t r = vmulq_f32(vsubq_f32(v, vm), vi);
    if (w) r = vmulq_f32(r, wv);
    if (b) r = vaddq_f32(r, bv);
    return r;
  });
}

void unary(int op, const float* x, float* y, int64_t n) {
  if (op == kOpGelu) {
    map(x, nullptr, nullptr, y, n, [](float32x4_t v, float32x4_t, float32x4_t) { return gelu4(v); });
  } else if (op == kOpGeluTanh) {
    map(x, nullptr, nullptr, y, n, [](float32x4_t v, float32x4_t, float32x4_t) { return gelu_tanh4(v); });
  } else {
    map(x, nullptr, nullptr, y, n, [](float32x4_t v, float32x4_t, float32x4_t) { return silu4(v); });
  }
}

void binary(int op, const float* a, const float* b, float* y, int64_t n) {
  switch (op) {
    case kOpAdd:
      return map(a, b, nullptr, y, n, [](float32x4_t u, float32x4_t v, float32x4_t) { return vaddq_f32(u, v); });
    case kOpMul:
      return map(a, b, nullptr, y, n, [](float32x4_t u, float32x4_t v, float32x4_t) { return vmulq_f32(u, v); });
    case kOpSwiglu:
      return map(a, b, nullptr, y, n,
                 [](float32x4_t u, float32x4_t v, float32x4_t) { return vmulq_f32(silu4(u), v); });
    case kOpGeglu:
      return map(a, b, nullptr, y, n,
                 [](float32x4_t u, float32x4_t v, float32x4_t) { return vmulq_f32(gelu4(u), v); });
    default:
      return map(a, b, nullptr, y, n,
                 [](float32x4_t u, float32x4_t v, float32x4_t) { return vmulq_f32(gelu_tanh4(u), v); });
  }
}

}  // namespace nlm::kernels::cpu::neon
