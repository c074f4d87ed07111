// MPNetModel (all-mpnet-base-v2): a post-LN encoder like BERT, plus a bucketed relative attention bias
// shared by every layer (encoder.relative_attention_bias, [num_buckets, heads]), no token types, and
// RoBERTa-style positions (from pad_token_id + 1).
#include "core/arena.h"
#include "models/layers_encoder.h"
#include "models/registry.h"

namespace nlm::models {
namespace {

struct MPNetConfig {
  int64_t vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size;
  int64_t max_position_embeddings, relative_attention_num_buckets;
  double layer_norm_eps;
  int32_t pad_token_id;
  std::string hidden_act;
};

core::Result<MPNetConfig> read_config(const formats::ModelConfig& c) {
  MPNetConfig m;
  NLM_ASSIGN_OR_RETURN(m.vocab_size, c.require_int("vocab_size"));
  NLM_ASSIGN_OR_RETURN(m.hidden_size, c.require_int("hidden_size"));
  NLM_ASSIGN_OR_RETURN(m.num_hidden_layers, c.require_int("num_hidden_layers"));
  NLM_ASSIGN_OR_RETURN(m.num_attention_heads, c.require_int("num_attention_heads"));
  NLM_ASSIGN_OR_RETURN(m.intermediate_size, c.require_int("intermediate_size"));
  NLM_ASSIGN_OR_RETURN(m.max_position_embeddings, c.get_int("max_position_embeddings", 514));
  NLM_ASSIGN_OR_RETURN(m.relative_attention_num_buckets, c.get_int("relative_attention_num_buckets", 32));
  NLM_ASSIGN_OR_RETURN(m.layer_norm_eps, c.get_float("layer_norm_eps", 1e-5));
  NLM_ASSIGN_OR_RETURN(int64_t pad, c.get_int("pad_token_id", 1));
  m.pad_token_id = static_cast<int32_t>(pad);
  NLM_ASSIGN_OR_RETURN(m.hidden_act, c.get_string("hidden_act", "gelu"));
  if (m.hidden_size <= 0 || m.num_attention_heads <= 0 || m.hidden_size % m.num_attention_heads != 0 ||
      m.num_hidden_layers <= 0 || m.intermediate_size <= 0 || m.vocab_size <= 0 ||
      m.relative_attention_num_buckets < 2 || m.pad_token_id < 0 || m.max_position_embeddings <= m.pad_token_id + 1) {
    return core::error(core::ErrorCode::kModelLoadFailed, "[mpnet] " + c.source() + ": inconsistent sizes");
  }
  return m;
}

class MPNet final : public EncoderModel {
 public:
  core::Status load(const EncoderSource& src) {
    NLM_ASSIGN_OR_RETURN(c_, read_config(src.config));
    d_ = EncoderDims{c_.hidden_size, c_.num_attention_heads, c_.hidden_size / c_.num_attention_heads,
                     c_.intermediate_size, static_cast<float>(c_.layer_norm_eps), EncoderActivation::kGelu};
    if (!parse_encoder_activation(c_.hidden_act, &d_.act)) {
      return core::error(core::ErrorCode::kUnsupported, "[mpnet] hidden_act '" + c_.hidden_act + "' is not supported");
    }
    Binder b(src.weights, {"", "mpnet.", "model."});
    const int64_t H = c_.hidden_size;
    Binder e = b.scope("embeddings");
    e.bind("word_embeddings.weight", {c_.vocab_size, H}, &word_);
    e.bind("position_embeddings.weight", {c_.max_position_embeddings, H}, &position_);
    bind_norm(e, "LayerNorm", H, &emb_norm_);
    core::TensorView rel;
    if (b.bind_f32("encoder.relative_attention_bias.weight", {c_.relative_attention_num_buckets, c_.num_attention_heads},
                   &rel)) {
      rel_.table = rel.as<float>();
    }
    rel_.num_buckets = c_.relative_attention_num_buckets;
    rel_.max_distance = 128;  // fixed in HF's MPNetEncoder
    bind_encoder_layers(b, {"attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o",
                            "attention.LayerNorm"},
                        c_.num_hidden_layers, H, c_.intermediate_size, &layers_);
    NLM_RETURN_IF_ERROR(b.status());
    storage_ = b.storage();
    weights_ = src.weights;
    fill_info();
    return core::Status::ok();
  }

  const EncoderInfo& info() const override { return info_; }

  void embed(std::span<const std::span<const int32_t>> seqs, float* out) const override {
    core::Arena arena(size_t{4} << 20);
    for_each_group(seqs, d_.hidden, out, [&](std::span<const std::span<const int32_t>> group, float* x) {
      PackedBatch batch = pack_batch(group);
      fill_positions(&batch, /*padding_positions=*/true, c_.pad_token_id);
      encoder_embeddings(word_, position_, nullptr, emb_norm_, d_.ln_eps, batch, d_.hidden, x);
      for (const EncoderLayer& l : layers_) {
        encoder_layer(d_, l, batch, &rel_, x, arena);
        arena.reset();
      }
    });
  }

 private:
  void fill_info() {
    info_.architecture = "mpnet";
    info_.model_type = "mpnet";
    info_.hidden_size = c_.hidden_size;
    info_.num_hidden_layers = c_.num_hidden_layers;
    info_.num_attention_heads = c_.num_attention_heads;
    info_.intermediate_size = c_.intermediate_size;
    info_.vocab_size = c_.vocab_size;
    info_.max_tokens = c_.max_position_embeddings - c_.pad_token_id - 1;
    info_.pad_token_id = c_.pad_token_id;
    info_.weight_dtype = std::string(core::dtype_info(layers_[0].up.w.dtype).name);
    int64_t bytes = word_.nbytes() + position_.nbytes();
    for (const auto& l : layers_) {
      for (const Linear* m : {&l.q, &l.k, &l.v, &l.o, &l.up, &l.down}) bytes += m->w.nbytes();
    }
    info_.weight_bytes = bytes;
  }

  MPNetConfig c_{};
  EncoderDims d_;
  EncoderInfo info_;
  core::TensorView word_, position_;
  Norm emb_norm_;
  RelativeBias rel_;
  std::vector<EncoderLayer> layers_;
  std::shared_ptr<const formats::TensorSource> weights_;
  std::shared_ptr<WeightStorage> storage_;
};

}  // namespace

core::Result<std::shared_ptr<EncoderModel>> load_mpnet(const EncoderSource& src) {
  auto m = std::make_shared<MPNet>();
  NLM_RETURN_IF_ERROR(m->load(src));
  return std::shared_ptr<EncoderModel>(std::move(m));
}

}  // namespace nlm::models
