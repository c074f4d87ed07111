#pragma once
// One sequence's KV cache, sized from the request (prompt + max_tokens, capped by the model's context)
// rather than the model's whole trained context, plus the sequence's activation scratch. The bytes held
// by every live cache are counted process-wide for `status`.
#include <cstdint>

#include "core/arena.h"
#include "models/decoder_model.h"

namespace nlm::runtime {

class KvCache {
 public:
  KvCache(const models::DecoderInfo& info, int64_t capacity);  // capacity >= 1 positions
  ~KvCache();
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  models::KvState& state() { return state_; }
  models::ForwardScratch& scratch() { return scratch_; }
  int64_t capacity() const { return state_.capacity; }
  int64_t n_past() const { return state_.n_past; }
  int64_t bytes() const { return bytes_; }
  // Forgets positions >= n (n <= n_past): the next forward overwrites them.
  void truncate(int64_t n);

 private:
  core::AlignedBuffer<float> data_;
  models::KvState state_;
  models::ForwardScratch scratch_;
  int64_t bytes_ = 0;
};

// Bytes for a cache of `capacity` positions of this model.
int64_t kv_cache_bytes(const models::DecoderInfo& info, int64_t capacity);

struct KvCacheUsage {
  int64_t bytes = 0;     // KV bytes held by live caches (generations and logits requests in flight)
  int64_t caches = 0;    // live caches
  int64_t peak_bytes = 0;
};
KvCacheUsage kv_cache_usage();

}  // namespace nlm::runtime
