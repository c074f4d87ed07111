// BERT-family encoders: BertModel (all-MiniLM-L6-v2, BGE, E5, GTE, ...) and, through the registry's
// aliases, XLMRobertaModel / RobertaModel, which differ only in config: position ids counted from
// pad_token_id + 1 over the non-pad tokens, and a 1-row token type table.
#include <algorithm>

#include "core/arena.h"
#include "kernels/kernels.h"
#include "models/layers_encoder.h"
#include "models/registry.h"

namespace nlm::models {
namespace {

struct BertConfig {
  int64_t vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size;
  int64_t max_position_embeddings, type_vocab_size;
  double layer_norm_eps;
  int32_t pad_token_id;
  std::string hidden_act, position_embedding_type, model_type;
  bool padding_positions;  // roberta-style: position = cumsum(id != pad) + pad (non-pad tokens)
};

core::Result<BertConfig> read_config(const formats::ModelConfig& c, bool padding_positions) {
  BertConfig b;
  NLM_ASSIGN_OR_RETURN(b.vocab_size, c.require_int("vocab_size"));
  NLM_ASSIGN_OR_RETURN(b.hidden_size, c.require_int("hidden_size"));
  NLM_ASSIGN_OR_RETURN(b.num_hidden_layers, c.require_int("num_hidden_layers"));
  NLM_ASSIGN_OR_RETURN(b.num_attention_heads, c.require_int("num_attention_heads"));
  NLM_ASSIGN_OR_RETURN(b.intermediate_size, c.require_int("intermediate_size"));
  NLM_ASSIGN_OR_RETURN(b.max_position_embeddings, c.get_int("max_position_embeddings", 512));
  NLM_ASSIGN_OR_RETURN(b.type_vocab_size, c.get_int("type_vocab_size", 2));
  NLM_ASSIGN_OR_RETURN(b.layer_norm_eps, c.get_float("layer_norm_eps", 1e-12));
  NLM_ASSIGN_OR_RETURN(int64_t pad, c.get_int("pad_token_id", 0));
  b.pad_token_id = static_cast<int32_t>(pad);
  NLM_ASSIGN_OR_RETURN(b.hidden_act, c.get_string("hidden_act", "gelu"));
  NLM_ASSIGN_OR_RETURN(b.position_embedding_type, c.get_string("position_embedding_type", "absolute"));
  b.model_type = c.model_type();
  b.padding_positions = padding_positions;
  const auto bad = [&](const std::string& what) {
    return core::error(core::ErrorCode::kModelLoadFailed, "[bert] " + c.source() + ": " + what);
  };
  if (b.hidden_size <= 0 || b.num_attention_heads <= 0 || b.hidden_size % b.num_attention_heads != 0) {
    return bad("hidden_size must be a positive multiple of num_attention_heads");
  }
  if (b.num_hidden_layers <= 0 || b.intermediate_size <= 0 || b.vocab_size <= 0 || b.type_vocab_size <= 0) {
    return bad("layer count, intermediate_size, vocab_size and type_vocab_size must be positive");
  }
  if (b.position_embedding_type != "absolute") {
    return core::error(core::ErrorCode::kUnsupported,
                       "[bert] position_embedding_type '" + b.position_embedding_type + "' is not supported");
  }
  if (b.padding_positions && (b.pad_token_id < 0 || b.max_position_embeddings <= b.pad_token_id + 1)) {
    return bad("max_position_embeddings must exceed pad_token_id + 1");
  }
  return b;
}

class Bert final : public EncoderModel {
 public:
  core::Status load(const EncoderSource& src) {
    NLM_ASSIGN_OR_RETURN(c_, read_config(src.config, src.padding_positions));
    d_.hidden = c_.hidden_size;
    d_.heads = c_.num_attention_heads;
    d_.head_dim = c_.hidden_size / c_.num_attention_heads;
    d_.intermediate = c_.intermediate_size;
    d_.ln_eps = static_cast<float>(c_.layer_norm_eps);
    if (!parse_encoder_activation(c_.hidden_act, &d_.act)) {
      return core::error(core::ErrorCode::kUnsupported, "[bert] hidden_act '" + c_.hidden_act + "' is not supported");
    }
    Binder b(src.weights, {"", "bert.", "roberta.", "model.", "xlm_roberta."});
    const int64_t H = c_.hidden_size;
    Binder e = b.scope("embeddings");
    e.bind("word_embeddings.weight", {c_.vocab_size, H}, &word_);
    e.bind("position_embeddings.weight", {c_.max_position_embeddings, H}, &position_);
    e.bind_f32("token_type_embeddings.weight", {c_.type_vocab_size, H}, &token_type_);
    bind_norm(e, "LayerNorm", H, &emb_norm_);
    bind_encoder_layers(b, {"attention.self.query", "attention.self.key", "attention.self.value",
                            "attention.output.dense", "attention.output.LayerNorm"},
                        c_.num_hidden_layers, H, c_.intermediate_size, &layers_);
    NLM_RETURN_IF_ERROR(b.status());
    storage_ = b.storage();
    weights_ = src.weights;
    fill_info(src);
    return core::Status::ok();
  }

  const EncoderInfo& info() const override { return info_; }

  void embed(std::span<const std::span<const int32_t>> seqs, float* out) const override {
    core::Arena arena(size_t{4} << 20);
    for_each_group(seqs, d_.hidden, out, [&](std::span<const std::span<const int32_t>> group, float* x) {
      PackedBatch batch = pack_batch(group);
      fill_positions(&batch, c_.padding_positions, c_.pad_token_id);
      encoder_embeddings(word_, position_, token_type_.as<float>(), emb_norm_, d_.ln_eps, batch, d_.hidden, x);
      for (const EncoderLayer& l : layers_) {
        encoder_layer(d_, l, batch, nullptr, x, arena);
        arena.reset();
      }
    });
  }

 private:
  void fill_info(const EncoderSource& src) {
    info_.architecture = "bert";
    info_.model_type = c_.model_type;
    info_.hidden_size = c_.hidden_size;
    info_.num_hidden_layers = c_.num_hidden_layers;
    info_.num_attention_heads = c_.num_attention_heads;
    info_.intermediate_size = c_.intermediate_size;
    info_.vocab_size = c_.vocab_size;
    info_.max_tokens = c_.padding_positions ? c_.max_position_embeddings - c_.pad_token_id - 1
                                            : c_.max_position_embeddings;
    info_.pad_token_id = c_.pad_token_id;
    info_.weight_dtype = std::string(core::dtype_info(layers_[0].up.w.dtype).name);
    int64_t bytes = word_.nbytes() + position_.nbytes();
    for (const auto& l : layers_) {
      for (const Linear* m : {&l.q, &l.k, &l.v, &l.o, &l.up, &l.down}) bytes += m->w.nbytes();
    }
    info_.weight_bytes = bytes;
    (void)src;
  }

  BertConfig c_{};
  EncoderDims d_;
  EncoderInfo info_;
  core::TensorView word_, position_, token_type_;
  Norm emb_norm_;
  std::vector<EncoderLayer> layers_;
  std::shared_ptr<const formats::TensorSource> weights_;  // keeps the mapped files alive
  std::shared_ptr<WeightStorage> storage_;
};

}  // namespace

core::Result<std::shared_ptr<EncoderModel>> load_bert(const EncoderSource& src) {
  auto m = std::make_shared<Bert>();
  NLM_RETURN_IF_ERROR(m->load(src));
  return std::shared_ptr<EncoderModel>(std::move(m));
}

}  // namespace nlm::models
