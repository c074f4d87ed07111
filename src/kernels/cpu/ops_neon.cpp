// ARM64 NEON (+dotprod, +fp16) kernels: vector helpers, f32/f16/bf16 dot rows and the int8 activation
// quantizer; int8 dot products in quant_neon.cpp, the f32 GEMM in gemm_neon.cpp, element-wise math in
// act_neon.cpp. The GEMM packers come from the portable table (the layout is shared). Selected only when
// the CPU reports asimddp (dispatch.cpp).
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/isa.h"

namespace nlm::kernels::cpu {
namespace neon {

void dot_quant(core::DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows,
               float* out, int64_t ldo);  // quant_neon.cpp
void gemm_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t M,
              int64_t N, int64_t K);  // gemm_neon.cpp
void gemm_packed(const float* ap, int64_t M, int64_t K, const float* bp, int64_t N, float* c, int64_t ldc);
void gemm_int8(core::DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows, float* out,
               int64_t ldo);  // gemm_i8_neon.cpp
void dequantize(const void* src, core::DType t, int64_t n, float* dst);  // quant_neon.cpp
float exp_sub_sum(float* x, float mx, int64_t n);  // act_neon.cpp
void rms_apply(const float* x, const float* w, float inv, bool add_one, float* y, int64_t n);
void ln_apply(const float* x, const float* w, const float* b, float mean, float inv, float* y, int64_t n);
void unary(int op, const float* x, float* y, int64_t n);
void binary(int op, const float* a, const float* b, float* y, int64_t n);

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

// Attention's scores, 4 keys per step for each head (each query load feeds 4 FMAs); keys past the last
// whole 4, and head-dim columns past the last whole 4, one at a time.
void dot_heads(const float* q, int64_t ldq, int64_t G, const float* k, int64_t ldk, int64_t n, int64_t D, float* s,
               int64_t lds) {
  const int64_t D4 = D / 4 * 4;
  for (int64_t g = 0; g < G; ++g) {
    const float* qg = q + g * ldq;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
      const float* kj = k + j * ldk;
      float32x4_t acc[4] = {vdupq_n_f32(0.f), vdupq_n_f32(0.f), vdupq_n_f32(0.f), vdupq_n_f32(0.f)};
      for (int64_t c = 0; c < D4; c += 4) {
        const float32x4_t qv = vld1q_f32(qg + c);
        for (int r = 0; r < 4; ++r) acc[r] = vfmaq_f32(acc[r], qv, vld1q_f32(kj + r * ldk + c));
      }
      for (int r = 0; r < 4; ++r) {
        float t = vaddvq_f32(acc[r]);
        for (int64_t c = D4; c < D; ++c) t += qg[c] * kj[r * ldk + c];
        s[g * lds + j + r] = t;
      }
    }
    for (; j < n; ++j) s[g * lds + j] = dot_f32(qg, k + j * ldk, D);
  }
}

// Attention's P·V in tiles of up to 4 heads × 16 columns (16 accumulators): each v row's 16 columns are
// loaded once per tile and meet 4 weights; columns past the last whole 16 go one at a time.
void mix_rows(const float* p, int64_t ldp, int64_t G, const float* v, int64_t ldv, int64_t n, int64_t D, float* o,
              int64_t ldo) {
  for (int64_t g0 = 0; g0 < G; g0 += 4) {
    const int64_t ng = std::min<int64_t>(4, G - g0);
    const float* pg[4];
    for (int64_t g = 0; g < 4; ++g) pg[g] = p + (g0 + std::min(g, ng - 1)) * ldp;  // short tiles repeat a row
    int64_t c = 0;
    for (; c + 16 <= D; c += 16) {
      float32x4_t acc[4][4];
      for (auto& a : acc)
        for (auto& x : a) x = vdupq_n_f32(0.f);
      for (int64_t j = 0; j < n; ++j) {
        const float* vj = v + j * ldv + c;
        const float32x4_t v0 = vld1q_f32(vj), v1 = vld1q_f32(vj + 4), v2 = vld1q_f32(vj + 8), v3 = vld1q_f32(vj + 12);
        for (int g = 0; g < 4; ++g) {
          const float w = pg[g][j];
          acc[g][0] = vfmaq_n_f32(acc[g][0], v0, w);
          acc[g][1] = vfmaq_n_f32(acc[g][1], v1, w);
          acc[g][2] = vfmaq_n_f32(acc[g][2], v2, w);
          acc[g][3] = vfmaq_n_f32(acc[g][3], v3, w);
        }
      }
      for (int64_t g = 0; g < ng; ++g) {
        for (int i = 0; i < 4; ++i) vst1q_f32(o + (g0 + g) * ldo + c + 4 * i, acc[g][i]);
      }
    }
    for (; c < D; ++c) {
      for (int64_t g = 0; g < ng; ++g) {
        float acc = 0.f;
        for (int64_t j = 0; j < n; ++j) acc += pg[g][j] * v[j * ldv + c];
        o[(g0 + g) * ldo + c] = acc;
      }
    }
  }
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

}  // namespace
}  // namespace neon

const IsaKernels* neon_kernels() {
  static const IsaKernels k = {
      Isa::kNeon,    neon::dot_float, neon::dot_quant,        neon::quantize_act, neon::gemm_f32,
      neon::dot_f32, neon::scale_f32,        neon::sum_sq,       neon::sum,
      neon::max,     neon::exp_sub_sum, neon::rms_apply,      neon::ln_apply,     neon::unary,
      neon::binary,  nullptr,         nullptr,                neon::gemm_packed,  // packing: portable's
      neon::gemm_int8,
      dtype_bit(core::DType::kQ8_0) | dtype_bit(core::DType::kQ4_0) | dtype_bit(core::DType::kQ4_1) |
          dtype_bit(core::DType::kQ4_K) | dtype_bit(core::DType::kQ6_K) | dtype_bit(core::DType::kA4_32) |
          dtype_bit(core::DType::kQ5_0) | dtype_bit(core::DType::kQ5_1) | dtype_bit(core::DType::kQ5_K),
      neon::dequantize, neon::dot_heads, neon::mix_rows,
      0,                0,  // int8 GEMM from kGemmMinRows rows
  };
  return &k;
}

}  // namespace nlm::kernels::cpu
