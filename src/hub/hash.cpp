#include "hub/hash.h"

#include <openssl/evp.h>

#include "core/status.h"

namespace nlm::hub {

struct Digest::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Digest::Digest(Kind kind, uint64_t total_size) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  NLM_CHECK(impl_->ctx != nullptr);
  NLM_CHECK(EVP_DigestInit_ex(impl_->ctx, kind == Kind::kSha256 ? EVP_sha256() : EVP_sha1(), nullptr) == 1);
  if (kind == Kind::kGitSha1) {
    const std::string header = "blob " + std::to_string(total_size);
    update(std::string_view(header.data(), header.size() + 1));  // with the terminating NUL
  }
}

Digest::~Digest() { EVP_MD_CTX_free(impl_->ctx); }

void Digest::update(std::string_view data) {
  NLM_CHECK(EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) == 1);
}

std::string Digest::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  NLM_CHECK(EVP_DigestFinal_ex(impl_->ctx, md, &n) == 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Digest d(Digest::Kind::kSha256, data.size());
  d.update(data);
  return d.hex();
}

}  // namespace nlm::hub
