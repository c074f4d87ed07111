// Library-level checks of the encoder families against the Hugging Face reference outputs
// (../shared/fixtures/{bert,mpnet,xlm_roberta}): per-token states within 1e-4 of the reference's scale,
// mean-pooled and normalized embeddings with cosine >= 0.99999, batch == single.
#include <gtest/gtest.h>

#include "kernels/kernels.h"
#include "models/encoder_test_util.h"
#include "models/layers_encoder.h"
#include "models/registry.h"
#include "runtime/embed.h"

namespace nlm::models {
namespace {
using testing::Reference;

class EncoderFixture : public ::testing::TestWithParam<std::string> {};

std::vector<float> run(const EncoderModel& m, const std::vector<std::vector<int32_t>>& seqs) {
  std::vector<std::span<const int32_t>> spans;
  size_t total = 0;
  for (const auto& s : seqs) {
    spans.emplace_back(s);
    total += s.size();
  }
  std::vector<float> out(total * static_cast<size_t>(m.info().hidden_size));
  m.embed(spans, out.data());
  return out;
}

TEST_P(EncoderFixture, MatchesTransformers) {
  const std::string arch = GetParam();
  auto model = load_encoder(testing::fixture_dir(arch));
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  const EncoderModel& m = **model;
  ASSERT_EQ(m.info().hidden_size, 64);
  Reference ref(arch);
  ASSERT_TRUE(ref.ok());
  for (const std::string c : {"a", "b", "c_long"}) {
    SCOPED_TRACE(arch + " case " + c);
    const auto ids = ref.ids(c + ".input_ids");
    const auto want = ref.floats(c + ".last_hidden_state");
    const auto got = run(m, {ids});
    ASSERT_EQ(got.size(), want.size());
    const float scale = testing::max_abs(want.data(), want.size());
    const float err = testing::max_abs_diff(got.data(), want.data(), want.size());
    EXPECT_LE(err, 1e-4f * scale) << "max abs diff " << err << " (scale " << scale << ")";
    std::vector<float> pooled(64), normed(64);
    runtime::pool_sequence(got.data(), static_cast<int64_t>(ids.size()), 64, runtime::EmbedPooling::kMean, 0,
                           pooled.data());
    const auto mean_ref = ref.floats(c + ".mean_pooled");
    EXPECT_GE(testing::cosine(pooled.data(), mean_ref.data(), 64), 0.99999);
    EXPECT_LE(testing::max_abs_diff(pooled.data(), mean_ref.data(), 64), 1e-4f * testing::max_abs(mean_ref.data(), 64));
    normed = pooled;
    kernels::l2_normalize(normed.data(), 1, 64);
    const auto emb_ref = ref.floats(c + ".sentence_embedding");
    EXPECT_GE(testing::cosine(normed.data(), emb_ref.data(), 64), 0.99999);
    EXPECT_LE(testing::max_abs_diff(normed.data(), emb_ref.data(), 64), 1e-4f);
  }
}

TEST_P(EncoderFixture, PaddedBatchReferenceAndBatchEqualsSingle) {
  const std::string arch = GetParam();
  auto model = load_encoder(testing::fixture_dir(arch));
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  Reference ref(arch);
  const auto a = ref.ids("a.input_ids"), b = ref.ids("b.input_ids"), c = ref.ids("c_long.input_ids");
  const auto batch = run(**model, {a, c, b});
  // Rows of the packed batch against the padded HF batch (a is padded to 13 there) ...
  const auto want = ref.floats("batch_ab.last_hidden_state");  // [2, 13, 64]
  const float scale = testing::max_abs(want.data(), want.size());
  EXPECT_LE(testing::max_abs_diff(batch.data(), want.data(), a.size() * 64), 1e-4f * scale);
  const float* got_b = batch.data() + (a.size() + c.size()) * 64;
  EXPECT_LE(testing::max_abs_diff(got_b, want.data() + 13 * 64, b.size() * 64), 1e-4f * scale);
  // ... and against single runs: the sentence embedding within 1e-6, the states within 1e-6 of their
  // scale (about 4 here: a few float32 ulps, from the matmul's row blocking).
  size_t off = 0;
  for (const auto* s : {&a, &c, &b}) {
    const auto single = run(**model, {*s});
    const int64_t n = static_cast<int64_t>(s->size());
    EXPECT_LE(testing::max_abs_diff(batch.data() + off, single.data(), single.size()),
              1e-6f * testing::max_abs(single.data(), single.size()));
    std::vector<float> eb(64), es(64);
    runtime::pool_sequence(batch.data() + off, n, 64, runtime::EmbedPooling::kMean, 0, eb.data());
    runtime::pool_sequence(single.data(), n, 64, runtime::EmbedPooling::kMean, 0, es.data());
    kernels::l2_normalize(eb.data(), 1, 64);
    kernels::l2_normalize(es.data(), 1, 64);
    EXPECT_LE(testing::max_abs_diff(eb.data(), es.data(), 64), 1e-6f);
    off += single.size();
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EncoderFixture, ::testing::Values("bert", "mpnet", "xlm_roberta"));

TEST(RelativeBucket, MatchesMPNetFormula) {
  RelativeBias rb;  // 32 buckets, max distance 128, bidirectional
  // Values worked out by hand from HF's relative_position_bucket: n = -(j - i).
  EXPECT_EQ(relative_position_bucket(0, rb), 0);
  EXPECT_EQ(relative_position_bucket(-1, rb), 1);   // n = 1
  EXPECT_EQ(relative_position_bucket(1, rb), 17);   // n = -1: 16 + 1
  EXPECT_EQ(relative_position_bucket(-7, rb), 7);
  EXPECT_EQ(relative_position_bucket(-8, rb), 8);   // 8 + int(log(1)/log(16)*8) = 8
  EXPECT_EQ(relative_position_bucket(-16, rb), 10); // 8 + int(0.25 * 8)
  EXPECT_EQ(relative_position_bucket(-32, rb), 12);
  EXPECT_EQ(relative_position_bucket(-127, rb), 15);
  EXPECT_EQ(relative_position_bucket(-500, rb), 15);
  EXPECT_EQ(relative_position_bucket(500, rb), 31);
}

}  // namespace
}  // namespace nlm::models
