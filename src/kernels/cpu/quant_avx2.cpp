// AVX2 integer dot products of quantized weight rows with int8 activations (quant::ActQ8 layout: 32
// values, scale d and sum per block). Signed × signed products use the sign trick (|w| as u8 against
// x·sign(w)) so _mm256_maddubs_epi16 never saturates (2·128·127 < 2^15); unsigned 4-bit values go in
// directly. 32-block formats: int32 lanes → f32 → fma with d_w·d_x per block; K-quants: sub-block scales
// applied in integers, one conversion per super-block (one activation scale per 256, quant::act_group).
// Offsets (q4_1, q4_K mins, a4/a8 biases) use the activation block sums.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "core/f16.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/local_buffer.h"
#include "kernels/cpu/vec_avx2.h"
#include "kernels/quant/quant.h"

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
// 16 bytes of nibbles -> 32 bytes (low nibbles first, then high nibbles), values 0..15: the bytes
// broadcast to both halves (a load-port broadcast), the upper half shifted right by 4.
inline __m256i unpack_nibbles(const uint8_t* p) {
  const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(15));
}
inline float f16(uint16_t h) { return _cvtsh_ss(h); }

// Horizontal sums of 8 vectors of 8 int32 lanes: lane i of the result = Σ lanes of v[i].
// reduce4: per 128-bit lane, lane i = Σ of v[i]'s 4 values in that lane (unpacks and adds: 3 hadds
// cost more µops on Zen 3).
inline __m256i reduce4(const __m256i* v) {
  const __m256i a = _mm256_add_epi32(_mm256_unpacklo_epi32(v[0], v[1]), _mm256_unpackhi_epi32(v[0], v[1]));
  const __m256i c = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2], v[3]), _mm256_unpackhi_epi32(v[2], v[3]));
  return _mm256_add_epi32(_mm256_unpacklo_epi64(a, c), _mm256_unpackhi_epi64(a, c));
}
inline __m256i reduce8(const __m256i v[8]) {
  const __m256i a = reduce4(v), b = reduce4(v + 4);
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}
// The f16 scales of 8 consecutive blocks (`stride` bytes apart; each followed by at least 2 more bytes
// of its block) as f32. The halves are packed in two general registers (integer pipes) so only two values
// cross into the vector unit, whose load path is the busiest resource of these kernels; the empty asm
// keeps the compiler from turning the packing back into vector inserts. kEvenOdd: lanes hold blocks
// 0 2 4 6 1 3 5 7.
template <bool kEvenOdd = false>
inline __m256 scales8(const char* first_d, int64_t stride) {
  uint64_t half[2] = {0, 0};
  for (int j = 0; j < 8; ++j) {
    const int blk = kEvenOdd ? (j < 4 ? 2 * j : 2 * j - 7) : j;
    uint32_t v;  // the scale and the 2 bytes after it; the upper 16 bits are dropped below or shifted out
    std::memcpy(&v, first_d + blk * stride, 4);
    half[j / 4] |= (j % 4 == 3 ? static_cast<uint64_t>(v) : static_cast<uint64_t>(v & 0xFFFF)) << (16 * (j % 4));
  }
  __asm__("" : "+r"(half[0]), "+r"(half[1]));
  return _mm256_cvtph_ps(_mm_set_epi64x(static_cast<int64_t>(half[1]), static_cast<int64_t>(half[0])));
}
inline __m256 load_sums(const int32_t* xs) {
  return _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs)));
}

// Every format is consumed in groups of 256 weights (8 blocks of 32, or one K-quant super-block):
// group() adds the group's contribution to `acc` (8 lanes, summed at the end of the row); tail() is one
// 32-block past the last whole group (32-block formats only); kPairedX: group() reads the activations
// as pair_activations lays them out; kEvenOdd: it reads each group's 8 activation scales and sums in
// the block order 0 2 4 6 1 3 5 7 (even_odd). 32-block formats per group: 8 integer dot vectors (or 4
// paired), one reduction to 8 block sums, one vector of 8 block scales.
struct Q8_0 {
  static constexpr int64_t kGroupBytes = 8 * sizeof(BlockQ8_0);
  static constexpr bool kPairedX = false, kEvenOdd = false, kGroupRows = false;
  static void group(const char* w, const int8_t* xq, const float* xd, const int32_t*, __m256& acc) {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(w);
    __m256i dots[8];
    for (int j = 0; j < 8; ++j) dots[j] = dot_s8(load32(b[j].qs), load32(xq + 32 * j));
    const __m256 sc = _mm256_mul_ps(scales8(w, sizeof(BlockQ8_0)), _mm256_loadu_ps(xd));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(reduce8(dots)), sc, acc);
  }
  static float tail(const char* w, const int8_t* xq, float xd, int32_t) {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(w);
    return f16(b->d) * xd * hsum(_mm256_cvtepi32_ps(dot_s8(load32(b->qs), load32(xq))));
  }
};

// Σ(q − 8)·x = Σq·x − 8·Σx with q in 0..15 fed to maddubs unsigned (no sign trick needed). Blocks go in
// pairs: block 2p's 16 bytes in the low half of a vector, block 2p+1's in the high half, so one and/shift
// yields the low nibbles (elements 0..15) of both and one more the high nibbles (16..31). The activations
// come pre-arranged to match (pair_activations: x_2p[0:16], x_2p+1[0:16], x_2p[16:32], x_2p+1[16:32]),
// the two int16 products add before one madd, and each vector carries two blocks' sums. reduce4 yields
// the 8 block sums in the lane order 0 2 4 6 | 1 3 5 7, which the scales follow (kEvenOdd) instead of a
// permute: cache-resident on one thread, 0.95 ns per block with hadds and a permute, 0.83 ns now.
struct Q4_0 {
  static constexpr int64_t kGroupBytes = 8 * sizeof(BlockQ4_0);
  static constexpr bool kPairedX = true, kEvenOdd = true, kGroupRows = false;
  static void group(const char* w, const int8_t* xq, const float* xd, const int32_t* xs, __m256& acc) {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(w);
    const __m256i lo4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    __m256i v[4];
    for (int p = 0; p < 4; ++p) {
      const __m256i q = _mm256_inserti128_si256(
          _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[2 * p].qs))),
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[2 * p + 1].qs)), 1);
      const __m256i lo = _mm256_and_si256(q, lo4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4);
      const __m256i s16 = _mm256_add_epi16(_mm256_maddubs_epi16(lo, load32(xq + 64 * p)),
                                           _mm256_maddubs_epi16(hi, load32(xq + 64 * p + 32)));
      v[p] = _mm256_madd_epi16(s16, ones);  // low half: block 2p, high half: block 2p+1
    }
    const __m256i dots = reduce4(v);
    const __m256i net = _mm256_sub_epi32(dots, _mm256_slli_epi32(load32(xs), 3));
    const __m256 sc = _mm256_mul_ps(scales8<true>(w, sizeof(BlockQ4_0)), _mm256_loadu_ps(xd));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(net), sc, acc);
  }
  static float tail(const char* w, const int8_t* xq, float xd, int32_t xs) {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(w);
    const __m256 p = _mm256_cvtepi32_ps(mul_sum_u8s8(unpack_nibbles(b->qs), load32(xq)));
    return f16(b->d) * xd * (hsum(p) - 8.f * static_cast<float>(xs));
  }
};

// Eight f32 fields `stride` bytes apart.
inline __m256 floats8(const char* first, int64_t stride) {
  float f[8];
  for (int j = 0; j < 8; ++j) std::memcpy(&f[j], first + j * stride, 4);
  return _mm256_setr_ps(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
}

// Affine blocks (x = s·q + m, q unsigned 4-bit or q − 128 signed for 8-bit): Σ x̂·w = s·dx·Σq·qx + m·dx·Σqx.
template <typename Block, bool kF16, bool k8bit>
struct Affine {
  static constexpr int64_t kGroupBytes = 8 * sizeof(Block);
  static constexpr bool kPairedX = false, kEvenOdd = false, kGroupRows = false;
  static __m256i dot(const Block& b, const int8_t* xq) {
    if constexpr (k8bit) {
      return dot_s8(_mm256_xor_si256(load32(b.qs), _mm256_set1_epi8(static_cast<char>(0x80))), load32(xq));
    } else {
      return mul_sum_u8s8(unpack_nibbles(b.qs), load32(xq));
    }
  }
  static void group(const char* w, const int8_t* xq, const float* xd, const int32_t* xs, __m256& acc) {
    const auto* b = reinterpret_cast<const Block*>(w);
    __m256i dots[8];
    for (int j = 0; j < 8; ++j) dots[j] = dot(b[j], xq + 32 * j);
    __m256 s8, m8;
    if constexpr (kF16) {
      s8 = scales8(w, sizeof(Block));
      m8 = scales8(w + 2, sizeof(Block));
    } else {
      s8 = floats8(w, sizeof(Block));
      m8 = floats8(w + 4, sizeof(Block));
      if constexpr (k8bit) m8 = _mm256_fmadd_ps(s8, _mm256_set1_ps(128.f), m8);
    }
    const __m256 dx = _mm256_loadu_ps(xd);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(reduce8(dots)), _mm256_mul_ps(s8, dx), acc);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(m8, dx), load_sums(xs), acc);
  }
  static float tail(const char* w, const int8_t* xq, float xd, int32_t xs) {
    const auto& b = *reinterpret_cast<const Block*>(w);
    float s1, m1;
    if constexpr (kF16) {
      s1 = f16(reinterpret_cast<const BlockQ4_1&>(b).d);
      m1 = f16(reinterpret_cast<const BlockQ4_1&>(b).m);
    } else {
      std::memcpy(&s1, w, 4);
      std::memcpy(&m1, w + 4, 4);
      if constexpr (k8bit) m1 += 128.f * s1;
    }
    return xd * (s1 * hsum(_mm256_cvtepi32_ps(dot(b, xq))) + m1 * static_cast<float>(xs));
  }
};

// q5_0 (x = d·(q − 16)) and q5_1 (x = d·q + m), q = nibble | 16·bit in 0..31, unsigned into maddubs
// (2·31·127 < 2^15): per group 8 block dots, one reduction, q5_0's −16·Σx in integers (as q4_0's −8),
// q5_1's m·dx·Σx with one FMA (as q4_1).
template <typename Block, bool kMin>
struct Q5 {
  static constexpr int64_t kGroupBytes = 8 * sizeof(Block);
  static constexpr bool kPairedX = false, kEvenOdd = false, kGroupRows = false;
  static __m256i dot(const Block& b, const int8_t* xq) {
    return mul_sum_u8s8(_mm256_or_si256(unpack_nibbles(b.qs), fifth_bits(b.qh)), load32(xq));
  }
  static void group(const char* w, const int8_t* xq, const float* xd, const int32_t* xs, __m256& acc) {
    const auto* b = reinterpret_cast<const Block*>(w);
    __m256i dots[8];
    for (int j = 0; j < 8; ++j) dots[j] = dot(b[j], xq + 32 * j);
    const __m256 dx = _mm256_loadu_ps(xd), s8 = scales8(w, sizeof(Block));
    if constexpr (kMin) {
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(reduce8(dots)), _mm256_mul_ps(s8, dx), acc);
      acc = _mm256_fmadd_ps(_mm256_mul_ps(scales8(w + 2, sizeof(Block)), dx), load_sums(xs), acc);
    } else {
      const __m256i net = _mm256_sub_epi32(reduce8(dots), _mm256_slli_epi32(load32(xs), 4));
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(net), _mm256_mul_ps(s8, dx), acc);
    }
  }
  static float tail(const char* w, const int8_t* xq, float xd, int32_t xs) {
    const auto& b = *reinterpret_cast<const Block*>(w);
    const auto* dm = reinterpret_cast<const uint16_t*>(w);
    const float p = hsum(_mm256_cvtepi32_ps(dot(b, xq)));
    if constexpr (kMin) {
      return xd * (f16(dm[0]) * p + f16(dm[1]) * static_cast<float>(xs));
    } else {
      return f16(dm[0]) * xd * (p - 16.f * static_cast<float>(xs));
    }
  }
};

// The K-quants take one activation scale per super-block (quant::act_group), so the sub-block scales
// apply in integers (madd against int16 scales instead of ones) and the 8 sub-blocks sum without a
// horizontal reduction: one int32 → f32 conversion per 256 weights. dup_scales8 lays 8 int16 scales out
// for that: dword c of the low lane holds s[2c] twice, of the high lane s[2c+1] twice, so
// scale_pair<c> (one immediate shuffle) is "s[2c] in the low lane, s[2c+1] in the high lane".
inline __m256i dup_scales8(__m256i words) {  // words: the 8 scales as int16 in both lanes
  const __m256i pick = _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13,  //
                                        2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15);
  return _mm256_shuffle_epi8(words, pick);
}
template <int c>
inline __m256i scale_pair(__m256i dup) {
  return _mm256_shuffle_epi32(dup, 0x55 * c);
}

// q4_K / q5_K: the 32 bytes of sub-block pair c hold sub-block 2c in their low nibbles and 2c+1 in their
// high nibbles; unpack_nibbles of either 16-byte half gives 16 values of each, which is the paired
// activation layout (kPairedX). q5_K adds bit 2c (low lane) or 2c+1 (high lane) of qh[l] as 16: one
// variable shift per lane moves it to bit 4 (left for bits 0..3, right for 5..7) of the same byte.
// Offsets: −dmin·Σ_j mn_j·Σx_j, in f32 from the per-32 activation sums.
template <typename Block>
struct KQuant4 {
  static constexpr bool k5 = std::is_same_v<Block, BlockQ5_K>;
  static constexpr int64_t kGroupBytes = sizeof(Block);
  static constexpr bool kPairedX = true, kEvenOdd = false, kGroupRows = true;  // group_rows below
  template <int c>
  static __m256i fifth(__m256i qh_half) {  // qh_half: 16 bytes of qh in both lanes
    if constexpr (c < 2) {
      const __m256i left = _mm256_setr_epi32(4 - 2 * c, 4 - 2 * c, 4 - 2 * c, 4 - 2 * c,  //
                                             3 - 2 * c, 3 - 2 * c, 3 - 2 * c, 3 - 2 * c);
      return _mm256_and_si256(_mm256_sllv_epi32(qh_half, left), _mm256_set1_epi8(16));
    } else {
      const __m256i right = _mm256_setr_epi32(2 * c - 4, 2 * c - 4, 2 * c - 4, 2 * c - 4,  //
                                              2 * c - 3, 2 * c - 3, 2 * c - 3, 2 * c - 3);
      return _mm256_and_si256(_mm256_srlv_epi32(qh_half, right), _mm256_set1_epi8(16));
    }
  }
  // The super-block's scales (dup_scales8 layout), mins (f32) and q5_K's high bits (each 16-byte half in
  // both lanes).
  struct Head {
    __m256i dup, qh0, qh1;
    __m256 mn;
  };
  static Head head(const Block& b) {
    uint32_t u[3];
    std::memcpy(u, b.scales, 12);
    const uint64_t sc_lo = u[0] & 0x3F3F3F3F, mn_lo = u[1] & 0x3F3F3F3F;
    const uint64_t sc_hi = (u[2] & 0x0F0F0F0F) | (((u[0] >> 6) & 0x03030303) << 4);
    const uint64_t mn_hi = ((u[2] >> 4) & 0x0F0F0F0F) | (((u[1] >> 6) & 0x03030303) << 4);
    const __m128i sc8 = _mm_cvtsi64_si128(static_cast<int64_t>(sc_lo | sc_hi << 32));
    const __m128i mn8 = _mm_cvtsi64_si128(static_cast<int64_t>(mn_lo | mn_hi << 32));
    Head h{dup_scales8(_mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc8))), _mm256_setzero_si256(),
           _mm256_setzero_si256(), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mn8))};
    if constexpr (k5) {
      h.qh0 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qh)));
      h.qh1 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qh + 16)));
    }
    return h;
  }
  // Sub-block pair c's values: a (sub-block 2c) and h (2c + 1), unsigned, q5_K's fifth bits added.
  template <int c>
  static void values(const Block& b, __m256i qh0, __m256i qh1, __m256i& a, __m256i& h) {
    a = unpack_nibbles(b.qs + 32 * c);
    h = unpack_nibbles(b.qs + 32 * c + 16);
    if constexpr (k5) {
      a = _mm256_or_si256(a, fifth<c>(qh0));
      h = _mm256_or_si256(h, fifth<c>(qh1));
    }
  }
  template <int c>
  static __m256i pair(const Block& b, const int8_t* xq, __m256i dup, __m256i qh0, __m256i qh1) {
    __m256i a, h;
    values<c>(b, qh0, qh1, a, h);
    const __m256i p0 = _mm256_maddubs_epi16(a, load32(xq + 64 * c));
    const __m256i p1 = _mm256_maddubs_epi16(h, load32(xq + 64 * c + 32));
    return _mm256_madd_epi16(_mm256_add_epi16(p0, p1), scale_pair<c>(dup));  // |p0 + p1| ≤ 4·31·127
  }
  // One activation row (the decode): the four pairs' sums added as a tree (group_rows<1> measured up to
  // 5 % slower cache-resident).
  static void group(const char* w, const int8_t* xq, const float* xd, const int32_t* xs, __m256& acc) {
    const auto& b = *reinterpret_cast<const Block*>(w);
    const Head hd = head(b);
    const __m256i dup = hd.dup, qh0 = hd.qh0, qh1 = hd.qh1;
    const __m256i sum = _mm256_add_epi32(
        _mm256_add_epi32(pair<0>(b, xq, dup, qh0, qh1), pair<1>(b, xq, dup, qh0, qh1)),
        _mm256_add_epi32(pair<2>(b, xq, dup, qh0, qh1), pair<3>(b, xq, dup, qh0, qh1)));
    const __m256 mn = hd.mn;
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(f16(b.d) * xd[0]), acc);
    acc = _mm256_fnmadd_ps(_mm256_mul_ps(mn, load_sums(xs)), _mm256_set1_ps(f16(b.dmin) * xd[0]), acc);
  }
  // The super-block decoded once (scales, mins, each pair's values) for R activation rows (a batch's GEMV):
  // row r's activations, scales and sums of this super-block at xq[r], xd[r], xs[r].
  template <int R>
  static void group_rows(const char* w, const int8_t* const* xq, const float* const* xd, const int32_t* const* xs,
                         __m256* acc) {
    const auto& b = *reinterpret_cast<const Block*>(w);
    const Head hd = head(b);
    const __m256i dup = hd.dup, qh0 = hd.qh0, qh1 = hd.qh1;
    __m256i sum[R];
    for (int r = 0; r < R; ++r) sum[r] = _mm256_setzero_si256();
    const auto pair = [&](auto c_tag) {
      constexpr int c = decltype(c_tag)::value;
      __m256i a, h;
      values<c>(b, qh0, qh1, a, h);
      const __m256i sc = scale_pair<c>(dup);
      for (int r = 0; r < R; ++r) {
        const __m256i p0 = _mm256_maddubs_epi16(a, load32(xq[r] + 64 * c));
        const __m256i p1 = _mm256_maddubs_epi16(h, load32(xq[r] + 64 * c + 32));
        sum[r] = _mm256_add_epi32(sum[r], _mm256_madd_epi16(_mm256_add_epi16(p0, p1), sc));  // |p0 + p1| ≤ 4·31·127
      }
    };
    pair(std::integral_constant<int, 0>{});
    pair(std::integral_constant<int, 1>{});
    pair(std::integral_constant<int, 2>{});
    pair(std::integral_constant<int, 3>{});
    const __m256 mn = hd.mn;
    const float d = f16(b.d), dmin = f16(b.dmin);
    for (int r = 0; r < R; ++r) {
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[r]), _mm256_set1_ps(d * xd[r][0]), acc[r]);
      acc[r] = _mm256_fnmadd_ps(_mm256_mul_ps(mn, load_sums(xs[r])), _mm256_set1_ps(dmin * xd[r][0]), acc[r]);
    }
  }
  static float tail(const char*, const int8_t*, float, int32_t) { return 0.f; }  // K % 256 == 0
};

// q2_K / q3_K: 32-block b of a super-block takes bits 2·(b % 4) of qs[32·(b / 4) .. + 32) (one load per
// half, shared by its 4 blocks) and two 16-value sub-blocks, whose int16 scales (and q2_K's mins) go in
// as one vector [s_lo ×8 | s_hi ×8] per block: the 16 scales are decoded once per super-block into one
// register (dword b = the pair of block b), and each block's vector is one dword permute and one byte
// shuffle (this took q3_K from 7.6–8.7 to 9.9–12.2 GB/s and q2_K from 4.9–6.8 to 9.9–10.3, same runs).
// q3_K: v = low2 + 4·hbit − 4 in [−4, 3], signed, through the sign trick; q2_K: u = low2 in 0..3, and
// its mins as a second product Σ mn·x (maddubs of the per-element min byte against x), so no per-16
// activation sums are needed. One activation scale per super-block (quant::act_group): int32 sums, one
// conversion.
// Block b's vector [s[2b] ×8 | s[2b+1] ×8] from 16 int16 scales in one register (dword b: that pair).
inline __m256i pair_scales(__m256i sc16, int b) {
  const __m256i spread = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,  //
                                          2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
  return _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(sc16, _mm256_set1_epi32(b)), spread);
}

struct Q2_K {
  static constexpr int64_t kGroupBytes = sizeof(BlockQ2_K);
  static constexpr bool kPairedX = false, kEvenOdd = false, kGroupRows = false;
  static void group(const char* w, const int8_t* xq, const float* xd, const int32_t*, __m256& acc) {
    const auto& b = *reinterpret_cast<const BlockQ2_K*>(w);
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)), k4 = _mm_set1_epi8(15);
    const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(v, k4));  // dword j: the pair (sc[2j], sc[2j+1])
    const __m256i mn8 = _mm256_broadcastsi128_si256(_mm_and_si128(_mm_srli_epi16(v, 4), k4));
    const __m256i lane = _mm256_setr_epi64x(0, 0, 0x0101010101010101ll, 0x0101010101010101ll);  // high lane: +1
    const __m256i m2 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    __m256i sum = _mm256_setzero_si256(), mins = _mm256_setzero_si256();
    for (int n = 0; n < 2; ++n) {
      const __m256i q = load32(b.qs + 32 * n);
      for (int j = 0; j < 4; ++j) {
        const int blk = 4 * n + j;
        const __m256i u = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * j)), m2);
        const __m256i x = load32(xq + 32 * blk);
        const __m256i s = pair_scales(sc16, blk);
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), s));
        // mn[2·blk] in the low lane's 16 bytes, mn[2·blk + 1] in the high lane's.
        const __m256i pick = _mm256_add_epi8(_mm256_set1_epi8(static_cast<char>(2 * blk)), lane);
        const __m256i mn = _mm256_shuffle_epi8(mn8, pick);
        mins = _mm256_add_epi32(mins, _mm256_madd_epi16(_mm256_maddubs_epi16(mn, x), ones));
      }
    }
    const float dx = xd[0];
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(f16(b.d) * dx), acc);
    acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(f16(b.dmin) * dx), acc);
  }
  static float tail(const char*, const int8_t*, float, int32_t) { return 0.f; }  // K % 256 == 0
};

struct Q3_K {
  static constexpr int64_t kGroupBytes = sizeof(BlockQ3_K);
  static constexpr bool kPairedX = false, kEvenOdd = false, kGroupRows = false;
  static void group(const char* w, const int8_t* xq, const float* xd, const int32_t*, __m256& acc) {
    const auto& b = *reinterpret_cast<const BlockQ3_K*>(w);
    // The 16 scales (k3_scale) in general registers: low nibbles of bytes 0..7 for s < 8, high ones for
    // s ≥ 8; the top two bits from bytes 8..11, two bits per byte per group of four.
    uint64_t b8;
    uint32_t t;
    std::memcpy(&b8, b.scales, 8);
    std::memcpy(&t, b.scales + 8, 4);
    const uint64_t k4 = 0x0F0F0F0F0F0F0F0Full;
    const auto top = [&](int sh) { return static_cast<uint64_t>((t >> sh) & 0x03030303u); };
    const uint64_t e0 = (b8 & k4) | (top(0) | top(2) << 32) << 4;
    const uint64_t e1 = ((b8 >> 4) & k4) | (top(4) | top(6) << 32) << 4;
    const __m128i e = _mm_sub_epi8(_mm_set_epi64x(static_cast<int64_t>(e1), static_cast<int64_t>(e0)),
                                   _mm_set1_epi8(32));
    const __m256i sc16 = _mm256_cvtepi8_epi16(e);  // dword b: the pair (s[2b], s[2b+1])
    const __m256i m2 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1), four = _mm256_set1_epi8(4);
    const __m256i hm = load32(b.hmask);
    __m256i sum = _mm256_setzero_si256();
    for (int n = 0; n < 2; ++n) {
      const __m256i q = load32(b.qs + 32 * n);
      for (int j = 0; j < 4; ++j) {
        const int blk = 4 * n + j;
        const __m256i low = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * j)), m2);
        const __m256i hb = _mm256_and_si256(_mm256_srl_epi16(hm, _mm_cvtsi32_si128(blk)), one);
        const __m256i v = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(hb, 2)), four);
        const __m256i x = load32(xq + 32 * blk);
        const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(x, v));
        const __m256i s = pair_scales(sc16, blk);
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, s));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(f16(b.d) * xd[0]), acc);
  }
  static float tail(const char*, const int8_t*, float, int32_t) { return 0.f; }  // K % 256 == 0
};

// q6_K: 32-vector j of the super-block (h = j / 4, c = j % 4) has its low 16 values under sub-block scale
// 2j and its high 16 under 2j+1; the sign trick makes the products, madd applies the scales.
struct Q6_K {
  static constexpr int64_t kGroupBytes = sizeof(BlockQ6_K);
  static constexpr bool kPairedX = false, kEvenOdd = false, kGroupRows = false;
  template <int c>
  static __m256i vec(const BlockQ6_K& b, int h, const int8_t* xq, __m256i dup) {
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    const __m256i l = load32(b.ql + 64 * h + 32 * (c % 2));
    const __m256i lo = _mm256_and_si256(c / 2 ? _mm256_srli_epi16(l, 4) : l, m4);
    const __m256i qh = _mm256_and_si256(_mm256_srli_epi16(load32(b.qh + 32 * h), 2 * c), m2);
    const __m256i q = _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(qh, 4)), _mm256_set1_epi8(32));
    const __m256i x = load32(xq + 32 * (4 * h + c));
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q));
    return _mm256_madd_epi16(p16, scale_pair<c>(dup));
  }
  static void group(const char* w, const int8_t* xq, const float* xd, const int32_t*, __m256& acc) {
    const auto& b = *reinterpret_cast<const BlockQ6_K*>(w);
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
    const __m256i dups[2] = {dup_scales8(_mm256_permute4x64_epi64(sc16, 0x44)),   // scales 0..7
                             dup_scales8(_mm256_permute4x64_epi64(sc16, 0xEE))};  // scales 8..15
    __m256i sum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i s01 = _mm256_add_epi32(vec<0>(b, h, xq, dups[h]), vec<1>(b, h, xq, dups[h]));
      const __m256i s23 = _mm256_add_epi32(vec<2>(b, h, xq, dups[h]), vec<3>(b, h, xq, dups[h]));
      sum = _mm256_add_epi32(sum, _mm256_add_epi32(s01, s23));
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(f16(b.d) * xd[0]), acc);
  }
  static float tail(const char*, const int8_t*, float, int32_t) { return 0.f; }  // K % 256 == 0
};

// Weights are read as sequential streams, which the hardware prefetcher follows; software prefetch runs
// kPrefetchBytes ahead of each. Measured on Zen 3 (bench/kernels, GEMV [1×2048]·[2048×5632], 2 threads):
// interleaving 4 adjacent rows (4 streams 1–2 KiB apart, each prefetched) reached 45–70% of read
// bandwidth, one stream with prefetch 2–3 KiB ahead 60–91% (1 KiB and 4–6 KiB ahead a few points less).
// Decode reads a task's two halves as two streams in step (dot_format; Zen 5, gemv_vs_bw, alternating
// processes: q8_0 75 → 87–91 % and q4_0 62–64 → 65–68 % of a two-stream sum, q4_K 63–65 → 61–63 %).
constexpr int64_t kPrefetchBytes = 3072;

// S weight rows `stride` bytes apart against activation row m, group by group in step: S streams.
template <typename F, int S>
void dot_rows(const ActRows& x, int64_t m, const char* w, int64_t stride, float* out, int64_t out_stride) {
  constexpr int64_t kBlockBytes = F::kGroupBytes / 8;  // 32-block formats (tails only)
  const int64_t nb = x.K / 32, ng = nb / 8;
  const int8_t* xq = x.qs + m * x.K;
  const float* xd = x.d + m * nb;
  const int32_t* xs = x.sum + m * nb;
  __m256 acc[S];
  for (int j = 0; j < S; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t g = 0; g < ng; ++g) {
    for (int j = 0; j < S; ++j) {
      const char* wg = w + j * stride + g * F::kGroupBytes;
      for (int64_t l = 0; l < F::kGroupBytes; l += 64) _mm_prefetch(wg + l + kPrefetchBytes, _MM_HINT_T0);
    }
    for (int j = 0; j < S; ++j) {
      F::group(w + j * stride + g * F::kGroupBytes, xq + 256 * g, xd + 8 * g, xs + 8 * g, acc[j]);
    }
  }
  for (int j = 0; j < S; ++j) {
    float s = hsum(acc[j]);
    for (int64_t i = ng * 8; i < nb; ++i) s += F::tail(w + j * stride + i * kBlockBytes, xq + 32 * i, xd[i], xs[i]);
    out[j * out_stride] = s;
  }
}

// One weight row against activation rows m0 .. m0 + R − 1 (a batch's GEMV; the formats with group_rows, all
// K-quants), the row's super-blocks decoded once for all R. out[r·ldo] for r < R.
template <typename F, int R>
void dot_acts(const ActRows& x, int64_t m0, const char* w, float* out, int64_t ldo) {
  const int64_t nb = x.K / 32, ng = nb / 8;
  __m256 acc[R];
  const int8_t* xq[R];
  const float* xd[R];
  const int32_t* xs[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t g = 0; g < ng; ++g) {
    const char* wg = w + g * F::kGroupBytes;
    for (int64_t l = 0; l < F::kGroupBytes; l += 64) _mm_prefetch(wg + l + kPrefetchBytes, _MM_HINT_T0);
    for (int r = 0; r < R; ++r) {
      xq[r] = x.qs + (m0 + r) * x.K + 256 * g;
      xd[r] = x.d + (m0 + r) * nb + 8 * g;
      xs[r] = x.sum + (m0 + r) * nb + 8 * g;
    }
    F::template group_rows<R>(wg, xq, xd, xs, acc);
  }
  for (int r = 0; r < R; ++r) out[r * ldo] = hsum(acc[r]);  // the K-quants: K % 256 == 0, no tails
}

// The layout Q4_0::group and KQuant4::group read: within every whole group of 8 blocks, blocks 2p and 2p+1 as
// x_2p[0:16], x_2p+1[0:16], x_2p[16:32], x_2p+1[16:32]; blocks past the last whole group unchanged.
void pair_activations(const int8_t* x, int64_t K, int8_t* out) {
  const int64_t paired = K / 256 * 256;
  for (int64_t k = 0; k < paired; k += 64) {
    const __m256i a = load32(x + k), b = load32(x + k + 32);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k), _mm256_permute2x128_si256(a, b, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k + 32), _mm256_permute2x128_si256(a, b, 0x31));
  }
  std::memcpy(out + paired, x + paired, static_cast<size_t>(K - paired));
}

// Per whole group of 8 blocks, the blocks' values in the order 0 2 4 6 1 3 5 7 (kEvenOdd).
template <typename T>
void even_odd(const T* v, int64_t nb, T* out) {
  for (int64_t g = 0; g < nb / 8 * 8; g += 8) {
    for (int j = 0; j < 8; ++j) out[g + j] = v[g + (j < 4 ? 2 * j : 2 * j - 7)];
  }
  for (int64_t i = nb / 8 * 8; i < nb; ++i) out[i] = v[i];
}

template <typename F>
void dot_format(const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows, float* out, int64_t ldo) {
  ActRows xr = x;
  if constexpr (F::kPairedX) {  // this thread's copies (each pool worker has its own)
    thread_local LocalBuffer<int8_t> paired;  // aligned: no ymm load of it splits a cache line
    paired.resize(static_cast<size_t>(M * x.K));
    for (int64_t m = 0; m < M; ++m) pair_activations(x.qs + m * x.K, x.K, paired.data() + m * x.K);
    xr.qs = paired.data();
  }
  if constexpr (F::kEvenOdd) {
    const int64_t nb = x.K / 32;
    thread_local LocalBuffer<float> d;
    thread_local LocalBuffer<int32_t> sum;
    d.resize(static_cast<size_t>(M * nb));
    sum.resize(static_cast<size_t>(M * nb));
    for (int64_t m = 0; m < M; ++m) {
      even_odd(x.d + m * nb, nb, d.data() + m * nb);
      even_odd(x.sum + m * nb, nb, sum.data() + m * nb);
    }
    xr.d = d.data();
    xr.sum = sum.data();
  }
  int64_t r = 0;
  if (M == 1) {  // decode: the task's two halves as two streams in step (as quant_avx512.cpp)
    const int64_t half = n_rows / 2;
    for (; r < half; ++r) dot_rows<F, 2>(xr, 0, w + r * w_rb, half * w_rb, out + r, half);
    r = 2 * half;
  }
  for (; r < n_rows; ++r) {
    int64_t m = 0;
    if constexpr (F::kGroupRows) {
      for (; m + 4 <= M; m += 4) dot_acts<F, 4>(xr, m, w + r * w_rb, out + m * ldo + r, ldo);
      if (m + 2 <= M) {
        dot_acts<F, 2>(xr, m, w + r * w_rb, out + m * ldo + r, ldo);
        m += 2;
      }
    }
    for (; m < M; ++m) dot_rows<F, 1>(xr, m, w + r * w_rb, 0, out + m * ldo + r, 0);
  }
}

}  // namespace

void dot_quant(core::DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows,
               float* out, int64_t ldo) {
  switch (wt) {
    case core::DType::kQ8_0: return dot_format<Q8_0>(x, M, w, w_rb, n_rows, out, ldo);
    case core::DType::kQ4_0: return dot_format<Q4_0>(x, M, w, w_rb, n_rows, out, ldo);
    case core::DType::kQ4_1: return dot_format<Affine<BlockQ4_1, true, false>>(x, M, w, w_rb, n_rows, out, ldo);
    case core::DType::kQ4_K: return dot_format<KQuant4<BlockQ4_K>>(x, M, w, w_rb, n_rows, out, ldo);
    case core::DType::kQ5_K: return dot_format<KQuant4<BlockQ5_K>>(x, M, w, w_rb, n_rows, out, ldo);
    case core::DType::kQ5_0: return dot_format<Q5<BlockQ5_0, false>>(x, M, w, w_rb, n_rows, out, ldo);
    case core::DType::kQ5_1: return dot_format<Q5<BlockQ5_1, true>>(x, M, w, w_rb, n_rows, out, ldo);
    case core::DType::kQ2_K: return dot_format<Q2_K>(x, M, w, w_rb, n_rows, out, ldo);
    case core::DType::kQ3_K: return dot_format<Q3_K>(x, M, w, w_rb, n_rows, out, ldo);
    case core::DType::kQ6_K: return dot_format<Q6_K>(x, M, w, w_rb, n_rows, out, ldo);
    case core::DType::kA4_32: return dot_format<Affine<BlockA4, false, false>>(x, M, w, w_rb, n_rows, out, ldo);
    case core::DType::kA8_32: return dot_format<Affine<BlockA8, false, true>>(x, M, w, w_rb, n_rows, out, ldo);
    default: return portable_kernels().dot_quant(wt, x, M, w, w_rb, n_rows, out, ldo);
  }
}

// f16 (F16C), bf16 and q8_0 rows vectorized; other dtypes through quant::dequantize. The same values:
// the conversions are exact and q8_0 is d·q in f32 either way.
void dequantize(const void* src, core::DType t, int64_t n, float* dst) {
  const auto* s = static_cast<const uint8_t*>(src);
  int64_t i = 0;
  switch (t) {
    case core::DType::kF16:
      for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 2 * i))));
      }
      break;
    case core::DType::kBF16:
      for (; i + 8 <= n; i += 8) {
        const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 2 * i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(h, 16)));
      }
      break;
    case core::DType::kQ8_0: {
      const auto* b = static_cast<const quant::BlockQ8_0*>(src);
      for (int64_t k = 0; k < n / 32; ++k) {
        const __m256 d = _mm256_set1_ps(f16(b[k].d));
        for (int j = 0; j < 32; j += 8) {
          const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b[k].qs + j));
          _mm256_storeu_ps(dst + 32 * k + j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
        }
      }
      return;
    }
    default: return quant::dequantize(src, t, n, dst);
  }
  if (i < n) quant::dequantize(s + 2 * i, t, n - i, dst + i);  // f16 / bf16 tail
}

}  // namespace nlm::kernels::cpu::avx2
