#include "models/layers_decoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

namespace nlm::models {
namespace {
using core::ErrorCode;
using core::TensorView;
using nlohmann::json;

template <typename T>
T get_or(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if constexpr (std::is_same_v<T, bool>) {
    return it->is_boolean() ? it->get<bool>() : fallback;
  } else if constexpr (std::is_arithmetic_v<T>) {
    return it->is_number() ? it->get<T>() : fallback;
  } else {
    return it->is_string() ? it->get<T>() : fallback;
  }
}

void add_ids(const json& j, const char* key, std::vector<int32_t>* out) {
  auto it = j.find(key);
  if (it == j.end()) return;
  auto add = [&](const json& v) {
    if (!v.is_number_integer()) return;
    const auto id = v.get<int32_t>();
    if (id >= 0 && std::find(out->begin(), out->end(), id) == out->end()) out->push_back(id);
  };
  if (it->is_array()) {
    for (const auto& v : *it) add(v);
  } else {
    add(*it);
  }
}

core::Result<Activation> parse_activation(const std::string& name) {
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "gelu_pytorch_tanh" || name == "gelu_new" || name == "gelu_fast") return Activation::kGeluTanh;
  if (name == "gelu") return Activation::kGelu;
  return core::error(ErrorCode::kModelLoadFailed, "[models] unsupported hidden_act '" + name + "'");
}

core::Status parse_rope(const json& cfg, RopeConfig* rc) {
  auto it = cfg.find("rope_scaling");
  if (it == cfg.end() || it->is_null()) return core::Status::ok();
  if (!it->is_object()) return core::error(ErrorCode::kModelLoadFailed, "[models] rope_scaling must be an object");
  const json& rs = *it;
  const std::string type = get_or<std::string>(rs, "rope_type", get_or<std::string>(rs, "type", "default"));
  if (type == "default") rc->rope_type = RopeType::kDefault;
  else if (type == "linear") rc->rope_type = RopeType::kLinear;
  else if (type == "dynamic") rc->rope_type = RopeType::kDynamic;
  else if (type == "llama3") rc->rope_type = RopeType::kLlama3;
  else if (type == "yarn") rc->rope_type = RopeType::kYarn;
  else if (type == "longrope" || type == "su") rc->rope_type = RopeType::kLongrope;
  else return core::error(ErrorCode::kModelLoadFailed, "[models] unsupported rope_scaling type '" + type + "'");
  rc->factor = get_or<float>(rs, "factor", 1.f);
  rc->low_freq_factor = get_or<float>(rs, "low_freq_factor", 1.f);
  rc->high_freq_factor = get_or<float>(rs, "high_freq_factor", 4.f);
  rc->beta_fast = get_or<float>(rs, "beta_fast", 32.f);
  rc->beta_slow = get_or<float>(rs, "beta_slow", 1.f);
  rc->attention_factor = get_or<float>(rs, "attention_factor", 0.f);
  rc->original_max_position_embeddings =
      get_or<int64_t>(rs, "original_max_position_embeddings", rc->original_max_position_embeddings);
  for (auto [key, vec] : {std::pair{"short_factor", &rc->short_factor}, std::pair{"long_factor", &rc->long_factor}}) {
    auto f = rs.find(key);
    if (f == rs.end() || !f->is_array()) continue;
    for (const auto& v : *f) vec->push_back(v.is_number() ? v.get<float>() : 1.f);
  }
  if (rc->rope_type == RopeType::kLongrope &&
      (rc->short_factor.size() != static_cast<size_t>(rc->rot_dim / 2) ||
       rc->long_factor.size() != static_cast<size_t>(rc->rot_dim / 2))) {
    return core::error(ErrorCode::kModelLoadFailed, "[models] longrope short_factor/long_factor must have rot_dim/2 entries");
  }
  return core::Status::ok();
}

}  // namespace

core::Result<DecoderConfig> parse_decoder_config(const DecoderSource& src, DecoderConfig c) {
  const json& j = src.config;
  if (!j.is_object()) return core::error(ErrorCode::kModelLoadFailed, "[models] config is not a JSON object");
  c.model_type = get_or<std::string>(j, "model_type", c.model_type);
  c.vocab_size = get_or<int64_t>(j, "vocab_size", 0);
  c.hidden_size = get_or<int64_t>(j, "hidden_size", 0);
  c.intermediate_size = get_or<int64_t>(j, "intermediate_size", 0);
  c.num_hidden_layers = get_or<int64_t>(j, "num_hidden_layers", 0);
  c.num_attention_heads = get_or<int64_t>(j, "num_attention_heads", 0);
  c.num_key_value_heads = get_or<int64_t>(j, "num_key_value_heads", c.num_attention_heads);
  if (c.num_attention_heads <= 0 || c.hidden_size <= 0 || c.vocab_size <= 0 || c.num_hidden_layers <= 0 ||
      c.intermediate_size <= 0 || c.num_key_value_heads <= 0 || c.num_attention_heads % c.num_key_value_heads) {
    return core::error(ErrorCode::kModelLoadFailed,
                       "[models] config.json: missing or inconsistent sizes (hidden_size, num_attention_heads, "
                       "num_key_value_heads, num_hidden_layers, intermediate_size, vocab_size)");
  }
  c.head_dim = get_or<int64_t>(j, "head_dim", c.hidden_size / c.num_attention_heads);
  c.max_position_embeddings = get_or<int64_t>(j, "max_position_embeddings", 2048);
  c.rms_norm_eps = get_or<float>(j, "rms_norm_eps", c.rms_norm_eps);
  c.tie_word_embeddings = get_or<bool>(j, "tie_word_embeddings", c.tie_word_embeddings);
  c.attention_bias = get_or<bool>(j, "attention_bias", c.attention_bias);
  c.mlp_bias = get_or<bool>(j, "mlp_bias", c.mlp_bias);
  if (auto act = get_or<std::string>(j, "hidden_act", ""); !act.empty()) {
    NLM_ASSIGN_OR_RETURN(c.hidden_act, parse_activation(act));
  }
  c.sliding_window = get_or<int64_t>(j, "sliding_window", 0);
  c.attn_logit_softcapping = get_or<float>(j, "attn_logit_softcapping", 0.f);
  c.final_logit_softcapping = get_or<float>(j, "final_logit_softcapping", 0.f);
  c.query_pre_attn_scalar = get_or<float>(j, "query_pre_attn_scalar", 0.f);
  RopeConfig& rc = c.rope;
  rc.rope_theta = get_or<float>(j, "rope_theta", 10000.f);
  rc.rot_dim = static_cast<int64_t>(static_cast<double>(c.head_dim) * get_or<double>(j, "partial_rotary_factor", 1.0));
  rc.rot_dim -= rc.rot_dim % 2;
  rc.max_position_embeddings = c.max_position_embeddings;
  rc.original_max_position_embeddings = get_or<int64_t>(j, "original_max_position_embeddings", c.max_position_embeddings);
  NLM_RETURN_IF_ERROR(parse_rope(j, &rc));
  c.bos_token_id = get_or<int32_t>(j, "bos_token_id", -1);
  c.bos_token_id = get_or<int32_t>(src.generation_config, "bos_token_id", c.bos_token_id);
  add_ids(j, "eos_token_id", &c.eos_token_ids);
  if (src.generation_config.is_object()) add_ids(src.generation_config, "eos_token_id", &c.eos_token_ids);
  if (c.head_dim <= 0 || c.rope.rot_dim <= 0 || c.rope.rot_dim > c.head_dim) {
    return core::error(ErrorCode::kModelLoadFailed, "[models] config.json: bad head_dim / partial_rotary_factor");
  }
  return c;
}

// ---------------------------------------------------------------------------------------------------
// Weights.

bool bind_matrix(Binder& b, std::string_view name, int64_t rows, int64_t cols, TensorView* out, DecoderWeights& w) {
  if (!b.bind(name, {rows, cols}, out)) return false;
  if (!kernels::is_weight_dtype(out->dtype) || cols % core::dtype_info(out->dtype).block_elems != 0) {
    if (w.error.is_ok()) {
      w.error = core::error(ErrorCode::kModelLoadFailed, "[models] " + b.full_name(name) + ": dtype " +
                                                             std::string(core::dtype_info(out->dtype).name) +
                                                             " is not supported for weights");
    }
    return false;
  }
  w.bytes += out->nbytes();
  return true;
}

bool bind_vector(Binder& b, std::string_view name, int64_t n, const float** out, DecoderWeights& w) {
  TensorView t;
  if (!b.bind_f32(name, {n}, &t)) return false;
  *out = t.as<const float>();
  w.bytes += n * 4;
  return true;
}

TensorView slice_rows(const TensorView& t, int64_t row0, int64_t rows) {
  TensorView s = t;
  s.data = static_cast<char*>(t.data) + row0 * t.row_bytes;
  s.shape[0] = rows;
  return s;
}

core::Status bind_standard(const DecoderConfig& c, Binder& b, DecoderWeights& w, bool bind_projections) {
  const int64_t d = c.hidden_size, qd = c.num_attention_heads * c.head_dim, kvd = c.num_key_value_heads * c.head_dim;
  const int64_t inter = c.intermediate_size;
  w.storage = b.storage();
  bind_matrix(b, "model.embed_tokens.weight", c.vocab_size, d, &w.embed_tokens, w);
  bind_vector(b, "model.norm.weight", d, &w.norm, w);
  if (c.tie_word_embeddings && !b.has("lm_head.weight")) {
    w.lm_head = w.embed_tokens;
  } else {
    bind_matrix(b, "lm_head.weight", c.vocab_size, d, &w.lm_head, w);
  }
  w.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int64_t il = 0; il < c.num_hidden_layers; ++il) {
    DecoderLayer& l = w.layers[static_cast<size_t>(il)];
    Binder lb = b.scope("model.layers", il);
    l.prefix = lb.full_name("");
    bind_vector(lb, "input_layernorm.weight", d, &l.input_layernorm, w);
    bind_vector(lb, "post_attention_layernorm.weight", d, &l.post_attention_layernorm, w);
    if (c.sandwich_norms) {
      bind_vector(lb, "pre_feedforward_layernorm.weight", d, &l.pre_feedforward_layernorm, w);
      bind_vector(lb, "post_feedforward_layernorm.weight", d, &l.post_feedforward_layernorm, w);
    }
    if (c.qk_norm) {
      bind_vector(lb, "self_attn.q_norm.weight", c.head_dim, &l.q_norm, w);
      bind_vector(lb, "self_attn.k_norm.weight", c.head_dim, &l.k_norm, w);
    }
    if (c.attention_bias) {
      bind_vector(lb, "self_attn.q_proj.bias", qd, &l.q_bias, w);
      bind_vector(lb, "self_attn.k_proj.bias", kvd, &l.k_bias, w);
      bind_vector(lb, "self_attn.v_proj.bias", kvd, &l.v_bias, w);
    }
    if (c.o_proj_bias) bind_vector(lb, "self_attn.o_proj.bias", d, &l.o_bias, w);
    if (c.mlp_bias) {
      bind_vector(lb, "mlp.gate_proj.bias", inter, &l.gate_bias, w);
      bind_vector(lb, "mlp.up_proj.bias", inter, &l.up_bias, w);
      bind_vector(lb, "mlp.down_proj.bias", d, &l.down_bias, w);
    }
    bind_matrix(lb, "self_attn.o_proj.weight", d, qd, &l.o_proj, w);
    bind_matrix(lb, "mlp.down_proj.weight", d, inter, &l.down_proj, w);
    if (!bind_projections) continue;
    bind_matrix(lb, "self_attn.q_proj.weight", qd, d, &l.q_proj, w);
    bind_matrix(lb, "self_attn.k_proj.weight", kvd, d, &l.k_proj, w);
    bind_matrix(lb, "self_attn.v_proj.weight", kvd, d, &l.v_proj, w);
    bind_matrix(lb, "mlp.gate_proj.weight", inter, d, &l.gate_proj, w);
    bind_matrix(lb, "mlp.up_proj.weight", inter, d, &l.up_proj, w);
  }
  return b.status().is_ok() ? w.error : b.status();
}

// ---------------------------------------------------------------------------------------------------
// RoPE frequencies (the HF rope_init_functions, in double, rounded once to f32).

void rope_inv_freq(const RopeConfig& rc, int64_t n_ctx, float* inv_freq, float* attention_factor) {
  const int64_t half = rc.rot_dim / 2;
  const double dim = static_cast<double>(rc.rot_dim);
  double base = rc.rope_theta;
  double attn = 1.0;
  const double orig = static_cast<double>(rc.original_max_position_embeddings > 0 ? rc.original_max_position_embeddings
                                                                                   : rc.max_position_embeddings);
  if (rc.rope_type == RopeType::kDynamic && n_ctx > rc.max_position_embeddings) {
    const double f = rc.factor, mp = static_cast<double>(rc.max_position_embeddings);
    base *= std::pow(f * static_cast<double>(n_ctx) / mp - (f - 1.0), dim / (dim - 2.0));
  }
  for (int64_t i = 0; i < half; ++i) {
    const double pos_freq = std::pow(base, static_cast<double>(2 * i) / dim);
    double f = 1.0 / pos_freq;
    switch (rc.rope_type) {
      case RopeType::kDefault:
      case RopeType::kDynamic: break;
      case RopeType::kLinear: f /= rc.factor; break;
      case RopeType::kLlama3: {
        const double low_wavelen = orig / rc.low_freq_factor, high_wavelen = orig / rc.high_freq_factor;
        const double wavelen = 2.0 * std::numbers::pi / f;
        if (wavelen > low_wavelen) {
          f /= rc.factor;
        } else if (wavelen >= high_wavelen) {
          const double smooth = (orig / wavelen - rc.low_freq_factor) / (rc.high_freq_factor - rc.low_freq_factor);
          f = (1.0 - smooth) * f / rc.factor + smooth * f;
        }
        break;
      }
      case RopeType::kYarn: {
        auto corr = [&](double rotations) {
          return dim * std::log(orig / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
        };
        const double low = std::max(0.0, std::floor(corr(rc.beta_fast)));
        double high = std::min(dim - 1.0, std::ceil(corr(rc.beta_slow)));
        if (low == high) high += 0.001;
        const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
        const double extrapolation = 1.0 - ramp;
        f = (f / rc.factor) * (1.0 - extrapolation) + f * extrapolation;
        break;
      }
      case RopeType::kLongrope: {
        const bool is_long = n_ctx > rc.original_max_position_embeddings;
        f /= (is_long ? rc.long_factor : rc.short_factor)[static_cast<size_t>(i)];
        break;
      }
    }
    inv_freq[i] = static_cast<float>(f);
  }
  if (rc.rope_type == RopeType::kYarn) {
    attn = rc.attention_factor > 0 ? rc.attention_factor : (rc.factor <= 1 ? 1.0 : 0.1 * std::log(rc.factor) + 1.0);
  } else if (rc.rope_type == RopeType::kLongrope) {
    const double scale = static_cast<double>(rc.max_position_embeddings) / orig;
    attn = rc.attention_factor > 0 ? rc.attention_factor
                                   : (scale <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(scale) / std::log(orig)));
  }
  *attention_factor = static_cast<float>(attn);
}

}  // namespace nlm::models

// ---------------------------------------------------------------------------------------------------
// The forward pass.

namespace nlm::models {
namespace {

void softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

}  // namespace

StandardDecoder::StandardDecoder(DecoderConfig config, DecoderWeights weights)
    : c_(std::move(config)), w_(std::move(weights)) {
  info_.architecture = c_.model_type;
  info_.vocab_size = c_.vocab_size;
  info_.num_hidden_layers = c_.num_hidden_layers;
  info_.num_key_value_heads = c_.num_key_value_heads;
  info_.head_dim = c_.head_dim;
  info_.max_position_embeddings = c_.max_position_embeddings;
  info_.bos_token_id = c_.bos_token_id;
  info_.eos_token_ids = c_.eos_token_ids;
  info_.weight_bytes = w_.bytes;
  info_.weight_dtype = std::string(core::dtype_info(w_.layers.empty() ? w_.lm_head.dtype : w_.layers[0].down_proj.dtype).name);
}

// One decoder block. x: [n, hidden], updated in place. buf: scratch for h, q, o, gate, up, k, v.
void StandardDecoder::block(int il, int64_t n, KvState& kv, float* x, float* buf, const float* cos,
                            const float* sin) const {
  const DecoderConfig& c = c_;
  const DecoderLayer& l = w_.layers[static_cast<size_t>(il)];
  const int64_t d = c.hidden_size, hd = c.head_dim, nh = c.num_attention_heads, nkv = c.num_key_value_heads;
  float* h = buf;               // [n, hidden]
  float* q = h + n * d;         // [n, nh·hd]
  float* o = q + n * nh * hd;   // [n, nh·hd]
  float* gate = o + n * nh * hd;  // [n, inter]
  float* up = gate + n * c.intermediate_size;
  float* k = up + n * c.intermediate_size;  // [n, nkv·hd]: this batch's keys and values, then into the cache
  float* v = k + n * nkv * hd;

  kernels::rms_norm(x, n, d, l.input_layernorm, c.rms_norm_eps, h, c.norm_add_one);  // h = norm(x)
  kernels::matmul(h, n, l.q_proj, l.q_bias, q);                                     // q = h·Wqᵀ
  kernels::matmul(h, n, l.k_proj, l.k_bias, k);                                     // k, v → cache
  kernels::matmul(h, n, l.v_proj, l.v_bias, v);
  if (c.qk_norm) {
    kernels::rms_norm(q, n * nh, hd, l.q_norm, c.rms_norm_eps, q, c.norm_add_one);
    kernels::rms_norm(k, n * nkv, hd, l.k_norm, c.rms_norm_eps, k, c.norm_add_one);
  }
  kernels::rope(q, n, nh, hd, c.rope.rot_dim, cos, sin, c.rope.layout);
  kernels::rope(k, n, nkv, hd, c.rope.rot_dim, cos, sin, c.rope.layout);
  float* k_cache = kv.k[static_cast<size_t>(il)];
  float* v_cache = kv.v[static_cast<size_t>(il)];
  for (int64_t t = 0; t < n; ++t) {  // the cache is [nkv, capacity, hd]: each kv head's positions contiguous
    for (int64_t j = 0; j < nkv; ++j) {
      const int64_t at = (j * kv.capacity + kv.n_past + t) * hd;
      std::copy_n(k + (t * nkv + j) * hd, hd, k_cache + at);
      std::copy_n(v + (t * nkv + j) * hd, hd, v_cache + at);
    }
  }

  kernels::AttentionParams ap;
  ap.n_q = n;
  ap.n_kv = kv.n_past + n;
  ap.n_heads = static_cast<int>(nh);
  ap.n_kv_heads = static_cast<int>(nkv);
  ap.head_dim = static_cast<int>(hd);
  ap.scale = c.query_pre_attn_scalar > 0 ? 1.0f / std::sqrt(c.query_pre_attn_scalar) : 0.f;
  ap.causal = true;
  ap.q_pos0 = kv.n_past;
  ap.window = (c.sliding_window > 0 && il % c.sliding_window_period == 0) ? c.sliding_window : 0;
  ap.softcap = c.attn_logit_softcapping;
  ap.ld_kv = hd;
  ap.kv_head_stride = kv.capacity * hd;
  kernels::attention(q, k_cache, v_cache, o, ap);
  kernels::matmul(o, n, l.o_proj, l.o_bias, h);                                     // h = o·Woᵀ
  if (c.sandwich_norms) kernels::rms_norm(h, n, d, l.post_attention_layernorm, c.rms_norm_eps, h, c.norm_add_one);
  kernels::add(x, h, n * d, x);                                                     // x += attn

  const float* ffn_norm = c.sandwich_norms ? l.pre_feedforward_layernorm : l.post_attention_layernorm;
  kernels::rms_norm(x, n, d, ffn_norm, c.rms_norm_eps, h, c.norm_add_one);
  const int64_t ni = n * c.intermediate_size;
  kernels::matmul(h, n, l.gate_proj, l.gate_bias, gate);
  kernels::matmul(h, n, l.up_proj, l.up_bias, up);
  if (c.hidden_act == Activation::kSilu) kernels::swiglu(gate, up, ni, gate);       // gate = act(gate)·up
  else kernels::geglu(gate, up, ni, gate, c.hidden_act == Activation::kGeluTanh);
  kernels::matmul(gate, n, l.down_proj, l.down_bias, h);                            // h = down(gate)
  if (c.sandwich_norms) kernels::rms_norm(h, n, d, l.post_feedforward_layernorm, c.rms_norm_eps, h, c.norm_add_one);
  kernels::add(x, h, n * d, x);                                                     // x += mlp
}

core::Status StandardDecoder::forward(std::span<const int32_t> tokens, KvState& kv, ForwardScratch& s,
                                      bool all_logits, float* logits) const {
  const DecoderConfig& c = c_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return core::error(ErrorCode::kInvalidRequest, "[models] forward of no tokens");
  if (kv.n_past + n > kv.capacity || kv.k.size() != static_cast<size_t>(c.num_hidden_layers)) {
    return core::error(ErrorCode::kInputTooLong, "[models] " + std::to_string(kv.n_past + n) +
                                                     " positions exceed the KV cache of " + std::to_string(kv.capacity));
  }
  for (int32_t t : tokens) {
    if (t < 0 || t >= c.vocab_size) {
      return core::error(ErrorCode::kInvalidRequest, "[models] token id " + std::to_string(t) +
                                                         " outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
    }
  }
  const int64_t d = c.hidden_size, qd = c.num_attention_heads * c.head_dim, half = c.rope.rot_dim / 2;
  const int64_t kvd = c.num_key_value_heads * c.head_dim;
  const size_t need =
      static_cast<size_t>(n * (2 * d + 2 * qd + 2 * c.intermediate_size + 2 * kvd + 2 * half) + half);
  if (s.f.size() < need) s.f = core::AlignedBuffer<float>(need);
  float* x = s.f.data();
  float* cos = x + n * d;
  float* sin = cos + n * half;
  float* inv_freq = sin + n * half;
  float* buf = inv_freq + half;
  s.positions.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) s.positions[static_cast<size_t>(i)] = static_cast<int32_t>(kv.n_past + i);
  float attn_factor = 1.f;
  rope_inv_freq(c.rope, kv.capacity, inv_freq, &attn_factor);
  kernels::rope_cos_sin(inv_freq, c.rope.rot_dim, s.positions.data(), n, attn_factor, cos, sin);

  kernels::embed_rows(w_.embed_tokens, tokens.data(), n, x);  // x = embed(tokens) [n, hidden]
  if (c.embed_scale != 1.f) kernels::scale(x, n * d, c.embed_scale, x);
  for (int il = 0; il < static_cast<int>(c.num_hidden_layers); ++il) block(il, n, kv, x, buf, cos, sin);
  kv.n_past += n;

  const int64_t n_out = all_logits ? n : 1;
  const float* rows = all_logits ? x : x + (n - 1) * d;
  kernels::rms_norm(rows, n_out, d, w_.norm, c.rms_norm_eps, buf, c.norm_add_one);
  kernels::matmul(buf, n_out, w_.lm_head, nullptr, logits);  // [n_out, vocab]
  if (c.final_logit_softcapping > 0) softcap(logits, n_out * c.vocab_size, c.final_logit_softcapping);
  return core::Status::ok();
}

}  // namespace nlm::models

namespace nlm::models {

DecoderLoadFn find_decoder_loader(const std::string& model_type) {
  static const std::pair<const char*, DecoderLoadFn> kTable[] = {
      {"llama", load_llama}, {"mistral", load_llama}, {"qwen2", load_qwen2}, {"qwen3", load_qwen3},
      {"phi3", load_phi3},   {"gemma", load_gemma},   {"gemma2", load_gemma2},
  };
  for (const auto& [name, fn] : kTable) {
    if (model_type == name) return fn;
  }
  return nullptr;
}

}  // namespace nlm::models
