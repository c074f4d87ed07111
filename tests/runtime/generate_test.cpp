// The generation loop against a toy model whose next token is (last token + 1) % vocab.
#include "runtime/generate.h"

#include <gtest/gtest.h>

#include "runtime/kv_cache.h"

namespace nlm::runtime {
namespace {

class CountingModel : public models::DecoderModel {
 public:
  explicit CountingModel(int64_t context) {
    info_.architecture = "toy";
    info_.vocab_size = 10;
    info_.num_hidden_layers = 1;
    info_.num_key_value_heads = 1;
    info_.head_dim = 2;
    info_.max_position_embeddings = context;
  }
  const models::DecoderInfo& info() const override { return info_; }
  core::Status forward(std::span<const int32_t> tokens, models::KvState& kv, models::ForwardScratch&, bool all_logits,
                       float* logits) const override {
    if (kv.n_past + static_cast<int64_t>(tokens.size()) > kv.capacity) {
      return core::error(core::ErrorCode::kInputTooLong, "over capacity");
    }
    ++calls;
    const size_t first = all_logits ? 0 : tokens.size() - 1;
    for (size_t i = first; i < tokens.size(); ++i) {
      float* row = logits + (i - first) * 10;
      for (int v = 0; v < 10; ++v) row[v] = v == (tokens[i] + 1) % 10 ? 5.f : 0.f;
    }
    kv.n_past += static_cast<int64_t>(tokens.size());
    return core::Status::ok();
  }
  mutable int calls = 0;

 private:
  models::DecoderInfo info_;
};

GenerateOptions greedy(int64_t max_tokens) {
  GenerateOptions o;
  o.max_tokens = max_tokens;
  o.sampling.temperature = 0;
  return o;
}

GenerateHooks letters(std::string* streamed = nullptr) {
  GenerateHooks h;
  h.detokenize = [](int32_t t) { return std::string(1, static_cast<char>('a' + t)); };
  if (streamed) h.on_token = [streamed](int32_t, const std::string& text) { *streamed += text; };
  return h;
}

TEST(Generate, GreedyToLength) {
  CountingModel m(64);
  const int32_t prompt[] = {1};
  auto r = generate(m, prompt, greedy(5), letters());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->tokens, (std::vector<int32_t>{2, 3, 4, 5, 6}));
  EXPECT_EQ(r->text, "cdefg");
  EXPECT_EQ(r->finish_reason, FinishReason::kLength);
  EXPECT_EQ(r->kv_capacity, 6);
  EXPECT_EQ(m.calls, 5);  // one prefill + one forward per token but the last
}

TEST(Generate, PrefillInBatches) {
  CountingModel m(64);
  std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7};
  GenerateOptions o = greedy(1);
  o.prefill_batch = 3;
  auto r = generate(m, prompt, o, letters());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(m.calls, 3);
  EXPECT_EQ(r->tokens, (std::vector<int32_t>{8}));
}

TEST(Generate, EveryEosIdStops) {
  CountingModel m(64);
  const int32_t prompt[] = {1};
  GenerateOptions o = greedy(20);
  o.eos_token_ids = {9, 4};
  auto r = generate(m, prompt, o, letters());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->tokens, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(r->finish_reason, FinishReason::kStop);
}

TEST(Generate, StopStringAcrossTokensIsNotEmitted) {
  CountingModel m(64);
  const int32_t prompt[] = {1};
  GenerateOptions o = greedy(20);
  o.stop = {"de"};
  std::string streamed;
  auto r = generate(m, prompt, o, letters(&streamed));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->text, "c");
  EXPECT_EQ(streamed, "c");
  EXPECT_EQ(r->tokens, (std::vector<int32_t>{2, 3, 4}));
  EXPECT_EQ(r->finish_reason, FinishReason::kStop);
}

TEST(Generate, HeldBackTextIsReleasedAtLength) {
  CountingModel m(64);
  const int32_t prompt[] = {1};
  GenerateOptions o = greedy(2);
  o.stop = {"dz"};
  std::string streamed;
  auto r = generate(m, prompt, o, letters(&streamed));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->text, "cd");
  EXPECT_EQ(streamed, "cd");
}

TEST(Generate, Cancel) {
  CountingModel m(64);
  const int32_t prompt[] = {1};
  GenerateHooks h = letters();
  int polls = 0;
  h.cancelled = [&] { return ++polls > 3; };
  auto r = generate(m, prompt, greedy(50), h);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(r->tokens.size(), 3u);
}

TEST(Generate, ContextLimits) {
  CountingModel m(8);
  std::vector<int32_t> prompt(8, 1);
  auto r = generate(m, prompt, greedy(1), letters());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), core::ErrorCode::kInputTooLong);
  prompt.resize(3);
  r = generate(m, prompt, greedy(6), letters());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), core::ErrorCode::kInputTooLong);
  EXPECT_NE(r.status().message().find("3"), std::string::npos);
  r = generate(m, prompt, greedy(5), letters());
  ASSERT_TRUE(r.is_ok());
  r = generate(m, prompt, greedy(0), letters());  // default: what the context leaves
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->tokens.size(), 5u);
}

TEST(Generate, BadTokenIds) {
  CountingModel m(8);
  const int32_t bad[] = {1, 10};
  auto r = generate(m, bad, greedy(1), letters());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), core::ErrorCode::kInvalidRequest);
  r = generate(m, std::span<const int32_t>(), greedy(1), letters());
  EXPECT_EQ(r.status().code(), core::ErrorCode::kInvalidRequest);
}

TEST(KvCache, SizeAndUsage) {
  CountingModel m(8);
  const auto before = kv_cache_usage();
  {
    KvCache kv(m.info(), 5);
    EXPECT_EQ(kv.bytes(), 2 * 1 * 5 * 1 * 2 * 4);
    EXPECT_EQ(kv_cache_usage().bytes, before.bytes + kv.bytes());
    EXPECT_EQ(kv.state().k.size(), 1u);
  }
  EXPECT_EQ(kv_cache_usage().bytes, before.bytes);
}

}  // namespace
}  // namespace nlm::runtime
