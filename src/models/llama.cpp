// Llama family: Llama 1/2/3 (rope_scaling llama3, linear, dynamic, yarn), Mistral (sliding_window),
// SmolLM, TinyLlama. Pre-norm RMSNorm blocks, GQA, SwiGLU MLP; untied or tied lm_head.
#include "models/layers_decoder.h"

namespace nlm::models {

core::Result<std::unique_ptr<DecoderModel>> load_llama(const DecoderSource& src) {
  DecoderConfig base;
  base.model_type = "llama";
  base.tie_word_embeddings = false;  // LlamaConfig / MistralConfig default
  NLM_ASSIGN_OR_RETURN(DecoderConfig c, parse_decoder_config(src, base));
  c.o_proj_bias = c.attention_bias;  // Llama's attention_bias also puts a bias on o_proj
  if (src.from_gguf) c.rope.layout = kernels::RopeLayout::kInterleaved;  // GGUF permuted Q/K rows
  DecoderWeights w;
  w.source = src.weights;
  Binder b(src.weights);
  NLM_RETURN_IF_ERROR(bind_standard(c, b, w, /*bind_projections=*/true));
  return std::unique_ptr<DecoderModel>(new StandardDecoder(std::move(c), std::move(w)));
}

}  // namespace nlm::models
