#pragma once
// The one table translating GGUF tensor names (llama.cpp's convert_hf_to_gguf naming) to Hugging Face
// names, per architecture family, and a TensorSource that serves a GGUF file under its HF names.
//
//   blk.N.attn_q.weight   -> model.layers.N.self_attn.q_proj.weight          (decoders)
//   token_embd.weight     -> model.embed_tokens.weight,  output_norm -> model.norm, output -> lm_head
//   blk.N.attn_norm       -> model.layers.N.input_layernorm, ffn_norm -> post_attention_layernorm
//   blk.N.attn_q.weight   -> encoder.layer.N.attention.self.query.weight     (bert)
//
// ROTARY LAYOUT — read before using q/k weights from a GGUF file:
// llama.cpp's converter permutes the rows of q_proj and k_proj of `llama`-architecture models (and those
// exported as llama: Mistral, Llama-3, llama2.c's stories) so that each head's rotary pairs are ADJACENT
// (x[2i], x[2i+1]: GPT-J / "interleaved" rope, ggml's LLAMA_ROPE_TYPE_NORM). Hugging Face keeps the
// Meta-to-HF permutation, i.e. pairs (x[i], x[i + head_dim/2]) ("rotate_half", NEOX style).
// A decoder that shares code with the HF path must therefore do ONE of:
//   (a) apply interleaved rope to q/k built from GGUF weights (gguf_rope_is_interleaved(arch) == true), or
//   (b) un-permute the q/k rows at load with unpermute_rope_rows() and apply HF's rotate_half rope.
// GgufHfView does neither on its own: its views are the file's bytes. Architectures converted without the
// permutation (qwen2, qwen3, phi3, gemma, gemma2, bert) are NEOX-style in GGUF too.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "formats/gguf.h"

namespace nlm::formats {

// "blk.3.attn_q.weight" + arch "llama" -> "model.layers.3.self_attn.q_proj.weight"; nullopt when the
// name is not in the table. `arch` is general.architecture.
std::optional<std::string> gguf_to_hf_name(std::string_view arch, std::string_view gguf_name);

// An HF-style config.json for a GGUF encoder ("bert": llama.cpp's BertModel / XLMRobertaModel conversion),
// translated from <arch>.* metadata in one table:
//   embedding_length -> hidden_size, block_count -> num_hidden_layers, feed_forward_length ->
//   intermediate_size, attention.head_count -> num_attention_heads, context_length ->
//   max_position_embeddings, attention.layer_norm_epsilon -> layer_norm_eps;
// vocab_size from token_embd.weight's rows, type_vocab_size from tokenizer.ggml.token_type_count (else
// token_types.weight's rows), pad_token_id from tokenizer.ggml.padding_token_id, hidden_act "gelu" (HF's
// BERT activation; GGUF does not record it). model_type is general.architecture, so an architecture the
// encoder registry does not know stays unknown.
nlohmann::json gguf_encoder_config(const GgufFile& file);

// True when llama.cpp stores this architecture's q/k rows permuted for interleaved rope (see above).
bool gguf_rope_is_interleaved(std::string_view arch);

// Copies the rows of a GGUF q or k weight ([n_heads * head_dim, in], any dtype, rows whole) into `dst`
// (same shape and dtype, caller-owned) in Hugging Face order: per head, HF row j*(head_dim/2) + i comes
// from GGUF row 2*i + j. Works for bias vectors too (a 1-D tensor: one element per row).
void unpermute_rope_rows(const core::TensorView& src, int64_t n_heads, core::TensorView dst);

// A GGUF file seen through Hugging Face names (tensors without a table entry keep their GGUF name).
class GgufHfView : public TensorSource {
 public:
  explicit GgufHfView(std::shared_ptr<GgufFile> file);
  core::Result<core::TensorView> tensor(std::string_view name) const override;
  bool has(std::string_view name) const override;
  std::vector<std::string> names() const override;
  std::string describe() const override { return file_->describe(); }
  const GgufFile& file() const { return *file_; }

 private:
  std::shared_ptr<GgufFile> file_;
  std::map<std::string, std::string, std::less<>> hf_to_gguf_;
};

}  // namespace nlm::formats
