#include "core/process_stats.h"

#include <cstdio>
#include <cstring>

namespace nlm::core {

MemoryStats memory_stats() {
  MemoryStats s;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return s;
  char line[256];
  while (std::fgets(line, sizeof(line), f)) {
    long long kb = 0;
    if (std::sscanf(line, "VmRSS: %lld kB", &kb) == 1) s.rss_bytes = kb * 1024;
    if (std::sscanf(line, "VmHWM: %lld kB", &kb) == 1) s.peak_rss_bytes = kb * 1024;
  }
  std::fclose(f);
  return s;
}

}  // namespace nlm::core
