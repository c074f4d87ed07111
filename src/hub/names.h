#pragma once
// Names that arrive from users and from the network: Hub repo ids, revisions, file paths inside a repo,
// ETags. Everything the store turns into a path on disk passes one of these checks first.
#include <string>
#include <string_view>

#include "core/status.h"

namespace nlm::hub {

inline constexpr std::string_view kDefaultRevision = "main";

// "org/name[@revision]" as a user writes it.
struct RepoRef {
  std::string repo_id;                              // "org/name"
  std::string revision = std::string(kDefaultRevision);  // a branch, tag or commit hash
};

// invalid_request unless `ref` is "org/name" or "org/name@rev" with valid parts.
core::Result<RepoRef> parse_repo_ref(std::string_view ref);
// True when `ref` has the shape of a Hub reference (one '/', no path-like characters): what resolve()
// tries against the cache.
bool looks_like_repo_ref(std::string_view ref);

core::Status validate_repo_id(std::string_view repo_id);
core::Status validate_revision(std::string_view revision);
// A relative file path from a repository listing: non-empty '/'-separated components, none of them
// "", "." or "..", no backslash, no control characters, bounded length.
core::Status validate_repo_path(std::string_view path);

bool is_commit_hash(std::string_view s);  // 40 lowercase hex digits
bool is_hex(std::string_view s);          // lowercase hex digits only
bool is_valid_etag(std::string_view s);   // 40 (git blob sha1) or 64 (LFS sha256) lowercase hex digits

// Strips the W/ prefix and quotes of an HTTP ETag value.
std::string normalize_etag(std::string_view raw);

// Percent-encodes everything but unreserved characters (and '/' when keep_slash).
std::string url_escape(std::string_view s, bool keep_slash);

// "org/name" -> "models--org--name" (the huggingface_hub cache folder name).
std::string repo_folder_name(std::string_view repo_id);

}  // namespace nlm::hub
