#include "runtime/kv_cache.h"

#include <atomic>

namespace nlm::runtime {
namespace {
std::atomic<int64_t> g_bytes{0}, g_caches{0}, g_peak{0};
}  // namespace

int64_t kv_cache_bytes(const models::DecoderInfo& info, int64_t capacity) {
  return 2 * info.num_hidden_layers * capacity * info.num_key_value_heads * info.head_dim *
         static_cast<int64_t>(sizeof(float));
}

KvCache::KvCache(const models::DecoderInfo& info, int64_t capacity) {
  NLM_CHECK(capacity >= 1);
  const int64_t per_layer = capacity * info.num_key_value_heads * info.head_dim;  // floats, K or V
  bytes_ = kv_cache_bytes(info, capacity);
  data_ = core::AlignedBuffer<float>(static_cast<size_t>(2 * info.num_hidden_layers * per_layer));
  state_.capacity = capacity;
  for (int64_t il = 0; il < info.num_hidden_layers; ++il) {
    state_.k.push_back(data_.data() + 2 * il * per_layer);
    state_.v.push_back(data_.data() + (2 * il + 1) * per_layer);
  }
  const int64_t now = g_bytes.fetch_add(bytes_) + bytes_;
  g_caches.fetch_add(1);
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}

KvCache::~KvCache() {
  g_bytes.fetch_sub(bytes_);
  g_caches.fetch_sub(1);
}

void KvCache::truncate(int64_t n) {
  NLM_CHECK(n >= 0 && n <= state_.n_past);
  state_.n_past = n;
}

KvCacheUsage kv_cache_usage() { return {g_bytes.load(), g_caches.load(), g_peak.load()}; }

}  // namespace nlm::runtime
