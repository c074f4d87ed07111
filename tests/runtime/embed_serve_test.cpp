// `embed` through the real binary (nativelm serve) on the Hugging Face fixtures, with token input:
// per-token states (pooling "none") within 1e-4 of the reference's scale, mean-pooled and normalized
// embeddings with cosine >= 0.99999, batches, base64, dimensions and the error codes.
#include <cstring>

#include <gtest/gtest.h>

#include "models/encoder_test_util.h"
#include "support/subprocess.h"

namespace nlm::testing {
namespace {
using nlohmann::json;

std::vector<float> floats_of(const json& a) {
  std::vector<float> out;
  for (const auto& v : a) {
    if (v.is_array()) {
      auto inner = floats_of(v);
      out.insert(out.end(), inner.begin(), inner.end());
    } else {
      out.push_back(v.get<float>());
    }
  }
  return out;
}

std::vector<float> from_base64(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    acc = (acc << 6) | static_cast<uint32_t>(val(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

class EmbedServe : public ::testing::TestWithParam<std::string> {
 protected:
  json ask(Subprocess& p, json req) {
    req["command"] = "embed";
    req["model"] = fixture_dir(GetParam());
    EXPECT_TRUE(p.send(req));
    auto r = p.read_json(std::chrono::seconds(60));
    EXPECT_TRUE(r.has_value()) << p.stderr_text();
    return r.value_or(json::object());
  }
};

TEST_P(EmbedServe, FixtureThroughTheBinary) {
  Reference ref(GetParam());
  ASSERT_TRUE(ref.ok());
  Subprocess p(serve_argv());
  for (const std::string c : {"a", "b", "c_long"}) {
    SCOPED_TRACE(GetParam() + " case " + c);
    const auto ids = ref.ids(c + ".input_ids");
    json r = ask(p, {{"tokens", ids}, {"pooling", "none"}});
    ASSERT_EQ(r["success"], true) << r.dump();
    EXPECT_EQ(r["tokens"], ids.size());
    EXPECT_EQ(r["dimensions"], 64);
    EXPECT_EQ(r["truncated"], false);
    const auto got = floats_of(r["embeddings"]);
    const auto want = ref.floats(c + ".last_hidden_state");
    ASSERT_EQ(got.size(), want.size());
    EXPECT_LE(max_abs_diff(got.data(), want.data(), want.size()), 1e-4f * max_abs(want.data(), want.size()));

    r = ask(p, {{"tokens", ids}});  // the fixture folder has no sentence-transformers files: mean, raw
    ASSERT_EQ(r["success"], true) << r.dump();
    EXPECT_EQ(r["normalized"], false);
    const auto mean = floats_of(r["embeddings"]);
    EXPECT_GE(cosine(mean.data(), ref.floats(c + ".mean_pooled").data(), 64), 0.99999);

    r = ask(p, {{"tokens", ids}, {"normalize", true}});
    const auto unit = floats_of(r["embeddings"]);
    const auto want_unit = ref.floats(c + ".sentence_embedding");
    EXPECT_GE(cosine(unit.data(), want_unit.data(), 64), 0.99999);
    EXPECT_LE(max_abs_diff(unit.data(), want_unit.data(), 64), 1e-4f);
  }
  // Batch of token lists: each row equals its single run.
  const auto a = ref.ids("a.input_ids"), b = ref.ids("b.input_ids");
  json r = ask(p, {{"tokens", {a, b}}, {"normalize", true}});
  ASSERT_EQ(r["success"], true) << r.dump();
  EXPECT_EQ(r["tokens"], json({a.size(), b.size()}));
  EXPECT_EQ(r["truncated"], json({false, false}));
  ASSERT_EQ(r["embeddings"].size(), 2u);
  const auto ea = floats_of(r["embeddings"][0]), eb = floats_of(r["embeddings"][1]);
  EXPECT_GE(cosine(ea.data(), ref.floats("a.sentence_embedding").data(), 64), 0.99999);
  EXPECT_GE(cosine(eb.data(), ref.floats("b.sentence_embedding").data(), 64), 0.99999);
  // base64 of little-endian f32 carries the same numbers.
  r = ask(p, {{"tokens", a}, {"normalize", true}, {"encoding", "base64"}});
  ASSERT_TRUE(r["embeddings"].is_string()) << r.dump();
  const auto decoded = from_base64(r["embeddings"].get<std::string>());
  ASSERT_EQ(decoded.size(), 64u);
  EXPECT_LE(max_abs_diff(decoded.data(), ea.data(), 64), 1e-6f);
  // dimensions: the first k, re-normalized.
  r = ask(p, {{"tokens", a}, {"normalize", true}, {"dimensions", 16}});
  const auto d16 = floats_of(r["embeddings"]);
  ASSERT_EQ(d16.size(), 16u);
  std::vector<float> expect(ea.begin(), ea.begin() + 16);
  double norm = 0;
  for (float v : expect) norm += static_cast<double>(v) * v;
  for (float& v : expect) v = static_cast<float>(v / std::sqrt(norm));
  EXPECT_LE(max_abs_diff(d16.data(), expect.data(), 16), 1e-5f);
}

TEST_P(EmbedServe, ErrorsKeepTheServerUp) {
  Subprocess p(serve_argv());
  json r = ask(p, {{"tokens", {5, 999999}}});
  EXPECT_EQ(r["code"], "invalid_request") << r.dump();
  std::vector<int32_t> too_many(200, 5);
  r = ask(p, {{"tokens", too_many}, {"truncate", false}});
  EXPECT_EQ(r["code"], "input_too_long") << r.dump();
  EXPECT_NE(r["error"].get<std::string>().find("200"), std::string::npos);
  EXPECT_NE(r["error"].get<std::string>().find("128"), std::string::npos);
  r = ask(p, {{"tokens", too_many}});
  EXPECT_EQ(r["success"], true);
  EXPECT_EQ(r["truncated"], true);
  EXPECT_EQ(r["tokens"], 128);
  r = ask(p, {{"text", "no tokenizer in the fixture folder"}});
  EXPECT_EQ(r["code"], "model_load_failed") << r.dump();
  r = ask(p, {{"tokens", {5, 6}}, {"pooling", "median"}});
  EXPECT_EQ(r["code"], "invalid_request");
  r = ask(p, {{"tokens", {5, 6}}, {"dimensions", 65}});
  EXPECT_EQ(r["code"], "invalid_request");
  ASSERT_TRUE(p.send({{"command", "ping"}}));
  auto pong = p.read_json();
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ((*pong)["message"], "pong");
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EmbedServe, ::testing::Values("bert", "mpnet", "xlm_roberta"));

}  // namespace
}  // namespace nlm::testing
