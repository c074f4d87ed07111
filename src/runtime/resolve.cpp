// Model references → paths on disk: a folder or file, "" (the default model), "ollama:NAME[:TAG]" (a
// GGUF blob of the Ollama store) or a Hub id "org/name[@rev]" (a snapshot of the Hugging Face cache,
// pulled on first use when the engine allows downloads).
#include <filesystem>

#include "hub/names.h"
#include "hub/ollama.h"
#include "hub/pull.h"
#include "hub/settings.h"
#include "runtime/engine.h"

namespace nlm::runtime {
namespace {

core::Result<ResolvedModel> resolve_hub(const std::string& ref, bool allow_download, const ProgressFn& progress) {
  NLM_ASSIGN_OR_RETURN(hub::RepoRef rr, hub::parse_repo_ref(ref));
  const hub::HubSettings settings = hub::settings_from_env();
  hub::HubCache cache(settings.cache_dir);
  if (auto snap = cache.find_snapshot(rr.repo_id, rr.revision)) return ResolvedModel{ref, *snap};
  if (!allow_download || settings.offline) {
    return core::error(core::ErrorCode::kModelNotFound,
                       "[hub] model '" + ref + "' is not in the cache (" + settings.cache_dir + "); run `nativelm pull " +
                           ref + "` first" +
                           (settings.offline ? std::string(" (HF_HUB_OFFLINE is set)")
                                             : std::string(", or start the server with --allow-download")));
  }
  hub::PullOptions opts;
  if (progress) {
    opts.progress = [&](const hub::PullProgress& p) {
      progress(nlohmann::json{{"event", "progress"}, {"model", ref}, {"file", p.file}, {"completed", p.completed},
                              {"total", p.total}});
    };
  }
  NLM_ASSIGN_OR_RETURN(hub::PullResult pulled, hub::pull(settings, rr, opts));
  return ResolvedModel{ref, pulled.snapshot_path};
}

}  // namespace

core::Result<ResolvedModel> Engine::resolve(const std::string& ref, const ProgressFn& progress) {
  namespace fs = std::filesystem;
  if (ref.empty()) {
    if (options_.default_model_dir.empty()) {
      return core::error(core::ErrorCode::kModelNotFound, "[engine] no model given and no default model installed");
    }
    return ResolvedModel{"", options_.default_model_dir};
  }
  if (ref.rfind("ollama:", 0) == 0) {
    NLM_ASSIGN_OR_RETURN(hub::OllamaModel m, hub::resolve_ollama(hub::ollama_models_dir(), ref.substr(7)));
    return ResolvedModel{ref, m.blob_path};
  }
  std::error_code ec;
  if (fs::exists(ref, ec)) return ResolvedModel{ref, fs::absolute(ref, ec).string()};
  if (hub::looks_like_repo_ref(ref)) return resolve_hub(ref, options_.allow_download, progress);
  return core::error(core::ErrorCode::kModelNotFound, "[engine] model '" + ref + "' not found (not a file or folder)");
}

}  // namespace nlm::runtime
