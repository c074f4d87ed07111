#include "hub/api.h"

#include <nlohmann/json.hpp>

#include "core/log.h"

namespace nlm::hub {
namespace {
using core::ErrorCode;

std::string clip(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n) + "…";
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return s;
}

int64_t parse_size(const std::string& v) {
  if (v.empty() || v.size() > 19) return -1;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

std::string resolve_url(const HubSettings& s, const std::string& repo_id, const std::string& revision,
                        const std::string& path) {
  return s.endpoint + "/" + repo_id + "/resolve/" + url_escape(revision, false) + "/" + url_escape(path, true);
}

core::Status http_error(const HttpResponse& r, const std::string& what) {
  if (!r.error.empty()) {
    return core::error(ErrorCode::kDownloadFailed, "[hub] " + what + ": " + clip(r.error, 300));
  }
  std::string detail = r.header("x-error-message");
  detail = detail.empty() ? std::string() : " (" + clip(detail, 200) + ")";
  switch (r.status) {
    case 401:
      return core::error(ErrorCode::kUnauthorized,
                         "[hub] " + what + ": 401 Unauthorized" + detail +
                             ": the repository is private or does not exist; set HF_TOKEN to a token that can read it");
    case 403:
      return core::error(ErrorCode::kUnauthorized,
                         "[hub] " + what + ": 403 Forbidden" + detail +
                             ": access denied (a gated model needs its terms accepted on the Hub, and HF_TOKEN "
                             "must belong to that account)");
    case 404:
      return core::error(ErrorCode::kModelNotFound, "[hub] " + what + ": 404 Not Found" + detail);
    default:
      return core::error(ErrorCode::kDownloadFailed,
                         "[hub] " + what + ": HTTP " + std::to_string(r.status) + detail);
  }
}

core::Result<RepoInfo> fetch_repo_info(const HttpClient& http, const HubSettings& s, const RepoRef& ref) {
  const std::string url =
      s.endpoint + "/api/models/" + ref.repo_id + "/revision/" + url_escape(ref.revision, false) + "?blobs=true";
  const std::string what = "listing " + ref.repo_id + "@" + ref.revision;
  HttpResponse r = with_retries(s, [&] { return http.get(url, kMaxApiBody); });
  if (!r.error.empty() || r.status != 200) return http_error(r, what);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::error(ErrorCode::kDownloadFailed, "[hub] " + what + ": the answer is not a JSON object");
  }
  RepoInfo info;
  auto sha = j.find("sha");
  if (sha == j.end() || !sha->is_string() || !is_commit_hash(sha->get<std::string>())) {
    return core::error(ErrorCode::kDownloadFailed, "[hub] " + what + ": no valid commit hash ('sha') in the answer");
  }
  info.commit = sha->get<std::string>();
  auto siblings = j.find("siblings");
  if (siblings == j.end() || !siblings->is_array()) {
    return core::error(ErrorCode::kDownloadFailed, "[hub] " + what + ": no file list ('siblings') in the answer");
  }
  if (siblings->size() > kMaxListingFiles) {
    return core::error(ErrorCode::kDownloadFailed, "[hub] " + what + ": more than " +
                                                       std::to_string(kMaxListingFiles) + " files");
  }
  for (const auto& f : *siblings) {
    if (!f.is_object() || !f.contains("rfilename") || !f["rfilename"].is_string()) {
      return core::error(ErrorCode::kDownloadFailed, "[hub] " + what + ": malformed file entry");
    }
    RepoFile rf;
    rf.path = f["rfilename"].get<std::string>();
    NLM_RETURN_IF_ERROR(validate_repo_path(rf.path));
    if (f.contains("size") && f["size"].is_number_integer()) rf.size = f["size"].get<int64_t>();
    if (rf.size < -1 || rf.size > kMaxFileBytes) {
      return core::error(ErrorCode::kDownloadFailed, "[hub] " + what + ": file '" + rf.path + "' has an absurd size");
    }
    info.files.push_back(std::move(rf));
  }
  return info;
}

core::Result<FileMeta> fetch_file_meta(const HttpClient& http, const HubSettings& s, const std::string& repo_id,
                                       const std::string& commit, const std::string& path) {
  const std::string url = resolve_url(s, repo_id, commit, path);
  const std::string what = "metadata of " + repo_id + "/" + path;
  HttpResponse r = with_retries(s, [&] { return http.head(url, false); });
  if (r.error.empty() && r.status >= 300 && r.status < 400 && r.header("x-linked-etag").empty()) {
    // A redirect that carries no Hub metadata (e.g. a renamed repository): follow it.
    r = with_retries(s, [&] { return http.head(url, true); });
  }
  if (!r.error.empty() || r.status < 200 || r.status >= 400) return http_error(r, what);
  FileMeta m;
  m.commit = r.header("x-repo-commit");
  std::string etag = r.header("x-linked-etag");
  if (etag.empty()) etag = r.header("etag");
  m.etag = normalize_etag(etag);
  std::string size = r.header("x-linked-size");
  if (size.empty()) size = r.header("content-length");
  m.size = parse_size(size);
  if (!m.commit.empty() && !is_commit_hash(m.commit)) {
    return core::error(ErrorCode::kDownloadFailed, "[hub] " + what + ": malformed X-Repo-Commit");
  }
  if (!is_valid_etag(m.etag)) {
    return core::error(ErrorCode::kDownloadFailed,
                       "[hub] " + what + ": the server sent no usable ETag ('" + clip(m.etag, 80) + "')");
  }
  if (m.size < 0 || m.size > kMaxFileBytes) {
    return core::error(ErrorCode::kDownloadFailed, "[hub] " + what + ": missing or absurd file size");
  }
  return m;
}

}  // namespace nlm::hub
