// Quantized formats: GGUF bit layouts checked on hand-built blocks (expected values worked out from the
// GGUF/ggml block definitions, not from our decoder), quantizer round trips within each format's error
// bound (derivations in src/kernels/quant/quantize.cpp), the activation quantizer and the row decoder on
// every ISA, and the exact MLX affine conversion.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/f16.h"
#include "kernels/cpu/isa.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"
#include "kernels/quant/quant.h"

namespace nlm::kernels {
namespace {

using core::DType;
using core::f32_to_f16;
using namespace testing;
using namespace quant;

TEST(QuantLayout, Q8_0AndQ4_0AndQ4_1) {
  uint8_t b8[34] = {};
  const uint16_t half = f32_to_f16(0.5f);  // 0x3800
  std::memcpy(b8, &half, 2);
  b8[2] = 0x7F;  // +127
  b8[3] = 0x81;  // −127
  b8[33] = 0xFE;  // −2 (last element)
  float y[32];
  dequantize_row(b8, DType::kQ8_0, 32, y);
  EXPECT_EQ(y[0], 63.5f);
  EXPECT_EQ(y[1], -63.5f);
  EXPECT_EQ(y[31], -1.f);
  EXPECT_EQ(y[5], 0.f);

  uint8_t b4[18] = {};
  std::memcpy(b4, &half, 2);
  b4[2] = 0x1F;  // element 0 = low nibble 15, element 16 = high nibble 1
  b4[17] = 0x80;  // element 15 = 0, element 31 = 8
  dequantize_row(b4, DType::kQ4_0, 32, y);
  EXPECT_EQ(y[0], 3.5f);    // 0.5·(15−8)
  EXPECT_EQ(y[16], -3.5f);  // 0.5·(1−8)
  EXPECT_EQ(y[15], -4.f);
  EXPECT_EQ(y[31], 0.f);

  uint8_t b41[20] = {};
  const uint16_t m = f32_to_f16(-1.f);
  std::memcpy(b41, &half, 2);
  std::memcpy(b41 + 2, &m, 2);
  b41[4] = 0x3A;  // element 0 = 10, element 16 = 3
  dequantize_row(b41, DType::kQ4_1, 32, y);
  EXPECT_EQ(y[0], 4.f);
  EXPECT_EQ(y[16], 0.5f);
  EXPECT_EQ(y[1], -1.f);
}

TEST(QuantLayout, Q4_K) {
  // block_q4_K: d, dmin (f16), scales[12], qs[128]. Sub-block j < 4: scale = scales[j] & 63,
  // min = scales[j+4] & 63; j >= 4: scale = (scales[j+4] & 15) | (scales[j-4] >> 6) << 4,
  // min = (scales[j+4] >> 4) | (scales[j] >> 6) << 4. Sub-block 2c uses the low nibbles of
  // qs[32c..32c+31], sub-block 2c+1 the high nibbles.
  uint8_t b[144] = {};
  const uint16_t one = f32_to_f16(1.f), quarter = f32_to_f16(0.25f);
  std::memcpy(b, &one, 2);
  std::memcpy(b + 2, &quarter, 2);
  uint8_t* sc = b + 4;
  uint8_t* qs = b + 16;
  sc[0] = 3;            // sub-block 0: scale 3
  sc[4] = 8;            // sub-block 0: min 8
  sc[1] = 0x40 | 2;     // sub-block 1: scale 2; top bits (01) → sub-block 5 scale bits 4..5
  sc[5] = 0x80 | 1;     // sub-block 1: min 1; top bits (10) → sub-block 5 min bits 4..5
  sc[9] = 0x7 | (0x5 << 4);  // sub-block 5: scale low 7, min low 5 → scale 16+7 = 23, min 32+5 = 37
  qs[0] = 0x52;         // element 0 (sub 0): 2; element 32 (sub 1): 5
  qs[64 + 10] = 0x90;   // element 128+10 (sub 4): 0; element 160+10 (sub 5): 9
  float y[256];
  dequantize_row(b, DType::kQ4_K, 256, y);
  EXPECT_EQ(y[0], 3 * 2 - 0.25f * 8);    // 4
  EXPECT_EQ(y[1], -2.f);                 // q = 0
  EXPECT_EQ(y[32], 2 * 5 - 0.25f * 1);   // 9.75
  EXPECT_EQ(y[170], 23 * 9 - 0.25f * 37);
  EXPECT_EQ(y[171], -0.25f * 37);
}

TEST(QuantLayout, Q6_K) {
  // block_q6_K: ql[128], qh[64], scales[16] (int8), d (f16). Element 128h + 32c + l (l < 32) takes
  // 4 low bits from ql[64h + 32(c%2) + l] (low nibble for c < 2, high for c >= 2) and 2 high bits
  // from qh[32h + l] >> 2c; value − 32, times d·scales[8h + 2c + l/16].
  uint8_t b[210] = {};
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  int8_t* scales = reinterpret_cast<int8_t*>(b + 192);
  const uint16_t d = f32_to_f16(0.5f);
  std::memcpy(b + 208, &d, 2);
  for (int s = 0; s < 16; ++s) scales[s] = static_cast<int8_t>(s + 1);
  scales[15] = -3;
  ql[64 + 32 + 17] = 0xA0;           // h=1, c=3, l=17: high nibble 10
  qh[32 + 17] = 0x3 << 6;            // high bits 3 → q = 10 | 48 = 58 → 26
  ql[5] = 0x0C;                      // h=0, c=0, l=5: low nibble 12, high bits 0 → q = 12 − 32 = −20
  float y[256];
  dequantize_row(b, DType::kQ6_K, 256, y);
  EXPECT_EQ(y[128 + 96 + 17], 0.5f * -3 * 26);  // scale index 8h + 2c + l/16 = 15
  EXPECT_EQ(y[5], 0.5f * 1 * -20);
  EXPECT_EQ(y[64 + 5], 0.5f * 5 * -32);  // c = 2 reads the high nibble of ql[5] (0) → −32, scale[4] = 5
}

double max_abs(const float* x, int n) {
  double m = 0;
  for (int i = 0; i < n; ++i) m = std::max(m, static_cast<double>(std::fabs(x[i])));
  return m;
}

TEST(Quantizers, RoundTripWithinBounds) {
  Rng rng(11);
  const int64_t n = 256 * 8;
  std::vector<float> x = rng.normals(n, 2.f);
  for (int i = 0; i < 32; ++i) x[64 + i] = 0.f;             // an all-zero block
  for (int i = 0; i < 32; ++i) x[256 + i] = 3.f + 0.01f * i;  // an all-positive sub-block
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K,
                  DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kA4_32, DType::kA8_32,
                  DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(core::dtype_info(t).name);
    std::vector<char> buf(core::dtype_row_bytes(t, n));
    std::vector<float> y(n);
    quantize_row(x.data(), t, n, buf.data());
    dequantize_row(buf.data(), t, n, y.data());
    const double r = 1 + std::ldexp(1.0, -10);  // f16 rounding of a stored scale
    // Affine K-quants (sub-block scale and min in `scale_levels` steps of the super-block's d and dmin,
    // values in `levels` steps): the bound for block b with extremes lo, hi.
    const auto k_affine_bound = [&](int64_t b, double lo, double hi, double levels, double scale_levels) {
      const float* sb = x.data() + 256 * (b / 8);
      double max_off = 0, max_need = 0;
      for (int s = 0; s < 8; ++s) {
        max_off = std::max(max_off, -std::min(0.0, (double)*std::min_element(sb + 32 * s, sb + 32 * s + 32)));
      }
      const double dmin = max_off / scale_levels * r;
      for (int s = 0; s < 8; ++s) {
        const double h = std::max(0.0, (double)*std::max_element(sb + 32 * s, sb + 32 * s + 32));
        const double o = -std::min(0.0, (double)*std::min_element(sb + 32 * s, sb + 32 * s + 32));
        max_need = std::max(max_need, (h + o + dmin) / levels);
      }
      const double range = std::max(hi, 0.0) - std::min(lo, 0.0);
      return ((range + dmin) / levels + max_need / scale_levels * r) / 2 * (1 + 1e-6);
    };
    for (int64_t b = 0; b < n / 32; ++b) {
      const float* xb = x.data() + 32 * b;
      const double amax = max_abs(xb, 32);
      const double lo = *std::min_element(xb, xb + 32), hi = *std::max_element(xb, xb + 32);
      for (int j = 0; j < 32; ++j) {
        const double err = std::fabs(xb[j] - y[32 * b + j]);
        double bound = 0;
        switch (t) {
          case DType::kQ8_0: bound = amax / 127 / 2 * r; break;
          case DType::kQ4_0: bound = amax / 8 * r; break;
          case DType::kQ4_1: bound = (hi - lo) / 15 / 2 * r + std::fabs(lo) * std::ldexp(1.0, -11) * 2; break;
          case DType::kQ5_0: bound = amax / 16 * r; break;
          case DType::kQ5_1: bound = (hi - lo) / 31 / 2 * r + std::fabs(lo) * std::ldexp(1.0, -11) * 2; break;
          case DType::kA4_32: bound = (hi - lo) / 15 / 2 * (1 + 1e-6) + 1e-6 * amax; break;
          case DType::kA8_32: bound = (hi - lo) / 255 / 2 * (1 + 1e-6) + 1e-6 * amax; break;
          case DType::kF16: bound = std::fabs(xb[j]) * std::ldexp(1.0, -11); break;
          case DType::kBF16: bound = std::fabs(xb[j]) * std::ldexp(1.0, -8); break;
          case DType::kQ4_K:
          case DType::kQ5_K:
            // step ≤ (range + dmin)/L + d with range = max(hi,0) − min(lo,0) of this sub-block, dmin
            // and d the super-block's (≤ max offset/63 and ≤ max step/63, f16 rounded up); L = 15 or 31.
            bound = k_affine_bound(b, lo, hi, t == DType::kQ4_K ? 15 : 31, 63);
            break;
          case DType::kQ2_K:
            // As q4_K with 3 levels, 4-bit scales and mins (/15) over 16-value sub-blocks; this block's
            // 32-value range and the super-block's 32-value extremes bound the 16-value ones from above.
            bound = k_affine_bound(b, lo, hi, 3, 15);
            break;
          case DType::kQ3_K: {
            // step = d·sc with |step − s| ≤ d/2, s = xm/−4 per 16: rounding ≤ |step|/2, clamping at −4 or
            // 3 adds at most 4·d/2 + |step|/2: error ≤ |s| + 3·d.
            const double d = max_abs(x.data() + 256 * (b / 8), 256) / 4 / 31 * r;
            const double sub = max_abs(x.data() + 16 * ((32 * b + j) / 16), 16) / 4;
            bound = sub + 3 * d;
            break;
          }
          case DType::kQ6_K: {
            // step = d·sc with |sc − s/d| ≤ 1/2, s = xm/−32 per 16: error ≤ 16·d + |step|.
            const float* sb = x.data() + 256 * (b / 8);
            const double d = max_abs(sb, 256) / 32 / 127 * r;
            const double sub = max_abs(x.data() + 16 * ((32 * b + j) / 16), 16) / 32;
            bound = 16 * d + sub + d;
            break;
          }
          default: break;
        }
        ASSERT_LE(err, bound + 1e-30) << "block " << b << " j=" << j << " x=" << xb[j];
      }
    }
  }
}

TEST(Quantizers, ActivationQuantizerIdenticalOnEveryIsa) {
  Rng rng(12);
  for (int64_t K : {32, 96, 4096}) {
    Floats x(K);
    std::vector<float> xs = rng.normals(K, 3.f);
    for (int i = 0; i < 32; ++i) xs[i] = 0.f;  // zero block
    if (K > 32) {
      xs[40] = 127.f;  // block max 127 → scale exactly 1: −63.5 is a tie (rounds to even, −64)
      xs[41] = -63.5f;
    }
    x.set(xs);
    std::vector<int8_t> rq(K);
    std::vector<float> rd(K / 32);
    std::vector<int32_t> rs(K / 32);
    for (int64_t group : {32, 256}) {
      if (K % group) continue;
      quantize_act_ref(x.data(), K, rq.data(), rd.data(), rs.data(), group);
      for_each_isa([&](Isa) {
        std::vector<int8_t> q(K);
        std::vector<float> d(K / 32);
        std::vector<int32_t> s(K / 32);
        cpu::active_kernels().quantize_act(x.data(), K, q.data(), d.data(), s.data(), group);
        EXPECT_EQ(q, rq);
        EXPECT_EQ(d, rd);
        EXPECT_EQ(s, rs);
      });
    }
  }
}

// The ISA tables' row decoder (GEMM panels, embedding rows) against quant::dequantize, bit for bit
// (NaNs: NaN; a signalling f16 NaN comes out quiet from F16C): every weight dtype, rows with SIMD tails,
// sources 2 bytes off alignment, and f16 / bf16 specials (zeros, subnormals, infinities, NaNs, extremes).
TEST(Dequantize, EveryIsaMatchesTheReference) {
  Rng rng(14);
  const DType all[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0,  DType::kQ4_0,  DType::kQ4_1,
                       DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K,
                       DType::kQ6_K, DType::kA4_32, DType::kA8_32};
  for (DType t : all) {
    const int64_t be = core::dtype_info(t).block_elems;
    const std::vector<int64_t> sizes = be == 1 ? std::vector<int64_t>{1, 7, 8, 9, 37, 4096 + 7}
                                               : std::vector<int64_t>{be, 3 * be, 17 * be};
    for (int64_t n : sizes) {
      SCOPED_TRACE(::testing::Message() << core::dtype_info(t).name << " n=" << n);
      std::vector<float> x = rng.normals(n, 2.f);
      std::vector<char> buf(core::dtype_row_bytes(t, n) + 8);
      char* src = buf.data() + (t == DType::kF32 || t == DType::kA4_32 || t == DType::kA8_32 ? 4 : 2);
      quantize_row(x.data(), t, n, src);
      if (t == DType::kF16 || t == DType::kBF16) {
        const uint16_t specials[] = {0x0000, 0x8000, 0x0001, 0x83FF, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0x7BFF, 0x0400};
        for (size_t i = 0; i < std::size(specials) && i < static_cast<size_t>(n); ++i) {
          std::memcpy(src + 2 * i, &specials[i], 2);
        }
      }
      std::vector<float> ref(n);
      quant::dequantize(src, t, n, ref.data());
      for_each_isa([&](Isa) {
        std::vector<float> got(n, -1.f);
        cpu::active_kernels().dequantize(src, t, n, got.data());
        for (int64_t i = 0; i < n; ++i) {
          if (std::isnan(ref[i])) {
            ASSERT_TRUE(std::isnan(got[i])) << "i=" << i;
            continue;
          }
          uint32_t a, b;
          std::memcpy(&a, &got[i], 4);
          std::memcpy(&b, &ref[i], 4);
          ASSERT_EQ(a, b) << "i=" << i << " got " << got[i] << " want " << ref[i];
        }
      });
    }
  }
}

TEST(MlxAffine, ConvertsExactly) {
  Rng rng(13);
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    for (int group : {32, 64, 128}) {
      for (DType sd : {DType::kF16, DType::kBF16, DType::kF32}) {
        const int64_t N = 3, K = 256;
        std::vector<uint32_t> wq(N * K * bits / 32);
        std::vector<int> q(N * K);
        for (int64_t i = 0; i < N * K; ++i) {  // one little-endian bit stream: value i at bits [i·bits, +bits)
          q[i] = static_cast<int>(rng.g() % (1u << bits));
          const int64_t p = i * bits;
          const auto v = static_cast<uint64_t>(q[i]) << (p % 32);
          wq[p / 32] |= static_cast<uint32_t>(v);
          if (p % 32 + bits > 32) wq[p / 32 + 1] |= static_cast<uint32_t>(v >> 32);
        }
        const int64_t G = N * K / group;
        std::vector<uint16_t> s16(G), b16(G);
        std::vector<float> s32(G), b32(G);
        for (int64_t g = 0; g < G; ++g) {
          const float s = rng.uniform(0.001f, 0.1f), b = rng.uniform(-1.f, 1.f);
          s16[g] = sd == DType::kF16 ? f32_to_f16(s) : core::f32_to_bf16(s);
          b16[g] = sd == DType::kF16 ? f32_to_f16(b) : core::f32_to_bf16(b);
          s32[g] = sd == DType::kF32 ? s : sd == DType::kF16 ? core::f16_to_f32(s16[g]) : core::bf16_to_f32(s16[g]);
          b32[g] = sd == DType::kF32 ? b : sd == DType::kF16 ? core::f16_to_f32(b16[g]) : core::bf16_to_f32(b16[g]);
        }
        const void* sp = sd == DType::kF32 ? static_cast<const void*>(s32.data()) : s16.data();
        const void* bp = sd == DType::kF32 ? static_cast<const void*>(b32.data()) : b16.data();
        const DType t = mlx_affine_dtype(bits);
        std::vector<char> dst(N * core::dtype_row_bytes(t, K));
        ASSERT_TRUE(convert_mlx_affine(wq.data(), sp, bp, sd, N, K, bits, group, dst.data()));
        std::vector<float> y(N * K);
        dequantize_row(dst.data(), t, N * K, y.data());
        for (int64_t i = 0; i < N * K; ++i) {
          const int64_t g = i / group;
          ASSERT_EQ(y[i], s32[g] * q[i] + b32[g]) << "bits=" << bits << " group=" << group << " i=" << i;
        }
      }
    }
  }
  EXPECT_FALSE(convert_mlx_affine(nullptr, nullptr, nullptr, DType::kF16, 1, 32, 7, 32, nullptr));
  EXPECT_FALSE(convert_mlx_affine(nullptr, nullptr, nullptr, DType::kF16, 1, 32, 4, 16, nullptr));
}

}  // namespace
}  // namespace nlm::kernels
