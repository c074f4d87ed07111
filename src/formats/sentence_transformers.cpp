#include "formats/sentence_transformers.h"

#include <filesystem>
#include <vector>

#include "formats/model_config.h"

namespace nlm::formats {
namespace {
namespace fs = std::filesystem;
using core::ErrorCode;
using Json = nlohmann::json;

bool file_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

core::Status bad(const fs::path& file, const std::string& what, ErrorCode code = ErrorCode::kModelLoadFailed) {
  return core::error(code, "[sentence-transformers] " + file.string() + ": " + what);
}

core::Status read_pooling(const fs::path& file, SentenceTransformersConfig* c) {
  NLM_ASSIGN_OR_RETURN(Json j, read_json_file(file.string()));
  if (!j.is_object()) return bad(file, "not a JSON object");
  if (auto it = j.find("include_prompt"); it != j.end() && it->is_boolean()) c->include_prompt = it->get<bool>();
  std::vector<std::string> modes;
  if (auto it = j.find("pooling_mode"); it != j.end()) {
    if (!it->is_string()) return bad(file, "'pooling_mode' must be a string");
    modes.push_back(it->get<std::string>());
  } else {
    const std::pair<const char*, const char*> keys[] = {
        {"pooling_mode_cls_token", "cls"},
        {"pooling_mode_mean_tokens", "mean"},
        {"pooling_mode_max_tokens", "max"},
        {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"},
        {"pooling_mode_weightedmean_tokens", "weightedmean"},
        {"pooling_mode_lasttoken", "lasttoken"},
    };
    for (const auto& [key, name] : keys) {
      auto it = j.find(key);
      if (it != j.end() && it->is_boolean() && it->get<bool>()) modes.push_back(name);
    }
  }
  if (modes.empty()) return bad(file, "no pooling mode is enabled", ErrorCode::kUnsupported);
  if (modes.size() > 1) return bad(file, "several pooling modes at once are not supported", ErrorCode::kUnsupported);
  auto mode = parse_pooling_mode(modes[0]);
  if (!mode) return bad(file, "pooling mode '" + modes[0] + "' is not supported", ErrorCode::kUnsupported);
  c->pooling = *mode;
  return core::Status::ok();
}

core::Status read_modules(const fs::path& dir, SentenceTransformersConfig* c) {
  const fs::path file = dir / "modules.json";
  NLM_ASSIGN_OR_RETURN(Json j, read_json_file(file.string()));
  if (!j.is_array()) return bad(file, "not a JSON array");
  c->has_modules = true;
  for (const Json& m : j) {
    if (!m.is_object() || !m.contains("type") || !m["type"].is_string()) return bad(file, "module without a 'type'");
    const std::string type = m["type"].get<std::string>();
    const std::string path = m.contains("path") && m["path"].is_string() ? m["path"].get<std::string>() : "";
    if (path.find("..") != std::string::npos) return bad(file, "module path '" + path + "' leaves the folder");
    const std::string kind = type.substr(type.rfind('.') == std::string::npos ? 0 : type.rfind('.') + 1);
    if (kind == "Transformer") {
      c->transformer_path = path;
    } else if (kind == "Pooling") {
      NLM_RETURN_IF_ERROR(read_pooling(dir / path / "config.json", c));
    } else if (kind == "Normalize") {
      c->normalize = true;
    } else {
      return bad(file, "module type '" + type + "' is not supported", ErrorCode::kUnsupported);
    }
  }
  return core::Status::ok();
}

core::Status read_prompts(const fs::path& file, SentenceTransformersConfig* c) {
  NLM_ASSIGN_OR_RETURN(Json j, read_json_file(file.string()));
  if (!j.is_object()) return bad(file, "not a JSON object");
  if (auto it = j.find("prompts"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return bad(file, "'prompts' must be an object");
    for (auto& [name, text] : it->items()) {
      if (!text.is_string()) return bad(file, "prompt '" + name + "' must be a string");
      c->prompts[name] = text.get<std::string>();
    }
  }
  if (auto it = j.find("default_prompt_name"); it != j.end() && it->is_string()) {
    c->default_prompt_name = it->get<std::string>();
  }
  return core::Status::ok();
}
}  // namespace

std::string_view pooling_mode_name(PoolingMode m) {
  switch (m) {
    case PoolingMode::kMean: return "mean";
    case PoolingMode::kCls: return "cls";
    case PoolingMode::kMax: return "max";
    case PoolingMode::kMeanSqrtLen: return "mean_sqrt_len_tokens";
    case PoolingMode::kLastToken: return "lasttoken";
  }
  return "?";
}

std::optional<PoolingMode> parse_pooling_mode(std::string_view n) {
  if (n == "mean" || n == "mean_tokens") return PoolingMode::kMean;
  if (n == "cls" || n == "cls_token") return PoolingMode::kCls;
  if (n == "max" || n == "max_tokens") return PoolingMode::kMax;
  if (n == "mean_sqrt_len_tokens" || n == "mean_sqrt_len") return PoolingMode::kMeanSqrtLen;
  if (n == "lasttoken" || n == "last") return PoolingMode::kLastToken;
  return std::nullopt;
}

core::Result<SentenceTransformersConfig> load_sentence_transformers(const std::string& dir_text) {
  const fs::path dir(dir_text);
  SentenceTransformersConfig c;
  if (file_exists(dir / "modules.json")) NLM_RETURN_IF_ERROR(read_modules(dir, &c));
  const fs::path sbert = dir / c.transformer_path / "sentence_bert_config.json";
  if (file_exists(sbert)) {
    NLM_ASSIGN_OR_RETURN(Json j, read_json_file(sbert.string()));
    if (!j.is_object()) return bad(sbert, "not a JSON object");
    if (auto it = j.find("max_seq_length"); it != j.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int64_t>() <= 0) return bad(sbert, "'max_seq_length' must be a positive integer");
      c.max_seq_length = it->get<int64_t>();
    }
    if (auto it = j.find("do_lower_case"); it != j.end() && it->is_boolean()) c.do_lower_case = it->get<bool>();
  }
  if (file_exists(dir / "config_sentence_transformers.json")) {
    NLM_RETURN_IF_ERROR(read_prompts(dir / "config_sentence_transformers.json", &c));
  }
  return c;
}

}  // namespace nlm::formats
