// MLX quantized checkpoints through formats::wrap_mlx_quantized: packed U32 weights with f16 / bf16
// scales and biases come out as a4_32 / a8_32 tensors whose every element is scale·q + bias (decoded
// here independently of the kernels), per-module overrides apply, and bad checkpoints are typed errors.
#include "formats/mlx_quantized.h"

#include <algorithm>
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "core/f16.h"
#include "formats/safetensors.h"
#include "support/temp_dir.h"
#include "formats/test_writers.h"
#include "kernels/kernels.h"

namespace nlm::formats {
namespace {
using core::DType;
using core::ErrorCode;
using nlohmann::json;
using testing::raw_bytes;
using testing::SafetensorsWriter;
using testing::TempDir;

// One quantized module `name` with random values q and scales/biases of dtype "F16" or "BF16".
struct Module {
  int64_t N, K;
  int bits, group;
  std::vector<uint32_t> packed;
  std::vector<int> q;
  std::vector<uint16_t> scales, biases;

  Module(int64_t n, int64_t k, int b, int g, bool bf16, uint32_t seed) : N(n), K(k), bits(b), group(g) {
    std::mt19937 rng(seed);
    packed.assign(static_cast<size_t>(N * K * bits / 32), 0u);
    for (int64_t i = 0; i < N * K; ++i) {  // one little-endian bit stream: value i at bits [i·bits, +bits)
      q.push_back(static_cast<int>(rng() % (1u << bits)));
      const int64_t p = i * bits;
      const auto v = static_cast<uint64_t>(q.back()) << (p % 32);
      packed[static_cast<size_t>(p / 32)] |= static_cast<uint32_t>(v);
      if (p % 32 + bits > 32) packed[static_cast<size_t>(p / 32 + 1)] |= static_cast<uint32_t>(v >> 32);
    }
    std::uniform_real_distribution<float> s(0.001f, 0.1f), o(-1.f, 1.f);
    for (int64_t g2 = 0; g2 < N * K / group; ++g2) {
      scales.push_back(bf16 ? core::f32_to_bf16(s(rng)) : core::f32_to_f16(s(rng)));
      biases.push_back(bf16 ? core::f32_to_bf16(o(rng)) : core::f32_to_f16(o(rng)));
    }
  }
  void add_to(SafetensorsWriter& w, const std::string& name, const std::string& sdtype) const {
    w.add(name + ".weight", "U32", {N, K * bits / 32}, raw_bytes(packed));
    w.add(name + ".scales", sdtype, {N, K / group}, raw_bytes(scales));
    w.add(name + ".biases", sdtype, {N, K / group}, raw_bytes(biases));
  }
  // The element MLX defines: scales[n, k / group] · q + biases[n, k / group].
  float value(int64_t i, bool bf16) const {
    const size_t g = static_cast<size_t>(i / group);
    const auto f = [&](uint16_t h) { return bf16 ? core::bf16_to_f32(h) : core::f16_to_f32(h); };
    return f(scales[g]) * static_cast<float>(q[static_cast<size_t>(i)]) + f(biases[g]);
  }
};

std::shared_ptr<TensorSource> open_file(const TempDir& dir, const SafetensorsWriter& w) {
  EXPECT_TRUE(w.write(dir.file("model.safetensors")));
  auto m = SafetensorsModel::open(dir.path());
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  return m.is_ok() ? std::shared_ptr<TensorSource>(m.value()) : nullptr;
}

void expect_decodes(const TensorSource& src, const std::string& name, const Module& m, bool bf16) {
  auto t = src.tensor(name + ".weight");
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(t->dtype, m.bits <= 4 ? DType::kA4_32 : DType::kA8_32);
  ASSERT_EQ(t->ndim, 2);
  EXPECT_EQ(t->shape[0], m.N);
  EXPECT_EQ(t->shape[1], m.K);
  std::vector<float> row(static_cast<size_t>(m.K));
  for (int64_t n = 0; n < m.N; ++n) {
    kernels::dequantize_row(t->row<const void>(n), t->dtype, m.K, row.data());
    for (int64_t k = 0; k < m.K; ++k) {
      ASSERT_EQ(row[static_cast<size_t>(k)], m.value(n * m.K + k, bf16)) << name << " n=" << n << " k=" << k;
    }
  }
}

TEST(MlxQuantized, ConvertsEveryQuantizedModuleExactly) {
  TempDir dir;
  // Rows span several 64-row conversion tasks; "b" overrides the global 4-bit / 64 with 8-bit / 32 and
  // bf16 scales; "c" uses group 128; "d" / "e" / "f" / "g" are 3-, 6-, 2- and 5-bit (values crossing
  // word boundaries); "plain" and "norm" stay float.
  const Module a(130, 256, 4, 64, false, 1), b(7, 96, 8, 32, true, 2), c(3, 384, 4, 128, false, 3);
  const Module d(5, 192, 3, 64, false, 6), e(4, 128, 6, 32, true, 7), f(2, 256, 2, 128, false, 8);
  const Module g(3, 160, 5, 32, false, 9);
  SafetensorsWriter w;
  a.add_to(w, "layers.0.a", "F16");
  b.add_to(w, "layers.0.b", "BF16");
  c.add_to(w, "layers.1.c", "F16");
  d.add_to(w, "layers.2.d", "F16");
  e.add_to(w, "layers.2.e", "BF16");
  f.add_to(w, "layers.2.f", "F16");
  g.add_to(w, "layers.2.g", "F16");
  w.add("plain.weight", "F32", {2, 4}, raw_bytes(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}));
  w.add("norm.weight", "F32", {4}, raw_bytes(std::vector<float>{1, 1, 1, 1}));
  auto files = open_file(dir, w);
  ASSERT_TRUE(files);
  const json config = {{"quantization",
                        {{"group_size", 64},
                         {"bits", 4},
                         {"layers.0.b", {{"group_size", 32}, {"bits", 8}}},
                         {"layers.1.c", {{"group_size", 128}, {"bits", 4}}},
                         {"layers.2.d", {{"bits", 3}}},
                         {"layers.2.e", {{"group_size", 32}, {"bits", 6}}},
                         {"layers.2.f", {{"group_size", 128}, {"bits", 2}}},
                         {"layers.2.g", {{"group_size", 32}, {"bits", 5}}}}}};
  auto src = wrap_mlx_quantized(files, config);
  ASSERT_TRUE(src.is_ok()) << src.status().message();
  EXPECT_NE(src->get(), files.get());
  expect_decodes(**src, "layers.0.a", a, false);
  expect_decodes(**src, "layers.0.b", b, true);
  expect_decodes(**src, "layers.1.c", c, false);
  expect_decodes(**src, "layers.2.d", d, false);
  expect_decodes(**src, "layers.2.e", e, true);
  expect_decodes(**src, "layers.2.f", f, false);
  expect_decodes(**src, "layers.2.g", g, false);

  // Scales and biases are consumed; float tensors pass through in place.
  for (const char* hidden : {"layers.0.a.scales", "layers.0.b.biases", "layers.1.c.scales"}) {
    EXPECT_FALSE((*src)->has(hidden)) << hidden;
    EXPECT_FALSE((*src)->tensor(hidden).is_ok()) << hidden;
  }
  auto names = (*src)->names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"layers.0.a.weight", "layers.0.b.weight", "layers.1.c.weight",
                                             "layers.2.d.weight", "layers.2.e.weight", "layers.2.f.weight",
                                             "layers.2.g.weight", "norm.weight", "plain.weight"}));
  auto plain = (*src)->tensor("plain.weight");
  ASSERT_TRUE(plain.is_ok());
  EXPECT_EQ(plain->data, files->tensor("plain.weight")->data);
  EXPECT_EQ(plain->dtype, DType::kF32);
}

TEST(MlxQuantized, QuantizationConfigIsReadWhenQuantizationIsAbsent) {
  TempDir dir;
  const Module a(2, 64, 8, 64, false, 4);
  SafetensorsWriter w;
  a.add_to(w, "a", "F16");
  auto files = open_file(dir, w);
  auto src = wrap_mlx_quantized(files, {{"quantization_config", {{"group_size", 64}, {"bits", 8}}}});
  ASSERT_TRUE(src.is_ok()) << src.status().message();
  expect_decodes(**src, "a", a, false);
}

TEST(MlxQuantized, FloatModelsPassThroughAndOtherQuantizationsAreRefused) {
  TempDir dir;
  SafetensorsWriter w;
  w.add("w", "F32", {1, 2}, raw_bytes(std::vector<float>{1, 2}));
  auto files = open_file(dir, w);
  for (const json& config : {json::object(), json{{"quantization", nullptr}}}) {
    auto src = wrap_mlx_quantized(files, config);
    ASSERT_TRUE(src.is_ok()) << config.dump();
    EXPECT_EQ(src->get(), files.get()) << config.dump();
  }
  // A Hugging Face quantized checkpoint is refused up front, not left to fail on its tensor names.
  auto gptq = wrap_mlx_quantized(files, {{"quantization_config", {{"quant_method", "gptq"}, {"bits", 4}}}});
  ASSERT_FALSE(gptq.is_ok());
  EXPECT_EQ(gptq.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(gptq.status().message().find("gptq"), std::string::npos) << gptq.status().message();
}

// The error a checkpoint with module "m" (4-bit, group 64, K = 128) gets under `quantization`, after
// `edit` changed the header.
core::Status wrap_error(const json& quantization, const std::function<void(json&)>& edit = nullptr,
                        bool with_biases = true) {
  TempDir dir;
  const Module m(2, 128, 4, 64, false, 5);
  SafetensorsWriter w;
  m.add_to(w, "m", "F16");
  json header = w.header();
  if (!with_biases) header.erase("m.biases");
  if (edit) edit(header);
  EXPECT_TRUE(testing::write_file(dir.file("model.safetensors"), w.serialize(header)));
  auto files = SafetensorsModel::open(dir.path());
  EXPECT_TRUE(files.is_ok()) << files.status().message();
  if (!files.is_ok()) return files.status();
  auto src = wrap_mlx_quantized(files.value(), {{"quantization", quantization}});
  return src.is_ok() ? core::Status::ok() : src.status();
}

TEST(MlxQuantized, BadCheckpointsAreTypedErrors) {
  const json ok = {{"group_size", 64}, {"bits", 4}};
  EXPECT_TRUE(wrap_error(ok).is_ok());
  struct Case {
    json quantization;
    ErrorCode code;
    std::string words;
  };
  const Case cases[] = {
      {{{"group_size", 64}, {"bits", 7}}, ErrorCode::kUnsupported, "7-bit"},
      {{{"group_size", 16}, {"bits", 4}}, ErrorCode::kUnsupported, "group size 16"},
      {{{"group_size", 32}, {"bits", 4}, {"mode", "mxfp4"}}, ErrorCode::kUnsupported, "mxfp4"},
      {{{"group_size", 64}, {"bits", 8}}, ErrorCode::kModelLoadFailed, "does not match bits 8"},
      {{{"group_size", 32}, {"bits", 4}}, ErrorCode::kModelLoadFailed, "does not match bits 4 and group size 32"},
      {{{"group_size", 64}, {"bits", "4"}}, ErrorCode::kModelLoadFailed, "quantization.bits"},
      {{{"m", {{"bits", 8}}}, {"group_size", 64}, {"bits", 4}}, ErrorCode::kModelLoadFailed, "'m.weight'"},
      {json::array({4}), ErrorCode::kModelLoadFailed, "not an object"},
  };
  for (const Case& c : cases) {
    const core::Status s = wrap_error(c.quantization);
    EXPECT_EQ(s.code(), c.code) << c.quantization.dump() << ": " << s.message();
    EXPECT_NE(s.message().find(c.words), std::string::npos) << s.message();
  }
  const core::Status no_biases = wrap_error(ok, nullptr, false);
  EXPECT_EQ(no_biases.code(), ErrorCode::kModelLoadFailed);
  EXPECT_NE(no_biases.message().find("m.biases"), std::string::npos) << no_biases.message();
  const core::Status float_weight = wrap_error(ok, [](json& h) { h["m.weight"]["dtype"] = "F32"; });
  EXPECT_NE(float_weight.message().find("uint32"), std::string::npos) << float_weight.message();
  const core::Status int_scales = wrap_error(ok, [](json& h) {
    h["m.scales"]["dtype"] = "I16";  // same byte size, but not a float
  });
  EXPECT_EQ(int_scales.code(), ErrorCode::kModelLoadFailed) << int_scales.message();
  const core::Status mixed = wrap_error(ok, [](json& h) { h["m.biases"]["dtype"] = "BF16"; });
  EXPECT_NE(mixed.message().find("differs from its scales"), std::string::npos) << mixed.message();
}

}  // namespace
}  // namespace nlm::formats
