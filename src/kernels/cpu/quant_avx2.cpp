// AVX2 integer dot products of quantized weight rows with int8 activations (quant::ActQ8 layout: 32
// values, scale d and sum per block). Signed × signed products use the sign trick (|w| as u8 against
// x·sign(w)) so _mm256_maddubs_epi16 never saturates (2·128·127 < 2^15); unsigned 4-bit values go in
// directly. Per 32-block: int32 lanes → f32 → fma with d_w·d_x; offsets (q4_1, q4_K mins, a4/a8 biases)
// use the activation block sums.
#include <immintrin.h>

#include <cstring>

#include "core/f16.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/vec_avx2.h"

namespace nlm::kernels::cpu::avx2 {
namespace {

using namespace quant;

inline __m256i mul_sum_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
inline __m256i dot_s8(__m256i w, __m256i x) {
  return mul_sum_u8s8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}
inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
// 16 bytes of nibbles -> 32 bytes (low nibbles first, then high nibbles), values 0..15.
inline __m256i unpack_nibbles(const uint8_t* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(v, 4), v);
  return _mm256_and_si256(both, _mm256_set1_epi8(15));
}
inline float f16(uint16_t h) { return _cvtsh_ss(h); }

// Horizontal sums of 8 vectors of 8 int32 lanes: lane i of the result = Σ lanes of v[i].
inline __m256i reduce8(const __m256i v[8]) {
  const __m256i h01 = _mm256_hadd_epi32(v[0], v[1]), h23 = _mm256_hadd_epi32(v[2], v[3]);
  const __m256i h45 = _mm256_hadd_epi32(v[4], v[5]), h67 = _mm256_hadd_epi32(v[6], v[7]);
  const __m256i a = _mm256_hadd_epi32(h01, h23), b = _mm256_hadd_epi32(h45, h67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}
// The f16 scales of 8 consecutive blocks (`stride` bytes apart) as f32.
inline __m256 scales8(const char* first_d, int64_t stride) {
  uint16_t h[8];
  for (int j = 0; j < 8; ++j) std::memcpy(&h[j], first_d + j * stride, 2);
  return _mm256_cvtph_ps(_mm_set_epi16(static_cast<short>(h[7]), static_cast<short>(h[6]), static_cast<short>(h[5]),
                                       static_cast<short>(h[4]), static_cast<short>(h[3]), static_cast<short>(h[2]),
                                       static_cast<short>(h[1]), static_cast<short>(h[0])));
}
inline __m256 load_sums(const int32_t* xs) {
  return _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs)));
}

// Groups of 8 blocks: 8 integer dot vectors, one horizontal reduction, one vector of 8 scales.
float row_q8_0(const char* w, const int8_t* xq, const float* xd, const int32_t*, int64_t nb) {
  const auto* b = reinterpret_cast<const BlockQ8_0*>(w);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= nb; i += 8) {
    __m256i dots[8];
    for (int j = 0; j < 8; ++j) dots[j] = dot_s8(load32(b[i + j].qs), load32(xq + 32 * (i + j)));
    const __m256 sc = _mm256_mul_ps(scales8(reinterpret_cast<const char*>(&b[i].d), sizeof(BlockQ8_0)),
                                    _mm256_loadu_ps(xd + i));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(reduce8(dots)), sc, acc);
  }
  for (; i < nb; ++i) {
    const __m256 p0 = _mm256_cvtepi32_ps(dot_s8(load32(b[i].qs), load32(xq + 32 * i)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(b[i].d) * xd[i]), p0, acc);
  }
  return hsum(acc);
}

// Σ(q − 8)·x = Σq·x − 8·Σx with q in 0..15 fed to maddubs unsigned (no sign trick needed).
float row_q4_0(const char* w, const int8_t* xq, const float* xd, const int32_t* xs, int64_t nb) {
  const auto* b = reinterpret_cast<const BlockQ4_0*>(w);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= nb; i += 8) {
    __m256i dots[8];
    for (int j = 0; j < 8; ++j) dots[j] = mul_sum_u8s8(unpack_nibbles(b[i + j].qs), load32(xq + 32 * (i + j)));
    const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs + i));
    const __m256i net = _mm256_sub_epi32(reduce8(dots), _mm256_slli_epi32(sums, 3));
    const __m256 sc = _mm256_mul_ps(scales8(reinterpret_cast<const char*>(&b[i].d), sizeof(BlockQ4_0)),
                                    _mm256_loadu_ps(xd + i));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(net), sc, acc);
  }
  float tail = 0.f;
  for (; i < nb; ++i) {
    const __m256 p = _mm256_cvtepi32_ps(mul_sum_u8s8(unpack_nibbles(b[i].qs), load32(xq + 32 * i)));
    tail += f16(b[i].d) * xd[i] * (hsum(p) - 8.f * static_cast<float>(xs[i]));
  }
  return hsum(acc) + tail;
}

// Eight f32 fields `stride` bytes apart.
inline __m256 floats8(const char* first, int64_t stride) {
  float f[8];
  for (int j = 0; j < 8; ++j) std::memcpy(&f[j], first + j * stride, 4);
  return _mm256_setr_ps(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
}

// Affine blocks (x = s·q + m, q unsigned 4-bit or q − 128 signed for 8-bit): Σ x̂·w = s·dx·Σq·qx + m·dx·Σqx.
template <typename Block, bool kF16, bool k8bit>
float row_affine(const char* w, const int8_t* xq, const float* xd, const int32_t* xs, int64_t nb) {
  const auto* b = reinterpret_cast<const Block*>(w);
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  auto dot = [&](int64_t i) {
    if constexpr (k8bit) {
      return dot_s8(_mm256_xor_si256(load32(b[i].qs), flip), load32(xq + 32 * i));
    } else {
      return mul_sum_u8s8(unpack_nibbles(b[i].qs), load32(xq + 32 * i));
    }
  };
  auto scale_min = [&](int64_t i, __m256* s8, __m256* m8) {
    const char* base = reinterpret_cast<const char*>(&b[i]);
    if constexpr (kF16) {
      *s8 = scales8(base, sizeof(Block));
      *m8 = scales8(base + 2, sizeof(Block));
    } else {
      *s8 = floats8(base, sizeof(Block));
      *m8 = floats8(base + 4, sizeof(Block));
      if constexpr (k8bit) *m8 = _mm256_fmadd_ps(*s8, _mm256_set1_ps(128.f), *m8);
    }
  };
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= nb; i += 8) {
    __m256i dots[8];
    for (int j = 0; j < 8; ++j) dots[j] = dot(i + j);
    __m256 s8, m8;
    scale_min(i, &s8, &m8);
    const __m256 dx = _mm256_loadu_ps(xd + i);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(reduce8(dots)), _mm256_mul_ps(s8, dx), acc);
    accm = _mm256_fmadd_ps(_mm256_mul_ps(m8, dx), load_sums(xs + i), accm);
  }
  float tail = 0.f;
  for (; i < nb; ++i) {
    const __m256i d = dot(i);
    float s1, m1;
    if constexpr (kF16) {
      s1 = f16(reinterpret_cast<const BlockQ4_1*>(&b[i])->d);
      m1 = f16(reinterpret_cast<const BlockQ4_1*>(&b[i])->m);
    } else {
      std::memcpy(&s1, &b[i], 4);
      std::memcpy(&m1, reinterpret_cast<const char*>(&b[i]) + 4, 4);
      if constexpr (k8bit) m1 += 128.f * s1;
    }
    tail += xd[i] * (s1 * hsum(_mm256_cvtepi32_ps(d)) + m1 * static_cast<float>(xs[i]));
  }
  return hsum(_mm256_add_ps(acc, accm)) + tail;
}

// q4_K: the 8 sub-blocks of a super-block are one group of 8 (scales and mins decoded 32 bits at a time).
float row_q4_K(const char* w, const int8_t* xq, const float* xd, const int32_t* xs, int64_t nb) {
  const auto* b = reinterpret_cast<const BlockQ4_K*>(w);
  const __m256i lo4 = _mm256_set1_epi8(15);
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb / 8; ++i, xq += 256, xd += 8, xs += 8) {
    uint32_t u[3];
    std::memcpy(u, b[i].scales, 12);
    const uint32_t sc_lo = u[0] & 0x3F3F3F3F, mn_lo = u[1] & 0x3F3F3F3F;
    const uint32_t sc_hi = (u[2] & 0x0F0F0F0F) | (((u[0] >> 6) & 0x03030303) << 4);
    const uint32_t mn_hi = ((u[2] >> 4) & 0x0F0F0F0F) | (((u[1] >> 6) & 0x03030303) << 4);
    const __m256 sc = _mm256_cvtepi32_ps(
        _mm256_cvtepu8_epi32(_mm_set_epi32(0, 0, static_cast<int>(sc_hi), static_cast<int>(sc_lo))));
    const __m256 mn = _mm256_cvtepi32_ps(
        _mm256_cvtepu8_epi32(_mm_set_epi32(0, 0, static_cast<int>(mn_hi), static_cast<int>(mn_lo))));
    __m256i dots[8];
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load32(b[i].qs + 32 * c);
      dots[2 * c] = mul_sum_u8s8(_mm256_and_si256(q, lo4), load32(xq + 64 * c));
      dots[2 * c + 1] = mul_sum_u8s8(_mm256_and_si256(_mm256_srli_epi16(q, 4), lo4), load32(xq + 64 * c + 32));
    }
    const __m256 dx = _mm256_loadu_ps(xd);
    const __m256 scale = _mm256_mul_ps(_mm256_mul_ps(sc, dx), _mm256_set1_ps(f16(b[i].d)));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(reduce8(dots)), scale, acc);
    accm = _mm256_fmadd_ps(_mm256_mul_ps(mn, dx), _mm256_mul_ps(load_sums(xs), _mm256_set1_ps(f16(b[i].dmin))), accm);
  }
  return hsum(_mm256_sub_ps(acc, accm));
}

// q6_K: per 32-group the two 16-element sub-block scales are applied in int16 → int32 (madd), then the
// 8 groups of a super-block reduce together.
float row_q6_K(const char* w, const int8_t* xq, const float* xd, const int32_t*, int64_t nb) {
  const auto* b = reinterpret_cast<const BlockQ6_K*>(w);
  const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3), k32 = _mm256_set1_epi8(32);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb / 8; ++i, xq += 256, xd += 8) {
    __m256i dots[8];
    for (int h = 0; h < 2; ++h) {
      const __m256i qh = load32(b[i].qh + 32 * h);
      const __m256i l0 = load32(b[i].ql + 64 * h), l1 = load32(b[i].ql + 64 * h + 32);
      const int8_t* sc = b[i].scales + 8 * h;
      for (int c = 0; c < 4; ++c) {
        const __m256i l = c % 2 ? l1 : l0;
        const __m256i lo = _mm256_and_si256(c / 2 ? _mm256_srli_epi16(l, 4) : l, m4);
        const __m256i hi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), m2), 4);
        const __m256i q = _mm256_sub_epi8(_mm256_or_si256(lo, hi), k32);
        const __m256i x = load32(xq + 32 * (4 * h + c));
        const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q));
        const __m256i scv = _mm256_set_m128i(_mm_set1_epi16(sc[2 * c + 1]), _mm_set1_epi16(sc[2 * c]));
        dots[4 * h + c] = _mm256_madd_epi16(p16, scv);
      }
    }
    const __m256 dx = _mm256_mul_ps(_mm256_loadu_ps(xd), _mm256_set1_ps(f16(b[i].d)));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(reduce8(dots)), dx, acc);
  }
  return hsum(acc);
}

using RowFn = float (*)(const char*, const int8_t*, const float*, const int32_t*, int64_t);

RowFn row_fn(core::DType t) {
  switch (t) {
    case core::DType::kQ8_0: return row_q8_0;
    case core::DType::kQ4_0: return row_q4_0;
    case core::DType::kQ4_1: return row_affine<BlockQ4_1, true, false>;
    case core::DType::kQ4_K: return row_q4_K;
    case core::DType::kQ6_K: return row_q6_K;
    case core::DType::kA4_32: return row_affine<BlockA4, false, false>;
    case core::DType::kA8_32: return row_affine<BlockA8, false, true>;
    default: return nullptr;
  }
}

}  // namespace

void dot_quant(core::DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows,
               float* out, int64_t ldo) {
  const RowFn f = row_fn(wt);
  const int64_t nb = x.K / 32;
  for (int64_t r = 0; r < n_rows; ++r) {
    if (r + 4 < n_rows) {  // software prefetch four rows ahead: GEMV streams weights from DRAM
      const char* next = w + (r + 4) * w_rb;
      for (int64_t o = 0; o < w_rb; o += 64) _mm_prefetch(next + o, _MM_HINT_T0);
    }
    for (int64_t m = 0; m < M; ++m) {
      out[m * ldo + r] = f(w + r * w_rb, x.qs + m * x.K, x.d + m * nb, x.sum + m * nb, nb);
    }
  }
}

}  // namespace nlm::kernels::cpu::avx2
