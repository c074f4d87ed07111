#pragma once
// The stages of a tokenizer.json pipeline (normalizer → pre-tokenizer → model → post-processor →
// decoder), each an interface with one implementation per Hugging Face "type", built from JSON by the
// factories at the bottom. Internal to the tokenizer layer; users see tokenizer.h.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace nlm::tok {

using Json = nlohmann::json;
using Ids = std::vector<int32_t>;

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& s) const = 0;  // s is valid UTF-8 and stays so
};

// A piece of text on its way to the model. `at_start`: it begins at offset 0 of the original input
// (Metaspace's prepend_scheme "first" needs it).
struct PreToken {
  std::string text;
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(std::vector<PreToken>& pieces) const = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one pre-token.
  virtual void tokenize(std::string_view word, Ids& out) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual const std::string* id_to_token(int32_t id) const = 0;
  virtual size_t vocab_size() const = 0;
  virtual size_t id_bound() const = 0;  // one past the largest id
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds the special tokens around one sequence.
  virtual void process(Ids& ids) const = 0;
  virtual size_t added_tokens() const = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// Factories from tokenizer.json objects. A null JSON value gives a null pointer (no stage).
core::Result<std::unique_ptr<Normalizer>> make_normalizer(const Json& j);
core::Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const Json& j);
core::Result<std::unique_ptr<Model>> make_model(const Json& j);
core::Result<std::unique_ptr<PostProcessor>> make_post_processor(const Json& j, const Model& model);
core::Result<std::unique_ptr<Decoder>> make_decoder(const Json& j);

// Built in code (GGUF vocabularies).
std::unique_ptr<Normalizer> make_bert_normalizer(bool lowercase);
std::unique_ptr<Normalizer> make_spm_normalizer(bool add_space_prefix);  // [Prepend "▁"], Replace " " → "▁"
std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();
// Split(regex, Isolated) then ByteLevel without its own regex.
core::Result<std::unique_ptr<PreTokenizer>> make_byte_level_pre_tokenizer(const std::string& regex);
std::unique_ptr<Decoder> make_byte_level_decoder();
std::unique_ptr<Decoder> make_wordpiece_decoder(const std::string& prefix, bool cleanup);
std::unique_ptr<Decoder> make_spm_decoder(bool strip_leading_space);  // Replace ▁, ByteFallback, Fuse, Strip
std::unique_ptr<PostProcessor> make_template_processor(Ids prefix, Ids suffix);

// String helpers shared by the stages.
void replace_all(std::string& s, std::string_view from, std::string_view to);
std::string json_error_context(const Json& j);

}  // namespace nlm::tok
