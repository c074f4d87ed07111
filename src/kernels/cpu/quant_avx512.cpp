// AVX-512 (F, BW, VL, DQ, VNNI) GEMV: quantized weight rows · int8 activation rows (quant::ActQ8) on zmm
// registers. Where memory feeds two threads at 70+ GB/s (Zen 5) the AVX2 kernels (quant_avx2.cpp) are
// compute-bound; here VPDPBUSD multiplies unsigned weight bytes by signed activation bytes and sums four
// products into a dword in one instruction (AVX2: maddubs + madd), 64 weights per instruction.
// - q4_0 / q4_1 / a4_32: 4 blocks per zmm, block j's 16 bytes of nibbles in 128-bit lane j (one load,
//   three inserts). The low nibbles (values 0..15 of every block) and the high ones (16..31) meet
//   activations laid out to match (quad order, prepared once per call). Block j's sum is the 4 dwords of
//   lane j; they are converted and scaled as they are (d_w·d_x repeated over the lane), so nothing is
//   reduced horizontally before the row's end.
// - q8_0 / a8_32: 2 blocks per zmm (one 256-bit half each); q8_0's signed bytes go in as w ^ 0x80 = w + 128.
// - Signed formats (q8_0: w, q4_0: q − 8, q5_0: q − 16) go in as w + c: Σw·x = Σ(w + c)·x − c·Σx, and
//   −c·s·d_x·Σx is one 8-lane FMA per 8 blocks on the side (d_x·Σx prepared per call). Starting each
//   block's accumulator from a prepared −c·Σx vector was no faster (one more load per 4 blocks).
// - Affine formats (q4_1, q5_1, a4_32, a8_32: w = s·u + o): u goes in unsigned; o·d_x·Σx on the side.
// - q4_K / q5_K: a super-block's 128 bytes of nibbles as 2 zmm, each holding sub-blocks (4p, 4p+2) in its
//   low nibbles and (4p+1, 4p+3) in its high ones; activations prepared in that order. maddubs makes
//   int16 pair sums, VPDPWSSD multiplies them by the sub-block scales (int16 words from one byte shuffle)
//   and accumulates: one conversion per 256 weights. q5_K's fifth bits: one byte test into a mask, one
//   masked add of 16. Mins: −dmin·d_x·Σ mn_j·Σx_j on the side.
// - q6_K: ql's 128 bytes as 2 zmm (low nibbles: values 0..63 of each half super-block, high: 64..127), qh's
//   two bits moved to bits 4–5 by one variable shift per vector, q = 0..63 unsigned; the scales (one per
//   16 values) by VPDPWSSD; the −32 as −32·Σ sc_j·Σx_j over the 16 sub-blocks (per-16 activation sums
//   prepared per call).
// - q5_0 / q5_1: the q4_0 / q4_1 path with the fifth bits added as 16 (add_fifth_bits).
// - q2_K / q3_K: see K3 below. 32-block rows are consumed 8 blocks at a time; the blocks past the
// last whole 8 are summed in integers (tail()).
#ifdef NLM_AVX512_EMULATE
#include "kernels/cpu/avx512_emu.h"
#else
#include <immintrin.h>
#endif

#include <atomic>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/local_buffer.h"
#include "kernels/quant/blocks.h"

// GCC 12 reports its own _mm512_undefined_*() inside the cast and insert intrinsics as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace nlm::kernels::cpu {
namespace avx512 {
namespace {

using core::DType;
using namespace quant;

inline float f16(uint16_t h) { return _cvtsh_ss(h); }
inline uint16_t u16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline float f32(const char* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}
inline __m512i vec(const void* p) { return _mm512_loadu_si512(p); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i vec128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// Eight f16 fields `stride` bytes apart as f32: word inserts (building the 8 words in general registers
// and moving them over cost 1.7 ns per 8 q4_0 blocks at -O2, through a store-to-load forward, and 0.47 at -O3).
inline __m256 f16x8(const char* first, int64_t stride) {
  __m128i v = _mm_cvtsi32_si128(u16(first));
  v = _mm_insert_epi16(v, u16(first + stride), 1);
  v = _mm_insert_epi16(v, u16(first + 2 * stride), 2);
  v = _mm_insert_epi16(v, u16(first + 3 * stride), 3);
  v = _mm_insert_epi16(v, u16(first + 4 * stride), 4);
  v = _mm_insert_epi16(v, u16(first + 5 * stride), 5);
  v = _mm_insert_epi16(v, u16(first + 6 * stride), 6);
  return _mm256_cvtph_ps(_mm_insert_epi16(v, u16(first + 7 * stride), 7));
}
inline __m256 f32x8(const char* first, int64_t stride) {
  return _mm256_setr_ps(f32(first), f32(first + stride), f32(first + 2 * stride), f32(first + 3 * stride),
                        f32(first + 4 * stride), f32(first + 5 * stride), f32(first + 6 * stride),
                        f32(first + 7 * stride));
}
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
// v's two 256-bit halves added, split by GCC's vector shuffle: inlined into dot_rows, every GCC 12
// intrinsic built on _mm512_undefined_* (_mm512_reduce_add_ps, the casts and extracts to 256 bits, the
// lane shuffles) warns that the undefined vector is used uninitialized: a false positive -Werror stops on.
inline __m256 fold(__m512 v) {
  const __m256 lo = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 hi = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm256_add_ps(lo, hi);
}

// 16-lane indices and byte patterns, loaded as vectors.
struct alignas(64) Lanes {
  int32_t v[16];
};
struct alignas(64) Bytes {
  uint8_t v[64];
};
struct alignas(64) Words {
  int16_t v[32];
};
struct alignas(16) Bytes16 {
  uint8_t v[16];
};
constexpr Lanes lanes_of(int first, int per) {  // lane i → first + i / per
  Lanes l{};
  for (int i = 0; i < 16; ++i) l.v[i] = first + i / per;
  return l;
}
constexpr Lanes kQuadLanes[2] = {lanes_of(0, 4), lanes_of(4, 4)};  // the 8 block scales over 2 quads
constexpr Lanes kPairLanes[4] = {lanes_of(0, 8), lanes_of(2, 8), lanes_of(4, 8), lanes_of(6, 8)};

// q4_K / q5_K: the byte shuffle that makes int16 scale words of sub-block 4p + h (128-bit lanes 0, 1) and
// 4p + h + 2 (lanes 2, 3) from the 8 scale bytes repeated in every qword.
constexpr Bytes k4_scale_words(int p, int h) {
  Bytes b{};
  for (int i = 0; i < 64; ++i) b.v[i] = i % 2 ? 0x80 : static_cast<uint8_t>(4 * p + h + (i >= 32 ? 2 : 0));
  return b;
}
constexpr Bytes kK4Scales[2][2] = {{k4_scale_words(0, 0), k4_scale_words(0, 1)},
                                   {k4_scale_words(1, 0), k4_scale_words(1, 1)}};
// q5_K: the qh bit of sub-block 4p + h (bytes 0..31) and 4p + h + 2 (bytes 32..63).
constexpr Bytes k5_bits(int p, int h) {
  Bytes b{};
  for (int i = 0; i < 64; ++i) b.v[i] = static_cast<uint8_t>(1u << (4 * p + h + (i >= 32 ? 2 : 0)));
  return b;
}
constexpr Bytes kK5Bits[2][2] = {{k5_bits(0, 0), k5_bits(0, 1)}, {k5_bits(1, 0), k5_bits(1, 1)}};
// q6_K: scale words of the 16-value sub-blocks 8h + 4·half + lane.
constexpr Words q6_scale_words(int h, int half) {
  Words w{};
  for (int i = 0; i < 32; ++i) w.v[i] = static_cast<int16_t>(8 * h + 4 * half + i / 8);
  return w;
}
constexpr Words kQ6Scales[2][2] = {{q6_scale_words(0, 0), q6_scale_words(0, 1)},
                                   {q6_scale_words(1, 0), q6_scale_words(1, 1)}};
constexpr Words shift_words(int first, int second) {  // words 0..15: first, 16..31: second
  Words w{};
  for (int i = 0; i < 32; ++i) w.v[i] = static_cast<int16_t>(i < 16 ? first : second);
  return w;
}
constexpr Words kQ6Left = shift_words(4, 2), kQ6Right = shift_words(0, 2);

// The f16 d of 8 q4_0 blocks (18 bytes = 9 words apart) are words 0, 9, .., 63 of the group's first 128
// bytes: two loads and one two-table word permute. q8_0 (34 bytes = 17 words apart): words 0, 17, 34, 51
// of the first and of the second four blocks' 128 bytes. Per block with the rest of the kernel, one
// thread, cache-resident: q4_0 0.43 ns (0.49 with word inserts); q8_0 0.73 either way.
constexpr Words kQ4_0Scales = {{0, 9, 18, 27, 36, 45, 54, 63}}, kQ8_0Scales = {{0, 17, 34, 51}};
inline __m256 q4_0_scales(__m512i first, __m512i second) {  // the group's bytes 0..63 and 64..127
  return _mm256_cvtph_ps(_mm512_castsi512_si128(_mm512_permutex2var_epi16(first, vec(kQ4_0Scales.v), second)));
}
inline __m256 q8_0_scales(const char* group) {
  const __m512i idx = vec(kQ8_0Scales.v), lo = _mm512_permutex2var_epi16(vec(group), idx, vec(group + 64));
  const __m512i hi = _mm512_permutex2var_epi16(vec(group + 136), idx, vec(group + 200));
  return _mm256_cvtph_ps(_mm_unpacklo_epi64(_mm512_castsi512_si128(lo), _mm512_castsi512_si128(hi)));
}

// With VBMI (Ice Lake, Zen 4 and later), q4_0's 8 blocks (144 bytes) are read as three zmm loads (bytes
// 0..63, 64..127, 80..143) and each quad's 64 nibble bytes gathered from two of them by one two-table
// byte permute (vpermt2b), in place of 8 loads and 6 inserts; the scales come from the first two loads.
// One thread, cache-resident, two streams: 0.380 → 0.340 ns per block. Written as inline assembly, so
// that the file needs no -mavx512vbmi (the compiler could then use VBMI anywhere in it); it runs only
// where avx512_vbmi() is on.
constexpr Bytes q4_0_quad_pick(int q) {  // byte i of quad q: block 4q + i / 16's value byte i % 16
  Bytes b{};
  for (int i = 0; i < 64; ++i) {
    const int at = 2 + 18 * (4 * q + i / 16) + i % 16;  // in the group: quad 0 in 2..71, quad 1 in 74..143
    b.v[i] = static_cast<uint8_t>(q == 0 ? at : at < 128 ? at - 64 : 64 + at - 80);
  }
  return b;
}
constexpr Bytes kQ4_0Quads[2] = {q4_0_quad_pick(0), q4_0_quad_pick(1)};
inline __m512i permute_bytes(__m512i a, __m512i idx, __m512i b) {  // byte i = (idx_i & 64 ? b : a)[idx_i % 64]
#ifdef NLM_AVX512_EMULATE
  return _mm512_permutex2var_epi8(a, idx, b);
#else
  __asm__("vpermt2b %2, %1, %0" : "+v"(a) : "v"(idx), "v"(b));
  return a;
#endif
}
bool vbmi_supported() {
#ifdef NLM_AVX512_EMULATE
  return true;  // emulated like the rest
#else
  return core::cpu_features().avx512vbmi;
#endif
}
std::atomic<bool>& vbmi_flag() {
  static std::atomic<bool> on{vbmi_supported()};
  return on;
}

// One activation row as a format's kernel reads it (prepared once per call).
struct Prepared {
  const int8_t* qs;      // K values: as quantized, or in the format's order (quad, K4); tails as quantized
  const float* dx;       // scale per 32 values
  const int32_t* sum;    // Σx per 32 values
  const float* side;     // per 32: d_x·Σx (affine), −c·d_x·Σx (signed: q8_0, q4_0)
  const int16_t* sums;   // Σx per 32 (q4_K / q5_K) or per 16 (q6_K)
  int64_t K;
};

enum class Order { kAsIs, kQuad, kK4, kK3 };

// Per 8 blocks of 32: the 4 blocks of each quad as x_b[0:16] for b = 0..3, then x_b[16:32].
void quad_order(const int8_t* x, int64_t n_groups, int8_t* out) {
  for (int64_t q = 0; q < 2 * n_groups; ++q) {
    for (int j = 0; j < 4; ++j) {
      std::memcpy(out + 128 * q + 16 * j, x + 128 * q + 32 * j, 16);
      std::memcpy(out + 128 * q + 64 + 16 * j, x + 128 * q + 32 * j + 16, 16);
    }
  }
}
// Per super-block: the 32-value sub-blocks in the order 0 2 1 3 4 6 5 7.
void k4_order(const int8_t* x, int64_t n_groups, int8_t* out) {
  constexpr int kFrom[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  for (int64_t g = 0; g < n_groups; ++g) {
    for (int i = 0; i < 8; ++i) std::memcpy(out + 256 * g + 32 * i, x + 256 * g + 32 * kFrom[i], 32);
  }
}

// Per super-block: the 32-value blocks in the order 0 4 1 5 2 6 3 7 (q2_K / q3_K).
void k3_order(const int8_t* x, int64_t n_groups, int8_t* out) {
  constexpr int kFrom[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  for (int64_t g = 0; g < n_groups; ++g) {
    for (int i = 0; i < 8; ++i) std::memcpy(out + 256 * g + 32 * i, x + 256 * g + 32 * kFrom[i], 32);
  }
}

// ---- 32-block formats ----

// 4 blocks' 16 value bytes (`stride` apart) in the four 128-bit lanes.
inline __m512i quad_bytes(const char* first, int64_t stride) {
  const auto lane = [&](int j) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(first + j * stride)); };
  __m512i v = _mm512_castsi128_si512(lane(0));
  v = _mm512_inserti32x4(v, lane(1), 1);
  v = _mm512_inserti32x4(v, lane(2), 2);
  return _mm512_inserti32x4(v, lane(3), 3);
}
inline __m512i pair_bytes(const char* first, int64_t stride) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(load256(first)), load256(first + stride), 1);
}

// q5_0 / q5_1: the fifth bits of a quad (each block's 32-bit qh `stride` apart) as 16 in the bytes of the
// low-nibble vector (bits 0..15 of block j in lane j) or of the high one (bits 16..31): the block's qh
// repeated over its lane, a byte shuffle (byte m of the lane takes qh byte m / 8, or 2 + m / 8), one test
// of bit m % 8 into a mask, one masked add.
constexpr Bytes fifth_pick(int half) {
  Bytes b{};
  for (int i = 0; i < 64; ++i) b.v[i] = static_cast<uint8_t>(2 * half + i % 16 / 8);
  return b;
}
constexpr Bytes kFifthPick[2] = {fifth_pick(0), fifth_pick(1)};
constexpr Bytes kFifthBit = [] {
  Bytes b{};
  for (int i = 0; i < 64; ++i) b.v[i] = static_cast<uint8_t>(1u << (i % 8));
  return b;
}();
inline void add_fifth_bits(const char* first_qh, int64_t stride, __m512i& lo, __m512i& hi) {
  uint32_t h[4];
  for (int j = 0; j < 4; ++j) std::memcpy(&h[j], first_qh + j * stride, 4);
  const __m512i qh = _mm512_permutexvar_epi32(vec(kQuadLanes[0].v),
                                              _mm512_castsi128_si512(_mm_setr_epi32(static_cast<int>(h[0]),
                                                                                    static_cast<int>(h[1]),
                                                                                    static_cast<int>(h[2]),
                                                                                    static_cast<int>(h[3]))));
  const __m512i bit = vec(kFifthBit.v), sixteen = _mm512_set1_epi32(0x10101010);
  lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(_mm512_shuffle_epi8(qh, vec(kFifthPick[0].v)), bit), lo,
                            sixteen);
  hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(_mm512_shuffle_epi8(qh, vec(kFifthPick[1].v)), bit), hi,
                            sixteen);
}

// kInit: the signed offset c (q8_0: 128, q4_0: 8, q5_0: 16; 0 for affine formats); kQuad: nibbles (else
// bytes); kValues: the values' offset in the block; kF16: f16 scale (and offset) fields, else f32; kQh: the
// offset of q5_0 / q5_1's fifth bits (0: none); kVbmi: q4_0's groups gathered by vpermt2b (above).
template <typename Block, int kInit, bool kQuad, int64_t kValues, bool kF16, int64_t kQh = 0, bool kVbmi = false>
struct B32 {
  static_assert(!kVbmi || std::is_same_v<Block, BlockQ4_0>);
  static constexpr int64_t kBlockBytes = sizeof(Block), kGroupBytes = 8 * kBlockBytes;
  static constexpr bool kAffine = kInit == 0;
  static constexpr float kSideScale = kAffine ? 1.f : -static_cast<float>(kInit);  // side: kSideScale·d_x·Σx
  static constexpr Order kOrder = kQuad ? Order::kQuad : Order::kAsIs;

  // The group's weights decoded once (scales, offsets, value bytes) and applied to R activation rows
  // (a batch's GEMV: M > 1 reads each weight row once for all M).
  template <int R>
  static void group_rows(const char* w, const Prepared* const* a, int64_t g, __m512 (*acc)[2], __m256* side) {
    __m256 s8, o8 = _mm256_setzero_ps();
    __m512i v[4] = {};  // the values: two quads' bytes (kQuad), else four pairs' bytes
    if constexpr (kVbmi) {
      const __m512i first = vec(w), second = vec(w + 64);
      s8 = q4_0_scales(first, second);
      v[0] = permute_bytes(first, vec(kQ4_0Quads[0].v), second);
      v[1] = permute_bytes(second, vec(kQ4_0Quads[1].v), vec(w + 80));
    } else if constexpr (std::is_same_v<Block, BlockQ4_0>) {
      s8 = q4_0_scales(vec(w), vec(w + 64));
    } else if constexpr (std::is_same_v<Block, BlockQ8_0>) {
      s8 = q8_0_scales(w);
    } else {
      s8 = kF16 ? f16x8(w, kBlockBytes) : f32x8(w, kBlockBytes);
    }
    if constexpr (kAffine) o8 = kF16 ? f16x8(w + 2, kBlockBytes) : f32x8(w + 4, kBlockBytes);
    if constexpr (kQuad) {
      const __m512i m4 = _mm512_set1_epi32(0x0F0F0F0F);
      __m512i lo[2], hi[2];
      for (int q = 0; q < 2; ++q) {
        const __m512i u = kVbmi ? v[q] : quad_bytes(w + 4 * q * kBlockBytes + kValues, kBlockBytes);
        lo[q] = _mm512_and_si512(u, m4);
        hi[q] = _mm512_and_si512(_mm512_srli_epi16(u, 4), m4);
        if constexpr (kQh != 0) add_fifth_bits(w + 4 * q * kBlockBytes + kQh, kBlockBytes, lo[q], hi[q]);
      }
      for (int r = 0; r < R; ++r) {
        const __m512 sc = row_side(a[r], g, s8, o8, side[r]);
        for (int q = 0; q < 2; ++q) {
          const int8_t* x = a[r]->qs + 128 * (2 * g + q);
          __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[q], vec(x));
          s = _mm512_dpbusd_epi32(s, hi[q], vec(x + 64));
          acc[r][q] =
              _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_permutexvar_ps(vec(kQuadLanes[q].v), sc), acc[r][q]);
        }
      }
    } else {
      for (int p = 0; p < 4; ++p) {
        v[p] = pair_bytes(w + 2 * p * kBlockBytes + kValues, kBlockBytes);
        if constexpr (!kAffine) v[p] = _mm512_xor_si512(v[p], _mm512_set1_epi32(static_cast<int>(0x80808080u)));
      }
      for (int r = 0; r < R; ++r) {
        const __m512 sc = row_side(a[r], g, s8, o8, side[r]);
        for (int p = 0; p < 4; ++p) {
          const __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), v[p], vec(a[r]->qs + 64 * (4 * g + p)));
          acc[r][p % 2] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_permutexvar_ps(vec(kPairLanes[p].v), sc),
                                          acc[r][p % 2]);
        }
      }
    }
  }
  // One activation row's part of a group: its side term (signed: −c·s·d_x·Σx; affine: o·d_x·Σx) into side,
  // and the 8 blocks' s·d_x (lanes 0..7) returned.
  static __m512 row_side(const Prepared* a, int64_t g, __m256 s8, __m256 o8, __m256& side) {
    side = _mm256_fmadd_ps(kAffine ? o8 : s8, _mm256_loadu_ps(a->side + 8 * g), side);
    return _mm512_castps256_ps512(_mm256_mul_ps(s8, _mm256_loadu_ps(a->dx + 8 * g)));
  }

  // Block b past the last whole group: the same sum in integers. The weights are widened to int16 and
  // multiplied by madd: GCC 12 vectorizes a plain signed-byte dot-product loop, built with -mavx512vnni, into
  // VPDPBUSD (unsigned × signed) and gets wrong sums (32 products: −48000 for 1664).
  static float tail(const char* w, const Prepared& a, int64_t b) {
    const auto* v = reinterpret_cast<const uint8_t*>(w + kValues);
    alignas(32) int16_t wv[32];
    for (int k = 0; k < 32; ++k) {
      int32_t u;
      if constexpr (kQuad) {
        u = k < 16 ? v[k] & 15 : v[k - 16] >> 4;
        if constexpr (kQh != 0) u |= (static_cast<uint8_t>(w[kQh + k / 8]) >> (k % 8) & 1) << 4;
      } else {
        u = kAffine ? v[k] : static_cast<int8_t>(v[k]) + kInit;  // q8_0: the signed byte
      }
      wv[k] = static_cast<int16_t>(u - kInit);
    }
    const auto* x = reinterpret_cast<const __m128i*>(a.qs + 32 * b);
    const __m256i p0 = _mm256_madd_epi16(load256(wv), _mm256_cvtepi8_epi16(_mm_loadu_si128(x)));
    const __m256i p1 = _mm256_madd_epi16(load256(wv + 16), _mm256_cvtepi8_epi16(_mm_loadu_si128(x + 1)));
    const __m256i p = _mm256_add_epi32(p0, p1);
    const float dot = hsum(_mm256_cvtepi32_ps(p));  // |Σ| < 2^24: exact
    const float s = kF16 ? f16(u16(w)) : f32(w);
    const float o = kAffine ? (kF16 ? f16(u16(w + 2)) : f32(w + 4)) : 0.f;
    return a.dx[b] * (s * dot + o * static_cast<float>(a.sum[b]));
  }
};

using Q8_0 = B32<BlockQ8_0, 128, false, 2, true>;
using Q4_0 = B32<BlockQ4_0, 8, true, 2, true>;
using Q4_0Vbmi = B32<BlockQ4_0, 8, true, 2, true, 0, true>;
using Q4_1 = B32<BlockQ4_1, 0, true, 4, true>;
using A4 = B32<BlockA4, 0, true, 8, false>;
using A8 = B32<BlockA8, 0, false, 8, false>;
using Q5_0 = B32<BlockQ5_0, 16, true, 6, true, 2>;
using Q5_1 = B32<BlockQ5_1, 0, true, 8, true, 4>;

// ---- K-quants (one activation scale per super-block: quant::act_group) ----

// q4_K / q5_K's 6-bit scales and mins (quant::k4_scale_min) from the block's first 16 bytes (dwords d|dmin,
// u0, u1, u2): scales sc_lo = u0 & 0x3F.., sc_hi = (u2 & 0x0F..) | ((u0 >> 2) & 0x30..), mins mn_lo =
// u1 & 0x3F.., mn_hi = ((u2 >> 4) & 0x0F..) | ((u1 >> 2) & 0x30..), as dwords [sc_lo, sc_hi, mn_lo, mn_hi].
// Eight vector operations in place of ~25 scalar ones per super-block.
constexpr Bytes16 kK4Low = {{4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15}};  // u0 u2 u1 u2
constexpr Bytes16 kK4High = {{0x80, 0x80, 0x80, 0x80, 4, 5, 6, 7, 0x80, 0x80, 0x80, 0x80, 8, 9, 10, 11}};  // - u0 - u1
constexpr Bytes16 kK4Mins = {{8, 0x80, 9, 0x80, 10, 0x80, 11, 0x80, 12, 0x80, 13, 0x80, 14, 0x80, 15, 0x80}};
inline __m128i k4_scales_mins(__m128i head) {
  const __m128i picked = _mm_srlv_epi32(_mm_shuffle_epi8(head, vec128(kK4Low.v)), _mm_setr_epi32(0, 0, 0, 4));
  const __m128i low = _mm_and_si128(picked, _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F));
  const __m128i high = _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi8(head, vec128(kK4High.v)), 2),
                                     _mm_set1_epi32(0x30303030));
  return _mm_or_si128(low, high);
}

template <typename Block>
struct K4 {
  static constexpr bool k5 = std::is_same_v<Block, BlockQ5_K>;
  static constexpr int64_t kBlockBytes = sizeof(Block), kGroupBytes = kBlockBytes;
  static constexpr Order kOrder = Order::kK4;

  // The super-block decoded once (values, scale words, mins) and applied to R activation rows.
  template <int R>
  static void group_rows(const char* w, const Prepared* const* a, int64_t g, __m512 (*acc)[2], __m256* side) {
    const auto& b = *reinterpret_cast<const Block*>(w);
    // The block's first 16 bytes: d, dmin (f16), then the 12 scale bytes as dwords u0, u1, u2.
    const __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
    const __m128i scmn = k4_scales_mins(head);  // bytes 0..7: the 8 scales; 8..15: the 8 mins
    const __m512i scb = _mm512_broadcastq_epi64(scmn);
    const __m512i m4 = _mm512_set1_epi32(0x0F0F0F0F), sixteen = _mm512_set1_epi32(0x10101010);
    __m512i qh = _mm512_setzero_si512();
    if constexpr (k5) qh = _mm512_broadcast_i64x4(load256(b.qh));
    __m512i u[4], scw[4];  // u[i] meets activations 64·i..64·i + 63 of the (k4_order) super-block
    for (int p = 0; p < 2; ++p) {
      const __m512i v = vec(b.qs + 64 * p);
      __m512i lo = _mm512_and_si512(v, m4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
      if constexpr (k5) {
        lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh, vec(kK5Bits[p][0].v)), lo, sixteen);
        hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(qh, vec(kK5Bits[p][1].v)), hi, sixteen);
      }
      u[2 * p] = lo;
      u[2 * p + 1] = hi;
      scw[2 * p] = _mm512_shuffle_epi8(scb, vec(kK4Scales[p][0].v));
      scw[2 * p + 1] = _mm512_shuffle_epi8(scb, vec(kK4Scales[p][1].v));
    }
    const __m128 d2 = _mm_cvtph_ps(head);  // d, dmin
    const __m128i mn16 = _mm_shuffle_epi8(scmn, vec128(kK4Mins.v));
    for (int r = 0; r < R; ++r) {
      const int8_t* x = a[r]->qs + 256 * g;
      __m512i sum = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(u[0], vec(x)), scw[0]);
      __m512i sum2 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(u[1], vec(x + 64)), scw[1]);
      sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(u[2], vec(x + 128)), scw[2]);
      sum2 = _mm512_dpwssd_epi32(sum2, _mm512_maddubs_epi16(u[3], vec(x + 192)), scw[3]);
      sum = _mm512_add_epi32(sum, sum2);
      // d and dmin converted together, times d_x; the mins' Σ mn_j·Σx_j in integers.
      const __m128 dd = _mm_mul_ps(d2, _mm_set1_ps(a[r]->dx[8 * g]));
      acc[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_broadcastss_ps(dd), acc[r][0]);
      const __m128i mx = _mm_madd_epi16(mn16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[r]->sums + 8 * g)));
      side[r] = _mm256_fnmadd_ps(_mm256_zextps128_ps256(_mm_cvtepi32_ps(mx)),
                                 _mm256_zextps128_ps256(_mm_shuffle_ps(dd, dd, 0x55)), side[r]);
    }
  }
  static float tail(const char*, const Prepared&, int64_t) { return 0.f; }  // K % 256 == 0
};

// q2_K / q3_K: the 64 bytes of 2-bit values as one zmm (bytes 0..31: blocks 0..3, 32..63: blocks 4..7, block
// 4n + j in bits 2j), so shift j yields blocks j and 4 + j, against activations in the order 0 4 1 5 2 6 3 7.
// u = the 2-bit value (q3_K: + 4 where the block's hmask bit is set: one byte test into a mask, one masked
// add) goes in unsigned: maddubs makes int16 pair sums, VPDPWSSD multiplies them by the 16-value
// sub-blocks' scales (one word permute of the 16 decoded scales per shift) and accumulates. Offsets on the
// side from the per-16 activation sums: q3_K's −4 as −4·Σ sc_s·Σx_s in the integer sum; q2_K's mins as
// −dmin·d_x·Σ mn_s·Σx_s.
constexpr Words k3_scale_words(int j) {  // words 0..15: sub-blocks 2j, 2j + 1; 16..31: 2j + 8, 2j + 9
  Words w{};
  for (int i = 0; i < 32; ++i) w.v[i] = static_cast<int16_t>(2 * j + (i / 8) % 2 + (i >= 16 ? 8 : 0));
  return w;
}
constexpr Words kK3Scales[4] = {k3_scale_words(0), k3_scale_words(1), k3_scale_words(2), k3_scale_words(3)};
constexpr Bytes k3_bits(int j) {  // block j's hmask bit in bytes 0..31, block 4 + j's in 32..63
  Bytes b{};
  for (int i = 0; i < 64; ++i) b.v[i] = static_cast<uint8_t>(1u << (j + (i >= 32 ? 4 : 0)));
  return b;
}
constexpr Bytes kK3Bits[4] = {k3_bits(0), k3_bits(1), k3_bits(2), k3_bits(3)};

constexpr Bytes16 kK3Nibbles = {{4, 5, 6, 7, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11}};
constexpr Bytes16 kK3Tops = {{12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15}};

template <typename Block>
struct K3 {
  static constexpr bool k3 = std::is_same_v<Block, BlockQ3_K>;
  static constexpr int64_t kBlockBytes = sizeof(Block), kGroupBytes = kBlockBytes;
  static constexpr Order kOrder = Order::kK3;

  // The 16 scales as int16 words 0..15: q2_K's low nibbles; q3_K's 6-bit e − 32 (quant::k3_scale), from
  // the 16 bytes that end with the 12 scale bytes (inside the block): byte s of `nib` is scale byte s % 8
  // (low nibble for s < 8, high for s ≥ 8), byte s of `top` is scale byte 8 + s % 4, whose bits 2·(s / 4)
  // (one shift count per dword) are e's bits 4–5.
  static __m256i scales(const char* w) {
    const auto& b = *reinterpret_cast<const Block*>(w);
    if constexpr (k3) {
      const __m128i v = vec128(w + offsetof(BlockQ3_K, scales) - 4), k4 = _mm_set1_epi8(15);
      const __m128i nib = _mm_shuffle_epi8(v, vec128(kK3Nibbles.v));
      const __m128i low = _mm_blend_epi16(_mm_and_si128(nib, k4), _mm_and_si128(_mm_srli_epi16(nib, 4), k4), 0xF0);
      const __m128i top = _mm_srlv_epi32(_mm_shuffle_epi8(v, vec128(kK3Tops.v)), _mm_setr_epi32(0, 2, 4, 6));
      const __m128i e = _mm_or_si128(low, _mm_slli_epi16(_mm_and_si128(top, _mm_set1_epi8(3)), 4));
      return _mm256_cvtepi8_epi16(_mm_sub_epi8(e, _mm_set1_epi8(32)));
    } else {
      return _mm256_cvtepu8_epi16(_mm_and_si128(vec128(b.scales), _mm_set1_epi8(15)));
    }
  }

  // The super-block decoded once (2- or 3-bit values, scale words) and applied to R activation rows.
  template <int R>
  static void group_rows(const char* w, const Prepared* const* a, int64_t g, __m512 (*acc)[2], __m256* side) {
    const auto& b = *reinterpret_cast<const Block*>(w);
    const __m256i sc16 = scales(w);
    const __m512i sc = _mm512_castsi256_si512(sc16), q = vec(b.qs), m2 = _mm512_set1_epi32(0x03030303);
    __m512i hm = _mm512_setzero_si512(), u[4], scw[4];  // u[j] meets activations 64·j..64·j + 63 (k3_order)
    if constexpr (k3) hm = _mm512_broadcast_i64x4(load256(b.hmask));
    for (int j = 0; j < 4; ++j) {
      u[j] = _mm512_and_si512(_mm512_srli_epi16(q, static_cast<unsigned>(2 * j)), m2);
      if constexpr (k3) {
        u[j] = _mm512_mask_add_epi8(u[j], _mm512_test_epi8_mask(hm, vec(kK3Bits[j].v)), u[j],
                                    _mm512_set1_epi32(0x04040404));
      }
      scw[j] = _mm512_permutexvar_epi16(vec(kK3Scales[j].v), sc);
    }
    __m256i mn16 = _mm256_setzero_si256();
    if constexpr (!k3) {  // q2_K's mins: the scale bytes' high nibbles
      mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(vec128(b.scales), 4), _mm_set1_epi8(15)));
    }
    const float d = f16(b.d);
    for (int r = 0; r < R; ++r) {
      const int8_t* x = a[r]->qs + 256 * g;
      __m512i sum = _mm512_setzero_si512();
      for (int j = 0; j < 4; ++j) sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(u[j], vec(x + 64 * j)), scw[j]);
      const float dx = a[r]->dx[8 * g];
      const __m256i sums = load256(a[r]->sums + 16 * g);
      if constexpr (k3) {
        const __m256i off = _mm256_madd_epi16(sc16, sums);  // Σ sc_s·Σx_s in 8 pairs
        sum = _mm512_sub_epi32(sum, _mm512_zextsi256_si512(_mm256_slli_epi32(off, 2)));
        acc[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(d * dx), acc[r][0]);
      } else {
        acc[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(d * dx), acc[r][0]);
        const __m256i mx = _mm256_madd_epi16(mn16, sums);  // Σ mn_s·Σx_s in 8 pairs
        side[r] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mx), _mm256_set1_ps(f16(b.dmin) * dx), side[r]);
      }
    }
  }
  static float tail(const char*, const Prepared&, int64_t) { return 0.f; }  // K % 256 == 0
};

struct Q6_K {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ6_K), kGroupBytes = kBlockBytes;
  static constexpr Order kOrder = Order::kAsIs;

  // The super-block decoded once (6-bit values, scale words) and applied to R activation rows.
  template <int R>
  static void group_rows(const char* w, const Prepared* const* a, int64_t g, __m512 (*acc)[2], __m256*) {
    const auto& b = *reinterpret_cast<const BlockQ6_K*>(w);
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
    const __m512i scz = _mm512_castsi256_si512(sc16);
    const __m512i m4 = _mm512_set1_epi32(0x0F0F0F0F), m30 = _mm512_set1_epi32(0x30303030);
    __m512i q[4], scw[4];  // q[i] meets activations 64·i..64·i + 63 of the super-block
    for (int h = 0; h < 2; ++h) {
      const __m512i v = vec(b.ql + 64 * h), qh = _mm512_broadcast_i64x4(load256(b.qh + 32 * h));
      q[2 * h] =
          _mm512_or_si512(_mm512_and_si512(v, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, vec(kQ6Left.v)), m30));
      q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v, 4), m4),
                                     _mm512_and_si512(_mm512_srlv_epi16(qh, vec(kQ6Right.v)), m30));
      scw[2 * h] = _mm512_permutexvar_epi16(vec(kQ6Scales[h][0].v), scz);
      scw[2 * h + 1] = _mm512_permutexvar_epi16(vec(kQ6Scales[h][1].v), scz);
    }
    const float d = f16(b.d);
    for (int r = 0; r < R; ++r) {
      const int8_t* x = a[r]->qs + 256 * g;
      __m512i sum = _mm512_setzero_si512();
      for (int i = 0; i < 4; ++i) sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(q[i], vec(x + 64 * i)), scw[i]);
      const __m256i off = _mm256_madd_epi16(sc16, load256(a[r]->sums + 16 * g));  // Σ sc_j·Σx_j in 8 pairs
      sum = _mm512_sub_epi32(sum, _mm512_zextsi256_si512(_mm256_slli_epi32(off, 5)));
      acc[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(d * a[r]->dx[8 * g]), acc[r][0]);
    }
  }
  static float tail(const char*, const Prepared&, int64_t) { return 0.f; }  // K % 256 == 0
};

// Weights are read as sequential streams; software prefetch runs this far ahead of each (as quant_avx2.cpp).
constexpr int64_t kPrefetchBytes = 3072;

// S weight rows `stride` bytes apart against one activation row, group by group in step: S streams.
template <typename F, int S>
void dot_rows(const char* w, int64_t stride, const Prepared& a, float* out, int64_t out_stride) {
  const int64_t nb = a.K / 32, ng = a.K / 256;
  __m512 acc[S][2];  // two FMA chains per row
  __m256 side[S];
  const Prepared* one[1] = {&a};
  for (int j = 0; j < S; ++j) {
    acc[j][0] = acc[j][1] = _mm512_setzero_ps();
    side[j] = _mm256_setzero_ps();
  }
  for (int64_t g = 0; g < ng; ++g) {
    for (int j = 0; j < S; ++j) {
      const char* wg = w + j * stride + g * F::kGroupBytes;
      for (int64_t l = 0; l < F::kGroupBytes; l += 64) _mm_prefetch(wg + l + kPrefetchBytes, _MM_HINT_T0);
    }
    for (int j = 0; j < S; ++j) {
      F::template group_rows<1>(w + j * stride + g * F::kGroupBytes, one, g, &acc[j], &side[j]);
    }
  }
  for (int j = 0; j < S; ++j) {
    float s = hsum(_mm256_add_ps(fold(_mm512_add_ps(acc[j][0], acc[j][1])), side[j]));  // one reduction
    for (int64_t b = ng * 8; b < nb; ++b) s += F::tail(w + j * stride + b * F::kBlockBytes, a, b);
    out[j * out_stride] = s;
  }
}

// One weight row against R activation rows (a batch's GEMV), the row's groups decoded once for all R
// (every format's group_rows). out[r·ldo] for r < R.
template <typename F, int R>
void dot_acts(const char* w, const Prepared* rows, float* out, int64_t ldo) {
  const int64_t nb = rows[0].K / 32, ng = rows[0].K / 256;
  __m512 acc[R][2];
  __m256 side[R];
  const Prepared* a[R];
  for (int r = 0; r < R; ++r) {
    acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    side[r] = _mm256_setzero_ps();
    a[r] = rows + r;
  }
  for (int64_t g = 0; g < ng; ++g) {
    const char* wg = w + g * F::kGroupBytes;
    for (int64_t l = 0; l < F::kGroupBytes; l += 64) _mm_prefetch(wg + l + kPrefetchBytes, _MM_HINT_T0);
    F::template group_rows<R>(wg, a, g, acc, side);
  }
  for (int r = 0; r < R; ++r) {
    float s = hsum(_mm256_add_ps(fold(_mm512_add_ps(acc[r][0], acc[r][1])), side[r]));
    for (int64_t b = ng * 8; b < nb; ++b) s += F::tail(w + b * F::kBlockBytes, rows[r], b);
    out[r * ldo] = s;
  }
}

// This thread's prepared activations (each pool worker has its own).
// The reordered activations are cache-line aligned (each row too while K % 64 == 0): every group's
// zmm loads of them would otherwise split across two lines.
struct Scratch {
  LocalBuffer<int8_t> qs;
  LocalBuffer<float> side;
  LocalBuffer<int16_t> sums;
  std::vector<Prepared> rows;
};

template <typename F>
const Prepared* prepare(const ActRows& x, int64_t M) {
  thread_local Scratch s;
  const int64_t K = x.K, nb = K / 32, ng = K / 256;
  s.rows.resize(static_cast<size_t>(M));
  if constexpr (F::kOrder != Order::kAsIs) s.qs.resize(static_cast<size_t>(M * K));
  // The 32-block formats' side term.
  constexpr bool kSide = F::kOrder != Order::kK4 && F::kOrder != Order::kK3 && !std::is_same_v<F, Q6_K>;
  if constexpr (kSide) s.side.resize(static_cast<size_t>(M * nb));
  constexpr bool kSums16 = std::is_same_v<F, Q6_K> || F::kOrder == Order::kK3;  // Σx per 16 (original order)
  if constexpr (kSums16 || F::kOrder == Order::kK4) s.sums.resize(static_cast<size_t>(M * 2 * nb));
  for (int64_t m = 0; m < M; ++m) {
    Prepared& p = s.rows[m];
    p = Prepared{x.qs + m * K, x.d + m * nb, x.sum + m * nb, kSide ? s.side.data() + m * nb : nullptr, nullptr, K};
    if constexpr (F::kOrder != Order::kAsIs) {
      int8_t* q = s.qs.data() + m * K;
      if constexpr (F::kOrder == Order::kQuad) {
        quad_order(p.qs, ng, q);
      } else if constexpr (F::kOrder == Order::kK4) {
        k4_order(p.qs, ng, q);
      } else {
        k3_order(p.qs, ng, q);
      }
      std::memcpy(q + 256 * ng, p.qs + 256 * ng, static_cast<size_t>(K - 256 * ng));  // tails as they are
      p.qs = q;
    }
    if constexpr (kSide) {
      float* side = s.side.data() + m * nb;
      for (int64_t b = 0; b < nb; ++b) side[b] = static_cast<float>(p.sum[b]) * p.dx[b] * F::kSideScale;
    }
    if constexpr (F::kOrder == Order::kK4) {  // Σx per 32 (|Σx| ≤ 32·127)
      int16_t* sums = s.sums.data() + m * 2 * nb;
      for (int64_t b = 0; b < nb; ++b) sums[b] = static_cast<int16_t>(p.sum[b]);
      p.sums = sums;
    }
    if constexpr (kSums16) {
      const int8_t* xs = x.qs + m * K;  // the original order
      int16_t* sums = s.sums.data() + m * 2 * nb;
      for (int64_t j = 0; j < 2 * nb; ++j) {
        int32_t t = 0;
        for (int k = 0; k < 16; ++k) t += xs[16 * j + k];
        sums[j] = static_cast<int16_t>(t);
      }
      p.sums = sums;
    }
  }
  return s.rows.data();
}

// Decode (M == 1) reads the task's rows as two streams, its first and its second half in step: one core
// keeps more of DRAM's latency covered with two streams than with one (bench/kernels gemv_vs_bw at
// 1x2048x5632 on 2 threads, Zen 5, medians of 5 alternating processes: q8_0 79 → 88 %, q4_0 74 → 80 %,
// q4_K 72 → 85 % of a two-stream sum's bandwidth; three or four streams no better than two). Batches
// (M > 1) read each row once for all M.
template <typename F>
void dot_format(const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows, float* out, int64_t ldo) {
  const Prepared* rows = prepare<F>(x, M);
  int64_t r = 0;
  if (M == 1) {
    const int64_t half = n_rows / 2;
    for (; r < half; ++r) dot_rows<F, 2>(w + r * w_rb, half * w_rb, rows[0], out + r, half);
    r = 2 * half;
  }
  for (; r < n_rows; ++r) {
    int64_t m = 0;
    for (; m + 4 <= M; m += 4) dot_acts<F, 4>(w + r * w_rb, rows + m, out + m * ldo + r, ldo);
    if (m + 2 <= M) {
      dot_acts<F, 2>(w + r * w_rb, rows + m, out + m * ldo + r, ldo);
      m += 2;
    }
    for (; m < M; ++m) dot_rows<F, 1>(w + r * w_rb, 0, rows[m], out + m * ldo + r, 0);
  }
}

}  // namespace

void dot_quant(DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows, float* out,
               int64_t ldo) {
  switch (wt) {
    case DType::kQ8_0: return dot_format<Q8_0>(x, M, w, w_rb, n_rows, out, ldo);
    case DType::kQ4_0:
      if (vbmi_flag().load(std::memory_order_relaxed)) return dot_format<Q4_0Vbmi>(x, M, w, w_rb, n_rows, out, ldo);
      return dot_format<Q4_0>(x, M, w, w_rb, n_rows, out, ldo);
    case DType::kQ4_1: return dot_format<Q4_1>(x, M, w, w_rb, n_rows, out, ldo);
    case DType::kA4_32: return dot_format<A4>(x, M, w, w_rb, n_rows, out, ldo);
    case DType::kA8_32: return dot_format<A8>(x, M, w, w_rb, n_rows, out, ldo);
    case DType::kQ5_0: return dot_format<Q5_0>(x, M, w, w_rb, n_rows, out, ldo);
    case DType::kQ5_1: return dot_format<Q5_1>(x, M, w, w_rb, n_rows, out, ldo);
    case DType::kQ4_K: return dot_format<K4<BlockQ4_K>>(x, M, w, w_rb, n_rows, out, ldo);
    case DType::kQ5_K: return dot_format<K4<BlockQ5_K>>(x, M, w, w_rb, n_rows, out, ldo);
    case DType::kQ6_K: return dot_format<Q6_K>(x, M, w, w_rb, n_rows, out, ldo);
    case DType::kQ2_K: return dot_format<K3<BlockQ2_K>>(x, M, w, w_rb, n_rows, out, ldo);
    case DType::kQ3_K: return dot_format<K3<BlockQ3_K>>(x, M, w, w_rb, n_rows, out, ldo);
    default: return avx2_kernels()->dot_quant(wt, x, M, w, w_rb, n_rows, out, ldo);
  }
}

}  // namespace avx512

bool avx512_use_vbmi(bool on) {
  avx512::vbmi_flag().store(on && avx512::vbmi_supported(), std::memory_order_relaxed);
  return avx512_vbmi();
}
bool avx512_vbmi() { return avx512::vbmi_flag().load(std::memory_order_relaxed); }

}  // namespace nlm::kernels::cpu
