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

// ---- GEMV (quant_avx512.cpp) ----

// Casts: the upper lanes (undefined for the real intrinsics) read as zero.
[[gnu::noinline]] inline __m512i _mm512_castsi128_si512(__m128i a) {
  uint8_t r[64] = {};
  std::memcpy(r, &a, 16);
  return emu_vec<__m512i>(r);
}
[[gnu::noinline]] inline __m512i _mm512_castsi256_si512(__m256i a) {
  uint8_t r[64] = {};
  std::memcpy(r, &a, 32);
  return emu_vec<__m512i>(r);
}
[[gnu::noinline]] inline __m512i _mm512_zextsi256_si512(__m256i a) { return _mm512_castsi256_si512(a); }
[[gnu::noinline]] inline __m512 _mm512_castps256_ps512(__m256 a) {
  float r[16] = {};
  std::memcpy(r, &a, 32);
  return emu_vec<__m512>(r);
}
[[gnu::noinline]] inline __m128i _mm512_castsi512_si128(__m512i a) {
  __m128i r;
  std::memcpy(&r, &a, 16);
  return r;
}
[[gnu::noinline]] inline __m512i _mm512_inserti32x4(__m512i a, __m128i b, int imm) {
  uint8_t r[64];
  emu_lanes(a, r);
  std::memcpy(r + 16 * (imm & 3), &b, 16);
  return emu_vec<__m512i>(r);
}
[[gnu::noinline]] inline __m512i _mm512_inserti64x4(__m512i a, __m256i b, int imm) {
  uint8_t r[64];
  emu_lanes(a, r);
  std::memcpy(r + 32 * (imm & 1), &b, 32);
  return emu_vec<__m512i>(r);
}
[[gnu::noinline]] inline __m512i _mm512_broadcast_i64x4(__m256i a) {
  uint8_t r[64];
  std::memcpy(r, &a, 32);
  std::memcpy(r + 32, &a, 32);
  return emu_vec<__m512i>(r);
}
[[gnu::noinline]] inline __m512i _mm512_set1_epi64(long long a) {
  int64_t r[8];
  for (int64_t& x : r) x = a;
  return emu_vec<__m512i>(r);
}
[[gnu::noinline]] inline __m512i _mm512_broadcastq_epi64(__m128i a) {
  return _mm512_set1_epi64(_mm_cvtsi128_si64(a));
}
[[gnu::noinline]] inline __m512i _mm512_or_si512(__m512i a, __m512i b) {
  return emu_map2<uint32_t>(a, b, [](uint32_t x, uint32_t y) { return x | y; });
}
[[gnu::noinline]] inline __m512i _mm512_sub_epi32(__m512i a, __m512i b) {
  return emu_map2<uint32_t>(a, b, [](uint32_t x, uint32_t y) { return x - y; });
}

// Word-lane helpers: f(a[i], b[i]) over 32 words.
template <typename F>
inline __m512i emu_words(__m512i a, __m512i b, F f) {
  uint16_t x[32], y[32];
  emu_lanes(a, x);
  emu_lanes(b, y);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<uint16_t>(f(x[i], y[i]));
  return emu_vec<__m512i>(x);
}
[[gnu::noinline]] inline __m512i _mm512_srli_epi16(__m512i a, unsigned int n) {
  return emu_words(a, a, [n](uint16_t x, uint16_t) { return n > 15 ? 0 : x >> n; });
}
[[gnu::noinline]] inline __m512i _mm512_sllv_epi16(__m512i a, __m512i n) {
  return emu_words(a, n, [](uint16_t x, uint16_t c) { return c > 15 ? 0 : x << c; });
}
[[gnu::noinline]] inline __m512i _mm512_srlv_epi16(__m512i a, __m512i n) {
  return emu_words(a, n, [](uint16_t x, uint16_t c) { return c > 15 ? 0 : x >> c; });
}
// The permutes: element i of the result = table[idx[i] % n] (index and element of the same width I / T).
template <typename T, typename I, typename V>
inline V emu_permute(__m512i idx, const T* table, unsigned n) {
  I ix[64 / sizeof(T)];
  T r[64 / sizeof(T)];
  emu_lanes(idx, ix);
  for (size_t j = 0; j < 64 / sizeof(T); ++j) r[j] = table[ix[j] % n];
  return emu_vec<V>(r);
}
// The two-table permutes: element i = (a, b)[idx[i] % (2 · elements per vector)].
template <typename T, typename I, typename V>
inline V emu_permute2(V a, __m512i idx, V b) {
  constexpr unsigned n = 64 / sizeof(T);
  T x[2 * n];
  emu_lanes(a, x);
  emu_lanes(b, x + n);
  return emu_permute<T, I, V>(idx, x, 2 * n);
}
// VPERMW: word i = a[idx[i] % 32]; VPERMT2W: word i = (idx[i] & 32 ? b : a)[idx[i] % 32].
[[gnu::noinline]] inline __m512i _mm512_permutexvar_epi16(__m512i idx, __m512i a) {
  uint16_t x[32];
  emu_lanes(a, x);
  return emu_permute<uint16_t, uint16_t, __m512i>(idx, x, 32);
}
[[gnu::noinline]] inline __m512i _mm512_permutex2var_epi16(__m512i a, __m512i idx, __m512i b) {
  return emu_permute2<uint16_t, uint16_t>(a, idx, b);
}
// VPERMT2B (VBMI): byte i = (idx[i] & 64 ? b : a)[idx[i] % 64].
[[gnu::noinline]] inline __m512i _mm512_permutex2var_epi8(__m512i a, __m512i idx, __m512i b) {
  return emu_permute2<uint8_t, uint8_t>(a, idx, b);
}
// VPERMD: lane i = a[idx[i] % 16].
[[gnu::noinline]] inline __m512i _mm512_permutexvar_epi32(__m512i idx, __m512i a) {
  uint32_t x[16];
  emu_lanes(a, x);
  return emu_permute<uint32_t, uint32_t, __m512i>(idx, x, 16);
}
[[gnu::noinline]] inline __m512 _mm512_broadcastss_ps(__m128 a) { return _mm512_set1_ps(_mm_cvtss_f32(a)); }
// VPERMPS: lane i = a[idx[i] % 16].
[[gnu::noinline]] inline __m512 _mm512_permutexvar_ps(__m512i idx, __m512 a) {
  float x[16];
  emu_lanes(a, x);
  return emu_permute<float, uint32_t, __m512>(idx, x, 16);
}
// VPERMT2PS: lane i = (idx[i] & 16 ? b : a)[idx[i] % 16].
[[gnu::noinline]] inline __m512 _mm512_permutex2var_ps(__m512 a, __m512i idx, __m512 b) {
  return emu_permute2<float, uint32_t>(a, idx, b);
}
// VPSHUFB: within each 128-bit lane, byte i = index bit 7 ? 0 : a[lane + (index & 15)].
[[gnu::noinline]] inline __m512i _mm512_shuffle_epi8(__m512i a, __m512i b) {
  uint8_t x[64], idx[64], r[64];
  emu_lanes(a, x);
  emu_lanes(b, idx);
  for (int i = 0; i < 64; ++i) r[i] = idx[i] & 0x80 ? 0 : x[i / 16 * 16 + (idx[i] & 15)];
  return emu_vec<__m512i>(r);
}
// VPTESTMB: mask bit i = (a[i] & b[i]) != 0. VPADDB under a mask: bytes without it keep src.
[[gnu::noinline]] inline __mmask64 _mm512_test_epi8_mask(__m512i a, __m512i b) {
  uint8_t x[64], y[64];
  emu_lanes(a, x);
  emu_lanes(b, y);
  __mmask64 k = 0;
  for (int i = 0; i < 64; ++i) k |= static_cast<__mmask64>((x[i] & y[i]) != 0) << i;
  return k;
}
[[gnu::noinline]] inline __m512i _mm512_mask_add_epi8(__m512i src, __mmask64 k, __m512i a, __m512i b) {
  uint8_t s[64], x[64], y[64];
  emu_lanes(src, s);
  emu_lanes(a, x);
  emu_lanes(b, y);
  for (int i = 0; i < 64; ++i) {
    if (k >> i & 1) s[i] = static_cast<uint8_t>(x[i] + y[i]);
  }
  return emu_vec<__m512i>(s);
}
// VPMADDUBSW: word i = saturate16(a[2i]·b[2i] + a[2i+1]·b[2i+1]), a unsigned, b signed.
[[gnu::noinline]] inline __m512i _mm512_maddubs_epi16(__m512i a, __m512i b) {
  uint8_t x[64];
  int8_t y[64];
  int16_t r[32];
  emu_lanes(a, x);
  emu_lanes(b, y);
  for (int i = 0; i < 32; ++i) {
    const int32_t v = x[2 * i] * y[2 * i] + x[2 * i + 1] * y[2 * i + 1];
    r[i] = static_cast<int16_t>(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
  }
  return emu_vec<__m512i>(r);
}
// VPDPWSSD: each dword of src plus the two products of a's and b's signed words in that dword (wrapping).
[[gnu::noinline]] inline __m512i _mm512_dpwssd_epi32(__m512i src, __m512i a, __m512i b) {
  int32_t s[16];
  int16_t x[32], y[32];
  emu_lanes(src, s);
  emu_lanes(a, x);
  emu_lanes(b, y);
  for (int i = 0; i < 16; ++i) {
    const int64_t acc = int64_t{s[i]} + x[2 * i] * y[2 * i] + x[2 * i + 1] * y[2 * i + 1];
    s[i] = static_cast<int32_t>(static_cast<uint32_t>(acc));
  }
  return emu_vec<__m512i>(s);
}
// The sum of the 16 lanes (the real sequence adds pairwise: halves, then quarters, ...; so does this).
[[gnu::noinline]] inline float _mm512_reduce_add_ps(__m512 a) {
  float x[16];
  emu_lanes(a, x);
  for (int n = 8; n >= 1; n /= 2) {
    for (int i = 0; i < n; ++i) x[i] += x[i + n];
  }
  return x[0];
}

}  // namespace nlm::kernels::cpu::avx512
