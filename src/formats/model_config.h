#pragma once
// config.json (and other small JSON files of a model folder) read with typed, error-reporting getters.
// A missing file or malformed JSON is kModelLoadFailed naming the file; a key of the wrong type is
// kModelLoadFailed naming the key.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace nlm::formats {

// Reads a JSON file (any value). kModelLoadFailed when unreadable or malformed.
core::Result<nlohmann::json> read_json_file(const std::string& path);

class ModelConfig {
 public:
  // `path` is config.json itself or the folder holding it.
  static core::Result<ModelConfig> load(const std::string& path);
  static ModelConfig from_json(nlohmann::json j, std::string source);

  const nlohmann::json& json() const { return j_; }
  const std::string& source() const { return source_; }
  bool has(const std::string& key) const { return j_.contains(key) && !j_[key].is_null(); }

  // Required keys: an error naming the key when absent or of the wrong type.
  core::Result<int64_t> require_int(const std::string& key) const;
  core::Result<double> require_float(const std::string& key) const;
  core::Result<std::string> require_string(const std::string& key) const;
  // Optional keys: `def` when absent or null; an error when present with the wrong type.
  core::Result<int64_t> get_int(const std::string& key, int64_t def) const;
  core::Result<double> get_float(const std::string& key, double def) const;
  core::Result<std::string> get_string(const std::string& key, const std::string& def) const;
  core::Result<bool> get_bool(const std::string& key, bool def) const;

  // "architectures"[0], or "" when absent.
  std::string architecture() const;
  // "model_type", or "" when absent.
  std::string model_type() const;

 private:
  core::Status bad(const std::string& key, const char* want) const;
  nlohmann::json j_;
  std::string source_;
};

}  // namespace nlm::formats
