#include "hub/download.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "hub/api.h"
#include "hub/hash.h"

namespace nlm::hub {
namespace {
using core::ErrorCode;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string sys_error(const std::string& what, const std::string& path) {
  return "[hub] " + what + " " + path + ": " + std::strerror(errno);
}

bool file_exists(const std::string& path, int64_t* size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  if (size) *size = st.st_size;
  return S_ISREG(st.st_mode);
}

std::unique_ptr<Digest> new_digest(const BlobJob& job) {
  return std::make_unique<Digest>(job.etag.size() == 64 ? Digest::Kind::kSha256 : Digest::Kind::kGitSha1,
                                  static_cast<uint64_t>(job.size));
}

// Feeds the first `n` bytes of fd into the digest (what an earlier run left behind).
bool hash_prefix(int fd, int64_t n, Digest& d) {
  std::string buf(1 << 20, '\0');
  int64_t off = 0;
  while (off < n) {
    const ssize_t r = ::pread(fd, buf.data(), static_cast<size_t>(std::min<int64_t>(buf.size(), n - off)), off);
    if (r <= 0) return false;
    d.update(std::string_view(buf.data(), static_cast<size_t>(r)));
    off += r;
  }
  return true;
}

struct State {
  int fd = -1;
  int64_t on_disk = 0;
  std::unique_ptr<Digest> digest;
  std::string io_error;
  bool oversize = false;
  bool cancelled = false;
  bool body_started = false;  // a chunk of the current response was seen
};

bool write_chunk(State& st, const BlobJob& job, long status, std::string_view chunk,
                 const std::function<bool()>& cancelled) {
  if (cancelled && cancelled()) {
    st.cancelled = true;
    return false;
  }
  const bool first_chunk = !st.body_started;
  st.body_started = true;
  if (first_chunk && status == 200 && st.on_disk > 0) {  // the server ignored Range: start over
    if (::ftruncate(st.fd, 0) != 0) return false;
    st.on_disk = 0;
    st.digest = new_digest(job);
  }
  if (st.on_disk + static_cast<int64_t>(chunk.size()) > job.size) {
    st.oversize = true;
    return false;
  }
  size_t done = 0;
  while (done < chunk.size()) {
    const ssize_t w = ::pwrite(st.fd, chunk.data() + done, chunk.size() - done, st.on_disk + static_cast<int64_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      st.io_error = sys_error("cannot write", job.blob_path + ".incomplete");
      return false;
    }
    done += static_cast<size_t>(w);
  }
  st.digest->update(chunk);
  st.on_disk += static_cast<int64_t>(chunk.size());
  return true;
}

core::Status verify_and_install(State& st, const BlobJob& job, const std::string& part) {
  const std::string got = st.digest->hex();
  if (got != job.etag) {
    ::unlink(part.c_str());
    return core::error(ErrorCode::kDownloadFailed,
                       "[hub] " + job.label + ": checksum mismatch (expected " +
                           std::string(job.etag.size() == 64 ? "sha256 " : "git sha1 ") + job.etag + ", got " + got +
                           "); the download was discarded");
  }
  if (::fdatasync(st.fd) != 0 || ::rename(part.c_str(), job.blob_path.c_str()) != 0) {
    return core::error(ErrorCode::kIoError, sys_error("cannot install", job.blob_path));
  }
  return core::Status::ok();
}

}  // namespace

int64_t incomplete_bytes(const std::string& blob_path) {
  int64_t size = 0;
  return file_exists(blob_path + ".incomplete", &size) ? size : 0;
}

core::Result<BlobOutcome> download_blob(const HttpClient& http, const HubSettings& s, const BlobJob& job,
                                        const ByteProgress& progress, const std::function<bool()>& cancelled) {
  BlobOutcome out;
  int64_t existing = 0;
  if (file_exists(job.blob_path, &existing) && existing == job.size) {
    out.reused = true;
    return out;
  }
  const std::string part = job.blob_path + ".incomplete";
  Fd fd(::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) return core::error(ErrorCode::kIoError, sys_error("cannot open", part));
  if (::flock(fd.get(), LOCK_EX) != 0) return core::error(ErrorCode::kIoError, sys_error("cannot lock", part));
  if (file_exists(job.blob_path, &existing) && existing == job.size) {  // another process finished it
    out.reused = true;
    return out;
  }
  State st;
  st.fd = fd.get();
  file_exists(part, &st.on_disk);
  if (st.on_disk > job.size && ::ftruncate(st.fd, 0) == 0) st.on_disk = 0;
  st.digest = new_digest(job);
  if (!hash_prefix(st.fd, st.on_disk, *st.digest)) return core::error(ErrorCode::kIoError, sys_error("cannot read", part));
  out.resumed = st.on_disk;
  if (st.on_disk > 0) log_info("[hub] %s: resuming at byte %lld", job.label.c_str(), static_cast<long long>(st.on_disk));
  if (progress) progress(st.on_disk);
  int failures = 0;
  while (st.on_disk < job.size) {
    const int64_t before = st.on_disk;
    st.body_started = false;
    HttpResponse r = http.get_stream(job.url, static_cast<uint64_t>(st.on_disk), [&](long status, std::string_view c) {
      if (!write_chunk(st, job, status, c, cancelled)) return false;
      if (progress) progress(st.on_disk);
      return true;
    });
    out.fetched += st.on_disk - before > 0 ? st.on_disk - before : 0;
    if (st.cancelled) {
      if (st.on_disk == 0) ::unlink(part.c_str());  // nothing worth resuming
      return core::error(ErrorCode::kCancelled, "[hub] download of " + job.label + " cancelled");
    }
    if (!st.io_error.empty()) return core::error(ErrorCode::kIoError, st.io_error);
    if (st.oversize) {
      ::ftruncate(st.fd, 0);
      return core::error(ErrorCode::kDownloadFailed,
                         "[hub] " + job.label + ": the server sent more than the announced " + std::to_string(job.size) + " bytes");
    }
    if (r.status == 416 && r.error.empty()) {  // our partial file does not fit the server's: start over
      if (::ftruncate(st.fd, 0) != 0) return core::error(ErrorCode::kIoError, sys_error("cannot truncate", part));
      st.on_disk = 0;
      st.digest = new_digest(job);
    } else if (r.error.empty() && r.status >= 200 && r.status < 300) {
      if (st.on_disk < job.size) r.retryable = true, r.error = "connection closed early";
    } else if (!r.retryable) {
      return http_error(r, "downloading " + job.label);
    }
    if (st.on_disk >= job.size) break;
    if (st.on_disk > before) failures = 0;  // progress was made: the connection is flaky, not dead
    if (++failures >= std::max(1, s.max_attempts)) return http_error(r, "downloading " + job.label);
    log_warn("[hub] %s: %s at byte %lld; retrying", job.label.c_str(),
             r.error.empty() ? ("HTTP " + std::to_string(r.status)).c_str() : r.error.c_str(),
             static_cast<long long>(st.on_disk));
    backoff_sleep(s, failures - 1);
  }
  NLM_RETURN_IF_ERROR(verify_and_install(st, job, part));
  return out;
}

}  // namespace nlm::hub
