#pragma once
// Tokenizers that encode exactly as the Hugging Face tokenizers library does, built from a
// tokenizer.json (+ tokenizer_config.json, special_tokens_map.json) or from the vocabulary inside a GGUF
// file (tokenizer.ggml.*, tokenizing as llama.cpp does).
//
//   NLM_ASSIGN_OR_RETURN(auto tk, tok::load_tokenizer("/models/bge-small"));   // folder or .gguf
//   NLM_ASSIGN_OR_RETURN(auto ids, tk->encode("Hello world"));                  // with [CLS] … [SEP]
//   NLM_ASSIGN_OR_RETURN(auto text, tk->decode(ids, /*skip_special_tokens=*/true));
//
// A Tokenizer is immutable once loaded and safe to share between threads.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace nlm::tok {

class Normalizer;
class PreTokenizer;
class Model;
class PostProcessor;
class Decoder;
class AddedVocabulary;

using Ids = std::vector<int32_t>;

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;     // a control token: skipped by decode(skip_special_tokens)
  bool lstrip = false;      // the match swallows whitespace on its left
  bool rstrip = false;      // … and on its right
  bool single_word = false; // only matches when not inside a word
  bool normalized = false;  // matched against the normalized text instead of the raw input
};

enum class TruncationSide { kRight, kLeft };

struct EncodeOptions {
  bool add_special_tokens = true;  // the post-processor's template ([CLS] … [SEP], <s> …)
  size_t max_length = 0;           // 0: no limit; otherwise the result has at most this many ids,
                                   // special tokens included (they are kept, the text is cut)
  TruncationSide truncation_side = TruncationSide::kRight;
};

// Well-known special tokens, from tokenizer_config.json / special_tokens_map.json or GGUF metadata.
struct SpecialTokenIds {
  std::optional<int32_t> bos, eos, unk, pad, cls, sep, mask;
};

// The stages a Tokenizer is made of (built by the loaders).
struct TokenizerParts {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  std::vector<AddedToken> added_tokens;
  SpecialTokenIds special;
  std::string chat_template;  // "" when none
  std::string source;         // the file or folder it was loaded from
  std::string kind;           // "tokenizer.json" or "gguf:<model>"
};

class Tokenizer {
 public:
  explicit Tokenizer(TokenizerParts parts);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // invalid_request when `text` is not valid UTF-8.
  core::Result<Ids> encode(std::string_view text, const EncodeOptions& options = {}) const;
  core::Result<Ids> encode(std::string_view text, bool add_special_tokens) const {
    EncodeOptions o;
    o.add_special_tokens = add_special_tokens;
    return encode(text, o);
  }
  core::Result<size_t> count(std::string_view text, bool add_special_tokens = true) const;
  // invalid_request when an id is outside the vocabulary. Invalid UTF-8 that byte tokens produce comes
  // out as U+FFFD.
  core::Result<std::string> decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  size_t vocab_size() const;  // one past the largest id
  bool is_special(int32_t id) const;
  size_t num_special_tokens_to_add() const;  // what add_special_tokens adds to one sequence
  const SpecialTokenIds& special_tokens() const { return parts_.special; }
  const std::vector<AddedToken>& added_tokens() const { return parts_.added_tokens; }
  const std::string& chat_template() const { return parts_.chat_template; }
  const std::string& source() const { return parts_.source; }
  const std::string& kind() const { return parts_.kind; }

 private:
  void encode_text(std::string_view raw, bool at_start, Ids& out) const;
  TokenizerParts parts_;
  std::unique_ptr<AddedVocabulary> raw_added_;         // matched on the raw input
  std::unique_ptr<AddedVocabulary> normalized_added_;  // matched on each normalized segment
  std::unordered_map<int32_t, size_t> added_by_id_;
  size_t id_bound_ = 0;
};

// A folder (tokenizer.json, or a single .gguf inside), a tokenizer.json file, or a .gguf file.
// model_not_found when nothing is there; model_load_failed / unsupported when it cannot be used.
core::Result<std::shared_ptr<Tokenizer>> load_tokenizer(const std::string& path);
// From the text of a tokenizer.json; `config` is tokenizer_config.json (+ special_tokens_map.json
// merged in), or null.
core::Result<std::shared_ptr<Tokenizer>> tokenizer_from_json(std::string_view tokenizer_json,
                                                             std::string_view config_json = {},
                                                             std::string source = {});
// From the tokenizer.ggml.* metadata of a GGUF file.
core::Result<std::shared_ptr<Tokenizer>> load_gguf_tokenizer(const std::string& path);

}  // namespace nlm::tok
