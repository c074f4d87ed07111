#pragma once
// Memory use of this process, for `status`.
#include <cstdint>

namespace nlm::core {

struct MemoryStats {
  int64_t rss_bytes = 0;
  int64_t peak_rss_bytes = 0;
};

MemoryStats memory_stats();

}  // namespace nlm::core
