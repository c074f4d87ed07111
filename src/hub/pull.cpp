#include "hub/pull.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fnmatch.h>
#include <map>
#include <mutex>
#include <set>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>

#include "core/log.h"
#include "hub/api.h"
#include "hub/download.h"
#include "hub/http.h"

namespace nlm::hub {
namespace fs = std::filesystem;
namespace {
using core::ErrorCode;

constexpr int64_t kDiskMargin = 64 << 20;

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A sentence-transformers module folder: "1_Pooling", "2_Dense", "3_Normalize".
bool is_module_folder(std::string_view dir) {
  size_t i = 0;
  while (i < dir.size() && std::isdigit(static_cast<unsigned char>(dir[i]))) ++i;
  return i > 0 && i + 1 < dir.size() && dir[i] == '_' && dir.find('/') == std::string_view::npos;
}

// Tracks per-file progress and forwards it, throttled and serialized.
class ProgressRelay {
 public:
  explicit ProgressRelay(const std::function<void(const PullProgress&)>& fn) : fn_(fn) {}
  void update(const std::string& file, int64_t completed, int64_t total, bool force) {
    if (!fn_) return;
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    auto& last = last_[file];
    if (!force && completed < total && now - last < std::chrono::milliseconds(100)) return;
    last = now;
    fn_(PullProgress{file, completed, total});
  }

 private:
  const std::function<void(const PullProgress&)>& fn_;
  std::mutex mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_;
};

core::Result<std::vector<RepoFile>> select_files(const RepoRef& ref, const std::vector<RepoFile>& all,
                                                 const std::vector<std::string>& include) {
  std::vector<RepoFile> out;
  std::vector<RepoFile> ggufs;
  for (const RepoFile& f : all) {
    bool want = false;
    if (include.empty()) {
      want = wanted_by_engine(f.path);
      if (ends_with(f.path, ".gguf")) ggufs.push_back(f);
    } else {
      for (const auto& pattern : include) want = want || ::fnmatch(pattern.c_str(), f.path.c_str(), 0) == 0;
    }
    if (want) out.push_back(f);
  }
  const bool has_weights = std::any_of(out.begin(), out.end(), [](const RepoFile& f) { return ends_with(f.path, ".safetensors") || ends_with(f.path, ".gguf"); });
  if (include.empty() && !has_weights && !ggufs.empty()) {
    if (ggufs.size() > 1) {
      std::string names;
      for (const auto& g : ggufs) names += (names.empty() ? "" : ", ") + g.path;
      return core::error(ErrorCode::kInvalidRequest, "[hub] " + ref.repo_id + " holds several GGUF files (" +
                                                         names.substr(0, 600) + "); choose one with include");
    }
    out.push_back(ggufs.front());
  }
  if (out.empty()) {
    return core::error(ErrorCode::kModelNotFound,
                       "[hub] " + ref.repo_id + "@" + ref.revision + " has no file this engine can use");
  }
  return out;
}

core::Status check_free_space(const std::string& dir, int64_t needed) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return core::Status::ok();  // unknown: let the writes tell
  const auto free_bytes = static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
  if (needed + kDiskMargin > free_bytes) {
    return core::error(ErrorCode::kIoError, "[hub] not enough disk space in " + dir + ": the download needs " +
                                                std::to_string(needed) + " bytes, " + std::to_string(free_bytes) +
                                                " are free");
  }
  return core::Status::ok();
}

// Symlinks snapshots/<commit>/<path> → ../../blobs/<etag> for every file, atomically: a new snapshot is
// built in a staging folder and renamed into place; files added to an existing snapshot are each
// linked under a temporary name and renamed.
core::Status install_snapshot(const HubCache& cache, const std::string& repo_id, const std::string& commit,
                              const std::map<std::string, std::string>& etags) {
  std::error_code ec;
  const fs::path snap = cache.snapshot_dir(repo_id, commit);
  const std::string tag = std::to_string(::getpid()) + "-" +
                          std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()) % 1000000);
  if (!fs::exists(snap, ec)) {
    const fs::path staging = fs::path(cache.repo_dir(repo_id)) / ".nlm-staging" / (commit + "-" + tag);
    fs::remove_all(staging, ec);
    fs::create_directories(staging, ec);
    for (const auto& [path, etag] : etags) {
      const fs::path link = staging / path;
      fs::create_directories(link.parent_path(), ec);
      fs::create_symlink(blob_link_target(path, etag), link, ec);
      if (ec) return core::error(ErrorCode::kIoError, "[hub] cannot link " + link.string() + ": " + ec.message());
    }
    fs::create_directories(snap.parent_path(), ec);
    fs::rename(staging, snap, ec);
    fs::remove(staging.parent_path(), ec);  // only when empty
    if (!fs::exists(staging)) return core::Status::ok();
    fs::remove_all(staging, ec);  // lost a race with another pull: merge below
  }
  for (const auto& [path, etag] : etags) {
    const fs::path link = snap / path;
    fs::create_directories(link.parent_path(), ec);
    if (!path_within(snap.string(), link.parent_path().string())) {
      return core::error(ErrorCode::kIoError, "[hub] " + link.parent_path().string() + " leaves the snapshot folder");
    }
    if (fs::is_symlink(link, ec) && fs::read_symlink(link, ec).string() == blob_link_target(path, etag)) continue;
    const fs::path tmp = link.string() + ".nlm-" + tag;
    fs::remove(tmp, ec);
    fs::create_symlink(blob_link_target(path, etag), tmp, ec);
    if (!ec) fs::rename(tmp, link, ec);
    if (ec) return core::error(ErrorCode::kIoError, "[hub] cannot link " + link.string() + ": " + ec.message());
  }
  return core::Status::ok();
}

core::Result<PullResult> from_cache(const HubCache& cache, const RepoRef& ref) {
  auto snap = cache.find_snapshot(ref.repo_id, ref.revision);
  if (!snap) {
    return core::error(ErrorCode::kModelNotFound, "[hub] HF_HUB_OFFLINE is set and " + ref.repo_id + "@" +
                                                      ref.revision + " is not in the cache (" + cache.root() + ")");
  }
  PullResult out;
  out.repo_id = ref.repo_id;
  out.revision = ref.revision;
  out.commit = fs::path(*snap).filename().string();
  out.snapshot_path = *snap;
  out.offline = true;
  for (const auto& s : cache.list()) {
    if (s.repo_id == ref.repo_id && s.commit == out.commit) out.files = s.files;
  }
  return out;
}

struct Work {
  RepoFile file;
  std::string etag;  // filled by the worker
  bool cached = false;
};

core::Status fetch_one(const HttpClient& http, const HubSettings& s, const HubCache& cache, const RepoRef& ref,
                       const std::string& commit, Work& w, ProgressRelay& relay, const std::function<bool()>& cancelled,
                       std::atomic<int64_t>& downloaded) {
  NLM_ASSIGN_OR_RETURN(FileMeta meta, fetch_file_meta(http, s, ref.repo_id, commit, w.file.path));
  if (!meta.commit.empty() && meta.commit != commit) {
    return core::error(ErrorCode::kDownloadFailed, "[hub] " + w.file.path + ": the server answered for commit " +
                                                       meta.commit + " instead of " + commit);
  }
  w.etag = meta.etag;
  BlobJob job{resolve_url(s, ref.repo_id, commit, w.file.path), cache.blob_path(ref.repo_id, meta.etag), meta.etag,
              meta.size, w.file.path};
  NLM_ASSIGN_OR_RETURN(BlobOutcome got, download_blob(http, s, job, [&](int64_t done) {
    relay.update(w.file.path, done, meta.size, false);
  }, cancelled));
  downloaded += got.fetched;
  relay.update(w.file.path, meta.size, meta.size, true);
  return core::Status::ok();
}

core::Status run_parallel(const HubSettings& s, std::vector<Work>& work,
                          const std::function<core::Status(Work&)>& fn, const std::function<bool()>& cancelled,
                          std::atomic<bool>& stop) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  core::Status first = core::Status::ok();
  auto loop = [&] {
    for (;;) {
      const size_t i = next++;
      if (i >= work.size() || stop.load() || (cancelled && cancelled())) return;
      if (work[i].cached) continue;
      core::Status st = fn(work[i]);
      if (!st.is_ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.is_ok()) first = std::move(st);
        stop = true;
      }
    }
  };
  const int n = std::clamp<int>(s.parallel, 1, static_cast<int>(std::max<size_t>(work.size(), 1)));
  std::vector<std::thread> threads;
  for (int t = 1; t < n; ++t) threads.emplace_back(loop);
  loop();
  for (auto& t : threads) t.join();
  if (first.is_ok() && cancelled && cancelled()) {
    return core::error(ErrorCode::kCancelled, "[hub] pull cancelled");
  }
  return first;
}

}  // namespace

bool wanted_by_engine(const std::string& path) {
  static const std::set<std::string> kNames = {
      "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
      "special_tokens_map.json", "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt",
      "tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "chat_template.json", "chat_template.jinja",
      "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
      "model.safetensors.index.json", "preprocessor_config.json"};
  const size_t slash = path.rfind('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const bool ok_file = kNames.count(base) > 0 || ends_with(base, ".safetensors");
  if (slash == std::string::npos) return ok_file;
  return ok_file && is_module_folder(std::string_view(path).substr(0, slash));
}

core::Result<PullResult> pull(const HubSettings& s, const RepoRef& ref, const PullOptions& options) {
  NLM_RETURN_IF_ERROR(validate_repo_id(ref.repo_id));
  NLM_RETURN_IF_ERROR(validate_revision(ref.revision));
  HubCache cache(s.cache_dir);
  if (s.offline) return from_cache(cache, ref);
  HttpClient http(s);
  NLM_ASSIGN_OR_RETURN(RepoInfo info, fetch_repo_info(http, s, ref));
  NLM_ASSIGN_OR_RETURN(std::vector<RepoFile> files, select_files(ref, info.files, options.include));
  ProgressRelay relay(options.progress);
  std::vector<Work> work;
  int64_t needed = 0;
  for (RepoFile& f : files) {
    Work w{std::move(f), "", false};
    w.cached = cache.has_file(ref.repo_id, info.commit, w.file.path);
    if (w.cached) {
      std::error_code ec;
      const auto size = static_cast<int64_t>(fs::file_size(fs::path(cache.snapshot_dir(ref.repo_id, info.commit)) / w.file.path, ec));
      relay.update(w.file.path, size, size, true);
    } else {
      needed += std::max<int64_t>(w.file.size, 0);
    }
    work.push_back(std::move(w));
  }
  std::error_code ec;
  const std::string blobs = (fs::path(cache.repo_dir(ref.repo_id)) / "blobs").string();
  fs::create_directories(blobs, ec);
  if (ec) return core::error(ErrorCode::kIoError, "[hub] cannot create " + blobs + ": " + ec.message());
  NLM_RETURN_IF_ERROR(check_free_space(blobs, needed));
  std::atomic<int64_t> downloaded{0};
  std::atomic<bool> stop{false};
  // One failed file stops the others: their transfers see `stop` as a cancel.
  const std::function<bool()> cancelled = [&] { return stop.load() || (options.cancelled && options.cancelled()); };
  NLM_RETURN_IF_ERROR(run_parallel(s, work, [&](Work& w) {
    return fetch_one(http, s, cache, ref, info.commit, w, relay, cancelled, downloaded);
  }, options.cancelled, stop));
  std::map<std::string, std::string> etags;
  for (const Work& w : work) {
    if (!w.cached) etags[w.file.path] = w.etag;
  }
  if (!etags.empty() || !fs::exists(cache.snapshot_dir(ref.repo_id, info.commit), ec)) {
    NLM_RETURN_IF_ERROR(install_snapshot(cache, ref.repo_id, info.commit, etags));
  }
  if (ref.revision != info.commit) NLM_RETURN_IF_ERROR(cache.write_ref(ref.repo_id, ref.revision, info.commit));
  PullResult out;
  out.repo_id = ref.repo_id;
  out.revision = ref.revision;
  out.commit = info.commit;
  out.snapshot_path = cache.snapshot_dir(ref.repo_id, info.commit);
  out.downloaded_bytes = downloaded.load();
  for (const Work& w : work) {
    const auto size = static_cast<int64_t>(fs::file_size(fs::path(out.snapshot_path) / w.file.path, ec));
    out.files.push_back({w.file.path, ec ? 0 : size});
  }
  log_info("[hub] %s@%s: commit %s, %zu files, %lld bytes downloaded", ref.repo_id.c_str(), ref.revision.c_str(),
           info.commit.c_str(), out.files.size(), static_cast<long long>(out.downloaded_bytes));
  return out;
}

}  // namespace nlm::hub
