#pragma once
// A tiny random BERT (hidden 32, 4 heads, 2 layers, a 31-token WordPiece vocabulary) written two ways
// with the same weights: a Hugging Face folder (config.json, model.safetensors, tokenizer.json, optional
// sentence-transformers files) and a GGUF file laid out as llama.cpp's convert_hf_to_gguf.py writes a
// BertModel (conversion/bert.py + gguf-py tensor_mapping.py): tensor names token_embd, position_embd,
// token_types, token_embd_norm, blk.N.attn_q/k/v/output(+_norm), blk.N.ffn_up/down,
// blk.N.layer_output_norm; metadata bert.*; the vocabulary in "phantom space" form (▁word, bare
// continuations, control tokens as they are). With f16, 2-D weights are F16 except position_embd and
// token_types, and 1-D tensors stay F32 — the converter's --outtype f16 choice; the HF folder then holds
// the same F16 values, so both files describe exactly the same model.
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/f16.h"
#include "formats/test_writers.h"

namespace nlm::testing {

struct TinyBertOptions {
  bool f16 = false;
  int pooling_type = 1;               // bert.pooling_type in the GGUF (-1: not written)
  bool tokenizer_lowercase = true;    // tokenizer.json's BertNormalizer "lowercase"
  bool sentence_transformers = false; // modules.json (Transformer, Pooling mean) + sentence_bert_config.json
  bool do_lower_case = false;         // sentence_bert_config.json
  std::string architecture = "bert";  // general.architecture of the GGUF
  std::string drop_gguf_tensor;       // left out of the GGUF (broken-file tests)
};

class TinyBert {
 public:
  static constexpr int64_t kHidden = 32, kHeads = 4, kInter = 64, kLayers = 2, kPositions = 64, kTypes = 2;
  static constexpr int32_t kPad = 0, kUnk = 1, kCls = 2, kSep = 3, kMask = 4;

  static const std::vector<std::string>& vocab() {
    static const std::vector<std::string> v = {
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the",  "quick", "brown", "fox",   "jump",  "##s",
        "##ed",  "over",  "lazy",  "dog",   ".",      ",",    "!",     "hello", "world", "a",     "b",
        "c",     "##a",   "##b",   "##c",   "cafe",   "naive", "##ly", "σας",   "i"};
    return v;
  }

  explicit TinyBert(TinyBertOptions o, uint32_t seed = 7) : o_(std::move(o)) {
    std::mt19937 rng(seed);
    const int64_t H = kHidden, V = static_cast<int64_t>(vocab().size());
    const float s = 1.0f / std::sqrt(static_cast<float>(H));
    add(rng, "token_embd.weight", "embeddings.word_embeddings.weight", {V, H}, 0, 0.5f);
    add(rng, "position_embd.weight", "embeddings.position_embeddings.weight", {kPositions, H}, 0, 0.5f);
    add(rng, "token_types.weight", "embeddings.token_type_embeddings.weight", {kTypes, H}, 0, 0.5f);
    add(rng, "token_embd_norm.weight", "embeddings.LayerNorm.weight", {H}, 1, 0.1f);
    add(rng, "token_embd_norm.bias", "embeddings.LayerNorm.bias", {H}, 0, 0.1f);
    const std::pair<const char*, const char*> linears[] = {{"attn_q", "attention.self.query"},
                                                           {"attn_k", "attention.self.key"},
                                                           {"attn_v", "attention.self.value"},
                                                           {"attn_output", "attention.output.dense"}};
    for (int64_t l = 0; l < kLayers; ++l) {
      const std::string g = "blk." + std::to_string(l) + ".", h = "encoder.layer." + std::to_string(l) + ".";
      for (const auto& [gn, hn] : linears) {
        add(rng, g + gn + ".weight", h + hn + ".weight", {H, H}, 0, s);
        add(rng, g + gn + ".bias", h + hn + ".bias", {H}, 0, 0.1f);
      }
      add(rng, g + "attn_output_norm.weight", h + "attention.output.LayerNorm.weight", {H}, 1, 0.1f);
      add(rng, g + "attn_output_norm.bias", h + "attention.output.LayerNorm.bias", {H}, 0, 0.1f);
      add(rng, g + "ffn_up.weight", h + "intermediate.dense.weight", {kInter, H}, 0, s);
      add(rng, g + "ffn_up.bias", h + "intermediate.dense.bias", {kInter}, 0, 0.1f);
      add(rng, g + "ffn_down.weight", h + "output.dense.weight", {H, kInter}, 0, 1.0f / std::sqrt(float{kInter}));
      add(rng, g + "ffn_down.bias", h + "output.dense.bias", {H}, 0, 0.1f);
      add(rng, g + "layer_output_norm.weight", h + "output.LayerNorm.weight", {H}, 1, 0.1f);
      add(rng, g + "layer_output_norm.bias", h + "output.LayerNorm.bias", {H}, 0, 0.1f);
    }
  }

  // config.json, model.safetensors, tokenizer.json (+ sentence-transformers files when asked).
  bool write_folder(const std::string& dir) const {
    namespace fs = std::filesystem;
    SafetensorsWriter w;
    for (const auto& t : tensors_) w.add(t.hf, f16_in_file(t) ? "F16" : "F32", t.shape, bytes(t));
    nlohmann::json config = {
        {"architectures", {"BertModel"}}, {"model_type", "bert"},          {"hidden_size", kHidden},
        {"num_hidden_layers", kLayers},   {"num_attention_heads", kHeads}, {"intermediate_size", kInter},
        {"hidden_act", "gelu"},           {"vocab_size", vocab().size()},  {"max_position_embeddings", kPositions},
        {"type_vocab_size", kTypes},      {"layer_norm_eps", 1e-12},       {"pad_token_id", kPad}};
    bool ok = w.write(dir + "/model.safetensors") && write_file(dir + "/config.json", config.dump(1)) &&
              write_file(dir + "/tokenizer.json", tokenizer_json().dump());
    if (o_.sentence_transformers) {
      const nlohmann::json modules = {
          {{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
          {{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}}};
      fs::create_directories(dir + "/1_Pooling");
      ok = ok && write_file(dir + "/modules.json", modules.dump()) &&
           write_file(dir + "/1_Pooling/config.json",
                      nlohmann::json({{"word_embedding_dimension", kHidden}, {"pooling_mode_mean_tokens", true}}).dump()) &&
           write_file(dir + "/sentence_bert_config.json",
                      nlohmann::json({{"max_seq_length", 48}, {"do_lower_case", o_.do_lower_case}}).dump());
    }
    return ok;
  }

  bool write_gguf(const std::string& path) const {
    GgufWriter w;
    const std::string a = "bert.";
    w.kv_str("general.architecture", o_.architecture);
    w.kv_str("general.name", "tiny-bert");
    w.kv_u32(a + "context_length", kPositions);
    w.kv_u32(a + "embedding_length", kHidden);
    w.kv_u32(a + "feed_forward_length", kInter);
    w.kv_u32(a + "block_count", kLayers);
    w.kv_u32(a + "attention.head_count", kHeads);
    w.kv_f32(a + "attention.layer_norm_epsilon", 1e-12f);
    w.kv_bool(a + "attention.causal", false);
    if (o_.pooling_type >= 0) w.kv_u32(a + "pooling_type", static_cast<uint32_t>(o_.pooling_type));
    w.kv_str("tokenizer.ggml.model", "bert");
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    for (const std::string& t : vocab()) {
      const bool control = t.front() == '[';
      types.push_back(control ? 3 : 1);
      tokens.push_back(control ? t : t.rfind("##", 0) == 0 ? t.substr(2) : "\xE2\x96\x81" + t);
    }
    w.kv_strs("tokenizer.ggml.tokens", tokens);
    w.kv_i32s("tokenizer.ggml.token_type", types);
    w.kv_u32("tokenizer.ggml.token_type_count", kTypes);
    w.kv_u32("tokenizer.ggml.unknown_token_id", kUnk);
    w.kv_u32("tokenizer.ggml.cls_token_id", kCls);
    w.kv_u32("tokenizer.ggml.seperator_token_id", kSep);
    w.kv_u32("tokenizer.ggml.padding_token_id", kPad);
    w.kv_u32("tokenizer.ggml.mask_token_id", kMask);
    for (const auto& t : tensors_) {
      if (t.gguf == o_.drop_gguf_tensor) continue;
      std::vector<uint64_t> ne(t.shape.rbegin(), t.shape.rend());  // GGUF: innermost first
      w.tensor(t.gguf, ne, f16_in_file(t) ? 1u : 0u, bytes(t));
    }
    return w.write(path);
  }

  nlohmann::json tokenizer_json() const {
    nlohmann::json added = nlohmann::json::array(), vocab_map = nlohmann::json::object();
    for (size_t i = 0; i < vocab().size(); ++i) {
      vocab_map[vocab()[i]] = i;
      if (vocab()[i].front() == '[') {
        added.push_back({{"id", i}, {"content", vocab()[i]}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", true}});
      }
    }
    auto special = [](const char* name) { return nlohmann::json{{"SpecialToken", {{"id", name}, {"type_id", 0}}}}; };
    return {{"version", "1.0"},
            {"truncation", nullptr},
            {"padding", nullptr},
            {"added_tokens", added},
            {"normalizer",
             {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
              {"strip_accents", nullptr}, {"lowercase", o_.tokenizer_lowercase}}},
            {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
            {"post_processor",
             {{"type", "TemplateProcessing"},
              {"single", {special("[CLS]"), {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, special("[SEP]")}},
              {"pair", {special("[CLS]"), {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, special("[SEP]")}},
              {"special_tokens",
               {{"[CLS]", {{"id", "[CLS]"}, {"ids", {kCls}}, {"tokens", {"[CLS]"}}}},
                {"[SEP]", {{"id", "[SEP]"}, {"ids", {kSep}}, {"tokens", {"[SEP]"}}}}}}}},
            {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
            {"model",
             {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
              {"max_input_chars_per_word", 100}, {"vocab", vocab_map}}}};
  }

 private:
  struct Tensor {
    std::string gguf, hf;
    std::vector<int64_t> shape;
    std::vector<float> values;
  };

  void add(std::mt19937& rng, std::string gguf, std::string hf, std::vector<int64_t> shape, float mean, float sd) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::normal_distribution<float> dist(mean, sd);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = dist(rng);
    tensors_.push_back({std::move(gguf), std::move(hf), std::move(shape), std::move(v)});
  }

  // convert_hf_to_gguf --outtype f16: 2-D weights in F16, except position_embd / token_types.
  bool f16_in_file(const Tensor& t) const {
    return o_.f16 && t.shape.size() == 2 && t.gguf != "position_embd.weight" && t.gguf != "token_types.weight";
  }

  std::string bytes(const Tensor& t) const {
    if (!f16_in_file(t)) return raw_bytes(t.values);
    std::vector<uint16_t> h(t.values.size());
    for (size_t i = 0; i < h.size(); ++i) h[i] = core::f32_to_f16(t.values[i]);
    return raw_bytes(h);
  }

  TinyBertOptions o_;
  std::vector<Tensor> tensors_;
};

}  // namespace nlm::testing
