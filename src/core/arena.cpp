#include "core/arena.h"

#include <cstdlib>

#include "core/status.h"

namespace nlm::core {

void* aligned_malloc(size_t bytes, size_t alignment) {
  const size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
  NLM_CHECK_MSG(p != nullptr, "[core] out of memory");
  return p;
}

void aligned_free(void* p) { std::free(p); }

Arena::~Arena() {
  for (auto& c : chunks_) aligned_free(c.p);
}

void* Arena::alloc_bytes(size_t bytes, size_t alignment) {
  NLM_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0);
  if (!chunks_.empty()) {
    Chunk& c = chunks_.back();
    const size_t base = reinterpret_cast<uintptr_t>(c.p);
    const size_t off = ((base + c.used + alignment - 1) & ~(alignment - 1)) - base;
    if (off + bytes <= c.size) {
      used_total_ += off + bytes - c.used;
      c.used = off + bytes;
      return c.p + off;
    }
  }
  size_t size = chunk_bytes_;
  while (size < bytes + alignment) size *= 2;
  const size_t align = alignment > kAlignment ? alignment : kAlignment;
  Chunk c{static_cast<char*>(aligned_malloc(size, align)), size, bytes};
  chunks_.push_back(c);
  used_total_ += bytes;
  return c.p;
}

void Arena::reset() {
  if (chunks_.size() > 1) {  // merge into one chunk big enough for everything seen so far
    size_t total = 0;
    for (auto& c : chunks_) {
      total += c.size;
      aligned_free(c.p);
    }
    chunks_.clear();
    chunk_bytes_ = total;
    chunks_.push_back({static_cast<char*>(aligned_malloc(total)), total, 0});
  } else if (!chunks_.empty()) {
    chunks_[0].used = 0;
  }
  used_total_ = 0;
}

size_t Arena::bytes_reserved() const {
  size_t total = 0;
  for (auto& c : chunks_) total += c.size;
  return total;
}

}  // namespace nlm::core
