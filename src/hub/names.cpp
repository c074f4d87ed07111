#include "hub/names.h"

#include <cctype>

namespace nlm::hub {
namespace {
using core::ErrorCode;

constexpr size_t kMaxNamePart = 96;
constexpr size_t kMaxRevision = 256;
constexpr size_t kMaxRepoPath = 1024;

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

bool valid_name_part(std::string_view s) {
  if (s.empty() || s.size() > kMaxNamePart) return false;
  for (char c : s) {
    if (!name_char(c)) return false;
  }
  if (s.front() == '-' || s.front() == '.' || s.back() == '.' || s.back() == '-') return false;
  return s.find("..") == std::string_view::npos && s.find("--") == std::string_view::npos;
}

}  // namespace

core::Status validate_repo_id(std::string_view repo_id) {
  const size_t slash = repo_id.find('/');
  if (slash == std::string_view::npos || repo_id.find('/', slash + 1) != std::string_view::npos ||
      !valid_name_part(repo_id.substr(0, slash)) || !valid_name_part(repo_id.substr(slash + 1))) {
    return core::error(ErrorCode::kInvalidRequest,
                       "[hub] invalid repo id '" + std::string(repo_id.substr(0, 200)) +
                           "' (expected org/name: letters, digits, '-', '_', '.')");
  }
  return core::Status::ok();
}

core::Status validate_revision(std::string_view revision) {
  bool ok = !revision.empty() && revision.size() <= kMaxRevision && revision.front() != '/' &&
            revision.back() != '/' && revision.find("..") == std::string_view::npos &&
            revision.find("//") == std::string_view::npos;
  for (char c : revision) {
    if (!(name_char(c) || c == '/')) ok = false;
  }
  if (ok && revision.front() == '.') ok = false;
  if (!ok) {
    return core::error(ErrorCode::kInvalidRequest,
                       "[hub] invalid revision '" + std::string(revision.substr(0, 200)) + "'");
  }
  return core::Status::ok();
}

core::Status validate_repo_path(std::string_view path) {
  auto bad = [&](const char* why) {
    return core::error(ErrorCode::kDownloadFailed, "[hub] refusing unsafe file name '" +
                                                        std::string(path.substr(0, 200)) + "' from the server (" +
                                                        why + ")");
  };
  if (path.empty() || path.size() > kMaxRepoPath) return bad("empty or too long");
  if (path.front() == '/') return bad("absolute path");
  size_t start = 0;
  for (;;) {
    const size_t end = path.find('/', start);
    const std::string_view part = path.substr(start, end == std::string_view::npos ? path.npos : end - start);
    if (part.empty() || part == "." || part == "..") return bad("'..', '.' or empty component");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\\' || c == ':') return bad("control character, ':' or backslash");
  }
  return core::Status::ok();
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !s.empty();
}

bool is_commit_hash(std::string_view s) { return s.size() == 40 && is_hex(s); }
bool is_valid_etag(std::string_view s) { return (s.size() == 40 || s.size() == 64) && is_hex(s); }

std::string normalize_etag(std::string_view raw) {
  while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) raw.remove_prefix(1);
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r')) raw.remove_suffix(1);
  if (raw.substr(0, 2) == "W/") raw.remove_prefix(2);
  if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') raw = raw.substr(1, raw.size() - 2);
  return std::string(raw);
}

std::string url_escape(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string repo_folder_name(std::string_view repo_id) {
  std::string out = "models--";
  for (char c : repo_id) {
    if (c == '/') {
      out += "--";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool looks_like_repo_ref(std::string_view ref) {
  const size_t at = ref.find('@');
  return validate_repo_id(ref.substr(0, at)).is_ok();
}

core::Result<RepoRef> parse_repo_ref(std::string_view ref) {
  RepoRef out;
  const size_t at = ref.find('@');
  out.repo_id = std::string(ref.substr(0, at));
  NLM_RETURN_IF_ERROR(validate_repo_id(out.repo_id));
  if (at != std::string_view::npos) {
    out.revision = std::string(ref.substr(at + 1));
    NLM_RETURN_IF_ERROR(validate_revision(out.revision));
  }
  return out;
}

}  // namespace nlm::hub
