#include "tokenizer/chat_template.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "formats/gguf.h"

namespace nlm::tok {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;
using OJson = nlohmann::ordered_json;

constexpr const char* kSpecialTokenKeys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                             "pad_token", "cls_token", "mask_token"};

// End-of-turn markers known from real chat templates; a template's stop strings are the ones it writes.
constexpr const char* kEndOfTurnMarkers[] = {
    "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>", "<|END_OF_TURN_TOKEN|>",
    "<|end_of_turn|>", "<|endoftext|>", "<|end_of_text|>", "<｜end▁of▁sentence｜>", "<|return|>", "</s>",
    "<|im_end_of_turn|>", "[/ASSISTANT]"};

bool read_file(const fs::path& p, std::string* out) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

// A special token as transformers passes it to the template: the string, or an AddedToken's "content".
OJson token_text(const OJson& v) {
  if (v.is_string()) return v;
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"];
  return nullptr;
}

OJson normalize_special_tokens(const OJson& in) {
  OJson out = OJson::object();
  if (!in.is_object()) return out;
  for (const char* key : kSpecialTokenKeys) {
    auto it = in.find(key);
    if (it == in.end()) continue;
    OJson t = token_text(*it);
    if (!t.is_null()) out[key] = t;
  }
  auto extra = in.find("additional_special_tokens");
  if (extra != in.end() && extra->is_array()) {
    OJson list = OJson::array();
    for (const auto& t : *extra) {
      OJson s = token_text(t);
      if (!s.is_null()) list.push_back(s);
    }
    out["additional_special_tokens"] = list;
  }
  return out;
}

core::Result<OJson> read_json(const fs::path& p) {
  std::string text;
  if (!read_file(p, &text)) return core::error(ErrorCode::kModelLoadFailed, "[chat_template] cannot read " + p.string());
  OJson j = OJson::parse(text, nullptr, false);
  if (j.is_discarded()) return core::error(ErrorCode::kModelLoadFailed, "[chat_template] " + p.string() + " is not valid JSON");
  return j;
}

// tokenizer_config.json "chat_template": a string or a list of {name, template}.
core::Status collect_sources(const OJson& value, const std::string& where, std::map<std::string, std::string>* sources) {
  if (value.is_string()) {
    (*sources)["default"] = value.get<std::string>();
    return core::Status::ok();
  }
  if (value.is_array()) {
    for (const auto& e : value) {
      if (!e.is_object() || !e.contains("name") || !e.contains("template") || !e["name"].is_string() || !e["template"].is_string()) {
        return core::error(ErrorCode::kModelLoadFailed, "[chat_template] " + where + ": chat_template entries must be {name, template}");
      }
      (*sources)[e["name"].get<std::string>()] = e["template"].get<std::string>();
    }
    return core::Status::ok();
  }
  return core::error(ErrorCode::kModelLoadFailed, "[chat_template] " + where + ": chat_template must be a string or a list");
}

core::Status load_gguf(const std::string& path, std::map<std::string, std::string>* sources, OJson* special) {
  auto file = formats::GgufFile::open(path);
  if (!file.is_ok()) return file.status();
  const formats::GgufFile& g = **file;
  if (auto t = g.get_string("tokenizer.chat_template")) (*sources)["default"] = *t;
  for (const auto& [key, value] : g.metadata()) {
    const std::string prefix = "tokenizer.chat_template.";
    if (key.rfind(prefix, 0) == 0 && value.type == formats::GgufType::kString) (*sources)[key.substr(prefix.size())] = value.s;
  }
  const std::vector<std::string>* tokens = g.get_strings("tokenizer.ggml.tokens");
  auto token = [&](const char* id_key, const char* name) {
    auto id = g.get_int(id_key);
    if (tokens && id && *id >= 0 && static_cast<size_t>(*id) < tokens->size()) (*special)[name] = (*tokens)[static_cast<size_t>(*id)];
  };
  token("tokenizer.ggml.bos_token_id", "bos_token");
  token("tokenizer.ggml.eos_token_id", "eos_token");
  token("tokenizer.ggml.unknown_token_id", "unk_token");
  token("tokenizer.ggml.padding_token_id", "pad_token");
  return core::Status::ok();
}

}  // namespace

core::Result<std::shared_ptr<ChatTemplate>> ChatTemplate::load_for_model(const std::string& path) {
  std::map<std::string, std::string> sources;
  OJson special = OJson::object();
  const fs::path p(path);
  std::error_code ec;
  if (fs::is_regular_file(p, ec) && p.extension() == ".gguf") {
    NLM_RETURN_IF_ERROR(load_gguf(path, &sources, &special));
  } else if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "special_tokens_map.json")) {
      NLM_ASSIGN_OR_RETURN(OJson map, read_json(p / "special_tokens_map.json"));
      special = normalize_special_tokens(map);
    }
    if (fs::exists(p / "tokenizer_config.json")) {
      NLM_ASSIGN_OR_RETURN(OJson cfg, read_json(p / "tokenizer_config.json"));
      const OJson from_cfg = normalize_special_tokens(cfg);
      for (auto it = from_cfg.begin(); it != from_cfg.end(); ++it) special[it.key()] = it.value();
      if (cfg.contains("chat_template") && !cfg["chat_template"].is_null()) {
        NLM_RETURN_IF_ERROR(collect_sources(cfg["chat_template"], "tokenizer_config.json", &sources));
      }
    }
    std::string text;
    if (read_file(p / "chat_template.jinja", &text)) {
      sources["default"] = text;
    } else if (sources.empty() && fs::exists(p / "chat_template.json")) {
      NLM_ASSIGN_OR_RETURN(OJson j, read_json(p / "chat_template.json"));
      if (j.contains("chat_template")) NLM_RETURN_IF_ERROR(collect_sources(j["chat_template"], "chat_template.json", &sources));
    }
  } else {
    return core::error(ErrorCode::kModelNotFound, "[chat_template] no model at " + path);
  }
  if (sources.empty()) return fallback(special);
  return build(sources, special);
}

core::Result<std::shared_ptr<ChatTemplate>> ChatTemplate::from_source(std::string_view source, const OJson& special_tokens) {
  return build({{"default", std::string(source)}}, normalize_special_tokens(special_tokens));
}

std::shared_ptr<ChatTemplate> ChatTemplate::fallback(const OJson& special_tokens) {
  auto r = build({{"default", std::string(kChatMlTemplate)}}, normalize_special_tokens(special_tokens));
  NLM_CHECK_MSG(r.is_ok(), "the ChatML fallback template must parse");
  (*r)->fallback_ = true;
  return *r;
}

core::Result<std::shared_ptr<ChatTemplate>> ChatTemplate::build(const std::map<std::string, std::string>& sources,
                                                                const OJson& special_tokens) {
  auto t = std::make_shared<ChatTemplate>();
  t->special_tokens_ = special_tokens;
  for (const auto& [name, source] : sources) {
    auto parsed = jinja::Template::parse(source);
    if (!parsed.is_ok()) {
      std::string msg = parsed.status().message();
      if (sources.size() > 1) msg += " (template '" + name + "')";
      return core::error(ErrorCode::kTemplateError, msg);
    }
    t->templates_.emplace(name, std::move(parsed).value());
  }
  auto add_stop = [&](const std::string& s) {
    if (!s.empty() && std::find(t->stop_strings_.begin(), t->stop_strings_.end(), s) == t->stop_strings_.end()) t->stop_strings_.push_back(s);
  };
  if (special_tokens.contains("eos_token")) add_stop(special_tokens["eos_token"].get<std::string>());
  for (const char* marker : kEndOfTurnMarkers) {
    for (const auto& [name, source] : sources) {
      if (source.find(marker) != std::string::npos) add_stop(marker);
    }
  }
  return t;
}

std::vector<std::string> ChatTemplate::template_names() const {
  std::vector<std::string> out;
  for (const auto& kv : templates_) out.push_back(kv.first);
  return out;
}

std::string ChatTemplate::select(const ChatRenderOptions& options) const {
  if (options.template_name) return templates_.count(*options.template_name) ? *options.template_name : "";
  if (!options.tools.is_null() && templates_.count("tool_use")) return "tool_use";
  if (templates_.count("default")) return "default";
  return templates_.size() == 1 ? templates_.begin()->first : "";
}

core::Result<std::string> ChatTemplate::render(const OJson& messages, const ChatRenderOptions& options) const {
  if (!messages.is_array()) return core::error(ErrorCode::kInvalidRequest, "[chat_template] messages must be a list");
  for (const auto& m : messages) {
    if (!m.is_object()) return core::error(ErrorCode::kInvalidRequest, "[chat_template] each message must be an object");
  }
  const std::string name = select(options);
  if (name.empty()) {
    std::string names;
    for (const auto& n : template_names()) names += (names.empty() ? "" : ", ") + n;
    return core::error(ErrorCode::kTemplateError, "[chat_template] no template to use (the model has: " + names + ")");
  }
  if (!options.variables.is_null() && !options.variables.is_object()) {
    return core::error(ErrorCode::kInvalidRequest, "[chat_template] variables must be an object");
  }
  OJson ctx = special_tokens_;
  ctx["messages"] = messages;
  ctx["tools"] = options.tools;
  ctx["documents"] = options.documents;
  ctx["add_generation_prompt"] = options.add_generation_prompt;
  if (options.variables.is_object()) {
    for (auto it = options.variables.begin(); it != options.variables.end(); ++it) {
      const std::string& key = it.key();
      const bool is_token = key.size() > 6 && key.compare(key.size() - 6, 6, "_token") == 0;
      ctx[key] = is_token && it.value().is_object() && !token_text(it.value()).is_null() ? token_text(it.value()) : it.value();
    }
  }
  jinja::RenderOptions ro;
  ro.now_unix = options.now_unix;
  return templates_.at(name).render(ctx, ro);
}

core::Result<std::string> ChatTemplate::render(const nlohmann::json& messages, const ChatRenderOptions& options) const {
  return render(OJson::parse(messages.dump()), options);
}

}  // namespace nlm::tok
