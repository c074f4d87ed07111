// Gemma and Gemma 2: RMSNorm as x·(1+w), embeddings × sqrt(hidden_size), GELU-tanh gated MLP, tied
// lm_head. Gemma 2 adds post-attention and pre/post-feed-forward norms, attention and final-logit
// softcaps, query_pre_attn_scalar and a sliding window on even layers.
#include <cmath>

#include "models/layers_decoder.h"

namespace nlm::models {
namespace {

// A key the config may omit (HF default) or set to null (feature off).
float key_or(const nlohmann::json& j, const char* key, float absent) {
  auto it = j.find(key);
  if (it == j.end()) return absent;
  return it->is_number() ? it->get<float>() : 0.f;
}

core::Result<DecoderConfig> gemma_config(const DecoderSource& src, const char* model_type) {
  DecoderConfig base;
  base.model_type = model_type;
  base.tie_word_embeddings = true;
  base.norm_add_one = true;
  base.hidden_act = Activation::kGeluTanh;
  NLM_ASSIGN_OR_RETURN(DecoderConfig c, parse_decoder_config(src, base));
  // HF Gemma uses hidden_activation when set; an old "hidden_act": "gelu" still means the tanh form.
  auto act = src.config.find("hidden_activation");
  const std::string name = act != src.config.end() && act->is_string() ? act->get<std::string>() : "gelu_pytorch_tanh";
  c.hidden_act = name == "gelu" || name == "gelu_pytorch_tanh" || name == "gelu_new" ? Activation::kGeluTanh
                                                                                      : c.hidden_act;
  c.embed_scale = std::sqrt(static_cast<float>(c.hidden_size));
  if (src.from_gguf) c.norm_add_one = false;  // llama.cpp's converter stores the norms as 1 + w
  c.o_proj_bias = c.attention_bias;
  return c;
}

core::Result<std::unique_ptr<DecoderModel>> finish(DecoderConfig c, const DecoderSource& src) {
  DecoderWeights w;
  w.source = src.weights;
  Binder b(src.weights);
  NLM_RETURN_IF_ERROR(bind_standard(c, b, w, /*bind_projections=*/true));
  return std::unique_ptr<DecoderModel>(new StandardDecoder(std::move(c), std::move(w)));
}

}  // namespace

core::Result<std::unique_ptr<DecoderModel>> load_gemma(const DecoderSource& src) {
  NLM_ASSIGN_OR_RETURN(DecoderConfig c, gemma_config(src, "gemma"));
  c.sliding_window = 0;
  return finish(std::move(c), src);
}

core::Result<std::unique_ptr<DecoderModel>> load_gemma2(const DecoderSource& src) {
  NLM_ASSIGN_OR_RETURN(DecoderConfig c, gemma_config(src, "gemma2"));
  c.sandwich_norms = true;
  c.sliding_window_period = 2;  // layers 0, 2, 4, ... slide
  c.sliding_window = static_cast<int64_t>(key_or(src.config, "sliding_window", 4096.f));
  c.attn_logit_softcapping = key_or(src.config, "attn_logit_softcapping", 50.f);
  c.final_logit_softcapping = key_or(src.config, "final_logit_softcapping", 30.f);
  c.query_pre_attn_scalar = key_or(src.config, "query_pre_attn_scalar", 256.f);
  return finish(std::move(c), src);
}

}  // namespace nlm::models
