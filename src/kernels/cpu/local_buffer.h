#pragma once
// A 64-byte aligned, growable scratch array for the per-ISA kernel files (*_avx2.cpp, *_avx512.cpp,
// *_neon.cpp). It lives in an anonymous namespace on purpose: each file that includes it gets its own
// internal copy, compiled with that file's ISA flags. A shared template (core::AlignedBuffer,
// std::vector) would instead be instantiated as one merged inline definition, and the linker could
// hand an AVX-512 copy to the portable code of a machine without AVX-512.
#include <cstddef>

#include "core/arena.h"

namespace nlm::kernels::cpu {
namespace {

template <typename T>
class LocalBuffer {
 public:
  LocalBuffer() = default;
  LocalBuffer(const LocalBuffer&) = delete;
  LocalBuffer& operator=(const LocalBuffer&) = delete;
  ~LocalBuffer() { core::aligned_free(p_); }

  T* data() const { return p_; }
  void resize(size_t n) {  // at least n elements; the contents are discarded when it grows
    if (n <= n_) return;
    core::aligned_free(p_);
    p_ = static_cast<T*>(core::aligned_malloc(n * sizeof(T)));
    n_ = n;
  }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace
}  // namespace nlm::kernels::cpu
