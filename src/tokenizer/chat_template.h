#pragma once
// Chat templates as transformers applies them: the model's Jinja template rendered with messages,
// tools, documents, add_generation_prompt, the special tokens of tokenizer_config.json and any extra
// variables (enable_thinking, …). The Jinja dialect is src/tokenizer/jinja/template.h.
//
// Where the template comes from (load_for_model):
//   folder: chat_template.jinja (transformers ≥ 4.43 saves it there; it wins, as in transformers), else
//           tokenizer_config.json "chat_template" (a string, or a list of {name, template}), else
//           chat_template.json {"chat_template": …} (processor layout);
//   .gguf:  the tokenizer.chat_template metadata (bos/eos from tokenizer.ggml.*_token_id).
// A model with none gets the fallback: ChatML (kChatMlTemplate), and is_fallback() is true.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "tokenizer/jinja/template.h"

namespace nlm::tok {

// ChatML, the plain fallback for models that ship no template.
inline constexpr std::string_view kChatMlTemplate =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

struct ChatRenderOptions {
  bool add_generation_prompt = true;
  nlohmann::ordered_json tools;      // a list of tool schemas, or null (the template sees tools = none)
  nlohmann::ordered_json documents;  // a list, or null
  nlohmann::ordered_json variables;  // an object of extra variables; they override everything else
  std::optional<std::string> template_name;  // pick one of several named templates
  int64_t now_unix = -1;             // what strftime_now formats; < 0: now
};

class ChatTemplate {
 public:
  // A folder or a .gguf file. model_load_failed when tokenizer_config.json is unreadable;
  // template_error when the template does not parse.
  static core::Result<std::shared_ptr<ChatTemplate>> load_for_model(const std::string& path);

  // One template source, with special tokens ({"bos_token": "<s>", …}; AddedToken dicts allowed).
  static core::Result<std::shared_ptr<ChatTemplate>> from_source(std::string_view source,
                                                                 const nlohmann::ordered_json& special_tokens = {});
  // ChatML with the given special tokens.
  static std::shared_ptr<ChatTemplate> fallback(const nlohmann::ordered_json& special_tokens = {});

  // `messages`: [{"role", "content" (string or typed parts), "tool_calls", "tool_call_id", "name"}, …].
  core::Result<std::string> render(const nlohmann::ordered_json& messages, const ChatRenderOptions& options) const;
  core::Result<std::string> render(const nlohmann::json& messages, const ChatRenderOptions& options) const;

  // Strings that end an assistant turn for this template (eos_token and end-of-turn markers the
  // template writes, e.g. "<|im_end|>", "<|eot_id|>", "<end_of_turn>"): generation stops on them.
  const std::vector<std::string>& stop_strings() const { return stop_strings_; }
  bool is_fallback() const { return fallback_; }
  // "default", "tool_use", … (one entry "default" for a single template).
  std::vector<std::string> template_names() const;
  // The name render() would use for these options (empty when none fits).
  std::string select(const ChatRenderOptions& options) const;
  // bos_token, eos_token, … as plain strings (absent when the model has none).
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }

 private:
  static core::Result<std::shared_ptr<ChatTemplate>> build(const std::map<std::string, std::string>& sources,
                                                           const nlohmann::ordered_json& special_tokens);
  std::map<std::string, jinja::Template> templates_;
  nlohmann::ordered_json special_tokens_ = nlohmann::ordered_json::object();
  std::vector<std::string> stop_strings_;
  bool fallback_ = false;
};

}  // namespace nlm::tok
