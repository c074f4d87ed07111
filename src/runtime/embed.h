#pragma once
// The embedding pipeline: text -> tokens (prompt prefix, truncation reported) -> one batched encoder
// call -> pooling -> Matryoshka truncation -> L2 normalization, with sentence-transformers semantics read
// from the model folder (formats/sentence_transformers.h).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/sentence_transformers.h"
#include "models/encoder_model.h"
#include "tokenizer/tokenizer.h"

namespace nlm::runtime {

// A model folder loaded for embeddings (cached by the Engine under kind "encoder").
struct Embedder {
  std::string path;
  std::shared_ptr<models::EncoderModel> model;
  std::shared_ptr<tok::Tokenizer> tokenizer;  // null when the folder has none (token input still works)
  core::Status tokenizer_status;              // why there is none
  formats::SentenceTransformersConfig st;
  int64_t max_tokens = 0;  // min(max_seq_length, the model's position limit)
};

// config.json + model.safetensors (or shards); tokenizer.json when present; sentence-transformers files.
core::Result<std::shared_ptr<Embedder>> load_embedder(const std::string& path);

enum class EmbedPooling { kMean, kCls, kMax, kMeanSqrtLen, kLast, kNone };

struct EmbedOptions {
  std::optional<EmbedPooling> pooling;  // default: the model's
  std::optional<bool> normalize;        // default: the model's (a Normalize module), none for kNone
  bool truncate = true;                 // false: input_too_long instead of cutting
  int64_t dimensions = 0;               // keep the first k (0: all), then re-normalize
  std::optional<std::string> prompt;       // literal prefix
  std::optional<std::string> prompt_name;  // a prompt of config_sentence_transformers.json
};

struct EmbedOutput {
  int64_t dimensions = 0;
  EmbedPooling pooling = EmbedPooling::kMean;
  bool normalized = false;
  // Per input: `dimensions` floats, or n_tokens * dimensions for kNone.
  std::vector<std::vector<float>> vectors;
  std::vector<int64_t> tokens;
  std::vector<bool> truncated;
};

using CancelFn = std::function<bool()>;

// Exactly one of `texts` / `token_lists` is used (token lists are taken as given: no special tokens are
// added). invalid_request for bad ids or options, input_too_long when truncation is off, cancelled.
core::Result<EmbedOutput> embed_texts(const Embedder& e, const std::vector<std::string>* texts,
                                      const std::vector<std::vector<int32_t>>* token_lists, const EmbedOptions& o,
                                      const CancelFn& cancelled = nullptr);

// Pools one sequence's states x[n, dim] into out[dim]; positions < skip are left out of mean/max.
void pool_sequence(const float* x, int64_t n, int64_t dim, EmbedPooling mode, int64_t skip, float* out);

}  // namespace nlm::runtime
