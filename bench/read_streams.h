#pragma once
// Read bandwidth as the benches measure it (kernels_bench's ceiling/read_bw and gemv_vs_bw, llm_bench's
// decode limit): n bytes summed as S streams, the range cut in S parts and 64 bytes of each part read per
// step, with integer adds (weight bytes read as floats could be NaNs or denormals, and a float sum's add
// latency, not the memory, bounds it). One core covers more of DRAM's latency with two streams than
// with one: on Zen 5 ceiling/read_bw (two) reads 12-19 % more than ceiling/read_bw_1stream, three or four
// streams no more than two.
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace nlm::bench {

template <int S>
int64_t sum_streams_portable(const char* p, int64_t n) {
  const int64_t part = n / S / 64 * 64;
  uint64_t acc[S][8] = {};
  for (int64_t i = 0; i < part; i += 64) {
    for (int j = 0; j < S; ++j) {
      uint64_t w[8];
      std::memcpy(w, p + j * part + i, 64);
      for (int k = 0; k < 8; ++k) acc[j][k] += w[k];
    }
  }
  uint64_t r = 0;
  for (int j = 0; j < S; ++j) {
    for (int k = 0; k < 8; ++k) r += acc[j][k];
  }
  for (int64_t i = S * part; i < n; ++i) r += static_cast<uint8_t>(p[i]);
  return static_cast<int64_t>(r);
}

#if defined(__x86_64__)
template <int S>
__attribute__((target("avx2"))) int64_t sum_streams_avx2(const char* p, int64_t n) {
  const int64_t part = n / S / 64 * 64;
  __m256i acc[S][2];
  for (int j = 0; j < S; ++j) acc[j][0] = acc[j][1] = _mm256_setzero_si256();
  for (int64_t i = 0; i < part; i += 64) {
    for (int j = 0; j < S; ++j) {
      const auto* v = reinterpret_cast<const __m256i*>(p + j * part + i);
      acc[j][0] = _mm256_add_epi32(acc[j][0], _mm256_loadu_si256(v));
      acc[j][1] = _mm256_add_epi32(acc[j][1], _mm256_loadu_si256(v + 1));
    }
  }
  __m256i t = _mm256_setzero_si256();
  for (int j = 0; j < S; ++j) t = _mm256_add_epi32(t, _mm256_add_epi32(acc[j][0], acc[j][1]));
  int32_t lanes[8];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), t);
  int64_t r = lanes[0] + lanes[7];
  for (int64_t i = S * part; i < n; ++i) r += p[i];
  return r;
}
#endif

template <int S>
int64_t sum_streams(const char* p, int64_t n) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return sum_streams_avx2<S>(p, n);
#endif
  return sum_streams_portable<S>(p, n);
}

}  // namespace nlm::bench
