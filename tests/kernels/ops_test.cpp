// Norms, softmax, activations, element-wise ops, rope and pooling against kernels/ref on every ISA, at
// sizes {1, N−1, N, N+1, odd, large+7} around the vector widths, on unaligned buffers.
// Tolerances follow from f32 error analysis (u = 2^-24): a sum of n terms is off by ≤ n·u·Σ|terms|;
// the SIMD exp is within 2 ulp, so sigmoid/tanh built from it within ~8u; the erf approximation used by
// the SIMD gelu (Abramowitz–Stegun 7.1.26) is within 1.5e-7 absolute.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"
#include "kernels/ref/ref.h"

namespace nlm::kernels {
namespace {

using namespace testing;

std::vector<int64_t> sizes() { return {1, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 101, large(4096 + 7, 1024 + 7)}; }

TEST(Norms, RmsNormMatchesRef) {
  Rng rng(1);
  for (int64_t dim : sizes()) {
    for (bool add_one : {false, true}) {
      const int64_t rows = 3;
      Floats x(rows * dim), w(dim);
      x.set(rng.normals(rows * dim, 3.f));
      w.set(rng.normals(dim));
      std::vector<float> ref(rows * dim);
      ref::rms_norm(x.data(), rows, dim, w.data(), 1e-6f, ref.data(), add_one);
      for_each_isa([&](Isa) {
        Floats y(rows * dim);
        rms_norm(x.data(), rows, dim, w.data(), 1e-6f, y.data(), add_one);
        for (int64_t i = 0; i < rows * dim; ++i) ASSERT_NEAR(y[i], ref[i], std::fabs(ref[i]) * (dim + 8) * kU + 1e-30);
        // In place.
        Floats z(rows * dim);
        z.set(x.vec());
        rms_norm(z.data(), rows, dim, w.data(), 1e-6f, z.data(), add_one);
        for (int64_t i = 0; i < rows * dim; ++i) ASSERT_EQ(z[i], y[i]);
      });
    }
  }
}

TEST(Norms, LayerNormMatchesRef) {
  Rng rng(2);
  for (int64_t dim : sizes()) {
    if (dim == 1) continue;  // variance 0: covered below
    const int64_t rows = 2;
    Floats x(rows * dim), w(dim), b(dim);
    std::vector<float> xs = rng.normals(rows * dim, 2.f);
    for (auto& v : xs) v += 5.f;  // an offset the two-pass variance must survive
    x.set(xs);
    w.set(rng.normals(dim));
    b.set(rng.normals(dim));
    std::vector<float> ref(rows * dim);
    ref::layer_norm(x.data(), rows, dim, w.data(), b.data(), 1e-5f, ref.data());
    for_each_isa([&](Isa) {
      Floats y(rows * dim);
      layer_norm(x.data(), rows, dim, w.data(), b.data(), 1e-5f, y.data());
      for (int64_t r = 0; r < rows; ++r) {
        double mean_abs = 0, mean = 0, var = 0;
        for (int64_t i = 0; i < dim; ++i) mean_abs += std::fabs(x[r * dim + i]) / dim, mean += x[r * dim + i] / dim;
        for (int64_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean) / dim;
        const double inv = 1 / std::sqrt(var + 1e-5);
        for (int64_t i = 0; i < dim; ++i) {
          const double tol = (dim + 8) * kU * inv * std::fabs(w[i]) * (std::fabs(x[r * dim + i] - mean) + mean_abs) +
                             2 * kU * std::fabs(b[i]);
          ASSERT_NEAR(y[r * dim + i], ref[r * dim + i], tol) << "dim=" << dim << " i=" << i;
        }
      }
    });
  }
  // Constant row: variance 0, output = b.
  float x1[4] = {2, 2, 2, 2}, b1[4] = {1, 2, 3, 4}, y1[4];
  layer_norm(x1, 1, 4, nullptr, b1, 1e-5f, y1);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y1[i], b1[i]);
}

TEST(Softmax, MatchesRefIncludingMaskedEntries) {
  Rng rng(3);
  for (int64_t n : sizes()) {
    Floats x(2 * n);
    x.set(rng.normals(2 * n, 4.f));
    x[0] = -std::numeric_limits<float>::infinity();
    for (int64_t i = n; i < 2 * n; ++i) x[i] = -std::numeric_limits<float>::infinity();  // all masked
    std::vector<float> ref = x.vec();
    ref::softmax(ref.data(), 2, n);
    for_each_isa([&](Isa) {
      Floats y(2 * n);
      y.set(x.vec());
      softmax(y.data(), 2, n);
      float mx = -INFINITY;
      for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
      for (int64_t i = 0; i < 2 * n; ++i) {
        if (std::isinf(x[i])) {
          ASSERT_EQ(y[i], 0.f);
          continue;
        }
        const double tol = ref[i] * ((n + 8) * kU + kU * std::fabs(i < n ? x[i] - mx : 0.f)) + 1e-37;
        ASSERT_NEAR(y[i], ref[i], tol) << "n=" << n << " i=" << i;
      }
    });
  }
}

TEST(Activations, MatchRef) {
  Rng rng(4);
  for (int64_t n : sizes()) {
    Floats x(n), u(n);
    std::vector<float> xs = rng.normals(n, 4.f);
    if (n > 8) xs[3] = -100.f, xs[5] = 100.f, xs[7] = 0.f;
    x.set(xs);
    u.set(rng.normals(n));
    std::vector<float> r_gelu(n), r_gtanh(n), r_silu(n), r_swiglu(n), r_geglu(n);
    ref::gelu(x.data(), n, r_gelu.data());
    ref::gelu_tanh(x.data(), n, r_gtanh.data());
    ref::silu(x.data(), n, r_silu.data());
    ref::swiglu(x.data(), u.data(), n, r_swiglu.data());
    ref::geglu(x.data(), u.data(), n, r_geglu.data(), false);
    for_each_isa([&](Isa) {
      Floats y(n);
      gelu(x.data(), n, y.data());
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(y[i], r_gelu[i], 0.5 * std::fabs(x[i]) * (1.5e-7 + 4 * kU) + 8 * kU * std::fabs(r_gelu[i]));
      gelu_tanh(x.data(), n, y.data());
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(y[i], r_gtanh[i], std::fabs(x[i]) * 8 * kU + 8 * kU * std::fabs(r_gtanh[i]));
      silu(x.data(), n, y.data());
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], r_silu[i], 8 * kU * std::fabs(r_silu[i]) + 1e-30);
      swiglu(x.data(), u.data(), n, y.data());
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], r_swiglu[i], 9 * kU * std::fabs(r_swiglu[i]) + 1e-30);
      geglu(x.data(), u.data(), n, y.data(), false);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(y[i], r_geglu[i],
                    (0.5 * std::fabs(x[i]) * (1.5e-7 + 4 * kU) + 9 * kU * std::fabs(r_gelu[i])) * std::fabs(u[i]));
    });
  }
}

TEST(Elementwise, ExactOps) {
  Rng rng(5);
  for (int64_t n : sizes()) {
    Floats a(n), b(n);
    a.set(rng.normals(n));
    b.set(rng.normals(n));
    for_each_isa([&](Isa) {
      Floats y(n);
      add(a.data(), b.data(), n, y.data());
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], a[i] + b[i]);
      mul(a.data(), b.data(), n, y.data());
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], a[i] * b[i]);
      scale(a.data(), n, 0.37f, y.data());
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], 0.37f * a[i]);
      Floats z(3 * n);
      z.set(rng.normals(3 * n));
      std::vector<float> zr = z.vec();
      add_bias(z.data(), 3, n, b.data());
      for (int64_t i = 0; i < 3 * n; ++i) ASSERT_EQ(z[i], zr[i] + b[i % n]);
    });
  }
}

TEST(L2Normalize, MatchesRefAndZeroRow) {
  Rng rng(6);
  for (int64_t dim : sizes()) {
    Floats x(2 * dim);
    x.set(rng.normals(2 * dim));
    for (int64_t i = dim; i < 2 * dim; ++i) x[i] = 0.f;
    std::vector<float> ref = x.vec();
    ref::l2_normalize(ref.data(), 2, dim);
    for_each_isa([&](Isa) {
      Floats y(2 * dim);
      y.set(x.vec());
      l2_normalize(y.data(), 2, dim);
      for (int64_t i = 0; i < 2 * dim; ++i) ASSERT_NEAR(y[i], ref[i], std::fabs(ref[i]) * (dim + 8) * kU);
    });
  }
}

TEST(Rope, BothLayoutsPartialRotaryAndStride) {
  Rng rng(7);
  for (RopeLayout layout : {RopeLayout::kNeox, RopeLayout::kInterleaved}) {
    for (int64_t head_dim : {2, 8, 64, 80}) {
      for (int64_t rot : {head_dim, head_dim / 2 - (head_dim / 2) % 2}) {
        if (rot == 0) continue;
        const int64_t T = 5, H = 3, ld = H * head_dim + 11;
        std::vector<float> inv(rot / 2), c(T * rot / 2), s(T * rot / 2), rc(T * rot / 2), rs(T * rot / 2);
        rope_default_inv_freq(10000.f, rot, inv.data());
        const int32_t pos[T] = {0, 1, 7, 100, 4095};
        rope_cos_sin(inv.data(), rot, pos, T, 1.f, c.data(), s.data());
        ref::rope_cos_sin(inv.data(), rot, pos, T, 1.f, rc.data(), rs.data());
        for (size_t i = 0; i < c.size(); ++i) {
          ASSERT_EQ(c[i], rc[i]);
          ASSERT_EQ(s[i], rs[i]);
        }
        Floats x(T * ld);
        x.set(rng.normals(T * ld));
        std::vector<float> ref = x.vec();
        ref::rope(ref.data(), T, H, head_dim, rot, rc.data(), rs.data(), layout, ld);
        for_each_isa([&](Isa) {
          Floats y(T * ld);
          y.set(x.vec());
          rope(y.data(), T, H, head_dim, rot, c.data(), s.data(), layout, ld);
          for (int64_t i = 0; i < T * ld; ++i) {
            // Two products and a sum: ≤ 3u relative to |a·c| + |b·s| ≤ |a| + |b|.
            ASSERT_NEAR(y[i], ref[i], 3 * kU * 2 * 4.5 + 1e-30) << "i=" << i;
          }
        });
      }
    }
  }
}

TEST(Pool, AllModesWithMask) {
  Rng rng(8);
  const int64_t B = 3, T = 6;
  for (int64_t dim : {1, 7, 8, 9, 65}) {
    Floats x(B * T * dim);
    x.set(rng.normals(B * T * dim));
    const uint8_t mask[B * T] = {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
    for (Pooling mode : {Pooling::kMean, Pooling::kCls, Pooling::kMax, Pooling::kLast}) {
      for (const uint8_t* m : {static_cast<const uint8_t*>(mask), static_cast<const uint8_t*>(nullptr)}) {
        std::vector<float> ref(B * dim);
        ref::pool(x.data(), B, T, dim, m, mode, ref.data());
        for_each_isa([&](Isa) {
          Floats y(B * dim);
          pool(x.data(), B, T, dim, m, mode, y.data());
          for (int64_t i = 0; i < B * dim; ++i) ASSERT_NEAR(y[i], ref[i], (T + 2) * kU * 4.5 * T);
        });
      }
    }
  }
}

}  // namespace
}  // namespace nlm::kernels
