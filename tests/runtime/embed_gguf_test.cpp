// GGUF BERT embeddings through the real binary: a tiny random BERT written both as a Hugging Face folder
// and as a llama.cpp-layout GGUF file with the same weights (tiny_bert.h) must embed to the same vectors
// (within 1e-6; f32 files and f16 files, whose HF folder holds the same f16 values), from text (each
// file's own tokenizer) and from token ids, per token and pooled. The GGUF's defaults follow its metadata:
// pooling from bert.pooling_type (absent: mean; 0: per-token), normalized like llama.cpp's embeddings.
// Broken or foreign GGUF files answer model_load_failed / unsupported.
#include <filesystem>

#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "models/encoder_test_util.h"
#include "runtime/tiny_bert.h"
#include "support/subprocess.h"

namespace nlm::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kTexts = {"The quick brown fox jumps over the lazy dog.", "Hello, world!",
                                         "abc cafe naively jumped"};

std::vector<float> flat(const json& a) {
  std::vector<float> out;
  for (const auto& v : a) {
    if (v.is_array()) {
      auto inner = flat(v);
      out.insert(out.end(), inner.begin(), inner.end());
    } else {
      out.push_back(v.get<float>());
    }
  }
  return out;
}

class Server {
 public:
  Server() : p_(serve_argv()) {}
  json embed(const std::string& model, json req) {
    req["command"] = "embed";
    req["model"] = model;
    EXPECT_TRUE(p_.send(req));
    auto r = p_.read_json(std::chrono::seconds(60));
    if (!r) {
      p_.close_stdin();
      ADD_FAILURE() << "no answer; exit code " << p_.wait() << "; stderr: " << p_.stderr_text();
    }
    return r.value_or(json::object());
  }

 private:
  Subprocess p_;
};

// Same shape and values within `tol`.
void expect_same(const json& a, const json& b, float tol) {
  const auto x = flat(a), y = flat(b);
  ASSERT_EQ(x.size(), y.size());
  ASSERT_FALSE(x.empty());
  EXPECT_LE(max_abs_diff(x.data(), y.data(), x.size()), tol);
}

struct Case {
  const char* name;
  bool f16;
  int pooling_type;          // written to the GGUF (-1: absent)
  const char* pooling;       // what the GGUF's default must be
};

class GgufVsFolder : public ::testing::TestWithParam<Case> {};

TEST_P(GgufVsFolder, SameEmbeddings) {
  const Case c = GetParam();
  TempDir dir;
  TinyBertOptions o;
  o.f16 = c.f16;
  o.pooling_type = c.pooling_type;
  TinyBert bert(o);
  const std::string folder = dir.path() + "/hf", gguf = dir.path() + "/tiny.gguf";
  fs::create_directories(folder);
  ASSERT_TRUE(bert.write_folder(folder));
  ASSERT_TRUE(bert.write_gguf(gguf));
  Server s;

  // The GGUF's defaults, against the folder asked for the same pooling and normalization.
  const bool per_token = std::string(c.pooling) == "none";
  json g = s.embed(gguf, {{"texts", kTexts}});
  ASSERT_EQ(g["success"], true) << g.dump();
  EXPECT_EQ(g["pooling"], c.pooling);
  EXPECT_EQ(g["normalized"], !per_token);
  EXPECT_EQ(g["dimensions"], TinyBert::kHidden);
  json h = s.embed(folder, {{"texts", kTexts}, {"pooling", c.pooling}, {"normalize", !per_token}});
  ASSERT_EQ(h["success"], true) << h.dump();
  EXPECT_EQ(g["tokens"], h["tokens"]);
  expect_same(g["embeddings"], h["embeddings"], 1e-6f);
  if (!per_token) {
    const auto v = flat(g["embeddings"][0]);
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    EXPECT_NEAR(norm, 1.0, 1e-5);
  }

  // Token ids, every token's state and each pooling.
  const json ids = {{TinyBert::kCls, 5, 6, 7, 8, 9, 10, 12, 5, 13, 14, 15, TinyBert::kSep}, {TinyBert::kCls, 18, TinyBert::kSep}};
  for (const char* pooling : {"none", "mean", "cls", "max", "last"}) {
    SCOPED_TRACE(pooling);
    const json req = {{"tokens", ids}, {"pooling", pooling}, {"normalize", false}};
    g = s.embed(gguf, req);
    h = s.embed(folder, req);
    ASSERT_EQ(g["success"], true) << g.dump();
    ASSERT_EQ(h["success"], true) << h.dump();
    expect_same(g["embeddings"], h["embeddings"], 1e-6f);
  }
}

INSTANTIATE_TEST_SUITE_P(Embed, GgufVsFolder,
                         ::testing::Values(Case{"f32_mean", false, 1, "mean"}, Case{"f16_cls", true, 2, "cls"},
                                           Case{"f32_last", false, 3, "last"},
                                           Case{"f32_no_pooling_key", false, -1, "mean"},
                                           Case{"f16_pooling_none", true, 0, "none"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(EmbedGguf, FolderHoldingOneGguf) {
  TempDir dir;
  TinyBert bert({});
  ASSERT_TRUE(bert.write_gguf(dir.path() + "/model.gguf"));
  Server s;
  json a = s.embed(dir.path(), {{"text", "hello world"}});
  ASSERT_EQ(a["success"], true) << a.dump();
  json b = s.embed(dir.path() + "/model.gguf", {{"text", "hello world"}});
  ASSERT_EQ(b["success"], true) << b.dump();
  EXPECT_EQ(a["tokens"], 4);
  expect_same(a["embeddings"], b["embeddings"], 0);
}

TEST(EmbedGguf, BrokenOrForeignFiles) {
  TempDir dir;
  Server s;
  {
    TinyBertOptions o;
    o.drop_gguf_tensor = "blk.1.ffn_down.weight";
    ASSERT_TRUE(TinyBert(o).write_gguf(dir.path() + "/missing.gguf"));
    json r = s.embed(dir.path() + "/missing.gguf", {{"text", "hello"}});
    EXPECT_EQ(r["code"], "model_load_failed") << r.dump();
    EXPECT_NE(r["error"].get<std::string>().find("encoder.layer.1.output.dense.weight"), std::string::npos) << r.dump();
    EXPECT_NE(r["error"].get<std::string>().find("missing.gguf"), std::string::npos) << r.dump();
  }
  {
    TinyBertOptions o;
    o.architecture = "nomic-bert";
    ASSERT_TRUE(TinyBert(o).write_gguf(dir.path() + "/nomic.gguf"));
    json r = s.embed(dir.path() + "/nomic.gguf", {{"text", "hello"}});
    EXPECT_EQ(r["code"], "unsupported") << r.dump();
    EXPECT_NE(r["error"].get<std::string>().find("nomic-bert"), std::string::npos) << r.dump();
  }
  {
    TinyBertOptions o;
    o.pooling_type = 4;  // rank: needs a classifier head
    ASSERT_TRUE(TinyBert(o).write_gguf(dir.path() + "/rank.gguf"));
    json r = s.embed(dir.path() + "/rank.gguf", {{"text", "hello"}});
    EXPECT_EQ(r["code"], "unsupported") << r.dump();
    EXPECT_NE(r["error"].get<std::string>().find("pooling_type"), std::string::npos) << r.dump();
  }
  {
    ASSERT_TRUE(write_file(dir.path() + "/truncated.gguf", std::string("GGUF\x03\0\0\0", 8)));
    json r = s.embed(dir.path() + "/truncated.gguf", {{"text", "hello"}});
    EXPECT_EQ(r["code"], "model_load_failed") << r.dump();
  }
  EXPECT_EQ(s.embed(dir.path() + "/missing.gguf", {{"tokens", {1, 2}}})["code"], "model_load_failed");  // still up
}

}  // namespace
}  // namespace nlm::testing
