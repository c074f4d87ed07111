#pragma once
// The encoder (embedding model) interface: one virtual call per batch (STYLE.md §2). A model is
// immutable after load and safe to call from several threads at once (activations are per call).
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/status.h"
#include "formats/model_config.h"
#include "formats/tensor_source.h"

namespace nlm::models {

struct EncoderInfo {
  std::string architecture;     // the family that runs it: "bert", "mpnet" (xlm-roberta runs as bert)
  std::string model_type;       // config.json's model_type as written
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t intermediate_size = 0;
  int64_t vocab_size = 0;
  int64_t max_tokens = 0;       // longest sequence the position table allows
  int32_t pad_token_id = 0;
  int64_t weight_bytes = 0;
  std::string weight_dtype;     // of the largest matrices
  // Multiply-adds per token for a sequence of n tokens (for benchmarks: FLOPs = 2 * macs).
  double macs_per_token(int64_t n) const {
    const double h = static_cast<double>(hidden_size), f = static_cast<double>(intermediate_size);
    return static_cast<double>(num_hidden_layers) * (4 * h * h + 2 * h * f + 2 * h * static_cast<double>(n));
  }
};

class EncoderModel {
 public:
  virtual ~EncoderModel() = default;
  virtual const EncoderInfo& info() const = 0;

  // The last hidden state of every token of every sequence, packed without padding: sequence i's
  // [len_i, hidden_size] rows follow sequence i-1's in `out` (sum(len_i) * hidden_size floats).
  // Sequences are computed together (one pass through every layer, no compute spent on padding) and a
  // sequence's rows do not depend on the others. The caller checks ids < vocab_size, 1 <= len_i <=
  // max_tokens.
  virtual void embed(std::span<const std::span<const int32_t>> seqs, float* out) const = 0;
};

// What a family's loader gets: the config and the weights (HF names; root prefixes such as "bert." are
// tried by the binder).
struct EncoderSource {
  formats::ModelConfig config;
  std::shared_ptr<const formats::TensorSource> weights;
  // Set by the registry row (an alias's variant, not an architecture `if`): position ids count the
  // non-pad tokens from pad_token_id + 1, as RoBERTa / XLM-R / MPNet do.
  bool padding_positions = false;
};

}  // namespace nlm::models
