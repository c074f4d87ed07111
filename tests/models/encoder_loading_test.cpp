// Loading encoder folders: shards, f16/bf16 weights, name prefixes, and every kind of broken folder
// (missing / misshapen tensor, truncated file, pickle checkpoint) giving model_load_failed, never a crash.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/f16.h"
#include "formats/safetensors.h"
#include "support/temp_dir.h"
#include "formats/test_writers.h"
#include "models/encoder_test_util.h"
#include "models/registry.h"

namespace nlm::models {
namespace {
namespace fs = std::filesystem;
using core::ErrorCode;
using testing::TempDir;

// Rewrites the bert fixture's weights into `dir` with `dtype` ("F32", "F16", "BF16"), names prefixed with
// `prefix`, skipping `drop`, and giving `reshape` a wrong shape. Returns the weights as written, in f32.
void write_variant(const std::string& dir, const std::string& dtype, const std::string& prefix = "",
                   const std::string& drop = "", const std::string& reshape = "") {
  fs::copy_file(testing::fixture_dir("bert") + "/config.json", dir + "/config.json");
  auto src = formats::SafetensorsFile::open(testing::fixture_dir("bert") + "/model.safetensors");
  ASSERT_TRUE(src.is_ok());
  testing::SafetensorsWriter w;
  for (const auto& t : (*src)->tensors()) {
    if (t.name == drop) continue;
    const float* f = t.view.as<float>();
    const size_t n = static_cast<size_t>(t.view.numel());
    std::vector<int64_t> shape = t.shape;
    if (t.name == reshape) shape = {static_cast<int64_t>(n)};
    if (dtype == "F32") {
      w.add(prefix + t.name, dtype, shape, testing::raw_bytes(std::vector<float>(f, f + n)));
    } else {
      std::vector<uint16_t> h(n);
      for (size_t i = 0; i < n; ++i) h[i] = dtype == "F16" ? core::f32_to_f16(f[i]) : core::f32_to_bf16(f[i]);
      w.add(prefix + t.name, dtype, shape, testing::raw_bytes(h));
    }
  }
  ASSERT_TRUE(w.write(dir + "/model.safetensors"));
}

std::vector<float> embed_a(const EncoderModel& m) {
  testing::Reference ref("bert");
  const auto ids = ref.ids("a.input_ids");
  std::vector<std::span<const int32_t>> seqs{ids};
  std::vector<float> out(ids.size() * 64);
  m.embed(seqs, out.data());
  return out;
}

TEST(EncoderLoading, PrefixedNamesLoad) {
  TempDir dir;
  write_variant(dir.path(), "F32", "bert.");
  auto m = load_encoder(dir.path());
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  testing::Reference ref("bert");
  const auto want = ref.floats("a.last_hidden_state");
  const auto got = embed_a(**m);
  EXPECT_LE(testing::max_abs_diff(got.data(), want.data(), want.size()), 1e-4f * testing::max_abs(want.data(), want.size()));
}

TEST(EncoderLoading, HalfPrecisionWeights) {
  testing::Reference ref("bert");
  const auto want = ref.floats("a.last_hidden_state");
  const float scale = testing::max_abs(want.data(), want.size());
  for (const char* dtype : {"F16", "BF16"}) {
    SCOPED_TRACE(dtype);
    TempDir dir;
    write_variant(dir.path(), dtype);
    auto m = load_encoder(dir.path());
    ASSERT_TRUE(m.is_ok()) << m.status().message();
    EXPECT_EQ((*m)->info().weight_dtype, std::string(dtype) == "F16" ? "f16" : "bf16");
    const auto got = embed_a(**m);
    // Weight rounding alone (2^-11 / 2^-8 relative) moves the output by about that much.
    const float tol = std::string(dtype) == "F16" ? 5e-3f : 5e-2f;
    EXPECT_LE(testing::max_abs_diff(got.data(), want.data(), want.size()), tol * scale);
    EXPECT_GE(testing::cosine(got.data(), want.data(), want.size()), std::string(dtype) == "F16" ? 0.9999 : 0.999);
  }
}

TEST(EncoderLoading, MissingTensorIsNamed) {
  TempDir dir;
  write_variant(dir.path(), "F32", "", "encoder.layer.1.attention.self.key.bias");
  auto m = load_encoder(dir.path());
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kModelLoadFailed);
  EXPECT_NE(m.status().message().find("encoder.layer.1.attention.self.key.bias"), std::string::npos) << m.status().message();
}

TEST(EncoderLoading, WrongShapeIsNamed) {
  TempDir dir;
  write_variant(dir.path(), "F32", "", "", "encoder.layer.0.intermediate.dense.weight");
  auto m = load_encoder(dir.path());
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kModelLoadFailed);
  EXPECT_NE(m.status().message().find("encoder.layer.0.intermediate.dense.weight"), std::string::npos);
  EXPECT_NE(m.status().message().find("expected [128, 64]"), std::string::npos) << m.status().message();
}

TEST(EncoderLoading, TruncatedFileIsRefused) {
  TempDir dir;
  write_variant(dir.path(), "F32");
  const auto size = fs::file_size(dir.file("model.safetensors"));
  fs::resize_file(dir.file("model.safetensors"), size - 100);
  auto m = load_encoder(dir.path());
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kModelLoadFailed);
  EXPECT_NE(m.status().message().find("model.safetensors"), std::string::npos);
  EXPECT_NE(m.status().message().find("tensor '"), std::string::npos) << m.status().message();
}

TEST(EncoderLoading, PickleAndMissingConfig) {
  TempDir dir;
  fs::copy_file(testing::fixture_dir("bert") + "/config.json", dir.file("config.json"));
  testing::write_file(dir.file("pytorch_model.bin"), "PK\x03\x04 pretend pickle");
  auto m = load_encoder(dir.path());
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kModelLoadFailed);
  EXPECT_NE(m.status().message().find("pickle"), std::string::npos);
  TempDir empty;
  EXPECT_EQ(load_encoder(empty.path()).status().code(), ErrorCode::kModelLoadFailed);
  testing::write_file(empty.file("config.json"), "{\"architectures\": [\"GPT2Model\"], \"model_type\": \"gpt2\"}");
  EXPECT_EQ(load_encoder(empty.path()).status().code(), ErrorCode::kUnsupported);
  testing::write_file(empty.file("config.json"), "{\"model_type\": \"bert\", \"hidden_size\": \"big\"}");
  EXPECT_EQ(load_encoder(empty.path()).status().code(), ErrorCode::kModelLoadFailed);
}

}  // namespace
}  // namespace nlm::models
