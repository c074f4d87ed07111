#pragma once
// sentence-transformers semantics from a model folder's own files:
//   modules.json                       the pipeline (Transformer, Pooling, Normalize; others are refused)
//   1_Pooling/config.json              old form (pooling_mode_mean_tokens: true, ...) or new ("pooling_mode": "mean")
//   sentence_bert_config.json          max_seq_length, do_lower_case
//   config_sentence_transformers.json  prompts, default_prompt_name
// Without modules.json: mean pooling, no normalization (what sentence-transformers does for a plain
// Hugging Face folder).
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/status.h"

namespace nlm::formats {

enum class PoolingMode { kMean, kCls, kMax, kMeanSqrtLen, kLastToken };

// "mean", "cls", "max", "mean_sqrt_len_tokens", "lasttoken".
std::string_view pooling_mode_name(PoolingMode m);
// Accepts the names above plus "last" and "mean_tokens"/"cls_token"/"max_tokens"; nullopt otherwise.
std::optional<PoolingMode> parse_pooling_mode(std::string_view name);

struct SentenceTransformersConfig {
  bool has_modules = false;               // modules.json was found
  std::string transformer_path;           // folder of the Transformer module, relative ("" = the root)
  PoolingMode pooling = PoolingMode::kMean;
  bool include_prompt = true;             // false: prompt tokens are left out of the pooling
  bool normalize = false;                 // a Normalize module follows the pooling
  std::optional<int64_t> max_seq_length;  // sentence_bert_config.json
  bool do_lower_case = false;
  std::map<std::string, std::string> prompts;  // name -> prefix text
  std::string default_prompt_name;             // "" when none
};

// kModelLoadFailed for malformed files; kUnsupported for modules this engine does not run (Dense,
// weighted-mean pooling, several pooling modes at once).
core::Result<SentenceTransformersConfig> load_sentence_transformers(const std::string& dir);

}  // namespace nlm::formats
