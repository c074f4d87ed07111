// Loading: tokenizer.json (+ tokenizer_config.json, special_tokens_map.json, chat_template.jinja) from a
// folder or file, or a GGUF vocabulary.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tokenizer/components.h"
#include "tokenizer/tokenizer.h"

namespace nlm::tok {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;

core::Result<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "bos_token": "<s>" or {"content": "<s>", ...}.
std::optional<std::string> token_name(const Json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && it->at("content").is_string()) return it->at("content").get<std::string>();
  return std::nullopt;
}

std::string chat_template_of(const Json& cfg) {
  auto it = cfg.find("chat_template");
  if (it == cfg.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {  // [{"name": "default", "template": …}, …]
    std::string first;
    for (const auto& e : *it) {
      if (!e.is_object() || !e.contains("template") || !e.at("template").is_string()) continue;
      if (first.empty()) first = e.at("template").get<std::string>();
      if (e.value("name", "") == "default") return e.at("template").get<std::string>();
    }
    return first;
  }
  return "";
}

core::Result<std::vector<AddedToken>> parse_added(const Json& j) {
  std::vector<AddedToken> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] added_tokens must be an array");
  for (const auto& t : j) {
    AddedToken a;
    a.id = t.at("id").get<int32_t>();
    a.content = t.at("content").get<std::string>();
    a.special = t.value("special", false);
    a.lstrip = t.value("lstrip", false);
    a.rstrip = t.value("rstrip", false);
    a.single_word = t.value("single_word", false);
    a.normalized = t.value("normalized", !a.special);
    out.push_back(std::move(a));
  }
  return out;
}

void resolve_specials(const TokenizerParts& parts, const Json& cfg, SpecialTokenIds& ids) {
  auto look = [&](const char* key, std::optional<int32_t>& dst) {
    const auto name = token_name(cfg, key);
    if (!name) return;
    for (const AddedToken& t : parts.added_tokens) {
      if (t.content == *name) {
        dst = t.id;
        return;
      }
    }
    dst = parts.model->token_to_id(*name);
  };
  look("bos_token", ids.bos);
  look("eos_token", ids.eos);
  look("unk_token", ids.unk);
  look("pad_token", ids.pad);
  look("cls_token", ids.cls);
  look("sep_token", ids.sep);
  look("mask_token", ids.mask);
}

core::Result<std::shared_ptr<Tokenizer>> build(const Json& tj, const Json& cfg, std::string source) {
  TokenizerParts parts;
  NLM_ASSIGN_OR_RETURN(parts.model, make_model(tj.contains("model") ? tj.at("model") : Json()));
  NLM_ASSIGN_OR_RETURN(parts.normalizer, make_normalizer(tj.value("normalizer", Json())));
  NLM_ASSIGN_OR_RETURN(parts.pre_tokenizer, make_pre_tokenizer(tj.value("pre_tokenizer", Json())));
  NLM_ASSIGN_OR_RETURN(parts.post_processor, make_post_processor(tj.value("post_processor", Json()), *parts.model));
  NLM_ASSIGN_OR_RETURN(parts.decoder, make_decoder(tj.value("decoder", Json())));
  try {
    NLM_ASSIGN_OR_RETURN(parts.added_tokens, parse_added(tj.value("added_tokens", Json())));
  } catch (const Json::exception& e) {
    return core::error(ErrorCode::kModelLoadFailed, std::string("[tokenizer] bad added_tokens: ") + e.what());
  }
  parts.chat_template = chat_template_of(cfg);
  parts.source = std::move(source);
  parts.kind = "tokenizer.json";
  resolve_specials(parts, cfg, parts.special);
  return std::make_shared<Tokenizer>(std::move(parts));
}

core::Result<Json> parse_json(std::string_view text, const std::string& what) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] " + what + " is not valid JSON");
  return j;
}

bool is_gguf_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

core::Result<std::shared_ptr<Tokenizer>> load_folder(const fs::path& dir) {
  const fs::path tj = dir / "tokenizer.json";
  std::error_code ec;
  if (!fs::exists(tj, ec)) {
    std::vector<fs::path> ggufs;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".gguf") ggufs.push_back(e.path());
    }
    if (ggufs.size() == 1) return load_gguf_tokenizer(ggufs[0].string());
    return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] no tokenizer.json in " + dir.string() +
                                                        (ggufs.empty() ? "" : " (and several .gguf files)"));
  }
  NLM_ASSIGN_OR_RETURN(std::string text, read_file(tj));
  Json cfg = Json::object();
  for (const char* name : {"special_tokens_map.json", "tokenizer_config.json"}) {
    if (!fs::exists(dir / name, ec)) continue;
    NLM_ASSIGN_OR_RETURN(std::string c, read_file(dir / name));
    NLM_ASSIGN_OR_RETURN(Json cj, parse_json(c, (dir / name).string()));
    if (cj.is_object()) cfg.update(cj);
  }
  if (!cfg.contains("chat_template") && fs::exists(dir / "chat_template.jinja", ec)) {
    NLM_ASSIGN_OR_RETURN(std::string t, read_file(dir / "chat_template.jinja"));
    cfg["chat_template"] = t;
  }
  NLM_ASSIGN_OR_RETURN(Json tjson, parse_json(text, tj.string()));
  return build(tjson, cfg, dir.string());
}

}  // namespace

core::Result<std::shared_ptr<Tokenizer>> tokenizer_from_json(std::string_view tokenizer_json, std::string_view config_json,
                                                             std::string source) {
  NLM_ASSIGN_OR_RETURN(Json tj, parse_json(tokenizer_json, "tokenizer.json"));
  Json cfg = Json::object();
  if (!config_json.empty()) {
    NLM_ASSIGN_OR_RETURN(cfg, parse_json(config_json, "tokenizer_config.json"));
  }
  if (!tj.is_object()) return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] tokenizer.json is not an object");
  return build(tj, cfg.is_object() ? cfg : Json::object(), std::move(source));
}

core::Result<std::shared_ptr<Tokenizer>> load_tokenizer(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) return load_folder(p);
  if (!fs::is_regular_file(p, ec)) {
    return core::error(ErrorCode::kModelNotFound, "[tokenizer] " + path + " is not a file or folder");
  }
  if (is_gguf_file(p)) return load_gguf_tokenizer(path);
  if (p.filename() == "tokenizer.json") return load_folder(p.parent_path());
  return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] " + path + " is neither a folder, a tokenizer.json nor a .gguf");
}

}  // namespace nlm::tok
