#pragma once
// Streaming digests for blob verification: SHA-256 (LFS files) and the git blob SHA-1 (small files,
// whose ETag on the Hub is the git object id: sha1("blob <size>\0" + content)).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace nlm::hub {

class Digest {
 public:
  enum class Kind { kSha256, kGitSha1 };
  // For kGitSha1 the total size must be known up front (it is part of the hashed header).
  Digest(Kind kind, uint64_t total_size);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(std::string_view data);
  std::string hex();  // finishes; lowercase hex

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256_hex(std::string_view data);

}  // namespace nlm::hub
