#pragma once
// Models already downloaded by Ollama: manifests/<registry>/<namespace>/<model>/<tag> (JSON, OCI-like)
// name blobs/sha256-<hex>; the layer with mediaType application/vnd.ollama.image.model is a GGUF file.
// References are "ollama:NAME[:TAG]" with NAME "model", "namespace/model" or "registry/namespace/model".
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace nlm::hub {

struct OllamaModel {
  std::string ref;        // "ollama:llama3.2:latest" (the short form for the default registry/namespace)
  std::string blob_path;  // the GGUF blob
  int64_t size = 0;
};

// Every model in the store whose manifest names an existing model layer, sorted by ref.
std::vector<OllamaModel> list_ollama_models(const std::string& models_dir);

// `name` is what follows "ollama:". model_not_found when the manifest or its model layer is missing.
core::Result<OllamaModel> resolve_ollama(const std::string& models_dir, const std::string& name);

}  // namespace nlm::hub
