#pragma once
// Blocks shared by the decoder families: the config every family fills from config.json, the layer
// weights under their HF module names, the RoPE frequency variants, and the decoder forward pass
// (embeddings → blocks → final norm → lm_head). Variants are config fields, never architecture names.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "kernels/kernels.h"
#include "models/binder.h"
#include "models/decoder_model.h"

namespace nlm::models {

enum class Activation { kSilu, kGeluTanh, kGelu };
enum class RopeType { kDefault, kLinear, kDynamic, kLlama3, kYarn, kLongrope };

struct RopeConfig {
  RopeType rope_type = RopeType::kDefault;
  float rope_theta = 10000.f;
  int64_t rot_dim = 0;                                    // rotated dims per head (partial_rotary_factor)
  kernels::RopeLayout layout = kernels::RopeLayout::kNeox;
  float factor = 1.f;
  float low_freq_factor = 1.f, high_freq_factor = 4.f;    // llama3
  float beta_fast = 32.f, beta_slow = 1.f;                // yarn
  float attention_factor = 0.f;                           // yarn / longrope (0: derived)
  int64_t original_max_position_embeddings = 0;
  int64_t max_position_embeddings = 0;
  std::vector<float> short_factor, long_factor;           // longrope
};

struct DecoderConfig {
  std::string model_type;
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0;
  int64_t num_hidden_layers = 0, num_attention_heads = 0, num_key_value_heads = 0, head_dim = 0;
  int64_t max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f;
  RopeConfig rope;
  Activation hidden_act = Activation::kSilu;
  bool tie_word_embeddings = false;
  bool attention_bias = false;   // q/k/v biases (Qwen2; Llama's attention_bias also adds o_proj's)
  bool o_proj_bias = false;
  bool mlp_bias = false;
  bool qk_norm = false;          // RMSNorm over head_dim on q and k before RoPE (Qwen3)
  bool norm_add_one = false;     // RMSNorm as x·(1+w) (Gemma)
  bool sandwich_norms = false;   // post-attention and pre/post-feed-forward norms (Gemma 2)
  float embed_scale = 1.f;       // embeddings × this (Gemma: sqrt(hidden_size))
  int64_t sliding_window = 0;    // 0: none
  int sliding_window_period = 1; // layer il slides when il % period == 0 (Gemma 2: 2)
  float attn_logit_softcapping = 0.f, final_logit_softcapping = 0.f;
  float query_pre_attn_scalar = 0.f;  // scores × 1/sqrt(this) (0: head_dim)
  int32_t bos_token_id = -1;
  std::vector<int32_t> eos_token_ids;
};

// Reads the keys every family shares (HF names) with their HF defaults; families then set their own.
// `base` carries the family's defaults for keys a config may omit (tie_word_embeddings, hidden_act...).
core::Result<DecoderConfig> parse_decoder_config(const DecoderSource& src, DecoderConfig base);

struct DecoderLayer {
  std::string prefix;                             // "model.layers.3."
  const float* input_layernorm = nullptr;         // [hidden]
  core::TensorView q_proj, k_proj, v_proj, o_proj;  // [H·D, hidden] ... [hidden, H·D]
  const float *q_bias = nullptr, *k_bias = nullptr, *v_bias = nullptr, *o_bias = nullptr;
  const float *q_norm = nullptr, *k_norm = nullptr;  // [head_dim]
  const float* post_attention_layernorm = nullptr;
  const float *pre_feedforward_layernorm = nullptr, *post_feedforward_layernorm = nullptr;
  core::TensorView gate_proj, up_proj, down_proj;  // [I, hidden], [I, hidden], [hidden, I]
  const float *gate_bias = nullptr, *up_bias = nullptr, *down_bias = nullptr;
};

struct DecoderWeights {
  core::TensorView embed_tokens;  // [vocab, hidden]
  std::vector<DecoderLayer> layers;
  const float* norm = nullptr;    // [hidden]
  core::TensorView lm_head;       // [vocab, hidden] (the embedding when tied)
  std::shared_ptr<const formats::TensorSource> source;  // keeps the mapped files alive
  std::shared_ptr<WeightStorage> storage;              // f32 copies of f16/bf16 vectors
  int64_t bytes = 0;
  core::Status error;  // a weight of an unsupported dtype (the binder records the rest)
};

// Binds a 2-D weight (any weight dtype) / a 1-D f32 vector (converted from f16/bf16) through `b`,
// counting bytes. False on failure (recorded in the binder's status).
bool bind_matrix(Binder& b, std::string_view name, int64_t rows, int64_t cols, core::TensorView* out, DecoderWeights& w);
bool bind_vector(Binder& b, std::string_view name, int64_t n, const float** out, DecoderWeights& w);

// Binds the Llama-layout names (model.embed_tokens, model.layers.N.{self_attn,mlp}.*, model.norm,
// lm_head) for every layer, honouring the config's bias / norm fields. Families with fused projections
// (Phi-3) bind their own and pass bind_projections = false. Returns the binder's status.
core::Status bind_standard(const DecoderConfig& c, Binder& b, DecoderWeights& w, bool bind_projections);

// Row slice [row0, row0 + rows) of a 2-D weight (fused qkv_proj / gate_up_proj).
core::TensorView slice_rows(const core::TensorView& t, int64_t row0, int64_t rows);

// RoPE inverse frequencies (rot_dim/2 floats) and the cos/sin multiplier for a sequence whose KV cache
// holds `n_ctx` positions (dynamic and longrope scaling depend on it; the others do not).
void rope_inv_freq(const RopeConfig& rc, int64_t n_ctx, float* inv_freq, float* attention_factor);

// The standard decoder: config + weights + the forward pass every family shares.
class StandardDecoder : public DecoderModel {
 public:
  StandardDecoder(DecoderConfig config, DecoderWeights weights);
  const DecoderInfo& info() const override { return info_; }
  core::Status forward(std::span<const int32_t> tokens, KvState& kv, ForwardScratch& scratch, bool all_logits,
                       float* logits) const override;
  const DecoderConfig& config() const { return c_; }

 private:
  void block(int il, int64_t n, KvState& kv, float* x, float* buf, const float* cos, const float* sin) const;

  DecoderConfig c_;
  DecoderWeights w_;
  DecoderInfo info_;
};

}  // namespace nlm::models
