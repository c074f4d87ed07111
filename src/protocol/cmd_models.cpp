// models, delete: what the local stores hold (the Hugging Face cache and Ollama's), and removal from ours.
#include "hub/cache.h"
#include "hub/names.h"
#include "hub/ollama.h"
#include "hub/settings.h"
#include "protocol/commands.h"
#include "runtime/engine.h"

namespace nlm::protocol {

// {"command":"models"} → {"models":[{"id","revision","refs","commit","path","size","files","loaded","source"}]}
core::Result<Json> cmd_models(CommandContext& ctx) {
  const hub::HubSettings settings = hub::settings_from_env();
  Json models = Json::array();
  for (const auto& s : hub::HubCache(settings.cache_dir).list()) {
    models.push_back({{"id", s.repo_id},
                      {"revision", s.refs.empty() ? s.commit : s.refs.front()},
                      {"refs", s.refs},
                      {"commit", s.commit},
                      {"path", s.path},
                      {"size", s.size},
                      {"files", s.files.size()},
                      {"loaded", ctx.engine.is_loaded(s.path)},
                      {"source", "huggingface"}});
  }
  for (const auto& m : hub::list_ollama_models(hub::ollama_models_dir())) {
    models.push_back({{"id", m.ref},
                      {"path", m.blob_path},
                      {"size", m.size},
                      {"files", 1},
                      {"loaded", ctx.engine.is_loaded(m.blob_path)},
                      {"source", "ollama"}});
  }
  return Json{{"models", std::move(models)}, {"cache_dir", settings.cache_dir}};
}

// {"command":"delete","model":"org/name[@rev]"}: the whole repository, or one revision's snapshot.
core::Result<Json> cmd_delete(CommandContext& ctx) {
  NLM_ASSIGN_OR_RETURN(std::string model, get_string(ctx.request, "model"));
  if (model.rfind("ollama:", 0) == 0) {
    return core::error(core::ErrorCode::kUnsupported,
                       "[hub] models in the Ollama store are Ollama's: remove them with `ollama rm " + model.substr(7) + "`");
  }
  NLM_ASSIGN_OR_RETURN(hub::RepoRef ref, hub::parse_repo_ref(model));
  const std::string revision = model.find('@') == std::string::npos ? std::string() : ref.revision;
  const hub::HubCache cache(hub::settings_from_env().cache_dir);
  NLM_ASSIGN_OR_RETURN(std::vector<std::string> removed, cache.remove(ref.repo_id, revision));
  for (const auto& path : removed) ctx.engine.evict(path);
  return Json{{"model", model}, {"deleted", removed}};
}

}  // namespace nlm::protocol
