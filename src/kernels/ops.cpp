// Norms, element-wise ops, rope and pooling: thin loops over the active ISA table's vector helpers,
// parallel over rows (or chunks) when the work is large enough to pay for the pool.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/status.h"
#include "core/thread_pool.h"
#include "kernels/cpu/isa.h"
#include "kernels/kernels.h"

namespace nlm::kernels {
namespace {

constexpr int64_t kParallelMin = 1 << 15;  // elements below which a single thread is faster
constexpr int64_t kChunk = 1 << 14;

// Runs fn(row) for each row, in parallel when rows·dim is large.
template <typename Fn>
void for_rows(int64_t rows, int64_t dim, Fn&& fn) {
  if (rows * dim < kParallelMin || rows == 1) {
    for (int64_t r = 0; r < rows; ++r) fn(r);
    return;
  }
  core::parallel_for(rows, [&](int64_t r, int) { fn(r); });
}

// Runs fn(offset, count) over [0, n) in chunks.
template <typename Fn>
void for_chunks(int64_t n, Fn&& fn) {
  if (n < kParallelMin) {
    if (n > 0) fn(0, n);
    return;
  }
  core::parallel_for((n + kChunk - 1) / kChunk, [&](int64_t c, int) {
    fn(c * kChunk, std::min(kChunk, n - c * kChunk));
  });
}

}  // namespace

void layer_norm(const float* x, int64_t rows, int64_t dim, const float* w, const float* b, float eps,
                float* y) {
  const auto& kt = cpu::active_kernels();
  for_rows(rows, dim, [&](int64_t r) {
    const float* xr = x + r * dim;
    const float mean = kt.sum(xr, dim) / static_cast<float>(dim);
    const float var = kt.sum_sq(xr, mean, dim) / static_cast<float>(dim);
    kt.ln_apply(xr, w, b, mean, 1.f / std::sqrt(var + eps), y + r * dim, dim);
  });
}

void rms_norm(const float* x, int64_t rows, int64_t dim, const float* w, float eps, float* y, bool add_one) {
  const auto& kt = cpu::active_kernels();
  for_rows(rows, dim, [&](int64_t r) {
    const float* xr = x + r * dim;
    const float ms = kt.sum_sq(xr, 0.f, dim) / static_cast<float>(dim);
    kt.rms_apply(xr, w, 1.f / std::sqrt(ms + eps), add_one, y + r * dim, dim);
  });
}

void softmax(float* x, int64_t rows, int64_t n) {
  const auto& kt = cpu::active_kernels();
  for_rows(rows, n, [&](int64_t r) {
    float* xr = x + r * n;
    const float m = kt.max(xr, n);
    if (m == -std::numeric_limits<float>::infinity()) {
      std::fill(xr, xr + n, 0.f);
      return;
    }
    const float s = kt.exp_sub_sum(xr, m, n);
    kt.scale_f32(1.f / s, xr, xr, n);
  });
}

void l2_normalize(float* x, int64_t rows, int64_t dim, float eps) {
  const auto& kt = cpu::active_kernels();
  for_rows(rows, dim, [&](int64_t r) {
    float* xr = x + r * dim;
    const float norm = std::sqrt(kt.sum_sq(xr, 0.f, dim));
    kt.scale_f32(1.f / std::max(norm, eps), xr, xr, dim);
  });
}

static void unary(int op, const float* x, int64_t n, float* y) {
  const auto& kt = cpu::active_kernels();
  for_chunks(n, [&](int64_t o, int64_t c) { kt.unary(op, x + o, y + o, c); });
}
static void binary(int op, const float* a, const float* b, int64_t n, float* y) {
  const auto& kt = cpu::active_kernels();
  for_chunks(n, [&](int64_t o, int64_t c) { kt.binary(op, a + o, b + o, y + o, c); });
}

void gelu(const float* x, int64_t n, float* y) { unary(cpu::kOpGelu, x, n, y); }
void gelu_tanh(const float* x, int64_t n, float* y) { unary(cpu::kOpGeluTanh, x, n, y); }
void silu(const float* x, int64_t n, float* y) { unary(cpu::kOpSilu, x, n, y); }
void swiglu(const float* gate, const float* up, int64_t n, float* y) { binary(cpu::kOpSwiglu, gate, up, n, y); }
void geglu(const float* gate, const float* up, int64_t n, float* y, bool tanh_approx) {
  binary(tanh_approx ? cpu::kOpGegluTanh : cpu::kOpGeglu, gate, up, n, y);
}
void add(const float* a, const float* b, int64_t n, float* y) { binary(cpu::kOpAdd, a, b, n, y); }
void mul(const float* a, const float* b, int64_t n, float* y) { binary(cpu::kOpMul, a, b, n, y); }
void scale(const float* x, int64_t n, float s, float* y) {
  const auto& kt = cpu::active_kernels();
  for_chunks(n, [&](int64_t o, int64_t c) { kt.scale_f32(s, x + o, y + o, c); });
}
void add_bias(float* x, int64_t rows, int64_t cols, const float* bias) {
  const auto& kt = cpu::active_kernels();
  for_rows(rows, cols, [&](int64_t r) { kt.binary(cpu::kOpAdd, x + r * cols, bias, x + r * cols, cols); });
}

void rope_default_inv_freq(float theta, int64_t rot_dim, float* inv_freq) {
  for (int64_t i = 0; i < rot_dim / 2; ++i) {
    inv_freq[i] = static_cast<float>(1.0 / std::pow(static_cast<double>(theta), 2.0 * i / rot_dim));
  }
}

void rope_cos_sin(const float* inv_freq, int64_t rot_dim, const int32_t* positions, int64_t n_tokens,
                  float attention_factor, float* cos, float* sin) {
  const int64_t half = rot_dim / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      const double a = static_cast<double>(positions[t]) * inv_freq[i];
      cos[t * half + i] = static_cast<float>(std::cos(a) * attention_factor);
      sin[t * half + i] = static_cast<float>(std::sin(a) * attention_factor);
    }
  }
}

void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t rot_dim, const float* cos,
          const float* sin, RopeLayout layout, int64_t ld) {
  NLM_CHECK(rot_dim % 2 == 0 && rot_dim <= head_dim);
  if (ld == 0) ld = n_heads * head_dim;
  const int64_t half = rot_dim / 2;
  for_rows(n_tokens, n_heads * head_dim, [&](int64_t t) {
    const float* c = cos + t * half;
    const float* s = sin + t * half;
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + t * ld + h * head_dim;
      if (layout == RopeLayout::kNeox) {
        float* v2 = v + half;
        for (int64_t i = 0; i < half; ++i) {
          const float a = v[i], b = v2[i];
          v[i] = a * c[i] - b * s[i];
          v2[i] = b * c[i] + a * s[i];
        }
      } else {
        for (int64_t i = 0; i < half; ++i) {
          const float a = v[2 * i], b = v[2 * i + 1];
          v[2 * i] = a * c[i] - b * s[i];
          v[2 * i + 1] = b * c[i] + a * s[i];
        }
      }
    }
  });
}

void pool(const float* x, int64_t batch, int64_t n_tokens, int64_t dim, const uint8_t* mask, Pooling mode,
          float* out) {
  const auto& kt = cpu::active_kernels();
  for (int64_t b = 0; b < batch; ++b) {
    const float* xb = x + b * n_tokens * dim;
    const uint8_t* mb = mask ? mask + b * n_tokens : nullptr;
    float* o = out + b * dim;
    int64_t first = -1, last = -1, count = 0;
    for (int64_t t = 0; t < n_tokens; ++t) {
      if (mb && !mb[t]) continue;
      if (first < 0) first = t;
      last = t;
      ++count;
    }
    if (count == 0) {
      std::fill(o, o + dim, 0.f);
      continue;
    }
    if (mode == Pooling::kCls || mode == Pooling::kLast) {
      const float* src = xb + (mode == Pooling::kCls ? first : last) * dim;
      std::copy(src, src + dim, o);
      continue;
    }
    if (mode == Pooling::kMean) std::fill(o, o + dim, 0.f);
    else std::copy(xb + first * dim, xb + first * dim + dim, o);
    for (int64_t t = first; t <= last; ++t) {
      if (mb && !mb[t]) continue;
      const float* xt = xb + t * dim;
      if (mode == Pooling::kMean) {
        kt.binary(cpu::kOpAdd, o, xt, o, dim);
      } else {
        for (int64_t i = 0; i < dim; ++i) o[i] = std::max(o[i], xt[i]);
      }
    }
    if (mode == Pooling::kMean) kt.scale_f32(1.f / static_cast<float>(count), o, o, dim);
  }
}

}  // namespace nlm::kernels
