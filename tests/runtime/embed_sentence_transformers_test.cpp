// A sentence-transformers folder built from the real all-MiniLM-L6-v2 files (tokenizer.json, modules.json,
// 1_Pooling, max_seq_length 256, Normalize) with random f16 weights of the real shapes, embedded end to
// end from text through the binary: unit vectors of 384 dims, truncation at 256 reported, text ==
// its token ids, batch == single.
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "core/f16.h"
#include "support/temp_dir.h"
#include "formats/test_writers.h"
#include "models/encoder_test_util.h"
#include "support/subprocess.h"
#include "tokenizer/tokenizer.h"

namespace nlm::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

void add_random(SafetensorsWriter& w, std::mt19937& rng, const std::string& name, std::vector<int64_t> shape,
                float mean, float stddev) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<uint16_t> h(static_cast<size_t>(n));
  for (auto& v : h) v = core::f32_to_f16(dist(rng));
  w.add(name, "F16", std::move(shape), raw_bytes(h));
}

// The all-MiniLM-L6-v2 layout: vocab 30522, hidden 384, 6 layers, 12 heads, intermediate 1536.
void build_minilm_folder(const std::string& dir) {
  const std::string src = shared_dir() + "/data/tokenizers/all-MiniLM-L6-v2";
  for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                        "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"}) {
    fs::copy_file(src + "/" + f, dir + "/" + f);
  }
  fs::create_directories(dir + "/1_Pooling");
  fs::copy_file(src + "/1_Pooling/config.json", dir + "/1_Pooling/config.json");
  std::mt19937 rng(1234);
  SafetensorsWriter w;
  const int64_t H = 384, I = 1536;
  const float s = 1.0f / std::sqrt(static_cast<float>(H));
  add_random(w, rng, "embeddings.word_embeddings.weight", {30522, H}, 0, s);
  add_random(w, rng, "embeddings.position_embeddings.weight", {512, H}, 0, s);
  add_random(w, rng, "embeddings.token_type_embeddings.weight", {2, H}, 0, s);
  add_random(w, rng, "embeddings.LayerNorm.weight", {H}, 1, 0.1f);
  add_random(w, rng, "embeddings.LayerNorm.bias", {H}, 0, 0.1f);
  for (int l = 0; l < 6; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* m : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
      add_random(w, rng, p + m + ".weight", {H, H}, 0, s);
      add_random(w, rng, p + m + ".bias", {H}, 0, 0.1f);
    }
    add_random(w, rng, p + "intermediate.dense.weight", {I, H}, 0, s);
    add_random(w, rng, p + "intermediate.dense.bias", {I}, 0, 0.1f);
    add_random(w, rng, p + "output.dense.weight", {H, I}, 0, 1.0f / std::sqrt(static_cast<float>(I)));
    add_random(w, rng, p + "output.dense.bias", {H}, 0, 0.1f);
    for (const char* n : {"attention.output.LayerNorm", "output.LayerNorm"}) {
      add_random(w, rng, p + n + ".weight", {H}, 1, 0.1f);
      add_random(w, rng, p + n + ".bias", {H}, 0, 0.1f);
    }
  }
  ASSERT_TRUE(w.write(dir + "/model.safetensors"));
}

TEST(EmbedSentenceTransformers, MiniLMFolderEndToEnd) {
  TempDir dir;
  build_minilm_folder(dir.path());
  auto tk = tok::load_tokenizer(dir.path());
  ASSERT_TRUE(tk.is_ok()) << tk.status().message();
  const std::string text = "The quick brown fox jumps over the lazy dog.";
  std::string long_text;
  for (int i = 0; i < 150; ++i) long_text += "lorem ipsum ";
  auto ids = (*tk)->encode(text);
  ASSERT_TRUE(ids.is_ok());

  Subprocess p(serve_argv());
  auto ask = [&](json req) {
    req["command"] = "embed";
    req["model"] = dir.path();
    EXPECT_TRUE(p.send(req));
    auto r = p.read_json(std::chrono::seconds(120));
    EXPECT_TRUE(r.has_value()) << p.stderr_text();
    return r.value_or(json::object());
  };
  json r = ask({{"text", text}});
  ASSERT_EQ(r["success"], true) << r.dump();
  EXPECT_EQ(r["dimensions"], 384);
  EXPECT_EQ(r["normalized"], true);
  EXPECT_EQ(r["pooling"], "mean");
  EXPECT_EQ(r["tokens"], ids->size());
  EXPECT_EQ(r["truncated"], false);
  std::vector<float> v = r["embeddings"].get<std::vector<float>>();
  ASSERT_EQ(v.size(), 384u);
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  EXPECT_NEAR(norm, 1.0, 1e-5);

  json by_ids = ask({{"tokens", *ids}});
  ASSERT_EQ(by_ids["success"], true) << by_ids.dump();
  auto w = by_ids["embeddings"].get<std::vector<float>>();
  EXPECT_LE(max_abs_diff(v.data(), w.data(), 384), 1e-6f);

  r = ask({{"texts", {long_text, text}}});
  ASSERT_EQ(r["success"], true) << r.dump();
  EXPECT_EQ(r["tokens"], json({256, ids->size()}));
  EXPECT_EQ(r["truncated"], json({true, false}));
  auto batched = r["embeddings"][1].get<std::vector<float>>();
  EXPECT_LE(max_abs_diff(v.data(), batched.data(), 384), 1e-6f);

  r = ask({{"text", long_text}, {"truncate", false}});
  EXPECT_EQ(r["code"], "input_too_long") << r.dump();
  EXPECT_NE(r["error"].get<std::string>().find("256"), std::string::npos);
}

}  // namespace
}  // namespace nlm::testing
