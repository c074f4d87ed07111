// Every decoder family against ../shared/fixtures (outputs of the Hugging Face transformers code, f32):
// full-prompt logits, cached step logits, greedy tokens, KV-cached decode == full recompute, RoPE
// frequencies (llama3) and longrope's long factors.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "formats/safetensors.h"
#include "models/layers_decoder.h"
#include "runtime/decoder_loader.h"
#include "runtime/generate.h"
#include "runtime/kv_cache.h"
#include "support/subprocess.h"

namespace nlm::testing {
namespace {
namespace fs = std::filesystem;

struct Fixture {
  std::shared_ptr<runtime::LoadedDecoder> model;
  std::shared_ptr<formats::SafetensorsFile> ref;
};

Fixture open_fixture(const std::string& arch) {
  Fixture f;
  const std::string dir = shared_dir() + "/fixtures/" + arch;
  auto m = runtime::load_decoder(dir);
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  if (m.is_ok()) f.model = m.value();
  auto r = formats::SafetensorsFile::open(dir + "/reference.safetensors");
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  if (r.is_ok()) f.ref = r.value();
  return f;
}

std::vector<float> floats(const formats::SafetensorsFile& ref, const std::string& name) {
  auto t = ref.tensor(name);
  if (!t.is_ok()) return {};
  const float* p = t->as<const float>();
  return std::vector<float>(p, p + t->numel());
}

std::vector<int32_t> ids(const formats::SafetensorsFile& ref, const std::string& name) {
  auto t = ref.tensor(name);
  if (!t.is_ok()) return {};
  const auto* p = t->as<const int64_t>();
  return std::vector<int32_t>(p, p + t->numel());
}

// max |a - b| relative to the reference's scale (its largest magnitude).
double rel_err(const float* a, const std::vector<float>& ref, size_t offset, size_t n) {
  double scale = 0, err = 0;
  for (size_t i = 0; i < n; ++i) {
    scale = std::max(scale, std::fabs(static_cast<double>(ref[offset + i])));
    const double d = std::fabs(static_cast<double>(a[i]) - ref[offset + i]);
    err = std::isnan(err) || d <= err ? err : d;  // a NaN stays (std::max would drop it)
  }
  return err / std::max(scale, 1e-30);
}

constexpr double kTol = 1e-4;

class DecoderFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(DecoderFixture, PromptLogitsGreedyAndCachedDecode) {
  Fixture f = open_fixture(GetParam());
  ASSERT_TRUE(f.model && f.ref);
  const models::DecoderModel& m = *f.model->model;
  const int64_t vocab = m.info().vocab_size;
  const std::vector<int32_t> prompt = ids(*f.ref, "prompt.input_ids");
  const std::vector<int32_t> seq = ids(*f.ref, "generate.sequences");
  ASSERT_EQ(prompt.size(), 12u);
  ASSERT_EQ(seq.size(), 28u);

  // Full-prompt logits (no cache) vs prompt.logits.
  auto logits = runtime::compute_logits(m, prompt, /*last_only=*/false);
  ASSERT_TRUE(logits.is_ok()) << logits.status().message();
  const auto ref_prompt = floats(*f.ref, "prompt.logits");
  EXPECT_LT(rel_err(logits->data(), ref_prompt, 0, ref_prompt.size()), kTol);

  // Full recompute over all 28 tokens vs full.logits.
  auto full = runtime::compute_logits(m, seq, false);
  ASSERT_TRUE(full.is_ok());
  const auto ref_full = floats(*f.ref, "full.logits");
  EXPECT_LT(rel_err(full->data(), ref_full, 0, ref_full.size()), kTol);

  // Cached decode: prefill the prompt, then one token at a time, feeding back the reference sequence.
  const auto ref_steps = floats(*f.ref, "generate.step_logits");
  runtime::KvCache kv(m.info(), 28);
  std::vector<float> row(static_cast<size_t>(vocab));
  ASSERT_TRUE(m.forward(std::span(prompt), kv.state(), kv.scratch(), false, row.data()).is_ok());
  for (size_t step = 0; step < 16; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    EXPECT_LT(rel_err(row.data(), ref_steps, step * static_cast<size_t>(vocab), static_cast<size_t>(vocab)), kTol);
    // cached decode == our own full recompute at the same position
    const size_t pos = 11 + step;
    EXPECT_LT(rel_err(row.data(), std::vector<float>(full->begin() + static_cast<long>(pos * vocab),
                                                     full->begin() + static_cast<long>((pos + 1) * vocab)),
                      0, static_cast<size_t>(vocab)),
              kTol);
    if (step == 15) break;
    const int32_t next[1] = {seq[12 + step]};
    ASSERT_TRUE(m.forward(next, kv.state(), kv.scratch(), false, row.data()).is_ok());
  }

  // Greedy generation through the runtime loop: the 16 reference tokens.
  runtime::GenerateOptions o;
  o.max_tokens = 16;
  o.sampling.temperature = 0;
  auto gen = runtime::generate(m, prompt, o, {});
  ASSERT_TRUE(gen.is_ok()) << gen.status().message();
  EXPECT_EQ(gen->tokens, std::vector<int32_t>(seq.begin() + 12, seq.end()));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DecoderFixture,
                         ::testing::Values("llama", "llama3_rope", "mistral", "mistral_sliding_window", "qwen2",
                                           "qwen3", "phi3", "phi3_longrope", "gemma", "gemma2"));

TEST(DecoderFixtureExtra, Phi3LongropeLongPrompt) {
  Fixture f = open_fixture("phi3_longrope");
  ASSERT_TRUE(f.model && f.ref);
  const auto prompt = ids(*f.ref, "long_prompt.input_ids");
  ASSERT_EQ(prompt.size(), 48u);
  auto logits = runtime::compute_logits(*f.model->model, prompt, false);
  ASSERT_TRUE(logits.is_ok());
  const auto ref = floats(*f.ref, "long_prompt.logits");
  EXPECT_LT(rel_err(logits->data(), ref, 0, ref.size()), kTol);
}

TEST(DecoderFixtureExtra, RopeInvFreqMatchesReference) {
  for (const char* arch : {"llama", "llama3_rope", "gemma2", "qwen3"}) {
    SCOPED_TRACE(arch);
    Fixture f = open_fixture(arch);
    ASSERT_TRUE(f.model && f.ref);
    const auto* sd = dynamic_cast<const models::StandardDecoder*>(f.model->model.get());
    ASSERT_NE(sd, nullptr);
    const auto ref = floats(*f.ref, "rope.inv_freq");
    std::vector<float> inv(ref.size());
    float attn = 0;
    models::rope_inv_freq(sd->config().rope, 28, inv.data(), &attn);
    EXPECT_EQ(attn, 1.f);
    for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(inv[i], ref[i], 1e-6 * std::fabs(ref[i]) + 1e-12) << i;
  }
}

TEST(DecoderFixtureExtra, GenerationConfigEosIds) {
  Fixture f = open_fixture("gemma2");
  ASSERT_TRUE(f.model);
  EXPECT_EQ(f.model->eos_token_ids, std::vector<int32_t>{1});
  EXPECT_EQ(f.model->model->info().bos_token_id, 2);
  EXPECT_EQ(f.model->tokenizer, nullptr);  // fixtures carry no tokenizer: token ids only
}

}  // namespace
}  // namespace nlm::testing
