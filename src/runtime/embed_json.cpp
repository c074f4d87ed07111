#include "runtime/embed_json.h"

#include <charconv>
#include <cmath>

namespace nlm::runtime {
namespace {
using core::ErrorCode;
using Json = nlohmann::json;

core::Status invalid(const std::string& what) { return core::error(ErrorCode::kInvalidRequest, "[embed] " + what); }

core::Result<std::vector<int32_t>> parse_ids(const Json& list, const std::string& where) {
  std::vector<int32_t> ids;
  for (const Json& v : list) {
    if (!v.is_number_integer()) return invalid(where + " must hold integer token ids");
    const int64_t id = v.get<int64_t>();
    if (id < 0 || id > INT32_MAX) return invalid(where + " holds token id " + std::to_string(id) + ", out of range");
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

struct Inputs {
  bool batch = false;
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> tokens;
  bool pretokenized = false;
};

core::Result<Inputs> parse_inputs(const Json& r) {
  Inputs in;
  const bool has_text = r.contains("text") && !r["text"].is_null();
  const bool has_texts = r.contains("texts") && !r["texts"].is_null();
  const bool has_tokens = r.contains("tokens") && !r["tokens"].is_null();
  if (has_text + has_texts + has_tokens != 1) return invalid("give exactly one of 'text', 'texts' or 'tokens'");
  if (has_text) {
    if (!r["text"].is_string()) return invalid("'text' must be a string");
    in.texts.push_back(r["text"].get<std::string>());
  } else if (has_texts) {
    if (!r["texts"].is_array()) return invalid("'texts' must be an array of strings");
    in.batch = true;
    for (const Json& t : r["texts"]) {
      if (!t.is_string()) return invalid("'texts' must be an array of strings");
      in.texts.push_back(t.get<std::string>());
    }
  } else {
    const Json& t = r["tokens"];
    if (!t.is_array()) return invalid("'tokens' must be an array of ids or an array of arrays of ids");
    in.pretokenized = true;
    in.batch = !t.empty() && t[0].is_array();
    if (in.batch) {
      for (size_t i = 0; i < t.size(); ++i) {
        if (!t[i].is_array()) return invalid("'tokens' mixes arrays and ids");
        NLM_ASSIGN_OR_RETURN(auto ids, parse_ids(t[i], "'tokens'[" + std::to_string(i) + "]"));
        in.tokens.push_back(std::move(ids));
      }
    } else {
      NLM_ASSIGN_OR_RETURN(auto ids, parse_ids(t, "'tokens'"));
      in.tokens.push_back(std::move(ids));
    }
  }
  return in;
}

core::Result<EmbedOptions> parse_options(const Json& r, bool* base64) {
  EmbedOptions o;
  auto get = [&](const char* k) -> const Json* {
    auto it = r.find(k);
    return it == r.end() || it->is_null() ? nullptr : &*it;
  };
  if (const Json* v = get("normalize")) {
    if (!v->is_boolean()) return invalid("'normalize' must be true or false");
    o.normalize = v->get<bool>();
  }
  if (const Json* v = get("truncate")) {
    if (!v->is_boolean()) return invalid("'truncate' must be true or false");
    o.truncate = v->get<bool>();
  }
  if (const Json* v = get("pooling")) {
    const std::string p = v->is_string() ? v->get<std::string>() : "";
    if (p == "mean") o.pooling = EmbedPooling::kMean;
    else if (p == "cls") o.pooling = EmbedPooling::kCls;
    else if (p == "max") o.pooling = EmbedPooling::kMax;
    else if (p == "last" || p == "lasttoken") o.pooling = EmbedPooling::kLast;
    else if (p == "mean_sqrt_len_tokens") o.pooling = EmbedPooling::kMeanSqrtLen;
    else if (p == "none") o.pooling = EmbedPooling::kNone;
    else return invalid("'pooling' must be one of mean, cls, max, last, none");
  }
  if (const Json* v = get("dimensions")) {
    if (!v->is_number_integer() || v->get<int64_t>() < 1) return invalid("'dimensions' must be a positive integer");
    o.dimensions = v->get<int64_t>();
  }
  for (const char* k : {"prompt", "prompt_name"}) {
    if (const Json* v = get(k)) {
      if (!v->is_string()) return invalid(std::string("'") + k + "' must be a string");
      (std::string(k) == "prompt" ? o.prompt : o.prompt_name) = v->get<std::string>();
    }
  }
  *base64 = false;
  if (const Json* v = get("encoding")) {
    if (!v->is_string() || (*v != "float" && *v != "base64")) return invalid("'encoding' must be \"float\" or \"base64\"");
    *base64 = *v == "base64";
  }
  return o;
}

std::string_view pooling_name(EmbedPooling p) {
  switch (p) {
    case EmbedPooling::kMean: return "mean";
    case EmbedPooling::kCls: return "cls";
    case EmbedPooling::kMax: return "max";
    case EmbedPooling::kMeanSqrtLen: return "mean_sqrt_len_tokens";
    case EmbedPooling::kLast: return "last";
    case EmbedPooling::kNone: return "none";
  }
  return "?";
}

Json vector_json(const float* v, int64_t n, bool base64) {
  if (base64) return base64_encode(v, static_cast<size_t>(n) * sizeof(float));
  Json a = Json::array();
  a.get_ref<Json::array_t&>().reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) a.push_back(compact_float(v[i]));
  return a;
}

// One input's embedding: a vector, or per token a list of vectors (pooling none).
Json output_json(const EmbedOutput& out, size_t i, bool base64) {
  const auto& v = out.vectors[i];
  if (out.pooling != EmbedPooling::kNone) return vector_json(v.data(), out.dimensions, base64);
  Json rows = Json::array();
  for (int64_t t = 0; t < out.tokens[i]; ++t) rows.push_back(vector_json(v.data() + t * out.dimensions, out.dimensions, base64));
  return rows;
}
}  // namespace

Json compact_float(float v) {
  if (!std::isfinite(v)) return nullptr;  // JSON has no NaN / inf
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  double d = 0;
  std::from_chars(buf, r.ptr, d);
  return d;
}

std::string base64_encode(const void* data, size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const uint8_t*>(data);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t b = (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    out.push_back(kAlphabet[(b >> 18) & 63]);
    out.push_back(kAlphabet[(b >> 12) & 63]);
    out.push_back(i + 1 < n ? kAlphabet[(b >> 6) & 63] : '=');
    out.push_back(i + 2 < n ? kAlphabet[b & 63] : '=');
  }
  return out;
}

core::Result<Json> embed_request(Engine& engine, const Json& request, const CancelFn& cancelled,
                                 const ProgressFn& progress) {
  std::string model_ref;
  if (auto it = request.find("model"); it != request.end() && !it->is_null()) {
    if (!it->is_string()) return invalid("'model' must be a string");
    model_ref = it->get<std::string>();
  }
  NLM_ASSIGN_OR_RETURN(Inputs in, parse_inputs(request));
  bool base64 = false;
  NLM_ASSIGN_OR_RETURN(EmbedOptions options, parse_options(request, &base64));
  NLM_ASSIGN_OR_RETURN(ResolvedModel resolved, engine.resolve(model_ref, progress));
  NLM_ASSIGN_OR_RETURN(auto embedder, engine.get_or_load<Embedder>(
                                          resolved.path, [&] { return load_embedder(resolved.path); }, "encoder"));
  NLM_ASSIGN_OR_RETURN(EmbedOutput out, embed_texts(*embedder, in.pretokenized ? nullptr : &in.texts,
                                                    in.pretokenized ? &in.tokens : nullptr, options, cancelled));
  Json body = Json::object();
  if (in.batch) {
    Json all = Json::array();
    for (size_t i = 0; i < out.vectors.size(); ++i) all.push_back(output_json(out, i, base64));
    body["embeddings"] = std::move(all);
    body["tokens"] = out.tokens;
    body["truncated"] = out.truncated;
  } else {
    body["embeddings"] = output_json(out, 0, base64);
    body["tokens"] = out.tokens[0];
    body["truncated"] = static_cast<bool>(out.truncated[0]);
  }
  body["dimensions"] = out.dimensions;
  body["model"] = model_ref;
  body["pooling"] = std::string(pooling_name(out.pooling));
  body["normalized"] = out.normalized;
  if (base64) body["encoding"] = "base64";
  return body;
}

}  // namespace nlm::runtime
