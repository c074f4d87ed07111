#pragma once
// Aligned memory: a 64-byte-aligned owning buffer and a bump arena for preallocated activations and
// scratch (STYLE.md §2: no allocation inside a parallel region or per token).
//
//   core::Arena arena(16 << 20);
//   float* h = arena.alloc<float>(n_tokens * hidden_size);  // 64-byte aligned, uninitialised
//   ...
//   arena.reset();  // frees everything at once (memory is kept for reuse)
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace nlm::core {

inline constexpr size_t kAlignment = 64;

void* aligned_malloc(size_t bytes, size_t alignment = kAlignment);  // never null (aborts on OOM)
void aligned_free(void* p);

struct AlignedDeleter {
  void operator()(void* p) const { aligned_free(p); }
};

// An owning, aligned, uninitialised array.
template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) : n_(n), p_(static_cast<T*>(aligned_malloc(n * sizeof(T)))) {}
  T* data() const { return p_.get(); }
  size_t size() const { return n_; }
  T& operator[](size_t i) const { return p_.get()[i]; }
  void resize(size_t n) {  // discards the contents when it grows
    if (n > n_) *this = AlignedBuffer(n);
    n_ = n;
  }

 private:
  size_t n_ = 0;
  std::unique_ptr<T, AlignedDeleter> p_;
};

// Bump allocator over aligned chunks. Not thread-safe: one arena per thread or per request.
class Arena {
 public:
  explicit Arena(size_t chunk_bytes = size_t{1} << 20) : chunk_bytes_(chunk_bytes) {}
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  void* alloc_bytes(size_t bytes, size_t alignment = kAlignment);
  template <typename T>
  T* alloc(size_t n) {
    return static_cast<T*>(alloc_bytes(n * sizeof(T), alignof(T) > kAlignment ? alignof(T) : kAlignment));
  }
  // Forgets every allocation; keeps the largest chunk (merging when several were needed).
  void reset();
  size_t bytes_used() const { return used_total_; }
  size_t bytes_reserved() const;

 private:
  struct Chunk {
    char* p;
    size_t size;
    size_t used;
  };
  size_t chunk_bytes_;
  std::vector<Chunk> chunks_;
  size_t used_total_ = 0;
};

}  // namespace nlm::core
