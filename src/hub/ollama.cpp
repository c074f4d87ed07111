#include "hub/ollama.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "hub/names.h"

namespace nlm::hub {
namespace fs = std::filesystem;
namespace {
using core::ErrorCode;

constexpr const char* kRegistry = "registry.ollama.ai";
constexpr const char* kLibrary = "library";
constexpr const char* kModelLayer = "application/vnd.ollama.image.model";
constexpr size_t kMaxManifest = 1 << 20;

bool safe_part(const std::string& s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

// The model layer of a manifest file, or an error naming what is wrong.
core::Result<OllamaModel> read_manifest(const std::string& models_dir, const fs::path& manifest) {
  std::error_code ec;
  const auto size = fs::file_size(manifest, ec);
  if (ec || size > kMaxManifest) return core::error(ErrorCode::kModelNotFound, "[ollama] no manifest " + manifest.string());
  std::ifstream in(manifest);
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("layers") || !j["layers"].is_array()) {
    return core::error(ErrorCode::kModelLoadFailed, "[ollama] malformed manifest " + manifest.string());
  }
  for (const auto& layer : j["layers"]) {
    if (!layer.is_object() || layer.value("mediaType", "") != kModelLayer) continue;
    const std::string digest = layer.value("digest", "");
    if (digest.size() != 71 || digest.rfind("sha256:", 0) != 0 || !is_hex(digest.substr(7))) {
      return core::error(ErrorCode::kModelLoadFailed, "[ollama] bad layer digest in " + manifest.string());
    }
    OllamaModel m;
    for (const std::string& name : {"sha256-" + digest.substr(7), digest}) {  // new and old blob names
      const fs::path blob = fs::path(models_dir) / "blobs" / name;
      if (fs::is_regular_file(blob, ec)) {
        m.blob_path = blob.string();
        m.size = static_cast<int64_t>(fs::file_size(blob, ec));
        return m;
      }
    }
    return core::error(ErrorCode::kModelNotFound, "[ollama] the model blob " + digest + " of " + manifest.string() +
                                                      " is missing");
  }
  return core::error(ErrorCode::kModelLoadFailed, "[ollama] " + manifest.string() + " has no model layer");
}

std::string short_ref(const std::vector<std::string>& parts) {  // registry, namespace, model, tag
  std::string name = parts[2];
  if (parts[1] != kLibrary || parts[0] != kRegistry) name = parts[1] + "/" + name;
  if (parts[0] != kRegistry) name = parts[0] + "/" + name;
  return "ollama:" + name + ":" + parts[3];
}

}  // namespace

std::vector<OllamaModel> list_ollama_models(const std::string& models_dir) {
  std::vector<OllamaModel> out;
  const fs::path root = fs::path(models_dir) / "manifests";
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it.depth() != 3 || !it->is_regular_file(ec)) continue;
    std::vector<std::string> parts;
    for (const auto& p : fs::relative(it->path(), root, ec)) parts.push_back(p.string());
    if (parts.size() != 4 || !std::all_of(parts.begin(), parts.end(), safe_part)) continue;
    auto m = read_manifest(models_dir, it->path());
    if (!m.is_ok()) continue;
    m->ref = short_ref(parts);
    out.push_back(std::move(m).value());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ref < b.ref; });
  return out;
}

core::Result<OllamaModel> resolve_ollama(const std::string& models_dir, const std::string& name) {
  std::string model = name, tag = "latest";
  const size_t colon = name.rfind(':');
  if (colon != std::string::npos) {
    model = name.substr(0, colon);
    tag = name.substr(colon + 1);
  }
  std::vector<std::string> parts = split(model, '/');
  if (parts.size() == 1) parts.insert(parts.begin(), kLibrary);
  if (parts.size() == 2) parts.insert(parts.begin(), kRegistry);
  parts.push_back(tag);
  if (parts.size() != 4 || !std::all_of(parts.begin(), parts.end(), safe_part)) {
    return core::error(ErrorCode::kInvalidRequest, "[ollama] invalid model name '" + name.substr(0, 200) + "'");
  }
  const fs::path manifest = fs::path(models_dir) / "manifests" / parts[0] / parts[1] / parts[2] / parts[3];
  std::error_code ec;
  if (!fs::is_regular_file(manifest, ec)) {
    return core::error(ErrorCode::kModelNotFound, "[ollama] model '" + name + "' is not in the Ollama store (" +
                                                      models_dir + "); run `ollama pull " + name + "` first");
  }
  auto m = read_manifest(models_dir, manifest);
  if (!m.is_ok()) return m.status();
  m->ref = short_ref(parts);
  return m;
}

}  // namespace nlm::hub
