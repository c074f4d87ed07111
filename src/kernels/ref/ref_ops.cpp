// Reference norms, activations, element-wise ops, rope and pooling.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/ref/ref.h"

namespace nlm::kernels::ref {

void layer_norm(const float* x, int64_t rows, int64_t dim, const float* w, const float* b, float eps,
                float* y) {
  for (int64_t r = 0; r < rows; ++r, x += dim, y += dim) {
    double mean = 0.0, var = 0.0;
    for (int64_t i = 0; i < dim; ++i) mean += x[i];
    mean /= dim;
    for (int64_t i = 0; i < dim; ++i) var += (x[i] - mean) * (x[i] - mean);
    var /= dim;
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < dim; ++i) {
      y[i] = static_cast<float>((x[i] - mean) * inv * (w ? w[i] : 1.0) + (b ? b[i] : 0.0));
    }
  }
}

void rms_norm(const float* x, int64_t rows, int64_t dim, const float* w, float eps, float* y, bool add_one) {
  for (int64_t r = 0; r < rows; ++r, x += dim, y += dim) {
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(x[i]) * x[i];
    const double inv = 1.0 / std::sqrt(ss / dim + eps);
    for (int64_t i = 0; i < dim; ++i) {
      const double g = w ? (add_one ? 1.0 + w[i] : w[i]) : 1.0;
      y[i] = static_cast<float>(x[i] * inv * g);
    }
  }
}

void softmax(float* x, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r, x += n) {
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
    if (mx == -std::numeric_limits<float>::infinity()) {
      std::fill(x, x + n, 0.f);
      continue;
    }
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - mx);
    for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(std::exp(static_cast<double>(x[i]) - mx) / s);
  }
}

void l2_normalize(float* x, int64_t rows, int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r, x += dim) {
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(x[i]) * x[i];
    const double inv = 1.0 / std::max(std::sqrt(ss), static_cast<double>(eps));
    for (int64_t i = 0; i < dim; ++i) x[i] = static_cast<float>(x[i] * inv);
  }
}

static double gelu1(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }
static double gelu_tanh1(double v) {
  return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
}
static double silu1(double v) { return v / (1.0 + std::exp(-v)); }

void gelu(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(gelu1(x[i]));
}
void gelu_tanh(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(gelu_tanh1(x[i]));
}
void silu(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(silu1(x[i]));
}
void swiglu(const float* gate, const float* up, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(silu1(gate[i]) * up[i]);
}
void geglu(const float* gate, const float* up, int64_t n, float* y, bool tanh_approx) {
  for (int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<float>((tanh_approx ? gelu_tanh1(gate[i]) : gelu1(gate[i])) * up[i]);
  }
}
void add(const float* a, const float* b, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}
void mul(const float* a, const float* b, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}
void scale(const float* x, int64_t n, float s, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = s * x[i];
}
void add_bias(float* x, int64_t rows, int64_t cols, const float* bias) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) x[r * cols + c] += bias[c];
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
  if (ld == 0) ld = n_heads * head_dim;
  const int64_t half = rot_dim / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + t * ld + h * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t a = layout == RopeLayout::kNeox ? i : 2 * i;
        const int64_t b = layout == RopeLayout::kNeox ? i + half : 2 * i + 1;
        const double c = cos[t * half + i], s = sin[t * half + i];
        const double va = v[a], vb = v[b];
        v[a] = static_cast<float>(va * c - vb * s);
        v[b] = static_cast<float>(vb * c + va * s);
      }
    }
  }
}

void pool(const float* x, int64_t batch, int64_t n_tokens, int64_t dim, const uint8_t* mask, Pooling mode,
          float* out) {
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
    for (int64_t i = 0; i < dim; ++i) {
      if (count == 0) {
        o[i] = 0.f;
        continue;
      }
      switch (mode) {
        case Pooling::kCls: o[i] = xb[first * dim + i]; break;
        case Pooling::kLast: o[i] = xb[last * dim + i]; break;
        case Pooling::kMean: {
          double s = 0.0;
          for (int64_t t = 0; t < n_tokens; ++t)
            if (!mb || mb[t]) s += xb[t * dim + i];
          o[i] = static_cast<float>(s / count);
          break;
        }
        case Pooling::kMax: {
          float m = -std::numeric_limits<float>::infinity();
          for (int64_t t = 0; t < n_tokens; ++t)
            if (!mb || mb[t]) m = std::max(m, xb[t * dim + i]);
          o[i] = m;
          break;
        }
      }
    }
  }
}

}  // namespace nlm::kernels::ref
