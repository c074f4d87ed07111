#include "formats/gguf.h"

#include <gtest/gtest.h>

#include <tuple>

#include "core/f16.h"
#include "formats/gguf_names.h"
#include "support/temp_dir.h"
#include "formats/test_writers.h"
#include "support/subprocess.h"

namespace nlm::formats {
namespace {
using core::DType;
using core::ErrorCode;
using testing::GgufWriter;
using testing::TempDir;
using testing::raw_bytes;

GgufWriter small_gguf(uint32_t version = 3) {
  GgufWriter w(version);
  w.kv_str("general.architecture", "llama");
  w.kv_u32("llama.block_count", 2);
  w.kv_f32("llama.rope.freq_base", 10000.5f);
  w.kv_bool("tokenizer.ggml.add_bos_token", true);
  w.kv_u64("big", 1ull << 40);
  w.kv_i64("neg", -5);
  w.kv_f64("pi", 3.25);
  w.kv_u8("byte", 200);
  w.kv_i16("short", -300);
  w.kv_strs("tokenizer.ggml.tokens", {"<unk>", "<s>", "\xe2\x96\x81hi", ""});
  w.kv_f32s("tokenizer.ggml.scores", {0, -1.5f, 2, 3});
  w.kv_i32s("tokenizer.ggml.token_type", {2, 3, 1, 1});
  w.kv_strs("tokenizer.ggml.merges", {"a b", "ab c"});
  // [out=3, in=4] f32 weight: GGUF ne = {4, 3}.
  w.tensor("blk.0.attn_q.weight", {4, 3}, 0, raw_bytes(std::vector<float>{0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23}));
  w.tensor("output_norm.weight", {4}, 1, raw_bytes(std::vector<uint16_t>(4, core::f32_to_f16(0.25f))));
  std::string q8(2 * 34, '\0');  // [2 rows, 32 cols] q8_0
  w.tensor("blk.1.ffn_down.weight", {32, 2}, 8, q8);
  w.tensor("token_embd.weight", {256, 1}, 12, std::string(144, '\x01'));  // q4_K
  w.tensor("blk.0.q5.weight", {32, 3}, 6, std::string(3 * 22, '\0'));   // q5_0
  w.tensor("blk.0.q51.weight", {64}, 7, std::string(2 * 24, '\0'));     // q5_1
  w.tensor("blk.0.q5k.weight", {256, 2}, 13, std::string(2 * 176, '\0'));  // q5_K
  w.tensor("blk.0.q2k.weight", {256, 1}, 10, std::string(84, '\0'));       // q2_K
  w.tensor("blk.0.q3k.weight", {512, 1}, 11, std::string(2 * 110, '\0'));  // q3_K
  w.tensor("weird.weight", {256}, 15, std::string(292, '\0'));  // q8_K (llama.cpp-internal) -> unsupported
  return w;
}

TEST(Gguf, ReadsMetadataOfEveryType) {
  TempDir dir;
  ASSERT_TRUE(small_gguf().write(dir.file("m.gguf")));
  auto f = GgufFile::open(dir.file("m.gguf"));
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  const GgufFile& g = **f;
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.architecture(), "llama");
  EXPECT_EQ(g.get_int("llama.block_count"), 2);
  EXPECT_FLOAT_EQ(static_cast<float>(*g.get_float("llama.rope.freq_base")), 10000.5f);
  EXPECT_EQ(g.get_bool("tokenizer.ggml.add_bos_token"), true);
  EXPECT_EQ(g.get_int("big"), int64_t{1} << 40);
  EXPECT_EQ(g.get_int("neg"), -5);
  EXPECT_EQ(g.get_float("pi"), 3.25);
  EXPECT_EQ(g.get_int("byte"), 200);
  EXPECT_EQ(g.get_int("short"), -300);
  EXPECT_FALSE(g.get_int("general.architecture").has_value());
  const auto* tokens = g.get_strings("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->size(), 4u);
  EXPECT_EQ((*tokens)[2], "\xe2\x96\x81hi");
  EXPECT_EQ((*tokens)[3], "");
  auto scores = g.get_f32_array("tokenizer.ggml.scores");
  ASSERT_TRUE(scores.has_value());
  EXPECT_EQ((*scores)[1], -1.5f);
  auto types = g.get_int_array("tokenizer.ggml.token_type");
  ASSERT_TRUE(types.has_value());
  EXPECT_EQ((*types)[1], 3);
  EXPECT_FALSE(g.get_int_array("tokenizer.ggml.scores").has_value());
  ASSERT_NE(g.get_strings("tokenizer.ggml.merges"), nullptr);
  EXPECT_EQ(g.get_strings("tokenizer.ggml.merges")->at(1), "ab c");
}

TEST(Gguf, TensorShapesAreOutermostFirst) {
  TempDir dir;
  ASSERT_TRUE(small_gguf(2).write(dir.file("m.gguf")));
  auto f = GgufFile::open(dir.file("m.gguf"));
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  EXPECT_EQ((*f)->version(), 2u);
  EXPECT_EQ((*f)->data_offset() % 32, 0u);
  auto q = (*f)->tensor("blk.0.attn_q.weight");
  ASSERT_TRUE(q.is_ok());
  EXPECT_EQ(q->ndim, 2);
  EXPECT_EQ(q->shape[0], 3);
  EXPECT_EQ(q->shape[1], 4);
  EXPECT_EQ(q->row<float>(2)[1], 21.0f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(q->data) % 32, 0u);
  auto d = (*f)->tensor("blk.1.ffn_down.weight");
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->dtype, DType::kQ8_0);
  EXPECT_EQ(d->shape[0], 2);
  EXPECT_EQ(d->row_bytes, 34);
  auto e = (*f)->tensor("token_embd.weight");
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(e->dtype, DType::kQ4_K);
  for (const auto& [name, dtype, rows, row_bytes] : {std::tuple{"blk.0.q5.weight", DType::kQ5_0, 3, 22},
                                                     std::tuple{"blk.0.q51.weight", DType::kQ5_1, 1, 48},
                                                     std::tuple{"blk.0.q5k.weight", DType::kQ5_K, 2, 176},
                                                     std::tuple{"blk.0.q2k.weight", DType::kQ2_K, 1, 84},
                                                     std::tuple{"blk.0.q3k.weight", DType::kQ3_K, 1, 220}}) {
    auto t = (*f)->tensor(name);
    ASSERT_TRUE(t.is_ok()) << name;
    EXPECT_EQ(t->dtype, dtype) << name;
    EXPECT_EQ(t->rows(), rows) << name;
    EXPECT_EQ(t->row_bytes, row_bytes) << name;
  }
  auto n = (*f)->tensor("output_norm.weight");
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(n->dtype, DType::kF16);
  auto weird = (*f)->tensor("weird.weight");
  ASSERT_FALSE(weird.is_ok());
  EXPECT_NE(weird.status().message().find("weird.weight"), std::string::npos);
}

TEST(Gguf, EveryTruncationFailsCleanly) {
  TempDir dir;
  const std::string bytes = small_gguf().serialize();
  for (size_t n = 0; n + 1 < bytes.size(); ++n) {
    // Trailing alignment padding after the last tensor may be cut without losing data.
    ASSERT_TRUE(testing::write_file(dir.file("t.gguf"), bytes.substr(0, n)));
    auto f = GgufFile::open(dir.file("t.gguf"));
    if (n < bytes.size() - 32) {
      ASSERT_FALSE(f.is_ok()) << "prefix of " << n << " bytes opened";
      EXPECT_EQ(f.status().code(), ErrorCode::kModelLoadFailed);
    }
  }
}

TEST(Gguf, CorruptFilesAreRefused) {
  TempDir dir;
  auto expect_bad = [&](std::string bytes, const char* needle) {
    ASSERT_TRUE(testing::write_file(dir.file("c.gguf"), bytes));
    auto f = GgufFile::open(dir.file("c.gguf"));
    ASSERT_FALSE(f.is_ok()) << needle;
    EXPECT_EQ(f.status().code(), ErrorCode::kModelLoadFailed);
    EXPECT_NE(f.status().message().find(needle), std::string::npos) << f.status().message();
  };
  std::string good = small_gguf().serialize();
  std::string magic = good;
  magic[0] = 'X';
  expect_bad(magic, "magic");
  expect_bad(small_gguf(1).serialize(), "version 1");
  std::string big_count = good;
  const uint64_t n = ~uint64_t{0};
  std::memcpy(big_count.data() + 8, &n, 8);
  expect_bad(big_count, "count");
  // The first key's string length (after magic, version, two counts) made enormous.
  std::string big_key = good;
  std::memcpy(big_key.data() + 24, &n, 8);
  expect_bad(big_key, "truncated");

  GgufWriter w;
  w.tensor("a.weight", {4}, 0, raw_bytes(std::vector<float>{1, 2, 3, 4}));
  w.tensor("a.weight", {4}, 0, raw_bytes(std::vector<float>{1, 2, 3, 4}));
  expect_bad(w.serialize(), "twice");
  GgufWriter odd;
  odd.tensor("q.weight", {20, 1}, 8, std::string(34, '\0'));  // q8_0 rows must be multiples of 32
  expect_bad(odd.serialize(), "q.weight");
  GgufWriter align;
  align.kv_u32("general.alignment", 24);
  expect_bad(align.serialize(), "alignment");
  GgufWriter past;
  past.tensor("x.weight", {1024}, 0, raw_bytes(std::vector<float>{1}));
  expect_bad(past.serialize(), "x.weight");
}

TEST(Gguf, NameTable) {
  EXPECT_EQ(gguf_to_hf_name("llama", "blk.12.attn_q.weight"), "model.layers.12.self_attn.q_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("llama", "token_embd.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(gguf_to_hf_name("llama", "output_norm.weight"), "model.norm.weight");
  EXPECT_EQ(gguf_to_hf_name("llama", "output.weight"), "lm_head.weight");
  EXPECT_EQ(gguf_to_hf_name("qwen2", "blk.0.attn_k.bias"), "model.layers.0.self_attn.k_proj.bias");
  EXPECT_EQ(gguf_to_hf_name("llama", "blk.3.attn_output.weight"), "model.layers.3.self_attn.o_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("llama", "blk.3.ffn_gate.weight"), "model.layers.3.mlp.gate_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("llama", "blk.3.ffn_up.weight"), "model.layers.3.mlp.up_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("llama", "blk.3.ffn_down.weight"), "model.layers.3.mlp.down_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("llama", "blk.3.attn_norm.weight"), "model.layers.3.input_layernorm.weight");
  EXPECT_EQ(gguf_to_hf_name("llama", "blk.3.ffn_norm.weight"), "model.layers.3.post_attention_layernorm.weight");
  EXPECT_EQ(gguf_to_hf_name("gemma2", "blk.1.ffn_norm.weight"), "model.layers.1.pre_feedforward_layernorm.weight");
  EXPECT_EQ(gguf_to_hf_name("gemma2", "blk.1.attn_q.weight"), "model.layers.1.self_attn.q_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("bert", "blk.2.attn_q.weight"), "encoder.layer.2.attention.self.query.weight");
  EXPECT_EQ(gguf_to_hf_name("bert", "blk.2.layer_output_norm.bias"), "encoder.layer.2.output.LayerNorm.bias");
  EXPECT_EQ(gguf_to_hf_name("bert", "token_embd_norm.weight"), "embeddings.LayerNorm.weight");
  EXPECT_EQ(gguf_to_hf_name("llama", "blk.x.attn_q.weight"), std::nullopt);
  EXPECT_EQ(gguf_to_hf_name("llama", "rope_freqs.weight"), std::nullopt);
  EXPECT_TRUE(gguf_rope_is_interleaved("llama"));
  EXPECT_FALSE(gguf_rope_is_interleaved("qwen2"));
}

// llama.cpp's converter: w.reshape(n_head, 2, hd/2, in).swapaxes(1, 2) — HF row h*hd + j*hd/2 + i
// goes to GGUF row h*hd + 2*i + j. Written here independently of the library's inverse.
TEST(Gguf, UnpermuteInvertsTheConverterPermutation) {
  const int64_t n_heads = 3, hd = 4, in = 2, rows = n_heads * hd;
  std::vector<float> hf(static_cast<size_t>(rows * in)), gguf(hf.size()), back(hf.size());
  for (size_t k = 0; k < hf.size(); ++k) hf[k] = static_cast<float>(k);
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < hd / 2; ++i)
        for (int64_t c = 0; c < in; ++c)
          gguf[(h * hd + 2 * i + j) * in + c] = hf[(h * hd + j * hd / 2 + i) * in + c];
  unpermute_rope_rows(core::TensorView(gguf.data(), DType::kF32, {rows, in}), n_heads,
                      core::TensorView(back.data(), DType::kF32, {rows, in}));
  EXPECT_EQ(back, hf);
}

TEST(Gguf, ReadsStories260K) {
  auto f = GgufFile::open(testing::shared_dir() + "/models/stories260K/stories260K.gguf");
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  const GgufFile& g = **f;
  EXPECT_EQ(g.architecture(), "llama");
  EXPECT_EQ(g.get_int("llama.block_count"), 5);
  EXPECT_EQ(g.get_int("llama.embedding_length"), 64);
  EXPECT_EQ(g.get_int("llama.attention.head_count"), 8);
  EXPECT_EQ(g.get_int("llama.attention.head_count_kv"), 4);
  ASSERT_NE(g.get_strings("tokenizer.ggml.tokens"), nullptr);
  EXPECT_EQ(g.get_strings("tokenizer.ggml.tokens")->size(), 512u);
  ASSERT_TRUE(g.get_f32_array("tokenizer.ggml.scores").has_value());
  for (const auto& t : g.tensor_infos()) EXPECT_TRUE(t.usable) << t.name;
  GgufHfView hf(*f);
  auto emb = hf.tensor("model.embed_tokens.weight");
  ASSERT_TRUE(emb.is_ok()) << emb.status().message();
  EXPECT_EQ(emb->shape[0], 512);
  EXPECT_EQ(emb->shape[1], 64);
  auto k = hf.tensor("model.layers.4.self_attn.k_proj.weight");
  ASSERT_TRUE(k.is_ok()) << k.status().message();
  EXPECT_EQ(k->shape[0], 32);  // 4 kv heads x head_dim 8
  EXPECT_EQ(k->shape[1], 64);
  EXPECT_TRUE(hf.has("model.norm.weight"));
}

}  // namespace
}  // namespace nlm::formats
