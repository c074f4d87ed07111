// MLX-community style quantized checkpoints end to end: the llama and BERT fixtures quantized the way
// mlx_lm.convert -q lays them out (4-bit groups of 64, modules overridden to 8-bit groups of 32 and to
// 3 and 6 bits, a Linear whose K is no multiple of 64 left in float), loaded through the product's
// loaders, against a "dense twin": the same checkpoint with every weight decoded to F32
// (tests/formats/mlx_writer.h).
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "formats/mlx_writer.h"
#include "support/temp_dir.h"
#include "models/encoder_test_util.h"
#include "models/registry.h"
#include "runtime/decoder_loader.h"
#include "runtime/generate.h"
#include "support/subprocess.h"

namespace nlm::testing {
namespace {
using nlohmann::json;

double rel_err(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
    const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    err = std::isnan(err) || d <= err ? err : d;  // a NaN stays (std::max would drop it)
  }
  return err / std::max(scale, 1e-30);
}

const json kLlamaQuantization = {{"group_size", 64},
                                {"bits", 4},
                                {"model.layers.1.self_attn.v_proj", {{"group_size", 32}, {"bits", 8}}},
                                {"model.layers.0.mlp.down_proj", {{"group_size", 32}, {"bits", 8}}},
                                {"model.layers.0.self_attn.k_proj", {{"bits", 3}}},
                                {"model.layers.1.mlp.up_proj", {{"group_size", 32}, {"bits", 6}}}};

TEST(MlxModels, QuantizedLlamaMatchesItsDenseTwin) {
  TempDir tmp;
  const json& quantization = kLlamaQuantization;
  const auto quantized = write_mlx_twins(fixture_dir("llama"), quantization, tmp.file("mlx"), tmp.file("dense"));
  // embed_tokens, lm_head, 2 × (q, k, v, o, gate, up) and layer 0's down_proj (K = 160: 8-bit groups of 32).
  ASSERT_EQ(quantized.size(), 15u);
  auto mlx = runtime::load_decoder(tmp.file("mlx"));
  ASSERT_TRUE(mlx.is_ok()) << mlx.status().message();
  auto dense = runtime::load_decoder(tmp.file("dense"));
  ASSERT_TRUE(dense.is_ok()) << dense.status().message();
  EXPECT_EQ((*mlx)->format, "mlx");
  EXPECT_EQ((*dense)->format, "safetensors");

  Reference ref("llama");
  const std::vector<int32_t> prompt = ref.ids("prompt.input_ids");
  auto got = runtime::compute_logits(*(*mlx)->model, prompt, /*last_only=*/false);
  ASSERT_TRUE(got.is_ok()) << got.status().message();
  auto want = runtime::compute_logits(*(*dense)->model, prompt, /*last_only=*/false);
  ASSERT_TRUE(want.is_ok()) << want.status().message();
  ASSERT_EQ(got->size(), want->size());
  // Same weights, so the only difference is that quantized weights multiply int8 activations (each
  // 32-block rounded to 1/127 of its largest magnitude), and the twin's f32 weights do not. That costs
  // 2.7 % of the logits' scale here, and as much with every module 8-bit (2.6 %), so it is the
  // activations' rounding, not the weights; a misread layout (nibble order, group, bias) moves the
  // logits by their own scale.
  EXPECT_LT(rel_err(*got, *want), 4e-2);
}

TEST(MlxModels, QuantizedBertMatchesItsDenseTwinExactly) {
  TempDir tmp;
  const json quantization = {{"group_size", 64},
                             {"bits", 4},
                             {"encoder.layer.1.output.dense", {{"group_size", 128}, {"bits", 8}}}};
  const auto quantized = write_mlx_twins(fixture_dir("bert"), quantization, tmp.file("mlx"), tmp.file("dense"));
  // word, position and token-type embeddings, every Linear of both layers and the pooler.
  ASSERT_EQ(quantized.size(), 16u);
  auto mlx = models::load_encoder(tmp.file("mlx"));
  ASSERT_TRUE(mlx.is_ok()) << mlx.status().message();
  auto dense = models::load_encoder(tmp.file("dense"));
  ASSERT_TRUE(dense.is_ok()) << dense.status().message();

  Reference ref("bert");
  const std::vector<std::vector<int32_t>> seqs = {ref.ids("a.input_ids"), ref.ids("b.input_ids"),
                                                  ref.ids("c_long.input_ids")};
  const auto run = [&](const models::EncoderModel& m, std::span<const std::vector<int32_t>> batch) {
    std::vector<std::span<const int32_t>> spans(batch.begin(), batch.end());
    size_t tokens = 0;
    for (const auto& s : batch) tokens += s.size();
    std::vector<float> out(tokens * 64);
    m.embed(spans, out.data());
    return out;
  };
  // A batch of 16 tokens or more runs every matmul as an f32 GEMM on the weights decoded once at load,
  // so the twins agree to the last bits ...
  EXPECT_LE(rel_err(run(**mlx, seqs), run(**dense, seqs)), 1e-6);
  // ... and a short sequence alone multiplies the quantized weights by int8 activations, as the decoder
  // does (see above): within the same bound.
  for (size_t i = 0; i < seqs.size(); ++i) {
    const std::span<const std::vector<int32_t>> one(&seqs[i], 1);
    EXPECT_LT(rel_err(run(**mlx, one), run(**dense, one)), 4e-2) << "sequence " << i;
  }
}

// The same through `nativelm serve`: the app names the MLX folder like any other model.
TEST(MlxModels, QuantizedLlamaThroughTheBinary) {
  TempDir tmp;
  ASSERT_FALSE(write_mlx_twins(fixture_dir("llama"), kLlamaQuantization, tmp.file("mlx"), tmp.file("dense")).empty());
  const std::vector<int32_t> prompt = Reference("llama").ids("prompt.input_ids");
  Subprocess p(serve_argv(), {});
  std::vector<float> logits[2];
  for (int i = 0; i < 2; ++i) {
    const std::string model = tmp.file(i ? "dense" : "mlx");
    ASSERT_TRUE(p.send({{"command", "logits"}, {"id", i}, {"model", model}, {"tokens", prompt}}));
    std::optional<json> line;
    do {
      line = p.read_json(std::chrono::seconds(60));
    } while (line && (line->contains("event") || !line->contains("id") || (*line)["id"] != i));
    ASSERT_TRUE(line && (*line)["success"] == true) << (line ? line->dump().substr(0, 300) : p.stderr_text());
    for (const json& row : (*line)["logits"]) {
      for (const json& v : row) logits[i].push_back(v.get<float>());
    }
  }
  ASSERT_EQ(logits[0].size(), prompt.size() * 1000);
  EXPECT_LT(rel_err(logits[0], logits[1]), 4e-2);
}

}  // namespace
}  // namespace nlm::testing
