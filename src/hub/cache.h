#pragma once
// The huggingface_hub cache layout, read and written the way Python tools do, so either side reuses
// what the other downloaded:
//   <cache>/models--org--name/blobs/<etag>                      file contents, named by ETag
//   <cache>/models--org--name/snapshots/<commit>/<path>         relative symlink → ../../blobs/<etag>
//   <cache>/models--org--name/refs/<revision>                   the commit hash a branch/tag points at
// A snapshot is served only when every entry stays inside its repository folder.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace nlm::hub {

struct CachedFile {
  std::string path;  // relative to the snapshot
  int64_t size = 0;
};

struct CachedSnapshot {
  std::string repo_id;
  std::string commit;
  std::vector<std::string> refs;  // revisions that point at this commit ("main", …)
  std::string path;               // the snapshot folder
  std::vector<CachedFile> files;
  int64_t size = 0;
};

class HubCache {
 public:
  explicit HubCache(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  std::string repo_dir(const std::string& repo_id) const;
  std::string blob_path(const std::string& repo_id, const std::string& etag) const;
  std::string snapshot_dir(const std::string& repo_id, const std::string& commit) const;

  // The commit a revision names: the revision itself when it is a commit hash, else refs/<revision>.
  std::optional<std::string> commit_for(const std::string& repo_id, const std::string& revision) const;
  // The snapshot folder of repo@revision when it is cached and safe, else nullopt.
  std::optional<std::string> find_snapshot(const std::string& repo_id, const std::string& revision) const;
  // True when snapshots/<commit>/<path> exists and resolves to a regular file inside the repo folder.
  bool has_file(const std::string& repo_id, const std::string& commit, const std::string& path) const;

  // Every cached snapshot, sorted by repo id.
  std::vector<CachedSnapshot> list() const;

  // Writes refs/<revision> = commit atomically.
  core::Status write_ref(const std::string& repo_id, const std::string& revision, const std::string& commit) const;
  // Removes a whole repository folder (revision empty), or one snapshot (its refs too) and the blobs no
  // other snapshot uses. Returns the snapshot folders that were removed.
  core::Result<std::vector<std::string>> remove(const std::string& repo_id, const std::string& revision) const;

 private:
  std::string root_;
};

// The relative symlink target from snapshots/<commit>/<path> to blobs/<etag>.
std::string blob_link_target(const std::string& path, const std::string& etag);

// True when `target` (after resolving every symlink) lies inside `dir`.
bool path_within(const std::string& dir, const std::string& target);

}  // namespace nlm::hub
