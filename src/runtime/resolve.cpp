// Model references → paths on disk. Hub ids and Ollama names arrive with the store (src/hub).
#include <filesystem>

#include "runtime/engine.h"

namespace nlm::runtime {

core::Result<ResolvedModel> Engine::resolve(const std::string& ref, const ProgressFn& progress) {
  namespace fs = std::filesystem;
  (void)progress;
  if (ref.empty()) {
    if (options_.default_model_dir.empty()) {
      return core::error(core::ErrorCode::kModelNotFound, "[engine] no model given and no default model installed");
    }
    return ResolvedModel{"", options_.default_model_dir};
  }
  std::error_code ec;
  if (fs::exists(ref, ec)) return ResolvedModel{ref, fs::absolute(ref, ec).string()};
  return core::error(core::ErrorCode::kModelNotFound, "[engine] model '" + ref + "' not found (not a file or folder)");
}

}  // namespace nlm::runtime
