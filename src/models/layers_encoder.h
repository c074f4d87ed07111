#pragma once
// Blocks shared by the encoder families (BERT, XLM-R, MPNet): embeddings, the post-LN transformer layer
// and MPNet/T5-style bucketed relative attention bias. Activations are packed without padding:
// x[n_tokens, hidden] holds every sequence of the batch back to back; attention runs per sequence.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/arena.h"
#include "core/tensor.h"
#include "models/binder.h"

namespace nlm::models {

enum class EncoderActivation { kGelu, kGeluTanh, kRelu };
// "gelu" -> kGelu; "gelu_new" / "gelu_pytorch_tanh" -> kGeluTanh; "relu"; false otherwise.
bool parse_encoder_activation(const std::string& name, EncoderActivation* out);

struct EncoderDims {
  int64_t hidden = 0, heads = 0, head_dim = 0, intermediate = 0;
  float ln_eps = 1e-12f;
  EncoderActivation act = EncoderActivation::kGelu;
};

struct Linear {
  core::TensorView w;       // [out, in], any weight dtype
  const float* b = nullptr; // [out] f32 or null
};
struct Norm {
  const float* w = nullptr;  // [hidden] f32
  const float* b = nullptr;
};

struct EncoderLayer {
  Linear q, k, v, o;   // attention
  Linear qkv;          // q, k and v as one f32 [3·hidden, hidden] matrix (bind_encoder_layers; may be unset)
  Norm attn_norm;      // LayerNorm(x + o(attn))
  Linear up, down;     // intermediate.dense, output.dense
  Norm out_norm;       // LayerNorm(x + down(act(up x)))
};

// Binds a Linear (weight [out,in] any dtype; bias [out] converted to f32) and a LayerNorm.
void bind_linear(Binder& b, std::string_view name, int64_t out, int64_t in, Linear* l);
void bind_norm(Binder& b, std::string_view name, int64_t dim, Norm* n);

// The HF module names of one encoder layer's attention, which is all that differs between families
// (BERT: attention.self.query … attention.output.LayerNorm; MPNet: attention.attn.q … attention.LayerNorm).
struct EncoderAttentionNames {
  std::string_view q, k, v, o, norm;
};
// Binds `n_layers` layers under "encoder.layer.<i>": the attention by `names`, then the shared
// intermediate.dense / output.dense / output.LayerNorm feed-forward. Then prepares the weights for
// batched calls: q, k and v fused into one matrix, and every matrix packed for the GEMM (kept in the
// binder's storage).
void bind_encoder_layers(Binder& b, const EncoderAttentionNames& names, int64_t n_layers, int64_t hidden,
                         int64_t intermediate, std::vector<EncoderLayer>* layers);

// Bucketed relative position bias (MPNet, T5): table [num_buckets, heads] f32.
struct RelativeBias {
  const float* table = nullptr;
  int64_t num_buckets = 32;
  int64_t max_distance = 128;
  bool bidirectional = true;
};
// The bucket of (key position - query position), exactly as MPNet / T5 compute it (float32 log).
int64_t relative_position_bucket(int64_t relative_position, const RelativeBias& rb);

// A packed batch: sequence i spans rows [offsets[i], offsets[i+1]) of the activations.
struct PackedBatch {
  std::vector<int64_t> offsets;   // size n_seqs + 1
  std::vector<int32_t> ids;       // [n_tokens]
  std::vector<int32_t> positions; // [n_tokens], filled by the family
  int64_t n_tokens() const { return offsets.empty() ? 0 : offsets.back(); }
  int64_t n_seqs() const { return offsets.empty() ? 0 : static_cast<int64_t>(offsets.size()) - 1; }
  int64_t max_len() const;
};
PackedBatch pack_batch(std::span<const std::span<const int32_t>> seqs);
// Calls fn(group, out_rows) on consecutive groups of whole sequences of at most kEncoderGroupTokens
// tokens (a longer sequence is a group of its own), out_rows pointing at the group's first row of
// `out` ([n_tokens, hidden]). A group's activations then stay in the last-level cache: one pass over a
// batch of 100 chunks would stream every intermediate through DRAM.
inline constexpr int64_t kEncoderGroupTokens = 1024;
void for_each_group(std::span<const std::span<const int32_t>> seqs, int64_t hidden, float* out,
                    const std::function<void(std::span<const std::span<const int32_t>>, float*)>& fn);
// positions: 0, 1, 2, ... per sequence; or, with `padding_positions` (RoBERTa, XLM-R, MPNet), HF's
// create_position_ids_from_input_ids: pad + cumsum(id != pad) for non-pad tokens, pad for pad tokens.
void fill_positions(PackedBatch* b, bool padding_positions, int32_t pad_token_id);

// x = LayerNorm(word[ids] + position[positions] + token_type (a [hidden] row or null)).
void encoder_embeddings(const core::TensorView& word, const core::TensorView& position, const float* token_type,
                        const Norm& norm, float eps, const PackedBatch& batch, int64_t hidden, float* x);

// One post-LN layer over the packed batch, x updated in place. `rel` adds a relative bias (may be null).
// Scratch comes from `arena` (reset by the caller between calls).
void encoder_layer(const EncoderDims& d, const EncoderLayer& l, const PackedBatch& batch, const RelativeBias* rel,
                   float* x, core::Arena& arena);

}  // namespace nlm::models
