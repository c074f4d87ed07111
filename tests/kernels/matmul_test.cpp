// matmul against kernels/ref on every ISA, weight dtype and edge size.
// Tolerances (from floating-point error analysis, not tuned):
// - f32/f16/bf16 weights: the kernel sums K products in f32 in some order; |ŷ − y| ≤ γ_K·Σ|x||w| with
//   γ_K ≈ K·u (u = 2^-24), the classic bound for any summation order. Bias adds one more rounding.
// - Quantized weights on the GEMV path (!matmul_runs_gemm) and the int8 GEMM (gemm_runs_int8): activations
//   are rounded to int8 per 32-block (step d_b = max|x_b|/127, error
//   ≤ d_b/2 per element), so |ŷ − y| ≤ Σ_b d_b/2 · Σ_{k∈b}|w_k| + γ_K·Σ|x||w|. A second, tight check
//   compares with the exact product of the dequantized weights and dequantized activations: only f32
//   rounding of the per-block terms remains (γ_K on Σ|x̂||ŵ|).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"
#include "kernels/quant/quant.h"
#include "kernels/ref/ref.h"

namespace nlm::kernels {
namespace {

using core::DType;
using namespace testing;

struct Weights {
  std::vector<char> buf;
  TensorView view;
  std::vector<float> deq;  // dequantized [N, K]
};

// Random weights of dtype t, stored just past an aligned start (GGUF only guarantees block alignment).
Weights make_weights(DType t, int64_t N, int64_t K, Rng& rng) {
  Weights w;
  const int64_t rb = core::dtype_row_bytes(t, K);
  w.buf.assign(N * rb + 64, 0);
  // 2 bytes off alignment for GGUF blocks (2-byte aligned), 4 for f32 and the a4/a8 blocks (f32 fields).
  const bool f32_fields = t == DType::kF32 || t == DType::kA4_32 || t == DType::kA8_32;
  char* base = w.buf.data() + (f32_fields ? 4 : 2);
  std::vector<float> src(K);
  w.deq.resize(N * K);
  for (int64_t n = 0; n < N; ++n) {
    for (auto& v : src) v = rng.normal(0.5f);
    quantize_row(src.data(), t, K, base + n * rb);
    dequantize_row(base + n * rb, t, K, w.deq.data() + n * K);
  }
  w.view = TensorView(base, t, {N, K});
  return w;
}

bool is_int(DType t) { return t != DType::kF32 && t != DType::kF16 && t != DType::kBF16; }

// packed: the weight view carries its GEMM panels (pack_gemm_panels, made once under whichever ISA is
// active: the layout is the same on every ISA).
void check_matmul(DType t, int64_t M, int64_t N, int64_t K, bool with_bias, uint64_t seed, bool packed = false) {
  SCOPED_TRACE(::testing::Message() << core::dtype_info(t).name << " M=" << M << " N=" << N << " K=" << K
                                    << " packed=" << packed);
  Rng rng(seed);
  Weights w = make_weights(t, N, K, rng);
  core::AlignedBuffer<float> panels;
  if (packed) {
    panels = pack_gemm_panels(w.view);
    w.view.gemm_panels = panels.data();
  }
  const int64_t ldx = K + 3, ldy = N + 5;  // strided rows too
  Floats x(M * ldx), bias(N);
  x.set(rng.normals(M * ldx));
  bias.set(rng.normals(N));
  const float* b = with_bias ? bias.data() : nullptr;
  std::vector<float> ref(M * ldy);
  ref::matmul(x.data(), M, w.view, b, ref.data(), ldx, ldy);
  // Activations as the int8 path sees them.
  std::vector<float> xhat(M * K), dblk(M * (K / 32 + 1));
  if (is_int(t)) {
    std::vector<int8_t> q(K);
    std::vector<int32_t> s(K / 32);
    for (int64_t m = 0; m < M; ++m) {
      quant::quantize_act_ref(x.data() + m * ldx, K, q.data(), dblk.data() + m * (K / 32), s.data(),
                              quant::act_group(t));
      for (int64_t k = 0; k < K; ++k) xhat[m * K + k] = dblk[m * (K / 32) + k / 32] * q[k];
    }
  }
  for_each_kernel_path([&](Isa) {
    // Activations are quantized on the GEMV path, and on the int8 GEMM where the ISA has one.
    const bool int8_acts = is_int(t) && (!matmul_runs_gemm(w.view, M) || (gemm_runs_int8(t) && !packed));
    Floats y(M * ldy);
    std::fill(y.data(), y.data() + M * ldy, -7.f);
    matmul(x.data(), M, w.view, b, y.data(), ldx, ldy);
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = 0; n < N; ++n) {
        const float* wr = w.deq.data() + n * K;
        const float* xm = x.data() + m * ldx;
        double abs_sum = with_bias ? std::fabs(bias[n]) : 0.0, act_err = 0.0, exact_hat = b ? b[n] : 0.0;
        double abs_hat = abs_sum;
        for (int64_t k = 0; k < K; ++k) {
          abs_sum += std::fabs(xm[k] * wr[k]);
          if (int8_acts) {
            act_err += dblk[m * (K / 32) + k / 32] / 2 * std::fabs(wr[k]);
            exact_hat += static_cast<double>(xhat[m * K + k]) * wr[k];
            abs_hat += std::fabs(xhat[m * K + k] * wr[k]);
          }
        }
        const double gamma = (K + 4) * kU;
        const double got = y[m * ldy + n];
        ASSERT_NEAR(got, ref[m * ldy + n], act_err * (1 + gamma) + gamma * abs_sum + 1e-30)
            << "m=" << m << " n=" << n;
        if (int8_acts) {  // the int8 path: exact integer sums, then f32 scaling
          ASSERT_NEAR(got, exact_hat, gamma * abs_hat + 1e-30) << "m=" << m << " n=" << n;
        }
      }
      // Padding between rows is untouched.
      for (int64_t n = N; n < ldy && m + 1 < M; ++n) ASSERT_EQ(y[m * ldy + n], -7.f);
    }
  });
}

const DType kAll[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0, DType::kQ4_0,  DType::kQ4_1,
                      DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K,
                      DType::kQ6_K, DType::kA4_32, DType::kA8_32};

TEST(Matmul, GemvEdgeSizesEveryDtype) {
  uint64_t seed = 1;
  for (DType t : kAll) {
    const int64_t be = core::dtype_info(t).block_elems == 1 ? 32 : core::dtype_info(t).block_elems;
    for (int64_t N : {1, 7, 8, 9, 63, 129, 301}) check_matmul(t, 1, N, be * 3, N % 2 == 1, seed++);
    // K covering the SIMD kernels' groups of 8 blocks plus a tail (8 + 3 blocks, 16 + 1).
    for (int64_t K : {be * 11, be * 17}) check_matmul(t, 1, 33, K, false, seed++);
    check_matmul(t, 3, 17, be * 11, true, seed++);
    // Batches below the GEMM's rows: the AVX-512 GEMV decodes each weight group once for 4, 2 and 1
    // activation rows at a time.
    for (int64_t M : {2, 5, 7, 15}) check_matmul(t, M, 19, be * 17, M % 2 == 1, seed++);
  }
}

TEST(Matmul, GemmEdgeSizesEveryDtype) {
  uint64_t seed = 100;
  for (DType t : kAll) {
    const int64_t be = core::dtype_info(t).block_elems == 1 ? 32 : core::dtype_info(t).block_elems;
    // Both sides of every ISA's GEMM thresholds (gemm_min_rows: 12, 16, 24, 32 or 40 rows), and every
    // remainder of the int8 GEMM's 4-row and the f32 GEMM's 6-row tiles above them.
    for (int64_t M : {2, 5, 11, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 39, 40, 42, 67}) {
      check_matmul(t, M, 37, be * 2, M % 2 == 0, seed++);
    }
  }
}

TEST(Matmul, GemmWithPackedPanelsEveryDtype) {
  uint64_t seed = 150;
  for (DType t : kAll) {
    const int64_t be = core::dtype_info(t).block_elems == 1 ? 32 : core::dtype_info(t).block_elems;
    const int64_t K = (834 + be - 1) / be * be;  // more than one k-block (768) of the packed A
    for (int64_t M : {16, 48, 67}) check_matmul(t, M, 37, K, M == 48, seed++, /*packed=*/true);
  }
}

// Full 6-row panels of A packed by different tasks, over several k-blocks: no panel may write into a
// neighbour's rows (M = 48: 8 full panels; K = 834 and 1700: two and three k-blocks of 768). M = 130
// and 246: 22 and 41 panels, over the GEMM's m-chunks of 20 panels (C accumulated across k-blocks in each).
TEST(Matmul, GemmFullPanelsOverSeveralTasksAndKBlocks) {
  for (int64_t M : {48, 96, 102, 130, 246}) {
    check_matmul(DType::kF32, M, 40, 834, false, 170 + M);
    check_matmul(DType::kF32, M, 40, 1700, true, 171 + M, /*packed=*/true);
  }
}

TEST(Matmul, FloatOddK) {
  uint64_t seed = 200;
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (int64_t K : {1, 7, 8, 9, 31, 33, 257}) {
      check_matmul(t, 1, 19, K, true, seed++);
      check_matmul(t, 23, 19, K, false, seed++);
    }
  }
}

TEST(Matmul, LargeShapes) {
  const int64_t M = large(263, 37), N = large(519, 71);
  check_matmul(DType::kF32, M, N, 768 + 7, true, 300);  // two k-blocks, several m-chunks
  check_matmul(DType::kQ8_0, 3, N, 1024, false, 301);
  check_matmul(DType::kQ4_K, 2, N, 1024, false, 302);
  check_matmul(DType::kF16, 41, N, 256 + 7, false, 303);  // the f32 GEMM on decoded panels
  // The int8 GEMM where the ISA has one: several row groups of 8 plus a tail, several tasks.
  check_matmul(DType::kQ8_0, 45, N, 768, true, 304);
  check_matmul(DType::kQ4_0, 21, N, 1024, false, 305);
  // Enough 16-row weight panels (101) that every task gets several, even on 16 threads: the int8 GEMM's
  // two-panel tiles and its odd last panel.
  check_matmul(DType::kQ8_0, 21, 1605, 64, false, 306);
  // The AVX2 int8 GEMM (q4_0 / q4_1 / q4_K / q6_K): more rows than one sweep (48) with a 1-row tail,
  // every K-quant sub-block position, a last panel with one strip.
  check_matmul(DType::kQ4_1, 97, 45, 1024, true, 307);
  check_matmul(DType::kQ4_K, 52, 75, 768, false, 308);
  check_matmul(DType::kQ6_K, 51, 75, 768, true, 309);
  // q5 formats: the GEMV over many rows, and the int8 GEMM's 2-row tiles (where the ISA takes them,
  // else the f32 GEMM on decoded panels) over more rows than one sweep, with a 1-row tail.
  check_matmul(DType::kQ5_K, 1, N, 1024, true, 311);
  check_matmul(DType::kQ5_0, 2, N, 1024 + 32, false, 312);
  check_matmul(DType::kQ5_1, 3, N, 1024 + 32, true, 313);
  check_matmul(DType::kQ5_K, 51, 75, 768, false, 310);
  check_matmul(DType::kQ5_0, 97, 45, 1024, true, 314);
  check_matmul(DType::kQ5_1, 49, 75, 512, false, 315);
  check_matmul(DType::kQ2_K, 1, N, 1024, true, 316);
  check_matmul(DType::kQ3_K, 2, N, 1024, false, 317);
  check_matmul(DType::kQ3_K, 41, 45, 512, true, 318);
}

// The integer kernels' worst case: every weight at its format's largest code and every activation at
// ±127 (x = ±1 quantizes exactly), so int16 chains reach their design maximum (a 4-bit 32-block 30480,
// a 5-bit half block 31496, q6_K two steps 16002) and any chain longer than designed wraps. The exact
// result is Σ_k w[k]·(±1).
TEST(Matmul, IntegerChainsAtTheirLargestValues) {
  for (DType t : kAll) {
    if (!is_int(t)) continue;
    SCOPED_TRACE(core::dtype_info(t).name);
    const int64_t K = 512, N = 19;
    // Affine formats code a block's minimum as 0: one 0 and the rest 1 puts 31 values at the top code.
    // Symmetric ones (q8_0, q4_0, q5_0, q6_K) scale by the signed extreme: +1 at elements 0 and 16 and
    // −31/32 elsewhere puts those at the top code (−8, −16, −32 offsets; q8_0: −123).
    const bool symmetric = t == DType::kQ8_0 || t == DType::kQ4_0 || t == DType::kQ5_0 || t == DType::kQ3_K ||
                           t == DType::kQ6_K;
    std::vector<float> src(K);
    for (int64_t k = 0; k < K; ++k) {
      src[k] = symmetric ? (k % 16 == 0 ? 1.f : -31.f / 32.f) : (k % 32 == 0 ? 0.f : 1.f);
    }
    Weights w;
    const int64_t rb = core::dtype_row_bytes(t, K);
    w.buf.assign(N * rb + 64, 0);
    char* base = w.buf.data() + 8;
    w.deq.resize(N * K);
    for (int64_t n = 0; n < N; ++n) {
      quantize_row(src.data(), t, K, base + n * rb);
      dequantize_row(base + n * rb, t, K, w.deq.data() + n * K);
    }
    w.view = TensorView(base, t, {N, K});
    for (float sign : {1.f, -1.f}) {
      for (int64_t M : {1, 16, 48}) {
        Floats x(M * K);
        x.set(std::vector<float>(M * K, sign));
        for_each_kernel_path([&](Isa) {
          Floats y(M * N);
          matmul(x.data(), M, w.view, nullptr, y.data());
          for (int64_t n = 0; n < N; ++n) {
            double exact = 0;
            for (int64_t k = 0; k < K; ++k) exact += sign * w.deq[n * K + k];
            for (int64_t m = 0; m < M; ++m) ASSERT_NEAR(y[m * N + n], exact, 1e-4 * std::fabs(exact) + 1e-4) << m;
          }
        });
      }
    }
  }
}

TEST(EmbedRows, EveryDtypeMatchesDequantize) {
  Rng rng(7);
  for (DType t : kAll) {
    const int64_t D = core::dtype_info(t).block_elems == 1 ? 37 : core::dtype_info(t).block_elems * 2;
    Weights w = make_weights(t, 50, D, rng);
    const int32_t ids[] = {0, 49, 3, 3, 17};
    for_each_isa([&](Isa) {
      Floats out(5 * (D + 1));
      embed_rows(w.view, ids, 5, out.data(), D + 1);
      for (int i = 0; i < 5; ++i)
        for (int64_t d = 0; d < D; ++d) ASSERT_EQ(out[i * (D + 1) + d], w.deq[ids[i] * D + d]);
    });
  }
}

}  // namespace
}  // namespace nlm::kernels
