// Portable C++ kernels (no intrinsics): the fallback table and the filler for entries an ISA table
// leaves null. Written so the compiler can vectorize the inner loops with the baseline ISA.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/arena.h"
#include "core/f16.h"
#include "kernels/cpu/gemm_blocked.h"
#include "kernels/cpu/isa.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/unpack.h"

namespace nlm::kernels::cpu {
namespace {

using core::DType;

void to_f32(DType t, const char* w, int64_t k0, int64_t n, float* out) {
  if (t == DType::kF32) {
    const float* p = reinterpret_cast<const float*>(w) + k0;
    std::copy(p, p + n, out);
  } else if (t == DType::kF16) {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(w) + k0;
    for (int64_t i = 0; i < n; ++i) out[i] = core::f16_to_f32(p[i]);
  } else {
    const uint16_t* p = reinterpret_cast<const uint16_t*>(w) + k0;
    for (int64_t i = 0; i < n; ++i) out[i] = core::bf16_to_f32(p[i]);
  }
}

void dot_float(DType wt, const float* x, int64_t ldx, int64_t M, const char* w, int64_t w_rb, int64_t n_rows,
               int64_t K, float* out, int64_t ldo) {
  constexpr int64_t kChunk = 256;
  float buf[kChunk];
  for (int64_t r = 0; r < n_rows; ++r) {
    const char* wr = w + r * w_rb;
    for (int64_t m = 0; m < M; ++m) out[m * ldo + r] = 0.f;
    for (int64_t k0 = 0; k0 < K; k0 += kChunk) {
      const int64_t n = std::min(kChunk, K - k0);
      to_f32(wt, wr, k0, n, buf);
      for (int64_t m = 0; m < M; ++m) {
        const float* xm = x + m * ldx + k0;
        float acc = 0.f;
        for (int64_t i = 0; i < n; ++i) acc += xm[i] * buf[i];
        out[m * ldo + r] += acc;
      }
    }
  }
}

void dot_quant(DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows, float* out,
               int64_t ldo) {
  const int64_t nb = x.K / 32;
  quant::Unpacked32 u;
  for (int64_t r = 0; r < n_rows; ++r) {
    const char* wr = w + r * w_rb;
    for (int64_t m = 0; m < M; ++m) out[m * ldo + r] = 0.f;
    for (int64_t b = 0; b < nb; ++b) {
      quant::unpack32(wt, wr, b, &u);
      for (int64_t m = 0; m < M; ++m) {
        const int8_t* xq = x.qs + m * x.K + 32 * b;
        int32_t lo = 0, hi = 0;
        for (int j = 0; j < 16; ++j) lo += u.q[j] * xq[j];
        for (int j = 16; j < 32; ++j) hi += u.q[j] * xq[j];
        const float d = x.d[m * nb + b];
        if (u.m[0] == u.m[1]) {
          out[m * ldo + r] += d * (u.s[0] * lo + u.s[1] * hi + u.m[0] * x.sum[m * nb + b]);
        } else {  // q2_K: an offset per 16 values, times that half's activation sum
          int32_t sum_lo = 0;
          for (int j = 0; j < 16; ++j) sum_lo += xq[j];
          const int32_t sum_hi = x.sum[m * nb + b] - sum_lo;
          out[m * ldo + r] += d * (u.s[0] * lo + u.s[1] * hi + u.m[0] * sum_lo + u.m[1] * sum_hi);
        }
      }
    }
  }
}

// C = A·Bᵀ, 4×4 register tiles over k (plain C++; the compiler vectorizes what it can).
void gemm_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t M,
              int64_t N, int64_t K) {
  for (int64_t i0 = 0; i0 < M; i0 += 4) {
    for (int64_t j0 = 0; j0 < N; j0 += 4) {
      float acc[4][4] = {};
      const int64_t mi = std::min<int64_t>(4, M - i0), nj = std::min<int64_t>(4, N - j0);
      for (int64_t k = 0; k < K; ++k) {
        for (int64_t i = 0; i < mi; ++i)
          for (int64_t j = 0; j < nj; ++j) acc[i][j] += a[(i0 + i) * lda + k] * b[(j0 + j) * ldb + k];
      }
      for (int64_t i = 0; i < mi; ++i)
        for (int64_t j = 0; j < nj; ++j) c[(i0 + i) * ldc + j0 + j] = acc[i][j];
    }
  }
}

// Packed GEMM in plain C++ (layouts in isa.h).
void pack_a(const float* a, int64_t lda, int64_t M, int64_t K, int64_t q0, int64_t q1, float* ap) {
  const int64_t Mp = (M + kPackMR - 1) / kPackMR * kPackMR;
  for (int64_t k0 = 0; k0 < K; k0 += kPackKC) {
    const int64_t kc = std::min(kPackKC, K - k0);
    for (int64_t q = q0; q < q1; ++q) {
      float* dst = ap + k0 * Mp + q * kPackMR * kc;
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t i = 0; i < kPackMR; ++i) {
          const int64_t m = q * kPackMR + i;
          dst[k * kPackMR + i] = m < M ? a[m * lda + k0 + k] : 0.f;
        }
    }
  }
}

void pack_b(const float* b, int64_t ldb, int64_t N, int64_t K, float* bp) {
  for (int64_t p = 0; p * kPackNR < N; ++p)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < kPackNR; ++j) {
        const int64_t n = p * kPackNR + j;
        bp[(p * K + k) * kPackNR + j] = n < N ? b[n * ldb + k] : 0.f;
      }
}

void gemm_packed(const float* ap, int64_t M, int64_t K, const float* bp, int64_t N, float* c, int64_t ldc) {
  const int64_t Mp = (M + kPackMR - 1) / kPackMR * kPackMR;
  for (int64_t m = 0; m < M; ++m) std::fill(c + m * ldc, c + m * ldc + N, 0.f);
  for (int64_t k0 = 0; k0 < K; k0 += kPackKC) {
    const int64_t kc = std::min(kPackKC, K - k0);
    for (int64_t m = 0; m < M; ++m) {
      const float* a = ap + k0 * Mp + (m / kPackMR) * kPackMR * kc + m % kPackMR;
      for (int64_t n = 0; n < N; ++n) {
        const float* b = bp + ((n / kPackNR) * K + k0) * kPackNR + n % kPackNR;
        float acc = 0.f;
        for (int64_t k = 0; k < kc; ++k) acc += a[k * kPackMR] * b[k * kPackNR];
        c[m * ldc + n] += acc;
      }
    }
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  float acc = 0.f;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}
void scale_f32(float s, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = s * x[i];
}
void dot_heads(const float* q, int64_t ldq, int64_t G, const float* k, int64_t ldk, int64_t n, int64_t D, float* s,
               int64_t lds) {
  for (int64_t g = 0; g < G; ++g) {
    for (int64_t j = 0; j < n; ++j) s[g * lds + j] = dot_f32(q + g * ldq, k + j * ldk, D);
  }
}
void mix_rows(const float* p, int64_t ldp, int64_t G, const float* v, int64_t ldv, int64_t n, int64_t D, float* o,
              int64_t ldo) {
  for (int64_t g = 0; g < G; ++g) {
    float* og = o + g * ldo;
    std::fill(og, og + D, 0.f);
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t c = 0; c < D; ++c) og[c] += p[g * ldp + j] * v[j * ldv + c];
    }
  }
}
float sum_sq(const float* x, float c, int64_t n) {
  float acc = 0.f;
  for (int64_t i = 0; i < n; ++i) acc += (x[i] - c) * (x[i] - c);
  return acc;
}
float sum(const float* x, int64_t n) {
  float acc = 0.f;
  for (int64_t i = 0; i < n; ++i) acc += x[i];
  return acc;
}
float max(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  return m;
}
float exp_sub_sum(float* x, float m, int64_t n) {
  float s = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    s += x[i];
  }
  return s;
}
void rms_apply(const float* x, const float* w, float inv, bool add_one, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * inv * (w ? (add_one ? 1.f + w[i] : w[i]) : 1.f);
}
void ln_apply(const float* x, const float* w, const float* b, float mean, float inv, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * inv * (w ? w[i] : 1.f) + (b ? b[i] : 0.f);
}

float gelu1(float v) { return 0.5f * v * (1.f + std::erf(v * 0.70710678118654752f)); }
float gelu_tanh1(float v) {
  return 0.5f * v * (1.f + std::tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
}
float silu1(float v) { return v / (1.f + std::exp(-v)); }

void unary(int op, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    y[i] = op == kOpGelu ? gelu1(x[i]) : op == kOpGeluTanh ? gelu_tanh1(x[i]) : silu1(x[i]);
  }
}
void binary(int op, const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    switch (op) {
      case kOpAdd: y[i] = a[i] + b[i]; break;
      case kOpMul: y[i] = a[i] * b[i]; break;
      case kOpSwiglu: y[i] = silu1(a[i]) * b[i]; break;
      case kOpGeglu: y[i] = gelu1(a[i]) * b[i]; break;
      default: y[i] = gelu_tanh1(a[i]) * b[i]; break;
    }
  }
}

}  // namespace

void gemm_f32_by_packing(PackAFn pack_a, PackBFn pack_b, GemmPackedFn gemm_packed, const float* a, int64_t lda,
                         const float* b, int64_t ldb, float* c, int64_t ldc, int64_t M, int64_t N, int64_t K) {
  thread_local core::AlignedBuffer<float> abuf, bbuf;
  const int64_t Mp = (M + kPackMR - 1) / kPackMR * kPackMR, Np = (N + kPackNR - 1) / kPackNR * kPackNR;
  abuf.resize(static_cast<size_t>(Mp * K));
  bbuf.resize(static_cast<size_t>(Np * K));
  pack_a(a, lda, M, K, 0, Mp / kPackMR, abuf.data());
  pack_b(b, ldb, N, K, bbuf.data());
  gemm_packed(abuf.data(), M, K, bbuf.data(), N, c, ldc);
}

const IsaKernels& portable_kernels() {
  static const IsaKernels k = {
      Isa::kPortable, dot_float, dot_quant, quant::quantize_act_ref, gemm_f32, dot_f32, scale_f32,
      sum_sq,         sum,       max,       exp_sub_sum,             rms_apply, ln_apply, unary, binary,
      pack_a,         pack_b,    gemm_packed, nullptr, 0, quant::dequantize, dot_heads, mix_rows, 0, 0,
  };
  return k;
}

}  // namespace nlm::kernels::cpu
