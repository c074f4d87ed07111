// AVX2+FMA: vector helpers (norms, softmax, attention), element-wise ops, f32/f16/bf16 dot rows and the
// int8 activation quantizer; assembles the AVX2 table.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/vec_avx2.h"

namespace nlm::kernels::cpu {
namespace avx2 {

void dot_quant(core::DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows,
               float* out, int64_t ldo);  // quant_avx2.cpp
void gemm_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t M,
              int64_t N, int64_t K);  // gemm_avx2.cpp
void pack_a(const float* a, int64_t lda, int64_t M, int64_t K, int64_t q0, int64_t q1, float* ap);
void pack_b(const float* b, int64_t ldb, int64_t N, int64_t K, float* bp);
void gemm_packed(const float* ap, int64_t M, int64_t K, const float* bp, int64_t N, float* c, int64_t ldc);
void gemm_int8(core::DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows, float* out,
               int64_t ldo);  // gemm_i8_avx2.cpp
void dequantize(const void* src, core::DType t, int64_t n, float* dst);  // quant_avx2.cpp

namespace {

// Applies f(v) to full 8-lane chunks and to the tail through a masked load/store.
template <typename F>
inline void map1(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i), i));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(y + i, m, f(_mm256_maskload_ps(x + i, m), i));
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
  }
  return hsum(_mm256_add_ps(s0, s1));
}

// Attention's scores for 8 keys at a time: per head, one accumulator per key over the head dim (the 8 k
// rows stay in L1 for every head), then one transposing reduction (hadd tree) to the 8 sums. The k rows
// two blocks ahead are prefetched (a layer's cache comes from DRAM). The last < 8 keys go one at a time.
void dot_heads(const float* q, int64_t ldq, int64_t G, const float* k, int64_t ldk, int64_t n, int64_t D, float* s,
               int64_t lds) {
  int64_t j0 = 0;
  for (; j0 + 8 <= n; j0 += 8) {
    const float* kb = k + j0 * ldk;
    const float* ahead = k + std::min(j0 + 16, n - 8) * ldk;
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      for (int64_t c = 0; c < D; c += 16) _mm_prefetch(reinterpret_cast<const char*>(ahead + j * ldk + c), _MM_HINT_T0);
    }
    for (int64_t g = 0; g < G; ++g) {
      __m256 acc[8];
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
      for (int64_t c = 0; c < D; c += 8) {
        const __m256i m = tail_mask(D - c);
        const __m256 qv = _mm256_maskload_ps(q + g * ldq + c, m);
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) acc[j] = _mm256_fmadd_ps(qv, _mm256_maskload_ps(kb + j * ldk + c, m), acc[j]);
      }
      const __m256 t0 = _mm256_hadd_ps(acc[0], acc[1]), t1 = _mm256_hadd_ps(acc[2], acc[3]);
      const __m256 t2 = _mm256_hadd_ps(acc[4], acc[5]), t3 = _mm256_hadd_ps(acc[6], acc[7]);
      const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);  // keys 0..3 | 4..7 per 128 bits
      _mm256_storeu_ps(s + g * lds + j0, _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                                                       _mm256_permute2f128_ps(u0, u1, 0x31)));
    }
  }
  for (; j0 < n; ++j0) {
    for (int64_t g = 0; g < G; ++g) s[g * lds + j0] = dot_f32(q + g * ldq, k + j0 * ldk, D);
  }
}

// mix_rows in tiles of kG ≤ 4 heads × 16 columns (up to 8 accumulators): each v row's 16 columns are
// loaded once per tile and meet kG broadcast weights; the row 24 ahead is prefetched. Columns past
// `cols` are masked.
template <int kG>
void mix_tile(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t n, int64_t cols, float* o,
              int64_t ldo) {
  const __m256i m0 = tail_mask(std::min<int64_t>(8, cols)), m1 = tail_mask(std::clamp<int64_t>(cols - 8, 0, 8));
  __m256 acc[kG][2];
#pragma GCC unroll 4
  for (int g = 0; g < kG; ++g) acc[g][0] = acc[g][1] = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    _mm_prefetch(reinterpret_cast<const char*>(v + std::min(j + 24, n - 1) * ldv), _MM_HINT_T0);
    const __m256 v0 = _mm256_maskload_ps(v + j * ldv, m0), v1 = _mm256_maskload_ps(v + j * ldv + 8, m1);
#pragma GCC unroll 4
    for (int g = 0; g < kG; ++g) {
      const __m256 w = _mm256_broadcast_ss(p + g * ldp + j);
      acc[g][0] = _mm256_fmadd_ps(w, v0, acc[g][0]);
      acc[g][1] = _mm256_fmadd_ps(w, v1, acc[g][1]);
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < kG; ++g) {
    _mm256_maskstore_ps(o + g * ldo, m0, acc[g][0]);
    _mm256_maskstore_ps(o + g * ldo + 8, m1, acc[g][1]);
  }
}

void mix_rows(const float* p, int64_t ldp, int64_t G, const float* v, int64_t ldv, int64_t n, int64_t D, float* o,
              int64_t ldo) {
  constexpr void (*kTiles[4])(const float*, int64_t, const float*, int64_t, int64_t, int64_t, float*, int64_t) = {
      mix_tile<1>, mix_tile<2>, mix_tile<3>, mix_tile<4>};
  for (int64_t g0 = 0; g0 < G; g0 += 4) {
    const auto tile = kTiles[std::min<int64_t>(4, G - g0) - 1];
    for (int64_t c = 0; c < D; c += 16) tile(p + g0 * ldp, ldp, v + c, ldv, n, D - c, o + g0 * ldo + c, ldo);
  }
}

void scale_f32(float s, const float* x, float* y, int64_t n) {
  const __m256 vs = _mm256_set1_ps(s);
  map1(x, y, n, [&](__m256 v, int64_t) { return _mm256_mul_ps(v, vs); });
}

float sum_sq(const float* x, float c, int64_t n) {
  const __m256 vc = _mm256_set1_ps(c);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = _mm256_sub_ps(_mm256_loadu_ps(x + i), vc), b = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vc);
    s0 = _mm256_fmadd_ps(a, a, s0);
    s1 = _mm256_fmadd_ps(b, b, s1);
  }
  float acc = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) acc += (x[i] - c) * (x[i] - c);
  return acc;
}

float sum(const float* x, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
  }
  float acc = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) acc += x[i];
  return acc;
}

float max(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
  float r = hmax(m);
  for (; i < n; ++i) r = std::max(r, x[i]);
  return r;
}

float exp_sub_sum(float* x, float mx, int64_t n) {
  const __m256 vm = _mm256_set1_ps(mx);
  __m256 s = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    _mm256_storeu_ps(x + i, e);
    s = _mm256_add_ps(s, e);
  }
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    const __m256 e = _mm256_and_ps(exp(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vm)), _mm256_castsi256_ps(m));
    _mm256_maskstore_ps(x + i, m, e);
    s = _mm256_add_ps(s, e);
  }
  return hsum(s);
}

void rms_apply(const float* x, const float* w, float inv, bool add_one, float* y, int64_t n) {
  const __m256 vi = _mm256_set1_ps(inv), one = _mm256_set1_ps(add_one ? 1.f : 0.f);
  if (!w) return scale_f32(inv, x, y, n);
  map1(x, y, n, [&](__m256 v, int64_t i) {
    const int64_t left = n - i;
    const __m256 wv = left >= 8 ? _mm256_loadu_ps(w + i) : _mm256_maskload_ps(w + i, tail_mask(left));
    return _mm256_mul_ps(_mm256_mul_ps(v, vi), _mm256_add_ps(wv, one));
  });
}

void ln_apply(const float* x, const float* w, const float* b, float mean, float inv, float* y, int64_t n) {
  const __m256 vi = _mm256_set1_ps(inv), vm = _mm256_set1_ps(mean);
  map1(x, y, n, [&](__m256 v, int64_t i) {
    const int64_t left = n - i;
    const __m256i m = tail_mask(left < 8 ? left : 8);
    __m256 r = _mm256_mul_ps(_mm256_sub_ps(v, vm), vi);
    if (w) r = _mm256_mul_ps(r, _mm256_maskload_ps(w + i, m));
    if (b) r = _mm256_add_ps(r, _mm256_maskload_ps(b + i, m));
    return r;
  });
}

inline __m256 gelu_v(__m256 v) {
  const __m256 e = erf(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.f), e));
}
inline __m256 gelu_tanh_v(__m256 v) {
  const __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
  const __m256 in = _mm256_mul_ps(_mm256_set1_ps(0.79788456080286536f),
                                  _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), v3, v));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.f), tanh(in)));
}
inline __m256 silu_v(__m256 v) { return _mm256_mul_ps(v, sigmoid(v)); }

void unary(int op, const float* x, float* y, int64_t n) {
  if (op == kOpGelu) map1(x, y, n, [](__m256 v, int64_t) { return gelu_v(v); });
  else if (op == kOpGeluTanh) map1(x, y, n, [](__m256 v, int64_t) { return gelu_tanh_v(v); });
  else map1(x, y, n, [](__m256 v, int64_t) { return silu_v(v); });
}

template <typename F>
inline void map2(const float* a, const float* b, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(y + i, m, f(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m)));
  }
}

void binary(int op, const float* a, const float* b, float* y, int64_t n) {
  switch (op) {
    case kOpAdd: return map2(a, b, y, n, [](__m256 u, __m256 v) { return _mm256_add_ps(u, v); });
    case kOpMul: return map2(a, b, y, n, [](__m256 u, __m256 v) { return _mm256_mul_ps(u, v); });
    case kOpSwiglu: return map2(a, b, y, n, [](__m256 u, __m256 v) { return _mm256_mul_ps(silu_v(u), v); });
    case kOpGeglu: return map2(a, b, y, n, [](__m256 u, __m256 v) { return _mm256_mul_ps(gelu_v(u), v); });
    default: return map2(a, b, y, n, [](__m256 u, __m256 v) { return _mm256_mul_ps(gelu_tanh_v(u), v); });
  }
}

// 8 weights of row `w` (dtype T) at element k as f32.
template <core::DType T>
inline __m256 load_w(const char* w, int64_t k) {
  if constexpr (T == core::DType::kF32) return _mm256_loadu_ps(reinterpret_cast<const float*>(w) + k);
  else if constexpr (T == core::DType::kF16) return load_f16(reinterpret_cast<const uint16_t*>(w) + k);
  else return load_bf16(reinterpret_cast<const uint16_t*>(w) + k);
}
template <core::DType T>
inline float load_w1(const char* w, int64_t k) {
  if constexpr (T == core::DType::kF32) return reinterpret_cast<const float*>(w)[k];
  const uint16_t h = reinterpret_cast<const uint16_t*>(w)[k];
  if constexpr (T == core::DType::kF16) return _cvtsh_ss(h);
  else return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(static_cast<int>(h) << 16)));
}

// Four weight rows against one activation row, 16 columns per step with two accumulators per row (eight
// independent FMA chains, 4 streams of weights in flight).
template <core::DType T>
void dot4_full(const float* x, const char* w, int64_t w_rb, int64_t K, float* out4, const char* pf) {
  const char *w0 = w, *w1 = w + w_rb, *w2 = w + 2 * w_rb, *w3 = w + 3 * w_rb;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  constexpr int64_t kElemBytes = T == core::DType::kF32 ? 4 : 2;
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    if (pf && (k * kElemBytes) % 64 == 0) {  // the same 64-byte line of the 4 rows `pf` points at
      for (int i = 0; i < 4; ++i) _mm_prefetch(pf + i * w_rb + k * kElemBytes, _MM_HINT_T0);
    }
    const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
    a0 = _mm256_fmadd_ps(x0, load_w<T>(w0, k), a0), b0 = _mm256_fmadd_ps(x1, load_w<T>(w0, k + 8), b0);
    a1 = _mm256_fmadd_ps(x0, load_w<T>(w1, k), a1), b1 = _mm256_fmadd_ps(x1, load_w<T>(w1, k + 8), b1);
    a2 = _mm256_fmadd_ps(x0, load_w<T>(w2, k), a2), b2 = _mm256_fmadd_ps(x1, load_w<T>(w2, k + 8), b2);
    a3 = _mm256_fmadd_ps(x0, load_w<T>(w3, k), a3), b3 = _mm256_fmadd_ps(x1, load_w<T>(w3, k + 8), b3);
  }
  for (; k + 8 <= K; k += 8) {
    const __m256 x0 = _mm256_loadu_ps(x + k);
    a0 = _mm256_fmadd_ps(x0, load_w<T>(w0, k), a0);
    a1 = _mm256_fmadd_ps(x0, load_w<T>(w1, k), a1);
    a2 = _mm256_fmadd_ps(x0, load_w<T>(w2, k), a2);
    a3 = _mm256_fmadd_ps(x0, load_w<T>(w3, k), a3);
  }
  const __m256 acc[4] = {_mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1), _mm256_add_ps(a2, b2), _mm256_add_ps(a3, b3)};
  for (int r = 0; r < 4; ++r) {
    float s = hsum(acc[r]);
    for (int64_t kk = k; kk < K; ++kk) s += x[kk] * load_w1<T>(w + r * w_rb, kk);
    out4[r] = s;
  }
}

// One weight row against one activation row.
template <core::DType T>
float dot1(const float* x, const char* w, int64_t K) {
  __m256 a = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), load_w<T>(w, k), a);
  float s = hsum(a);
  for (; k < K; ++k) s += x[k] * load_w1<T>(w, k);
  return s;
}

template <core::DType T>
void dot_rows(const float* x, int64_t ldx, int64_t M, const char* w, int64_t w_rb, int64_t n_rows, int64_t K,
              float* out, int64_t ldo) {
  float o4[4];
  int64_t r = 0;
  for (; r + 4 <= n_rows; r += 4) {
    // One activation row (GEMV) streams the weights from DRAM: prefetch the next 4 rows alongside.
    const char* pf = M == 1 && r + 8 <= n_rows ? w + (r + 4) * w_rb : nullptr;
    for (int64_t m = 0; m < M; ++m) {
      dot4_full<T>(x + m * ldx, w + r * w_rb, w_rb, K, o4, pf);
      for (int i = 0; i < 4; ++i) out[m * ldo + r + i] = o4[i];
    }
  }
  for (; r < n_rows; ++r) {
    for (int64_t m = 0; m < M; ++m) out[m * ldo + r] = dot1<T>(x + m * ldx, w + r * w_rb, K);
  }
}

void dot_float(core::DType wt, const float* x, int64_t ldx, int64_t M, const char* w, int64_t w_rb,
               int64_t n_rows, int64_t K, float* out, int64_t ldo) {
  switch (wt) {
    case core::DType::kF32: return dot_rows<core::DType::kF32>(x, ldx, M, w, w_rb, n_rows, K, out, ldo);
    case core::DType::kF16: return dot_rows<core::DType::kF16>(x, ldx, M, w, w_rb, n_rows, K, out, ldo);
    default: return dot_rows<core::DType::kBF16>(x, ldx, M, w, w_rb, n_rows, K, out, ldo);
  }
}

// quant::quantize_act_ref, vectorized (same float operations, so the same result).
void quantize_act(const float* x, int64_t K, int8_t* qs, float* d, int32_t* sum, int64_t group) {
  const __m256 sign = _mm256_set1_ps(-0.f);
  float am = 0.f;
  for (int64_t b = 0; b < K / 32; ++b, x += 32, qs += 32) {
    if (b % (group / 32) == 0) {
      __m256 amax = _mm256_setzero_ps();
      for (int64_t j = 0; j < group; j += 8) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
      am = hmax(amax);
    }
    __m256 v[4];
    for (int j = 0; j < 4; ++j) v[j] = _mm256_loadu_ps(x + 8 * j);
    d[b] = am / 127.f;
    const __m256 id = _mm256_set1_ps(am > 0.f ? 127.f / am : 0.f);
    __m256i q[4];
    for (int j = 0; j < 4; ++j) q[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], id));  // nearest even
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    sum[b] = _mm_cvtsi128_si32(s4);
    const __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
    __m256i p = _mm256_packs_epi16(p01, p23);
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), p);
  }
}

}  // namespace
}  // namespace avx2

const IsaKernels* avx2_kernels() {
  static const IsaKernels k = {
      Isa::kAvx2,      avx2::dot_float,  avx2::dot_quant, avx2::quantize_act, avx2::gemm_f32,
      avx2::dot_f32,   avx2::scale_f32,  avx2::sum_sq,    avx2::sum,
      avx2::max,       avx2::exp_sub_sum, avx2::rms_apply, avx2::ln_apply,    avx2::unary,
      avx2::binary,    avx2::pack_a,     avx2::pack_b,    avx2::gemm_packed, avx2::gemm_int8,
      dtype_bit(core::DType::kQ4_0) | dtype_bit(core::DType::kQ4_1) | dtype_bit(core::DType::kQ4_K) |
          dtype_bit(core::DType::kQ6_K) | dtype_bit(core::DType::kA4_32) | dtype_bit(core::DType::kQ5_0) |
          dtype_bit(core::DType::kQ5_1) | dtype_bit(core::DType::kQ5_K),
      avx2::dequantize, avx2::dot_heads, avx2::mix_rows,
      12,               12,  // int8 GEMM from 12 rows: the crossover with dot_quant measured on Zen 4
  };
  return &k;
}

}  // namespace nlm::kernels::cpu
