#include "protocol/fields.h"

#include <cmath>
#include <limits>

namespace nlm::protocol {
namespace {
using core::ErrorCode;

core::Status type_error(const char* key, const char* want) {
  return core::error(ErrorCode::kInvalidRequest, std::string("field '") + key + "' must be " + want);
}
const Json* find(const Json& req, const char* key) {
  auto it = req.find(key);
  if (it == req.end() || it->is_null()) return nullptr;
  return &*it;
}
}  // namespace

core::Result<std::string> get_string(const Json& req, const char* key) {
  const Json* v = find(req, key);
  if (!v) return core::error(ErrorCode::kInvalidRequest, std::string("missing field '") + key + "'");
  if (!v->is_string()) return type_error(key, "a string");
  return v->get<std::string>();
}

core::Result<std::optional<std::string>> opt_string(const Json& req, const char* key) {
  const Json* v = find(req, key);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) return type_error(key, "a string");
  return std::optional<std::string>(v->get<std::string>());
}

core::Result<std::optional<bool>> opt_bool(const Json& req, const char* key) {
  const Json* v = find(req, key);
  if (!v) return std::optional<bool>();
  if (!v->is_boolean()) return type_error(key, "true or false");
  return std::optional<bool>(v->get<bool>());
}

core::Result<std::optional<int64_t>> opt_int(const Json& req, const char* key, int64_t min, int64_t max) {
  const Json* v = find(req, key);
  if (!v) return std::optional<int64_t>();
  int64_t x = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(max)) {
      return type_error(key, ("an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]").c_str());
    }
    x = v->get<int64_t>();
  } else if (v->is_number_float() && std::isfinite(v->get<double>()) && v->get<double>() == std::floor(v->get<double>()) &&
             std::fabs(v->get<double>()) < 9.0e15) {
    x = static_cast<int64_t>(v->get<double>());
  } else {
    return type_error(key, "an integer");
  }
  if (x < min || x > max) {
    return type_error(key, ("an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]").c_str());
  }
  return std::optional<int64_t>(x);
}

core::Result<std::optional<double>> opt_number(const Json& req, const char* key, double min, double max) {
  const Json* v = find(req, key);
  if (!v) return std::optional<double>();
  if (!v->is_number()) return type_error(key, "a number");
  double x = v->get<double>();
  if (!(x >= min && x <= max)) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), "a number in [%g, %g]", min, max);
    return type_error(key, buf);
  }
  return std::optional<double>(x);
}

core::Result<std::optional<std::vector<std::string>>> opt_string_list(const Json& req, const char* key) {
  const Json* v = find(req, key);
  if (!v) return std::optional<std::vector<std::string>>();
  if (!v->is_array()) return type_error(key, "an array of strings");
  std::vector<std::string> out;
  out.reserve(v->size());
  for (const Json& e : *v) {
    if (!e.is_string()) return type_error(key, "an array of strings");
    out.push_back(e.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

core::Result<std::optional<std::vector<int32_t>>> opt_token_list(const Json& req, const char* key) {
  const Json* v = find(req, key);
  if (!v) return std::optional<std::vector<int32_t>>();
  if (!v->is_array()) return type_error(key, "an array of token ids");
  std::vector<int32_t> out;
  out.reserve(v->size());
  for (const Json& e : *v) {
    if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      return type_error(key, "an array of non-negative integer token ids");
    }
    out.push_back(static_cast<int32_t>(e.get<int64_t>()));
  }
  return std::optional<std::vector<int32_t>>(std::move(out));
}

}  // namespace nlm::protocol
