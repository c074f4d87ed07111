#pragma once
// The embedding pipeline: text -> tokens (prompt prefix, truncation reported) -> one batched encoder
// call -> pooling -> Matryoshka truncation -> L2 normalization, with sentence-transformers semantics read
// from the model folder (formats/sentence_transformers.h), or from a GGUF file's metadata.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "formats/sentence_transformers.h"
#include "models/encoder_model.h"
#include "tokenizer/tokenizer.h"

namespace nlm::runtime {

enum class EmbedPooling { kMean, kCls, kMax, kMeanSqrtLen, kLast, kNone };

// A model loaded for embeddings (cached by the Engine under kind "encoder").
struct Embedder {
  std::string path;
  std::string format;  // "safetensors" or "gguf"
  std::shared_ptr<models::EncoderModel> model;
  std::shared_ptr<tok::Tokenizer> tokenizer;  // null when the folder has none (token input still works)
  core::Status tokenizer_status;              // why there is none
  formats::SentenceTransformersConfig st;     // defaults for a GGUF file
  EmbedPooling pooling = EmbedPooling::kMean;  // the model's default
  bool normalize = false;                      // the model's default (for pooled vectors)
  int64_t max_tokens = 0;  // min(max_seq_length, the model's position limit)
};

// `path`: a Hugging Face folder (config.json + model.safetensors or shards; tokenizer.json when present;
// sentence-transformers files), a GGUF file (general.architecture "bert": llama.cpp's conversion, its own
// WordPiece vocabulary; pooling from bert.pooling_type — absent: mean, 0: none, 1: mean, 2: cls, 3: last —
// and normalized like llama.cpp's embeddings), or a folder holding one .gguf and no config.json.
core::Result<std::shared_ptr<Embedder>> load_embedder(const std::string& path);

// Python's str.lower() over UTF-8 (what sentence-transformers applies with do_lower_case): the full
// lowercase mapping (U+0130 -> i + U+0307) and the Final_Sigma context (Σ at a word's end -> ς).
std::string lower_like_python(std::string_view text);

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
