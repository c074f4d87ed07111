#pragma once
// The decoder-only language model interface: one virtual call per batch (STYLE.md §2). A model is
// immutable after load and may serve several sequences at once; everything per sequence (the KV cache
// and the activation scratch) is passed in.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/arena.h"
#include "core/status.h"
#include "formats/tensor_source.h"

namespace nlm::models {

// What the runtime needs to know about a loaded decoder.
struct DecoderInfo {
  std::string architecture;            // HF model_type: "llama", "qwen2", "gemma2", ...
  int64_t vocab_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;  // the trained context: the cap on a sequence's KV cache
  int32_t bos_token_id = -1;            // -1: none
  std::vector<int32_t> eos_token_ids;   // config.json + generation_config.json (or GGUF metadata)
  int64_t weight_bytes = 0;             // bytes of the weights as used (mapped or converted)
  std::string weight_dtype;             // of the largest matrices: "f32", "f16", "bf16", ...
};

// One sequence's attention cache: per layer, K and V as [num_key_value_heads, capacity, head_dim] f32
// (each kv head's positions contiguous, so a decode step streams them). Owned by runtime::KvCache;
// positions [0, n_past) are filled.
struct KvState {
  int64_t capacity = 0;
  int64_t n_past = 0;
  std::vector<float*> k, v;  // one pointer per layer
};

// Per-sequence activations, grown by the model to the largest batch seen (so decode never allocates).
struct ForwardScratch {
  core::AlignedBuffer<float> f;
  std::vector<int32_t> positions;
};

class DecoderModel {
 public:
  virtual ~DecoderModel() = default;
  virtual const DecoderInfo& info() const = 0;

  // Runs `tokens` at positions kv.n_past, kv.n_past + 1, ... and appends their keys and values to `kv`
  // (kv.n_past advances by tokens.size()). Writes the logits of every position ([n_tokens, vocab]) when
  // `all_logits`, else of the last one ([vocab]). The caller checks capacity and token ids first.
  virtual core::Status forward(std::span<const int32_t> tokens, KvState& kv, ForwardScratch& scratch,
                               bool all_logits, float* logits) const = 0;
};

// What a family's loader reads: config.json (for GGUF files, the same keys rebuilt from the metadata),
// generation_config.json (may be empty) and the weights under their Hugging Face names.
struct DecoderSource {
  nlohmann::json config;
  nlohmann::json generation_config;
  std::shared_ptr<formats::TensorSource> weights;
  bool from_gguf = false;  // GGUF llama Q/K rows are permuted for interleaved RoPE
};

using DecoderLoadFn = core::Result<std::unique_ptr<DecoderModel>> (*)(const DecoderSource& src);

// The family loaders (one file each). The architecture table maps model_type names to them.
core::Result<std::unique_ptr<DecoderModel>> load_llama(const DecoderSource& src);    // llama, mistral
core::Result<std::unique_ptr<DecoderModel>> load_qwen2(const DecoderSource& src);
core::Result<std::unique_ptr<DecoderModel>> load_qwen3(const DecoderSource& src);
core::Result<std::unique_ptr<DecoderModel>> load_phi3(const DecoderSource& src);
core::Result<std::unique_ptr<DecoderModel>> load_gemma(const DecoderSource& src);    // gemma
core::Result<std::unique_ptr<DecoderModel>> load_gemma2(const DecoderSource& src);

// model_type (HF config.json, or GGUF general.architecture) -> loader; nullptr when unknown.
DecoderLoadFn find_decoder_loader(const std::string& model_type);

}  // namespace nlm::models
