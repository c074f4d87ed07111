#pragma once
// The Hub's HTTP API as huggingface_hub speaks it: the repository listing at
// /api/models/{repo}/revision/{rev} and file metadata from a HEAD on /{repo}/resolve/{rev}/{path}
// (X-Repo-Commit, X-Linked-Etag / ETag, X-Linked-Size / Content-Length).
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "hub/http.h"
#include "hub/names.h"

namespace nlm::hub {

inline constexpr int64_t kMaxFileBytes = int64_t{1} << 40;  // 1 TiB: no single weight file is larger
inline constexpr size_t kMaxListingFiles = 20000;
inline constexpr size_t kMaxApiBody = 32 << 20;

struct RepoFile {
  std::string path;
  int64_t size = -1;  // -1 when the listing did not say
};

struct RepoInfo {
  std::string commit;  // 40 hex digits
  std::vector<RepoFile> files;
};

struct FileMeta {
  std::string commit;  // X-Repo-Commit ("" when absent)
  std::string etag;    // validated: 40 or 64 lowercase hex digits
  int64_t size = -1;
};

std::string resolve_url(const HubSettings& s, const std::string& repo_id, const std::string& revision,
                        const std::string& path);

// Every path in the listing is validated (validate_repo_path); one unsafe name fails the listing.
core::Result<RepoInfo> fetch_repo_info(const HttpClient& http, const HubSettings& s, const RepoRef& ref);
core::Result<FileMeta> fetch_file_meta(const HttpClient& http, const HubSettings& s, const std::string& repo_id,
                                       const std::string& commit, const std::string& path);

// The error for a failed HTTP exchange: 401/403 unauthorized, 404 model_not_found, else download_failed.
core::Status http_error(const HttpResponse& r, const std::string& what);

}  // namespace nlm::hub
