#include "models/layers_encoder.h"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace nlm::models {

bool parse_encoder_activation(const std::string& name, EncoderActivation* out) {
  if (name == "gelu") {
    *out = EncoderActivation::kGelu;
  } else if (name == "gelu_new" || name == "gelu_pytorch_tanh") {
    *out = EncoderActivation::kGeluTanh;
  } else if (name == "relu") {
    *out = EncoderActivation::kRelu;
  } else {
    return false;
  }
  return true;
}

void bind_linear(Binder& b, std::string_view name, int64_t out, int64_t in, Linear* l) {
  const std::string n(name);
  b.bind(n + ".weight", {out, in}, &l->w);
  core::TensorView bias;
  if (b.bind_f32(n + ".bias", {out}, &bias)) l->b = bias.as<float>();
}

void bind_norm(Binder& b, std::string_view name, int64_t dim, Norm* n) {
  const std::string s(name);
  core::TensorView w, bias;
  if (b.bind_f32(s + ".weight", {dim}, &w)) n->w = w.as<float>();
  if (b.bind_f32(s + ".bias", {dim}, &bias)) n->b = bias.as<float>();
}

namespace {
// l->qkv = [q; k; v] decoded to f32, with their biases (absent ones as zeros), owned by `storage`.
void fuse_qkv(int64_t hidden, EncoderLayer* l, WeightStorage* storage) {
  std::vector<float>& w = storage->buffers.emplace_back(static_cast<size_t>(3 * hidden * hidden));
  std::vector<float>& bias = storage->buffers.emplace_back(static_cast<size_t>(3 * hidden), 0.f);
  const Linear* parts[] = {&l->q, &l->k, &l->v};
  for (int i = 0; i < 3; ++i) {
    const core::TensorView& src = parts[i]->w;
    for (int64_t r = 0; r < hidden; ++r) {
      kernels::dequantize_row(src.row<const char>(r), src.dtype, hidden, w.data() + (i * hidden + r) * hidden);
    }
    if (parts[i]->b) std::copy(parts[i]->b, parts[i]->b + hidden, bias.begin() + i * hidden);
  }
  l->qkv.w = core::TensorView(w.data(), core::DType::kF32, {3 * hidden, hidden});
  l->qkv.b = bias.data();
}
}  // namespace

void bind_encoder_layers(Binder& b, const EncoderAttentionNames& names, int64_t n_layers, int64_t hidden,
                         int64_t intermediate, std::vector<EncoderLayer>* layers) {
  layers->resize(static_cast<size_t>(n_layers));
  for (int64_t il = 0; il < n_layers; ++il) {
    Binder l = b.scope("encoder.layer", il);
    EncoderLayer& w = (*layers)[static_cast<size_t>(il)];
    bind_linear(l, names.q, hidden, hidden, &w.q);
    bind_linear(l, names.k, hidden, hidden, &w.k);
    bind_linear(l, names.v, hidden, hidden, &w.v);
    bind_linear(l, names.o, hidden, hidden, &w.o);
    bind_norm(l, names.norm, hidden, &w.attn_norm);
    bind_linear(l, "intermediate.dense", intermediate, hidden, &w.up);
    bind_linear(l, "output.dense", hidden, intermediate, &w.down);
    bind_norm(l, "output.LayerNorm", hidden, &w.out_norm);
  }
  if (!b.status().is_ok()) return;
  // A batch of tokens makes every encoder matmul a GEMM: fuse q/k/v, decode and pack the weights once,
  // here, unless that would cost more than kMaxPackedBytes (4 bytes per weight, plus the fused q/k/v in
  // f32 for the one-token path); otherwise the GEMM decodes and packs per call.
  constexpr double kMaxPackedBytes = 1.5e9;
  if (4.0 * static_cast<double>(n_layers) * static_cast<double>(7 * hidden * hidden + 2 * hidden * intermediate) >
      kMaxPackedBytes) {
    return;
  }
  WeightStorage& storage = *b.storage();
  for (EncoderLayer& w : *layers) {
    fuse_qkv(hidden, &w, &storage);
    for (Linear* lin : {&w.qkv, &w.o, &w.up, &w.down}) {
      storage.gemm_panels.push_back(kernels::pack_gemm_panels(lin->w));
      lin->w.gemm_panels = storage.gemm_panels.back().data();
    }
  }
}

int64_t relative_position_bucket(int64_t relative_position, const RelativeBias& rb) {
  int64_t ret = 0;
  int64_t n = -relative_position;
  int64_t num_buckets = rb.num_buckets;
  if (rb.bidirectional) {
    num_buckets /= 2;
    if (n < 0) ret += num_buckets;
    n = std::abs(n);
  } else {
    n = std::max<int64_t>(n, 0);
  }
  const int64_t max_exact = num_buckets / 2;
  if (n < max_exact) return ret + n;
  // float32 arithmetic, as torch computes it, so the truncation lands on the same bucket.
  const float ratio = static_cast<float>(n) / static_cast<float>(max_exact);
  const float scale = static_cast<float>(std::log(static_cast<double>(rb.max_distance) / static_cast<double>(max_exact)));
  const float v = std::log(ratio) / scale * static_cast<float>(num_buckets - max_exact);
  const int64_t large = std::min<int64_t>(max_exact + static_cast<int64_t>(v), num_buckets - 1);
  return ret + large;
}

int64_t PackedBatch::max_len() const {
  int64_t m = 0;
  for (size_t i = 0; i + 1 < offsets.size(); ++i) m = std::max(m, offsets[i + 1] - offsets[i]);
  return m;
}

PackedBatch pack_batch(std::span<const std::span<const int32_t>> seqs) {
  PackedBatch b;
  b.offsets.push_back(0);
  for (const auto& s : seqs) {
    b.ids.insert(b.ids.end(), s.begin(), s.end());
    b.offsets.push_back(static_cast<int64_t>(b.ids.size()));
  }
  b.positions.assign(b.ids.size(), 0);
  return b;
}

void for_each_group(std::span<const std::span<const int32_t>> seqs, int64_t hidden, float* out,
                    const std::function<void(std::span<const std::span<const int32_t>>, float*)>& fn) {
  size_t first = 0;
  int64_t row = 0;
  while (first < seqs.size()) {
    size_t end = first;
    int64_t tokens = 0;
    while (end < seqs.size() && (end == first || tokens + static_cast<int64_t>(seqs[end].size()) <= kEncoderGroupTokens)) {
      tokens += static_cast<int64_t>(seqs[end++].size());
    }
    fn(seqs.subspan(first, end - first), out + row * hidden);
    row += tokens;
    first = end;
  }
}

void fill_positions(PackedBatch* b, bool padding_positions, int32_t pad) {
  for (int64_t s = 0; s < b->n_seqs(); ++s) {
    int32_t count = 0;
    for (int64_t t = b->offsets[s]; t < b->offsets[s + 1]; ++t) {
      if (!padding_positions) {
        b->positions[t] = static_cast<int32_t>(t - b->offsets[s]);
      } else if (b->ids[t] == pad) {
        b->positions[t] = pad;
      } else {
        b->positions[t] = ++count + pad;
      }
    }
  }
}

void encoder_embeddings(const core::TensorView& word, const core::TensorView& position, const float* token_type,
                        const Norm& norm, float eps, const PackedBatch& batch, int64_t hidden, float* x) {
  const int64_t n = batch.n_tokens();
  std::vector<float> pos(static_cast<size_t>(n * hidden));
  kernels::embed_rows(word, batch.ids.data(), n, x);                  // x = word[ids]      [n, hidden]
  kernels::embed_rows(position, batch.positions.data(), n, pos.data());
  kernels::add(x, pos.data(), n * hidden, x);                         // x += position[pos]
  if (token_type) kernels::add_bias(x, n, hidden, token_type);        // x += token_type[0]
  kernels::layer_norm(x, n, hidden, norm.w, norm.b, eps, x);
}

namespace {
void activate(EncoderActivation act, float* x, int64_t n) {
  switch (act) {
    case EncoderActivation::kGelu: kernels::gelu(x, n, x); break;
    case EncoderActivation::kGeluTanh: kernels::gelu_tanh(x, n, x); break;
    case EncoderActivation::kRelu:  // no kernel for it yet (kernels.h); plain C++
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.f ? x[i] : 0.f;
      break;
  }
}

// bias[h, i, j] = table[bucket(j - i), h] for a sequence of length len.
void fill_relative_bias(const RelativeBias& rb, int64_t heads, int64_t len, float* bias) {
  std::vector<int64_t> bucket_of(static_cast<size_t>(2 * len - 1));
  for (int64_t r = -(len - 1); r <= len - 1; ++r) bucket_of[static_cast<size_t>(r + len - 1)] = relative_position_bucket(r, rb);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < len; ++i) {
      float* row = bias + (h * len + i) * len;
      for (int64_t j = 0; j < len; ++j) row[j] = rb.table[bucket_of[static_cast<size_t>(j - i + len - 1)] * heads + h];
    }
  }
}

// ctx = softmax(q kᵀ / sqrt(d) (+ bias)) v, sequence by sequence. With at least as many sequences as
// threads, one task per sequence (each attention call then runs on its worker); otherwise the sequences
// go one after the other and each attention call uses the whole pool.
void packed_attention(const EncoderDims& d, const PackedBatch& batch, const RelativeBias* rel, const float* q,
                      const float* k, const float* v, int64_t ld, float* ctx, core::Arena& arena) {
  const int64_t n_seqs = batch.n_seqs();
  const bool across = n_seqs >= core::n_threads() && n_seqs > 1;
  const int64_t n_slots = across ? core::n_threads() : 1;
  const int64_t L = batch.max_len();
  float* bias = rel ? arena.alloc<float>(static_cast<size_t>(n_slots * d.heads * L * L)) : nullptr;
  auto one = [&](int64_t s, int worker) {
    const int64_t off = batch.offsets[s], len = batch.offsets[s + 1] - off;
    kernels::AttentionParams p;
    p.n_q = len;
    p.n_kv = len;
    p.n_heads = static_cast<int>(d.heads);
    p.n_kv_heads = static_cast<int>(d.heads);
    p.head_dim = static_cast<int>(d.head_dim);
    if (rel) {
      float* b = bias + static_cast<int64_t>(worker) * d.heads * L * L;
      fill_relative_bias(*rel, d.heads, len, b);
      p.bias = b;
    }
    p.ld_q = p.ld_kv = ld;  // q, k, v rows are `ld` floats apart (3·hidden when fused)
    const int64_t in = off * ld;
    kernels::attention(q + in, k + in, v + in, ctx + off * d.hidden, p);
  };
  if (across) {
    core::parallel_for(n_seqs, [&](int64_t s, int worker) { one(s, worker); });
  } else {
    for (int64_t s = 0; s < n_seqs; ++s) one(s, 0);
  }
}
}  // namespace

void encoder_layer(const EncoderDims& d, const EncoderLayer& l, const PackedBatch& batch, const RelativeBias* rel,
                   float* x, core::Arena& arena) {
  const int64_t n = batch.n_tokens(), H = d.hidden;
  float* qkv = arena.alloc<float>(static_cast<size_t>(n * 3 * H));
  float* ctx = arena.alloc<float>(static_cast<size_t>(n * H));
  float* ff = arena.alloc<float>(static_cast<size_t>(n * d.intermediate));
  float* q = qkv;  // reused below for [n, H] results
  if (l.qkv.w.data) {
    kernels::matmul(x, n, l.qkv.w, l.qkv.b, qkv);          // [q k v] = x [Wq Wk Wv]ᵀ + b   [n, 3H]
    packed_attention(d, batch, rel, qkv, qkv + H, qkv + 2 * H, 3 * H, ctx, arena);
  } else {
    float *k = qkv + n * H, *v = qkv + 2 * n * H;
    kernels::matmul(x, n, l.q.w, l.q.b, q);                // q = x Wqᵀ + bq        [n, H]
    kernels::matmul(x, n, l.k.w, l.k.b, k);
    kernels::matmul(x, n, l.v.w, l.v.b, v);
    packed_attention(d, batch, rel, q, k, v, H, ctx, arena);  // ctx                [n, heads, head_dim]
  }
  kernels::matmul(ctx, n, l.o.w, l.o.b, q);                // q = ctx Woᵀ + bo
  kernels::add(x, q, n * H, x);                            // x = LN(x + attn)
  kernels::layer_norm(x, n, H, l.attn_norm.w, l.attn_norm.b, d.ln_eps, x);
  kernels::matmul(x, n, l.up.w, l.up.b, ff);               // ff = act(x Wupᵀ + b)  [n, intermediate]
  activate(d.act, ff, n * d.intermediate);
  kernels::matmul(ff, n, l.down.w, l.down.b, q);           // q = ff Wdownᵀ + b     [n, H]
  kernels::add(x, q, n * H, x);                            // x = LN(x + ffn)
  kernels::layer_norm(x, n, H, l.out_norm.w, l.out_norm.b, d.ln_eps, x);
}

}  // namespace nlm::models
