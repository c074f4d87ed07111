#pragma once
// Typed access to request fields: a missing or mistyped field is a clear `invalid_request`, never an
// exception escaping the handler.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace nlm::protocol {

using Json = nlohmann::json;

// Each getter returns the default (or std::nullopt) when the field is absent or null, and an
// invalid_request error naming the field when it has the wrong type or range.
core::Result<std::string> get_string(const Json& req, const char* key);  // required
core::Result<std::optional<std::string>> opt_string(const Json& req, const char* key);
core::Result<std::optional<bool>> opt_bool(const Json& req, const char* key);
core::Result<std::optional<int64_t>> opt_int(const Json& req, const char* key, int64_t min, int64_t max);
core::Result<std::optional<double>> opt_number(const Json& req, const char* key, double min, double max);
core::Result<std::optional<std::vector<std::string>>> opt_string_list(const Json& req, const char* key);
core::Result<std::optional<std::vector<int32_t>>> opt_token_list(const Json& req, const char* key);

}  // namespace nlm::protocol
