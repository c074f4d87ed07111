#include "hub/cache.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "hub/names.h"

namespace nlm::hub {
namespace fs = std::filesystem;
namespace {
using core::ErrorCode;

std::string read_small_file(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// "models--org--name" -> "org/name"; "" when the folder is not a model repo.
std::string repo_id_from_folder(const std::string& folder) {
  const std::string prefix = "models--";
  if (folder.rfind(prefix, 0) != 0) return {};
  std::string rest = folder.substr(prefix.size());
  const size_t sep = rest.find("--");
  if (sep == std::string::npos) return {};
  std::string id = rest.substr(0, sep) + "/" + rest.substr(sep + 2);
  return validate_repo_id(id).is_ok() ? id : std::string();
}

// Every ref file under refs/ (nested for revisions like "refs/pr/1"), as revision → commit.
std::vector<std::pair<std::string, std::string>> read_refs(const fs::path& refs_dir) {
  std::vector<std::pair<std::string, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(refs_dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(refs_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string commit = read_small_file(it->path());
    if (is_commit_hash(commit)) out.emplace_back(fs::relative(it->path(), refs_dir, ec).string(), commit);
  }
  return out;
}

}  // namespace

bool path_within(const std::string& dir, const std::string& target) {
  std::error_code ec1, ec2;
  const fs::path d = fs::canonical(dir, ec1);
  const fs::path t = fs::canonical(target, ec2);
  if (ec1 || ec2) return false;
  auto di = d.begin(), ti = t.begin();
  for (; di != d.end(); ++di, ++ti) {
    if (ti == t.end() || *di != *ti) return false;
  }
  return true;
}

std::string blob_link_target(const std::string& path, const std::string& etag) {
  std::string up = "../../";
  for (char c : path) {
    if (c == '/') up += "../";
  }
  return up + "blobs/" + etag;
}

std::string HubCache::repo_dir(const std::string& repo_id) const {
  return (fs::path(root_) / repo_folder_name(repo_id)).string();
}
std::string HubCache::blob_path(const std::string& repo_id, const std::string& etag) const {
  return (fs::path(repo_dir(repo_id)) / "blobs" / etag).string();
}
std::string HubCache::snapshot_dir(const std::string& repo_id, const std::string& commit) const {
  return (fs::path(repo_dir(repo_id)) / "snapshots" / commit).string();
}

std::optional<std::string> HubCache::commit_for(const std::string& repo_id, const std::string& revision) const {
  if (!validate_repo_id(repo_id).is_ok() || !validate_revision(revision).is_ok()) return std::nullopt;
  std::error_code ec;
  if (is_commit_hash(revision) && fs::is_directory(snapshot_dir(repo_id, revision), ec)) return revision;
  const std::string commit = read_small_file(fs::path(repo_dir(repo_id)) / "refs" / revision);
  if (!is_commit_hash(commit)) return std::nullopt;
  return commit;
}

bool HubCache::has_file(const std::string& repo_id, const std::string& commit, const std::string& path) const {
  const fs::path p = fs::path(snapshot_dir(repo_id, commit)) / path;
  std::error_code ec;
  return fs::is_regular_file(p, ec) && path_within(repo_dir(repo_id), p.string());
}

std::optional<std::string> HubCache::find_snapshot(const std::string& repo_id, const std::string& revision) const {
  auto commit = commit_for(repo_id, revision);
  if (!commit) return std::nullopt;
  const std::string dir = snapshot_dir(repo_id, *commit);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  // Every entry must stay inside the repository folder (a symlink to /etc/passwd is not a model file).
  const std::string repo = repo_dir(repo_id);
  bool any = false;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory(ec)) continue;
    if (!path_within(repo, it->path().string())) return std::nullopt;
    any = true;
  }
  if (ec || !any) return std::nullopt;
  return dir;
}

std::vector<CachedSnapshot> HubCache::list() const {
  std::vector<CachedSnapshot> out;
  std::error_code ec;
  for (const auto& repo : fs::directory_iterator(root_, ec)) {
    const std::string id = repo_id_from_folder(repo.path().filename().string());
    if (id.empty()) continue;
    const auto refs = read_refs(repo.path() / "refs");
    std::error_code ec2;
    for (const auto& snap : fs::directory_iterator(repo.path() / "snapshots", ec2)) {
      const std::string commit = snap.path().filename().string();
      if (!is_commit_hash(commit) || !find_snapshot(id, commit)) continue;
      CachedSnapshot s;
      s.repo_id = id;
      s.commit = commit;
      s.path = snap.path().string();
      for (const auto& [rev, c] : refs) {
        if (c == commit) s.refs.push_back(rev);
      }
      std::error_code ec3;
      for (auto it = fs::recursive_directory_iterator(snap.path(), ec3); !ec3 && it != fs::recursive_directory_iterator();
           it.increment(ec3)) {
        if (!it->is_regular_file(ec3)) continue;  // follows the symlink
        const int64_t size = static_cast<int64_t>(fs::file_size(it->path(), ec3));
        s.files.push_back({fs::relative(it->path(), snap.path(), ec3).string(), size});
        s.size += size;
      }
      std::sort(s.files.begin(), s.files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
      out.push_back(std::move(s));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.repo_id != b.repo_id ? a.repo_id < b.repo_id : a.commit < b.commit;
  });
  return out;
}

core::Status HubCache::write_ref(const std::string& repo_id, const std::string& revision,
                                 const std::string& commit) const {
  NLM_RETURN_IF_ERROR(validate_revision(revision));
  const fs::path ref = fs::path(repo_dir(repo_id)) / "refs" / revision;
  std::error_code ec;
  fs::create_directories(ref.parent_path(), ec);
  const fs::path tmp = ref.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << commit;  // no newline, as huggingface_hub writes it
    if (!out) return core::error(ErrorCode::kIoError, "[hub] cannot write " + tmp.string());
  }
  fs::rename(tmp, ref, ec);
  if (ec) return core::error(ErrorCode::kIoError, "[hub] cannot write " + ref.string() + ": " + ec.message());
  return core::Status::ok();
}

core::Result<std::vector<std::string>> HubCache::remove(const std::string& repo_id,
                                                        const std::string& revision) const {
  NLM_RETURN_IF_ERROR(validate_repo_id(repo_id));
  const fs::path repo = repo_dir(repo_id);
  std::error_code ec;
  if (!fs::is_directory(repo, ec)) {
    return core::error(ErrorCode::kModelNotFound, "[hub] " + repo_id + " is not in the cache (" + root_ + ")");
  }
  std::vector<std::string> removed;
  if (revision.empty()) {
    for (const auto& snap : fs::directory_iterator(repo / "snapshots", ec)) removed.push_back(snap.path().string());
    fs::remove_all(repo, ec);
    if (ec) return core::error(ErrorCode::kIoError, "[hub] cannot remove " + repo.string() + ": " + ec.message());
    return removed;
  }
  auto commit = commit_for(repo_id, revision);
  if (!commit) {
    return core::error(ErrorCode::kModelNotFound, "[hub] " + repo_id + "@" + revision + " is not in the cache");
  }
  for (const auto& [rev, c] : read_refs(repo / "refs")) {
    if (c == *commit) fs::remove(repo / "refs" / rev, ec);
  }
  removed.push_back(snapshot_dir(repo_id, *commit));
  fs::remove_all(removed.back(), ec);
  // Blobs still linked from another snapshot stay; when the snapshots cannot be read whole, all stay.
  std::set<std::string> used;
  std::error_code walk;
  for (auto it = fs::recursive_directory_iterator(repo / "snapshots", walk);
       !walk && it != fs::recursive_directory_iterator(); it.increment(walk)) {
    std::error_code ec2;
    if (it->is_symlink(ec2)) used.insert(fs::read_symlink(it->path(), ec2).filename().string());
  }
  if (walk) return removed;
  for (const auto& blob : fs::directory_iterator(repo / "blobs", ec)) {
    const std::string name = blob.path().filename().string();
    if (!used.count(name) && name.find('.') == std::string::npos) fs::remove(blob.path(), ec);
  }
  return removed;
}

}  // namespace nlm::hub
