#pragma once
// Test builds only (NLM_AVX512_EMULATE): scalar stand-ins for the AVX-512 intrinsics the *_avx512.cpp
// files use, so their logic runs and is tested on CPUs without AVX-512 (this project's CI machine).
// Each function follows Intel's pseudo-code for the intrinsic of the same name. Declared inside the
// kernel's namespace, they hide the real intrinsics for its unqualified calls; an intrinsic missing
// here is a compile error (the real one needs -mavx512f), never a silent fallback. They are kept out
// of line: inlined, their loops made the unrolled micro-kernels slow to compile. The real
// instructions are checked on AVX-512 hardware when one is lent (docs/performance.md).
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/f16.h"

#ifndef NLM_AVX512_EMULATE
#error "avx512_emu.h is for NLM_AVX512_EMULATE test builds"
#endif

namespace nlm::kernels::cpu::avx512 {

template <typename T, typename V>
inline void emu_lanes(const V& v, T* out) {
  static_assert(sizeof(V) == 64);
  std::memcpy(out, &v, 64);
}
template <typename V, typename T>
inline V emu_vec(const T* in) {
  V v;
  std::memcpy(&v, in, 64);
  return v;
}

[[gnu::noinline]] inline __m512 _mm512_setzero_ps() {
  const float z[16] = {};
  return emu_vec<__m512>(z);
}
[[gnu::noinline]] inline __m512i _mm512_setzero_si512() {
  const int32_t z[16] = {};
  return emu_vec<__m512i>(z);
}
[[gnu::noinline]] inline __m512 _mm512_set1_ps(float a) {
  float r[16];
  for (float& x : r) x = a;
  return emu_vec<__m512>(r);
}
[[gnu::noinline]] inline __m512i _mm512_set1_epi32(int a) {
  int32_t r[16];
  for (int32_t& x : r) x = a;
  return emu_vec<__m512i>(r);
}
[[gnu::noinline]] inline __m512 _mm512_loadu_ps(const void* p) { return emu_vec<__m512>(static_cast<const float*>(p)); }
[[gnu::noinline]] inline __m512i _mm512_loadu_si512(const void* p) {
  return emu_vec<__m512i>(static_cast<const char*>(p));
}
[[gnu::noinline]] inline void _mm512_storeu_ps(void* p, __m512 a) { std::memcpy(p, &a, 64); }

// Lanes whose mask bit is clear are neither read nor written (no fault past the end of a buffer).
[[gnu::noinline]] inline __m512 _mm512_maskz_loadu_ps(__mmask16 k, const void* p) {
  float r[16] = {};
  for (int i = 0; i < 16; ++i) {
    if (k >> i & 1) r[i] = static_cast<const float*>(p)[i];
  }
  return emu_vec<__m512>(r);
}
[[gnu::noinline]] inline void _mm512_mask_storeu_ps(void* p, __mmask16 k, __m512 a) {
  float v[16];
  emu_lanes(a, v);
  for (int i = 0; i < 16; ++i) {
    if (k >> i & 1) static_cast<float*>(p)[i] = v[i];
  }
}

// Lane-wise f(a[i], b[i]) over 16 lanes of type L (float or uint32_t).
template <typename L, typename V, typename F>
inline V emu_map2(V a, V b, F f) {
  L x[16], y[16];
  emu_lanes(a, x);
  emu_lanes(b, y);
  for (int i = 0; i < 16; ++i) x[i] = f(x[i], y[i]);
  return emu_vec<V>(x);
}
[[gnu::noinline]] inline __m512 _mm512_add_ps(__m512 a, __m512 b) {
  return emu_map2<float>(a, b, [](float x, float y) { return x + y; });
}
[[gnu::noinline]] inline __m512 _mm512_mul_ps(__m512 a, __m512 b) {
  return emu_map2<float>(a, b, [](float x, float y) { return x * y; });
}
[[gnu::noinline]] inline __m512 _mm512_fmadd_ps(__m512 a, __m512 b, __m512 c) {
  float x[16], y[16], z[16];
  emu_lanes(a, x);
  emu_lanes(b, y);
  emu_lanes(c, z);
  for (int i = 0; i < 16; ++i) x[i] = std::fma(x[i], y[i], z[i]);
  return emu_vec<__m512>(x);
}

[[gnu::noinline]] inline __m512 _mm512_cvtepi32_ps(__m512i a) {  // round to nearest even, as the default MXCSR
  int32_t v[16];
  float r[16];
  emu_lanes(a, v);
  for (int i = 0; i < 16; ++i) r[i] = static_cast<float>(v[i]);
  return emu_vec<__m512>(r);
}

// VPDPBUSD: each 32-bit lane of src plus the four products of a's unsigned bytes with b's signed bytes
// in that lane (wrapping, no saturation).
[[gnu::noinline]] inline __m512i _mm512_dpbusd_epi32(__m512i src, __m512i a, __m512i b) {
  int32_t s[16];
  uint8_t ua[64];
  int8_t sb[64];
  emu_lanes(src, s);
  emu_lanes(a, ua);
  emu_lanes(b, sb);
  for (int i = 0; i < 16; ++i) {
    int64_t acc = s[i];
    for (int j = 0; j < 4; ++j) acc += int32_t{ua[4 * i + j]} * int32_t{sb[4 * i + j]};
    s[i] = static_cast<int32_t>(static_cast<uint32_t>(acc));
  }
  return emu_vec<__m512i>(s);
}

[[gnu::noinline]] inline void _mm512_storeu_si512(void* p, __m512i a) { std::memcpy(p, &a, 64); }

[[gnu::noinline]] inline __m512i _mm512_add_epi32(__m512i a, __m512i b) {
  return emu_map2<uint32_t>(a, b, [](uint32_t x, uint32_t y) { return x + y; });
}
[[gnu::noinline]] inline __m512i _mm512_and_si512(__m512i a, __m512i b) {
  return emu_map2<uint32_t>(a, b, [](uint32_t x, uint32_t y) { return x & y; });
}
[[gnu::noinline]] inline __m512i _mm512_xor_si512(__m512i a, __m512i b) {
  return emu_map2<uint32_t>(a, b, [](uint32_t x, uint32_t y) { return x ^ y; });
}
[[gnu::noinline]] inline __m512i _mm512_srli_epi32(__m512i a, unsigned int n) {
  return emu_map2<uint32_t>(a, a, [n](uint32_t x, uint32_t) { return n > 31 ? 0u : x >> n; });
}

// VPGATHERDD: lane i = the dword at base + index[i]·scale (unaligned, sign-extended index).
[[gnu::noinline]] inline __m512i _mm512_i32gather_epi32(__m512i index, void const* base, int scale) {
  int32_t idx[16];
  uint32_t r[16];
  emu_lanes(index, idx);
  for (int i = 0; i < 16; ++i) {
    std::memcpy(&r[i], static_cast<const char*>(base) + static_cast<int64_t>(idx[i]) * scale, 4);
  }
  return emu_vec<__m512i>(r);
}

// VPMOVDW: each dword truncated to its low 16 bits.
[[gnu::noinline]] inline __m256i _mm512_cvtepi32_epi16(__m512i a) {
  uint32_t v[16];
  uint16_t r[16];
  emu_lanes(a, v);
  for (int i = 0; i < 16; ++i) r[i] = static_cast<uint16_t>(v[i]);
  __m256i out;
  std::memcpy(&out, r, 32);
  return out;
}

// VCVTPH2PS: 16 binary16 values to f32 (exact).
[[gnu::noinline]] inline __m512 _mm512_cvtph_ps(__m256i a) {
  uint16_t h[16];
  float r[16];
  std::memcpy(h, &a, 32);
  for (int i = 0; i < 16; ++i) r[i] = core::f16_to_f32(h[i]);
  return emu_vec<__m512>(r);
}

}  // namespace nlm::kernels::cpu::avx512
