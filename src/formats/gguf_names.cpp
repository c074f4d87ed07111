#include "formats/gguf_names.h"

#include <charconv>
#include <cstring>
#include <utility>

#include "core/status.h"

namespace nlm::formats {
namespace {

// Row: family ("decoder" for every llama-like architecture), whether the stem lives in a block
// ("blk.N." -> the family's block prefix), the GGUF stem and the HF stem (".weight"/".bias" kept as is).
struct NameRow {
  std::string_view family;
  bool in_block;
  std::string_view gguf;
  std::string_view hf;
};

constexpr NameRow kNames[] = {
    // Decoders (llama, mistral, qwen2, qwen3, gemma, phi3, ...). Block prefix: model.layers.N.
    {"decoder", false, "token_embd", "model.embed_tokens"},
    {"decoder", false, "output_norm", "model.norm"},
    {"decoder", false, "output", "lm_head"},
    {"decoder", true, "attn_q", "self_attn.q_proj"},
    {"decoder", true, "attn_k", "self_attn.k_proj"},
    {"decoder", true, "attn_v", "self_attn.v_proj"},
    {"decoder", true, "attn_output", "self_attn.o_proj"},
    {"decoder", true, "attn_qkv", "self_attn.qkv_proj"},
    {"decoder", true, "attn_q_norm", "self_attn.q_norm"},
    {"decoder", true, "attn_k_norm", "self_attn.k_norm"},
    {"decoder", true, "ffn_gate", "mlp.gate_proj"},
    {"decoder", true, "ffn_up", "mlp.up_proj"},
    {"decoder", true, "ffn_down", "mlp.down_proj"},
    {"decoder", true, "attn_norm", "input_layernorm"},
    {"decoder", true, "ffn_norm", "post_attention_layernorm"},
    // Gemma 2/3: four norms per block (these rows win over the decoder ones).
    {"gemma2", true, "post_attention_norm", "post_attention_layernorm"},
    {"gemma2", true, "ffn_norm", "pre_feedforward_layernorm"},
    {"gemma2", true, "post_ffw_norm", "post_feedforward_layernorm"},
    // Phi-3: fused gate+up stored as ffn_up.
    {"phi3", true, "ffn_up", "mlp.gate_up_proj"},
    // BERT encoders. Block prefix: encoder.layer.N.
    {"bert", false, "token_embd", "embeddings.word_embeddings"},
    {"bert", false, "position_embd", "embeddings.position_embeddings"},
    {"bert", false, "token_types", "embeddings.token_type_embeddings"},
    {"bert", false, "token_embd_norm", "embeddings.LayerNorm"},
    {"bert", true, "attn_q", "attention.self.query"},
    {"bert", true, "attn_k", "attention.self.key"},
    {"bert", true, "attn_v", "attention.self.value"},
    {"bert", true, "attn_output", "attention.output.dense"},
    {"bert", true, "attn_output_norm", "attention.output.LayerNorm"},
    {"bert", true, "ffn_up", "intermediate.dense"},
    {"bert", true, "ffn_down", "output.dense"},
    {"bert", true, "layer_output_norm", "output.LayerNorm"},
};

std::string_view family_of(std::string_view arch) {
  if (arch == "bert") return "bert";
  if (arch == "gemma2" || arch == "gemma3") return "gemma2";
  if (arch == "phi3") return "phi3";
  return "decoder";
}

std::string_view block_prefix(std::string_view family) {
  return family == "bert" ? "encoder.layer." : "model.layers.";
}

const NameRow* lookup(std::string_view family, bool in_block, std::string_view stem) {
  for (const auto& r : kNames) {
    if (r.family == family && r.in_block == in_block && r.gguf == stem) return &r;
  }
  if (family == "bert") return nullptr;
  for (const auto& r : kNames) {
    if (r.family == "decoder" && r.in_block == in_block && r.gguf == stem) return &r;
  }
  return nullptr;
}

}  // namespace

std::optional<std::string> gguf_to_hf_name(std::string_view arch, std::string_view name) {
  std::string_view suffix;
  for (std::string_view s : {std::string_view(".weight"), std::string_view(".bias")}) {
    if (name.size() > s.size() && name.substr(name.size() - s.size()) == s) suffix = s;
  }
  if (suffix.empty()) return std::nullopt;
  std::string_view stem = name.substr(0, name.size() - suffix.size());
  const std::string_view family = family_of(arch);
  if (stem.substr(0, 4) != "blk.") {
    const NameRow* r = lookup(family, false, stem);
    if (!r) return std::nullopt;
    return std::string(r->hf) + std::string(suffix);
  }
  stem.remove_prefix(4);
  const size_t dot = stem.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  int layer = -1;
  auto [ptr, ec] = std::from_chars(stem.data(), stem.data() + dot, layer);
  if (ec != std::errc() || ptr != stem.data() + dot || layer < 0) return std::nullopt;
  const NameRow* r = lookup(family, true, stem.substr(dot + 1));
  if (!r) return std::nullopt;
  return std::string(block_prefix(family)) + std::to_string(layer) + "." + std::string(r->hf) + std::string(suffix);
}

nlohmann::json gguf_encoder_config(const GgufFile& f) {
  static constexpr std::pair<const char*, const char*> kIntKeys[] = {
      {"hidden_size", "embedding_length"},          {"num_hidden_layers", "block_count"},
      {"intermediate_size", "feed_forward_length"}, {"num_attention_heads", "attention.head_count"},
      {"max_position_embeddings", "context_length"},
  };
  const std::string arch = f.architecture();
  nlohmann::json c = nlohmann::json::object();
  c["model_type"] = arch;
  c["hidden_act"] = "gelu";
  for (const auto& [hf, key] : kIntKeys) {
    if (auto v = f.get_int(arch + "." + key)) c[hf] = *v;
  }
  if (auto v = f.get_float(arch + ".attention.layer_norm_epsilon")) c["layer_norm_eps"] = *v;
  // GGUF shapes are innermost first: ne[1] counts the rows.
  auto rows = [&](const char* tensor) -> std::optional<int64_t> {
    const GgufTensorInfo* t = f.find_tensor(tensor);
    if (t == nullptr || t->ne.size() != 2) return std::nullopt;
    return static_cast<int64_t>(t->ne[1]);
  };
  if (auto n = rows("token_embd.weight")) c["vocab_size"] = *n;
  if (!c.contains("max_position_embeddings")) {
    if (auto n = rows("position_embd.weight")) c["max_position_embeddings"] = *n;
  }
  if (auto v = f.get_int("tokenizer.ggml.token_type_count")) {
    c["type_vocab_size"] = *v;
  } else if (auto n = rows("token_types.weight")) {
    c["type_vocab_size"] = *n;
  }
  if (auto v = f.get_int("tokenizer.ggml.padding_token_id")) c["pad_token_id"] = *v;
  return c;
}

bool gguf_rope_is_interleaved(std::string_view arch) {
  return arch == "llama" || arch == "mistral" || arch == "baichuan" || arch == "granite" || arch == "deci";
}

void unpermute_rope_rows(const core::TensorView& src, int64_t n_heads, core::TensorView dst) {
  const bool vector = src.ndim == 1;
  const int64_t n_rows = vector ? src.shape[0] : src.rows();
  NLM_CHECK(n_heads > 0 && n_rows % n_heads == 0 && (n_rows / n_heads) % 2 == 0);
  NLM_CHECK(dst.dtype == src.dtype && dst.numel() == src.numel());
  const int64_t head_dim = n_rows / n_heads, half = head_dim / 2;
  const int64_t row_bytes = vector ? core::dtype_row_bytes(src.dtype, 1) : src.row_bytes;
  const auto* s = static_cast<const char*>(src.data);
  auto* d = static_cast<char*>(dst.data);
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t i = 0; i < half; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t from = h * head_dim + 2 * i + j, to = h * head_dim + j * half + i;
        std::memcpy(d + to * row_bytes, s + from * row_bytes, static_cast<size_t>(row_bytes));
      }
    }
  }
}

GgufHfView::GgufHfView(std::shared_ptr<GgufFile> file) : file_(std::move(file)) {
  const std::string arch = file_->architecture();
  for (const auto& t : file_->tensor_infos()) {
    auto hf = gguf_to_hf_name(arch, t.name);
    hf_to_gguf_[hf ? *hf : t.name] = t.name;
  }
}

core::Result<core::TensorView> GgufHfView::tensor(std::string_view name) const {
  auto it = hf_to_gguf_.find(name);
  if (it == hf_to_gguf_.end()) {
    return core::error(core::ErrorCode::kModelLoadFailed,
                       "[gguf] " + file_->path() + ": no tensor for '" + std::string(name) + "'");
  }
  return file_->tensor(it->second);
}

bool GgufHfView::has(std::string_view name) const { return hf_to_gguf_.count(name) != 0; }

std::vector<std::string> GgufHfView::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : hf_to_gguf_) out.push_back(k);
  return out;
}

}  // namespace nlm::formats
