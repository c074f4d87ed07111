// Qwen2 (q/k/v biases, no o_proj bias) and Qwen3 (RMSNorm on q and k per head before RoPE, explicit
// head_dim, no biases). Both: GQA, SwiGLU, usually tied embeddings; sliding_window only when
// use_sliding_window is true.
#include "models/layers_decoder.h"

namespace nlm::models {
namespace {

core::Result<std::unique_ptr<DecoderModel>> load_qwen(const DecoderSource& src, bool qwen3) {
  DecoderConfig base;
  base.model_type = qwen3 ? "qwen3" : "qwen2";
  base.tie_word_embeddings = false;  // Qwen2Config / Qwen3Config default
  NLM_ASSIGN_OR_RETURN(DecoderConfig c, parse_decoder_config(src, base));
  auto it = src.config.find("use_sliding_window");
  const bool sliding = it != src.config.end() && it->is_boolean() && it->get<bool>();
  if (!sliding) c.sliding_window = 0;
  if (qwen3) {
    c.qk_norm = true;
  } else {
    c.attention_bias = true;
  }
  c.o_proj_bias = false;
  DecoderWeights w;
  w.source = src.weights;
  Binder b(src.weights);
  NLM_RETURN_IF_ERROR(bind_standard(c, b, w, /*bind_projections=*/true));
  return std::unique_ptr<DecoderModel>(new StandardDecoder(std::move(c), std::move(w)));
}

}  // namespace

core::Result<std::unique_ptr<DecoderModel>> load_qwen2(const DecoderSource& src) { return load_qwen(src, false); }
core::Result<std::unique_ptr<DecoderModel>> load_qwen3(const DecoderSource& src) { return load_qwen(src, true); }

}  // namespace nlm::models
