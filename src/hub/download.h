#pragma once
// One blob: downloaded into blobs/<etag>.incomplete (resumed with Range after a crash, a kill or a
// dropped connection), verified against its ETag (SHA-256 for LFS files, the git blob SHA-1 otherwise)
// and only then renamed to blobs/<etag>. A lock on the .incomplete file keeps two processes from
// writing the same blob.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "hub/http.h"

namespace nlm::hub {

struct BlobJob {
  std::string url;        // the resolve URL (redirects are followed)
  std::string blob_path;  // final location: <repo>/blobs/<etag>
  std::string etag;       // 64 hex digits: sha256; 40: git blob sha1
  int64_t size = 0;       // exact expected size
  std::string label;      // the file's path in the repo, for messages
};

// Called with the bytes on disk so far (including bytes kept from an earlier attempt).
using ByteProgress = std::function<void(int64_t completed)>;

struct BlobOutcome {
  int64_t fetched = 0;   // bytes received over the network by this call
  int64_t resumed = 0;   // bytes found in .incomplete and kept
  bool reused = false;   // the blob was already there
};

core::Result<BlobOutcome> download_blob(const HttpClient& http, const HubSettings& s, const BlobJob& job,
                                        const ByteProgress& progress, const std::function<bool()>& cancelled);

// Bytes already in <blob>.incomplete (0 when none).
int64_t incomplete_bytes(const std::string& blob_path);

}  // namespace nlm::hub
