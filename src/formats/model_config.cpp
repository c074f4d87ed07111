#include "formats/model_config.h"

#include <filesystem>
#include <fstream>

namespace nlm::formats {
using core::ErrorCode;

core::Result<nlohmann::json> read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::error(ErrorCode::kModelLoadFailed, "[config] cannot read " + path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return core::error(ErrorCode::kModelLoadFailed, "[config] " + path + " is not valid JSON");
  return j;
}

core::Result<ModelConfig> ModelConfig::load(const std::string& path) {
  std::error_code ec;
  std::string file = path;
  if (std::filesystem::is_directory(path, ec)) file = (std::filesystem::path(path) / "config.json").string();
  NLM_ASSIGN_OR_RETURN(auto j, read_json_file(file));
  if (!j.is_object()) return core::error(ErrorCode::kModelLoadFailed, "[config] " + file + " is not a JSON object");
  return from_json(std::move(j), file);
}

ModelConfig ModelConfig::from_json(nlohmann::json j, std::string source) {
  ModelConfig c;
  c.j_ = std::move(j);
  c.source_ = std::move(source);
  return c;
}

core::Status ModelConfig::bad(const std::string& key, const char* want) const {
  return core::error(ErrorCode::kModelLoadFailed, "[config] " + source_ + ": '" + key + "' " + want);
}

core::Result<int64_t> ModelConfig::require_int(const std::string& key) const {
  if (!has(key)) return bad(key, "is missing");
  return get_int(key, 0);
}
core::Result<double> ModelConfig::require_float(const std::string& key) const {
  if (!has(key)) return bad(key, "is missing");
  return get_float(key, 0);
}
core::Result<std::string> ModelConfig::require_string(const std::string& key) const {
  if (!has(key)) return bad(key, "is missing");
  return get_string(key, "");
}

core::Result<int64_t> ModelConfig::get_int(const std::string& key, int64_t def) const {
  if (!has(key)) return def;
  const auto& v = j_[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()))) {
    return static_cast<int64_t>(v.get<double>());
  }
  return bad(key, "must be an integer");
}

core::Result<double> ModelConfig::get_float(const std::string& key, double def) const {
  if (!has(key)) return def;
  const auto& v = j_[key];
  if (!v.is_number()) return bad(key, "must be a number");
  return v.get<double>();
}

core::Result<std::string> ModelConfig::get_string(const std::string& key, const std::string& def) const {
  if (!has(key)) return def;
  const auto& v = j_[key];
  if (!v.is_string()) return bad(key, "must be a string");
  return v.get<std::string>();
}

core::Result<bool> ModelConfig::get_bool(const std::string& key, bool def) const {
  if (!has(key)) return def;
  const auto& v = j_[key];
  if (!v.is_boolean()) return bad(key, "must be true or false");
  return v.get<bool>();
}

std::string ModelConfig::architecture() const {
  auto it = j_.find("architectures");
  if (it == j_.end() || !it->is_array() || it->empty() || !(*it)[0].is_string()) return "";
  return (*it)[0].get<std::string>();
}

std::string ModelConfig::model_type() const {
  auto it = j_.find("model_type");
  if (it == j_.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace nlm::formats
