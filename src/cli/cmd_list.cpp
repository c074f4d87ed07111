// `nativelm list` and `nativelm rm`: the models in the local stores.
#include <cstdio>
#include <string>

#include "cli/cli.h"
#include "hub/cache.h"
#include "hub/names.h"
#include "hub/ollama.h"
#include "hub/settings.h"

namespace nlm::cli {
namespace {

std::string size_text(int64_t n) {
  char buf[32];
  if (n >= 1000000000) {
    std::snprintf(buf, sizeof(buf), "%.1f GB", static_cast<double>(n) / 1e9);
  } else if (n >= 1000000) {
    std::snprintf(buf, sizeof(buf), "%.1f MB", static_cast<double>(n) / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f kB", static_cast<double>(n) / 1e3);
  }
  return buf;
}

}  // namespace

int run_list(std::span<char*> args) {
  for (char* a : args) {
    if (is_help(a)) {
      std::printf(
          "Usage: nativelm list\n\nLists the models in the Hugging Face cache (HF_HUB_CACHE or HF_HOME/hub) and\n"
          "the GGUF models in the Ollama store (OLLAMA_MODELS or ~/.ollama/models), as model references.\n");
      return 0;
    }
    std::fprintf(stderr, "nativelm list: bad argument '%s'\n", a);
    return 2;
  }
  const hub::HubSettings settings = hub::settings_from_env();
  std::printf("%-50s %-14s %10s %6s  %s\n", "MODEL", "REVISION", "SIZE", "FILES", "PATH");
  for (const auto& s : hub::HubCache(settings.cache_dir).list()) {
    std::string id = s.repo_id;
    const std::string rev = s.refs.empty() ? s.commit.substr(0, 12) : s.refs.front();
    if (rev != hub::kDefaultRevision) id += "@" + rev;
    std::printf("%-50s %-14s %10s %6zu  %s\n", id.c_str(), s.commit.substr(0, 12).c_str(), size_text(s.size).c_str(),
                s.files.size(), s.path.c_str());
  }
  for (const auto& m : hub::list_ollama_models(hub::ollama_models_dir())) {
    std::printf("%-50s %-14s %10s %6d  %s\n", m.ref.c_str(), "-", size_text(m.size).c_str(), 1, m.blob_path.c_str());
  }
  return 0;
}

int run_rm(std::span<char*> args) {
  if (args.size() != 1 || is_help(args[0])) {
    std::printf("Usage: nativelm rm ORG/NAME[@REVISION]\n\nRemoves a model (or one revision of it) from the Hugging Face cache.\n");
    return args.size() == 1 ? 0 : 2;
  }
  const std::string text = args[0];
  auto ref = hub::parse_repo_ref(text);
  if (!ref.is_ok()) {
    std::fprintf(stderr, "nativelm rm: %s\n", ref.status().message().c_str());
    return 2;
  }
  const std::string revision = text.find('@') == std::string::npos ? std::string() : ref->revision;
  auto removed = hub::HubCache(hub::settings_from_env().cache_dir).remove(ref->repo_id, revision);
  if (!removed.is_ok()) {
    std::fprintf(stderr, "nativelm rm: %s\n", removed.status().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "removed %s (%zu snapshot%s)\n", text.c_str(), removed->size(), removed->size() == 1 ? "" : "s");
  return 0;
}

}  // namespace nlm::cli
