#pragma once
// Shared helpers for the kernel tests: a deterministic RNG, buffers at deliberately unaligned offsets,
// the loop over every ISA this machine runs, and NLM_SANITIZED size shrinking.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/dispatch.h"

namespace nlm::kernels::testing {

inline bool sanitized() { return std::getenv("NLM_SANITIZED") != nullptr; }

// A large size that shrinks under the sanitizers (the assertions stay the same).
inline int64_t large(int64_t n, int64_t sanitized_n) { return sanitized() ? sanitized_n : n; }

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  float uniform(float lo = -1.f, float hi = 1.f) { return std::uniform_real_distribution<float>(lo, hi)(g); }
  float normal(float s = 1.f) { return std::normal_distribution<float>(0.f, s)(g); }
  std::vector<float> normals(int64_t n, float s = 1.f) {
    std::vector<float> v(n);
    for (auto& x : v) x = normal(s);
    return v;
  }
};

// n floats starting `offset` floats past a 64-byte boundary (offset 1: misaligned for every vector width).
class Floats {
 public:
  Floats(int64_t n, int offset = 1) : buf_(n + offset + 16), p_(buf_.data() + offset), n_(n) {}
  float* data() { return p_; }
  float& operator[](int64_t i) { return p_[i]; }
  int64_t size() const { return n_; }
  void set(const std::vector<float>& v) {
    for (int64_t i = 0; i < n_; ++i) p_[i] = v[i];
  }
  std::vector<float> vec() const { return std::vector<float>(p_, p_ + n_); }

 private:
  std::vector<float> buf_;
  float* p_;
  int64_t n_;
};

// Runs body() once per ISA this machine supports, with that ISA active; restores the default after.
template <typename Fn>
void for_each_isa(Fn&& body) {
  const Isa saved = active_isa();
  for (Isa isa : supported_isas()) {
    ASSERT_TRUE(set_isa(isa));
    SCOPED_TRACE(std::string("isa=") + std::string(isa_name(isa)));
    body(isa);
  }
  set_isa(saved);
}

// for_each_isa, and where the AVX-512 table has VBMI paths (cpu::avx512_use_vbmi), that table once more
// with them off, so that both paths are checked on a VBMI machine.
template <typename Fn>
void for_each_kernel_path(Fn&& body) {
  for_each_isa(body);
  const Isa saved = active_isa();
  if (cpu::avx512_vbmi() && set_isa(Isa::kAvx512)) {
    SCOPED_TRACE("isa=avx512 without VBMI");
    cpu::avx512_use_vbmi(false);
    body(Isa::kAvx512);
    cpu::avx512_use_vbmi(true);
  }
  set_isa(saved);
}

inline constexpr double kU = 5.9604644775390625e-8;  // unit roundoff of f32, 2^-24

}  // namespace nlm::kernels::testing
