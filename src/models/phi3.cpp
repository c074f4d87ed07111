// Phi-3: Llama-like blocks with a fused qkv_proj (rows: q, then k, then v) and a fused gate_up_proj
// (rows: gate, then up), bound as row slices of the fused matrices; longrope / su scaling through
// original_max_position_embeddings; sliding_window when set.
#include "models/layers_decoder.h"

namespace nlm::models {

core::Result<std::unique_ptr<DecoderModel>> load_phi3(const DecoderSource& src) {
  DecoderConfig base;
  base.model_type = "phi3";
  base.tie_word_embeddings = false;
  NLM_ASSIGN_OR_RETURN(DecoderConfig c, parse_decoder_config(src, base));
  DecoderWeights w;
  w.source = src.weights;
  Binder b(src.weights);
  NLM_RETURN_IF_ERROR(bind_standard(c, b, w, /*bind_projections=*/false));
  const int64_t d = c.hidden_size, qd = c.num_attention_heads * c.head_dim, kvd = c.num_key_value_heads * c.head_dim;
  const int64_t inter = c.intermediate_size;
  for (DecoderLayer& l : w.layers) {
    core::TensorView qkv, gate_up;
    Binder lb = b.scope(l.prefix.substr(0, l.prefix.size() - 1));  // "model.layers.N"
    if (!bind_matrix(lb, "self_attn.qkv_proj.weight", qd + 2 * kvd, d, &qkv, w) ||
        !bind_matrix(lb, "mlp.gate_up_proj.weight", 2 * inter, d, &gate_up, w)) {
      return b.status().is_ok() ? w.error : b.status();
    }
    l.q_proj = slice_rows(qkv, 0, qd);         // [q | k | v] rows
    l.k_proj = slice_rows(qkv, qd, kvd);
    l.v_proj = slice_rows(qkv, qd + kvd, kvd);
    l.gate_proj = slice_rows(gate_up, 0, inter);  // [gate | up] rows
    l.up_proj = slice_rows(gate_up, inter, inter);
  }
  return std::unique_ptr<DecoderModel>(new StandardDecoder(std::move(c), std::move(w)));
}

}  // namespace nlm::models
