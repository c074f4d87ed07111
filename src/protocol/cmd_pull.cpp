// pull: a Hugging Face repository into the local cache, with progress events.
#include "hub/pull.h"
#include "hub/settings.h"
#include "protocol/commands.h"

namespace nlm::protocol {

// {"command":"pull","model":"org/name[@rev]","revision":"main","include":["*.json"]}
core::Result<Json> cmd_pull(CommandContext& ctx) {
  NLM_ASSIGN_OR_RETURN(std::string model, get_string(ctx.request, "model"));
  NLM_ASSIGN_OR_RETURN(std::optional<std::string> revision, opt_string(ctx.request, "revision"));
  NLM_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> include, opt_string_list(ctx.request, "include"));
  NLM_ASSIGN_OR_RETURN(hub::RepoRef ref, hub::parse_repo_ref(model));
  if (revision) {
    if (model.find('@') != std::string::npos && *revision != ref.revision) {
      return core::error(core::ErrorCode::kInvalidRequest,
                         "[hub] 'model' names revision " + ref.revision + " but 'revision' says " + *revision);
    }
    NLM_RETURN_IF_ERROR(hub::validate_revision(*revision));
    ref.revision = *revision;
  }
  hub::PullOptions opts;
  if (include) opts.include = *include;
  opts.cancelled = [&ctx] { return ctx.cancel.requested(); };
  opts.progress = [&ctx](const hub::PullProgress& p) {
    ctx.emit(Json{{"event", "progress"}, {"file", p.file}, {"completed", p.completed}, {"total", p.total}});
  };
  NLM_ASSIGN_OR_RETURN(hub::PullResult r, hub::pull(hub::settings_from_env(), ref, opts));
  Json files = Json::array();
  for (const auto& f : r.files) files.push_back({{"path", f.path}, {"size", f.size}});
  return Json{{"model", r.repo_id},      {"revision", r.revision},
              {"commit", r.commit},      {"path", r.snapshot_path},
              {"files", std::move(files)}, {"downloaded_bytes", r.downloaded_bytes},
              {"offline", r.offline}};
}

}  // namespace nlm::protocol
