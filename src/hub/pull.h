#pragma once
// `pull`: a Hub repository at a revision → a complete snapshot in the cache. Only the files the engine
// uses are fetched (configs, tokenizer files, safetensors, sentence-transformers module configs), in
// parallel; free disk space is checked first; the snapshot folder and the ref appear only once every
// blob is verified, so a half-downloaded model is never loadable.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "hub/cache.h"
#include "hub/names.h"
#include "hub/settings.h"

namespace nlm::hub {

struct PullProgress {
  std::string file;
  int64_t completed = 0;
  int64_t total = 0;
};

struct PullOptions {
  std::vector<std::string> include;  // glob patterns (fnmatch); empty: the files the engine uses
  // Called from worker threads, one call at a time, at most every ~100 ms per file plus once at the end.
  std::function<void(const PullProgress&)> progress;
  std::function<bool()> cancelled;  // polled while downloading; true aborts with `cancelled`
};

struct PullResult {
  std::string repo_id;
  std::string revision;
  std::string commit;
  std::string snapshot_path;
  std::vector<CachedFile> files;
  int64_t downloaded_bytes = 0;  // fetched over the network by this pull
  bool offline = false;          // served from the cache without touching the network
};

core::Result<PullResult> pull(const HubSettings& s, const RepoRef& ref, const PullOptions& options);

// The default file filter: what the engine can load.
bool wanted_by_engine(const std::string& path);

}  // namespace nlm::hub
