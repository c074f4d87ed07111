// Every GGUF block format against llama.cpp itself (tests/data/quant/llamacpp_quant_ref.bin: 1,024 values
// quantized by llama.cpp's quantize_row_*_ref and decoded by its dequantize_row_*; see mkref.c there):
// llama.cpp's blocks decode here to llama.cpp's values bit for bit, through the reference decoder, every
// ISA's row decoder and the integer kernels' block unpacker; the GEMV on those blocks matches the exact
// product of the decoded weights within the int8-activation bound; and our quantizers' error on the same
// values stays within a small factor of llama.cpp's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/unpack.h"

#ifndef NLM_SOURCE_DIR
#define NLM_SOURCE_DIR "."  // the standalone ISA runs (tests/kernels/standalone) start in the repository root
#endif

namespace nlm::kernels {
namespace {

using core::DType;
using namespace testing;

struct RefCase {
  uint32_t ggml_type = 0;
  DType dtype = DType::kF32;
  std::vector<float> src, deq;
  std::vector<char> blocks;
};

std::optional<DType> dtype_of(uint32_t ggml_type) {
  switch (ggml_type) {
    case 2: return DType::kQ4_0;
    case 3: return DType::kQ4_1;
    case 6: return DType::kQ5_0;
    case 7: return DType::kQ5_1;
    case 8: return DType::kQ8_0;
    case 10: return DType::kQ2_K;
    case 11: return DType::kQ3_K;
    case 12: return DType::kQ4_K;
    case 13: return DType::kQ5_K;
    case 14: return DType::kQ6_K;
    default: return std::nullopt;
  }
}

std::vector<RefCase> load_cases() {
  std::ifstream in(std::string(NLM_SOURCE_DIR) + "/tests/data/quant/llamacpp_quant_ref.bin", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<RefCase> cases;
  size_t at = 0;
  auto take = [&](void* dst, size_t n) {
    if (at + n > bytes.size()) return false;
    std::memcpy(dst, bytes.data() + at, n);
    at += n;
    return true;
  };
  while (at < bytes.size()) {
    RefCase c;
    uint32_t n = 0, nbytes = 0;
    if (!take(&c.ggml_type, 4) || !take(&n, 4)) break;
    c.src.resize(n);
    c.deq.resize(n);
    if (!take(c.src.data(), 4 * n) || !take(&nbytes, 4)) break;
    c.blocks.resize(nbytes);
    if (!take(c.blocks.data(), nbytes) || !take(c.deq.data(), 4 * n)) break;
    const auto t = dtype_of(c.ggml_type);
    if (!t) break;
    c.dtype = *t;
    cases.push_back(std::move(c));
  }
  EXPECT_EQ(at, bytes.size()) << "truncated or unknown record in llamacpp_quant_ref.bin";
  return cases;
}

void expect_bits_equal(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &got[i], 4);
    std::memcpy(&b, &want[i], 4);
    ASSERT_EQ(a, b) << what << " i=" << i << " got " << got[i] << " want " << want[i];
  }
}

TEST(LlamaCppReference, EveryFormatDecodesBitForBit) {
  const auto cases = load_cases();
  ASSERT_EQ(cases.size(), 10u);
  for (const RefCase& c : cases) {
    const std::string name(core::dtype_info(c.dtype).name);
    SCOPED_TRACE(name);
    const auto n = static_cast<int64_t>(c.src.size());
    ASSERT_EQ(static_cast<int64_t>(c.blocks.size()), core::dtype_row_bytes(c.dtype, n));
    std::vector<float> got(c.src.size());
    quant::dequantize(c.blocks.data(), c.dtype, n, got.data());
    expect_bits_equal(got, c.deq, "reference decoder");
    for_each_isa([&](Isa) {
      std::vector<float> isa_got(c.src.size(), -1.f);
      dequantize_row(c.blocks.data(), c.dtype, n, isa_got.data());
      expect_bits_equal(isa_got, c.deq, "row decoder");
    });
    // The block unpacker of the integer kernels: s[j / 16]·q[j] + m per 32 values.
    std::vector<float> unpacked(c.src.size());
    for (int64_t b = 0; b < n / 32; ++b) {
      quant::Unpacked32 u;
      quant::unpack32(c.dtype, c.blocks.data(), b, &u);
      for (int j = 0; j < 32; ++j) unpacked[32 * b + j] = u.s[j / 16] * static_cast<float>(u.q[j]) + u.m[j / 16];
    }
    for (size_t i = 0; i < c.deq.size(); ++i) {  // value-equal: its "+ m" turns llama.cpp's −0 into +0
      ASSERT_EQ(unpacked[i], c.deq[i]) << "unpack32 i=" << i;
    }
  }
}

// Four rows of 256 llama.cpp blocks times activations: the integer kernels against the exact product of
// llama.cpp's decoded weights, with the activation-rounding bound of the matmul tests.
TEST(LlamaCppReference, GemvOnLlamaCppBlocks) {
  const auto cases = load_cases();
  ASSERT_FALSE(cases.empty());
  const int64_t K = 256, N = 4;
  std::vector<float> x(K);
  for (int64_t k = 0; k < K; ++k) x[k] = std::sin(0.37f * static_cast<float>(k)) * (k % 7 == 3 ? 4.f : 1.f);
  float amax = 0.f;
  for (float v : x) amax = std::max(amax, std::fabs(v));
  for (const RefCase& c : cases) {
    SCOPED_TRACE(std::string(core::dtype_info(c.dtype).name));
    const TensorView w(const_cast<char*>(c.blocks.data()), c.dtype, {N, K});
    for_each_kernel_path([&](Isa) {
      std::vector<float> y(N, 0.f);
      matmul(x.data(), 1, w, nullptr, y.data());
      for (int64_t r = 0; r < N; ++r) {
        double exact = 0, abs_sum = 0;
        for (int64_t k = 0; k < K; ++k) {
          exact += static_cast<double>(c.deq[r * K + k]) * x[k];
          abs_sum += std::fabs(static_cast<double>(c.deq[r * K + k]));
        }
        // Each activation moves by at most half a step of amax/127 (one scale per 32 or per 256).
        const double bound = abs_sum * amax / 127.0 * 0.5 * (1 + 1e-5) + 1e-4 * std::fabs(exact) + 1e-5;
        EXPECT_NEAR(y[r], exact, bound) << "row " << r;
      }
    });
  }
}

// Our quantizers on the same values: squared error at most 1.05× llama.cpp's for the formats whose
// quantizer is a plain round-to-nearest in both (q8_0, q4_0, q4_1, q5_0, q5_1: 1.00× measured), and at
// most 1.5× for the K-quants, whose scale search here is a simple min/max while llama.cpp's iterates
// (1.31× q2_K, 1.00× q3_K, 1.21× q4_K, 1.08× q5_K, 1.01× q6_K measured).
TEST(LlamaCppReference, OurQuantizersAreCloseToLlamaCpps) {
  for (const RefCase& c : load_cases()) {
    const std::string name(core::dtype_info(c.dtype).name);
    const auto n = static_cast<int64_t>(c.src.size());
    std::vector<char> blocks(static_cast<size_t>(core::dtype_row_bytes(c.dtype, n)));
    std::vector<float> ours(c.src.size());
    quantize_row(c.src.data(), c.dtype, n, blocks.data());
    dequantize_row(blocks.data(), c.dtype, n, ours.data());
    double e_ours = 0, e_ref = 0;
    for (size_t i = 0; i < c.src.size(); ++i) {
      e_ours += (ours[i] - c.src[i]) * (ours[i] - c.src[i]);
      e_ref += (c.deq[i] - c.src[i]) * (c.deq[i] - c.src[i]);
    }
    const bool k_quant = core::dtype_info(c.dtype).block_elems == 256;
    EXPECT_LE(e_ours, (k_quant ? 1.5 : 1.05) * e_ref) << name << ": ours " << e_ours << ", llama.cpp " << e_ref;
  }
}

}  // namespace
}  // namespace nlm::kernels
