// f32 -> quantized blocks (round to nearest). Error bounds per element (checked by the tests):
//   q8_0: |x − x̂| ≤ d/2, d = f16(max|x|/127)
//   q4_0: d = f16(xm/−8) with xm the value of largest magnitude; q = clamp(round(x/d) + 8, 0, 15):
//         |x − x̂| ≤ |d|/2 except on the side opposite xm, where x/d ∈ (7.5, 8] clamps: ≤ |d|
//   q4_1: |x − x̂| ≤ d/2 + f16 rounding of the min
//   q4_K: per sub-block s the effective step s_s = d·sc[s] covers [min_s, max_s] (the min is rounded
//         up, the step up), so |x − x̂| ≤ s_s/2 with s_s ≤ (range_s + dmin)/15 + d
//   a4/a8: |x − x̂| ≤ s/2 (f32 scale and bias)
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/f16.h"
#include "core/status.h"
#include "kernels/quant/quant.h"

namespace nlm::kernels::quant {
namespace {

using core::f16_to_f32;
using core::f32_to_f16;

// f16 encoding of v >= 0 that is >= v (rounds up instead of to nearest).
uint16_t f16_ceil(float v) {
  uint16_t h = f32_to_f16(v);
  if (f16_to_f32(h) < v) ++h;  // next representable value (positive, finite)
  return h;
}

void minmax(const float* x, int n, float* lo, float* hi) {
  float a = x[0], b = x[0];
  for (int j = 1; j < n; ++j) {
    a = std::min(a, x[j]);
    b = std::max(b, x[j]);
  }
  *lo = a;
  *hi = b;
}

}  // namespace

void quantize_q8_0(const float* x, int64_t n, BlockQ8_0* y) {
  for (int64_t i = 0; i < n / 32; ++i, x += 32) {
    float amax = 0.f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const uint16_t dh = f32_to_f16(amax / 127.f);
    const float d = f16_to_f32(dh);
    const float id = d > 0.f ? 1.f / d : 0.f;
    y[i].d = dh;
    for (int j = 0; j < 32; ++j) {
      y[i].qs[j] = static_cast<int8_t>(std::clamp(std::nearbyint(x[j] * id), -127.f, 127.f));
    }
  }
}

// The value of largest magnitude among x[0 .. n), with its sign (the first one on ties).
static float signed_absmax(const float* x, int n) {
  float amax = 0.f, xm = 0.f;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      xm = x[j];
    }
  }
  return xm;
}

// The signed step of each of a super-block's 16 sub-blocks of 16 (its signed extreme / `extreme_code`,
// so that value codes to the format's most negative integer); returns the largest |step|.
static float sub_block_steps(const float* x, float extreme_code, float* sub) {
  float amax_sub = 0.f;
  for (int s = 0; s < 16; ++s) {
    sub[s] = signed_absmax(x + 16 * s, 16) / extreme_code;
    amax_sub = std::max(amax_sub, std::fabs(sub[s]));
  }
  return amax_sub;
}

void quantize_q4_0(const float* x, int64_t n, BlockQ4_0* y) {
  for (int64_t i = 0; i < n / 32; ++i, x += 32) {
    const uint16_t dh = f32_to_f16(signed_absmax(x, 32) / -8.f);
    const float d = f16_to_f32(dh);
    const float id = d != 0.f ? 1.f / d : 0.f;
    y[i].d = dh;
    for (int j = 0; j < 16; ++j) {
      const int a = static_cast<int>(std::clamp(std::nearbyint(x[j] * id) + 8.f, 0.f, 15.f));
      const int b = static_cast<int>(std::clamp(std::nearbyint(x[j + 16] * id) + 8.f, 0.f, 15.f));
      y[i].qs[j] = static_cast<uint8_t>(a | (b << 4));
    }
  }
}

void quantize_q4_1(const float* x, int64_t n, BlockQ4_1* y) {
  for (int64_t i = 0; i < n / 32; ++i, x += 32) {
    float lo, hi;
    minmax(x, 32, &lo, &hi);
    const uint16_t dh = f32_to_f16((hi - lo) / 15.f);
    const uint16_t mh = f32_to_f16(lo);
    const float d = f16_to_f32(dh), m = f16_to_f32(mh);
    const float id = d > 0.f ? 1.f / d : 0.f;
    y[i].d = dh;
    y[i].m = mh;
    for (int j = 0; j < 16; ++j) {
      const int a = static_cast<int>(std::clamp(std::nearbyint((x[j] - m) * id), 0.f, 15.f));
      const int b = static_cast<int>(std::clamp(std::nearbyint((x[j + 16] - m) * id), 0.f, 15.f));
      y[i].qs[j] = static_cast<uint8_t>(a | (b << 4));
    }
  }
}

// One q4_K / q5_K super-block: x ≈ d·sc[s]·q − dmin·mn[s], q in [0, top] (15 or 31); q in element order.
struct KQuantBlock {
  uint16_t dh, dminh;
  uint8_t scales[12];  // the 6-bit scales and mins, packed as k4_scale_min reads them
  uint8_t q[256];
};

static void quantize_k_block(const float* x, int top, KQuantBlock* y) {
  float lo[8], hi[8], mins[8], need[8];
  float max_min = 0.f;
  for (int s = 0; s < 8; ++s) {
    minmax(x + 32 * s, 32, &lo[s], &hi[s]);
    mins[s] = std::max(0.f, -lo[s]);  // subtracted offset, >= 0 (so a positive block keeps offset 0)
    max_min = std::max(max_min, mins[s]);
  }
  const uint16_t dminh = f16_ceil(max_min / 63.f);
  const float dmin = f16_to_f32(dminh);
  uint8_t mn[8], sc[8];
  float max_need = 0.f;
  for (int s = 0; s < 8; ++s) {
    mn[s] = dmin > 0.f ? static_cast<uint8_t>(std::min(63.f, std::ceil(mins[s] / dmin))) : 0;
    need[s] = std::max(0.f, (hi[s] + dmin * mn[s]) / static_cast<float>(top));  // step covering [0, hi + offset]
    max_need = std::max(max_need, need[s]);
  }
  const uint16_t dh = f16_ceil(max_need / 63.f);
  const float d = f16_to_f32(dh);
  for (int s = 0; s < 8; ++s) {
    sc[s] = d > 0.f ? static_cast<uint8_t>(std::min(63.f, std::ceil(need[s] / d))) : 0;
  }
  y->dh = dh;
  y->dminh = dminh;
  for (int j = 0; j < 4; ++j) {
    y->scales[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    y->scales[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
    y->scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
  }
  for (int s = 0; s < 8; ++s) {
    const float step = d * sc[s], off = dmin * mn[s];
    const float id = step > 0.f ? 1.f / step : 0.f;
    for (int l = 0; l < 32; ++l) {
      const float q = std::clamp(std::nearbyint((x[32 * s + l] + off) * id), 0.f, static_cast<float>(top));
      y->q[32 * s + l] = static_cast<uint8_t>(q);
    }
  }
}

// One q4_K / q5_K super-block: the shared scales, then the values as nibbles (q5_K: the fifth bit of
// x[64c + l] and x[64c + 32 + l] into bits 2c and 2c + 1 of qh[l]).
template <typename Block>
static void quantize_k4_block(const float* x, Block* y) {
  constexpr bool k5 = std::is_same_v<Block, BlockQ5_K>;
  KQuantBlock k;
  quantize_k_block(x, k5 ? 31 : 15, &k);
  y->d = k.dh;
  y->dmin = k.dminh;
  std::memcpy(y->scales, k.scales, 12);
  if constexpr (k5) std::memset(y->qh, 0, sizeof(y->qh));
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int a = k.q[64 * c + l], b = k.q[64 * c + 32 + l];
      y->qs[32 * c + l] = static_cast<uint8_t>((a & 15) | ((b & 15) << 4));
      if constexpr (k5) y->qh[l] = static_cast<uint8_t>(y->qh[l] | ((a >> 4) << (2 * c)) | ((b >> 4) << (2 * c + 1)));
    }
  }
}

void quantize_q5_K(const float* x, int64_t n, BlockQ5_K* y) {
  for (int64_t i = 0; i < n / 256; ++i) quantize_k4_block(x + 256 * i, y + i);
}

// One q2_K super-block: 16 sub-blocks of 16, x ≈ d·sc·q − dmin·mn with 4-bit sc and mn, q in [0, 3].
static void quantize_q2_K_block(const float* x, BlockQ2_K* y) {
  float lo[16], hi[16], mins[16], need[16];
  float max_min = 0.f, max_need = 0.f;
  for (int s = 0; s < 16; ++s) {
    minmax(x + 16 * s, 16, &lo[s], &hi[s]);
    mins[s] = std::max(0.f, -lo[s]);
    max_min = std::max(max_min, mins[s]);
  }
  const uint16_t dminh = f16_ceil(max_min / 15.f);
  const float dmin = f16_to_f32(dminh);
  uint8_t mn[16], sc[16];
  for (int s = 0; s < 16; ++s) {
    mn[s] = dmin > 0.f ? static_cast<uint8_t>(std::min(15.f, std::ceil(mins[s] / dmin))) : 0;
    need[s] = std::max(0.f, (hi[s] + dmin * mn[s]) / 3.f);
    max_need = std::max(max_need, need[s]);
  }
  const uint16_t dh = f16_ceil(max_need / 15.f);
  const float d = f16_to_f32(dh);
  y->d = dh;
  y->dmin = dminh;
  std::memset(y->qs, 0, sizeof(y->qs));
  for (int s = 0; s < 16; ++s) {
    sc[s] = d > 0.f ? static_cast<uint8_t>(std::min(15.f, std::ceil(need[s] / d))) : 0;
    y->scales[s] = static_cast<uint8_t>(sc[s] | (mn[s] << 4));
    const float step = d * sc[s], off = dmin * mn[s];
    const float id = step > 0.f ? 1.f / step : 0.f;
    const int blk = s / 2, h = s % 2;  // 32-block blk, its half h: bits 2·(blk % 4) of qs[32·(blk / 4) + 16h + l]
    for (int l = 0; l < 16; ++l) {
      const int q = static_cast<int>(std::clamp(std::nearbyint((x[16 * s + l] + off) * id), 0.f, 3.f));
      y->qs[32 * (blk / 4) + 16 * h + l] |= static_cast<uint8_t>(q << (2 * (blk % 4)));
    }
  }
}

void quantize_q2_K(const float* x, int64_t n, BlockQ2_K* y) {
  for (int64_t i = 0; i < n / 256; ++i) quantize_q2_K_block(x + 256 * i, y + i);
}

// One q3_K super-block: 16 sub-blocks of 16 with 6-bit scales (stored + 32); q in [−4, 3].
static void quantize_q3_K_block(const float* x, BlockQ3_K* y) {
  float sub[16];
  const uint16_t dh = f32_to_f16(sub_block_steps(x, -4.f, sub) / 31.f);
  const float d = f16_to_f32(dh);
  y->d = dh;
  std::memset(y->scales, 0, sizeof(y->scales));
  std::memset(y->qs, 0, sizeof(y->qs));
  std::memset(y->hmask, 0, sizeof(y->hmask));
  for (int s = 0; s < 16; ++s) {
    const int sc = d > 0.f ? static_cast<int>(std::clamp(std::nearbyint(sub[s] / d), -32.f, 31.f)) : 0;
    const int e = sc + 32;  // low 4 bits: nibble s % 8 of byte s % 8 (low for s < 8); high 2: byte 8 + s % 4
    y->scales[s % 8] |= static_cast<uint8_t>((e & 15) << (s < 8 ? 0 : 4));
    y->scales[8 + s % 4] |= static_cast<uint8_t>((e >> 4) << (2 * (s / 4)));
    const float step = d * static_cast<float>(sc);
    const float id = step != 0.f ? 1.f / step : 0.f;
    const int blk = s / 2, h = s % 2;
    for (int l = 0; l < 16; ++l) {
      const int q = static_cast<int>(std::clamp(std::nearbyint(x[16 * s + l] * id), -4.f, 3.f));
      const int idx = 16 * h + l;  // byte within the 32-byte half-super-block and the hmask
      y->qs[32 * (blk / 4) + idx] |= static_cast<uint8_t>((q & 3) << (2 * (blk % 4)));
      if (q >= 0) y->hmask[idx] |= static_cast<uint8_t>(1 << blk);
    }
  }
}

void quantize_q3_K(const float* x, int64_t n, BlockQ3_K* y) {
  for (int64_t i = 0; i < n / 256; ++i) quantize_q3_K_block(x + 256 * i, y + i);
}

// q5_0 / q5_1: the 5-bit values of one block into nibbles and 32 high bits.
static void pack5(const int* q, uint8_t* qs, uint8_t* qh) {
  uint32_t h = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 15) | ((q[j + 16] & 15) << 4));
    h |= static_cast<uint32_t>(q[j] >> 4) << j | static_cast<uint32_t>(q[j + 16] >> 4) << (j + 16);
  }
  std::memcpy(qh, &h, 4);
}

void quantize_q5_0(const float* x, int64_t n, BlockQ5_0* y) {
  for (int64_t i = 0; i < n / 32; ++i, x += 32) {
    const uint16_t dh = f32_to_f16(signed_absmax(x, 32) / -16.f);
    const float d = f16_to_f32(dh);
    const float id = d != 0.f ? 1.f / d : 0.f;
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = static_cast<int>(std::clamp(std::nearbyint(x[j] * id) + 16.f, 0.f, 31.f));
    y[i].d = dh;
    pack5(q, y[i].qs, y[i].qh);
  }
}

void quantize_q5_1(const float* x, int64_t n, BlockQ5_1* y) {
  for (int64_t i = 0; i < n / 32; ++i, x += 32) {
    float lo, hi;
    minmax(x, 32, &lo, &hi);
    const uint16_t dh = f32_to_f16((hi - lo) / 31.f), mh = f32_to_f16(lo);
    const float d = f16_to_f32(dh), m = f16_to_f32(mh);
    const float id = d > 0.f ? 1.f / d : 0.f;
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = static_cast<int>(std::clamp(std::nearbyint((x[j] - m) * id), 0.f, 31.f));
    y[i].d = dh;
    y[i].m = mh;
    pack5(q, y[i].qs, y[i].qh);
  }
}

void quantize_q4_K(const float* x, int64_t n, BlockQ4_K* y) {
  for (int64_t i = 0; i < n / 256; ++i) quantize_k4_block(x + 256 * i, y + i);
}

// One q6_K super-block: 16 sub-blocks of 16 with int8 scales; q in [−32, 31].
static void quantize_q6_K_block(const float* x, BlockQ6_K* y) {
  float sub[16];
  const uint16_t dh = f32_to_f16(sub_block_steps(x, -32.f, sub) / 127.f);
  const float d = f16_to_f32(dh);
  int q[256];
  for (int s = 0; s < 16; ++s) {
    const float sc = d > 0.f ? std::clamp(std::nearbyint(sub[s] / d), -127.f, 127.f) : 0.f;
    y->scales[s] = static_cast<int8_t>(sc);
    const float step = d * sc;
    const float id = step != 0.f ? 1.f / step : 0.f;
    for (int l = 0; l < 16; ++l) {
      q[16 * s + l] = static_cast<int>(std::clamp(std::nearbyint(x[16 * s + l] * id), -32.f, 31.f)) + 32;
    }
  }
  y->d = dh;
  for (int h = 0; h < 2; ++h) {
    const int* qq = q + 128 * h;
    uint8_t* ql = y->ql + 64 * h;
    uint8_t* qh = y->qh + 32 * h;
    for (int l = 0; l < 32; ++l) {
      ql[l] = static_cast<uint8_t>((qq[l] & 15) | ((qq[l + 64] & 15) << 4));
      ql[l + 32] = static_cast<uint8_t>((qq[l + 32] & 15) | ((qq[l + 96] & 15) << 4));
      qh[l] = static_cast<uint8_t>((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) | ((qq[l + 64] >> 4) << 4) |
                                   ((qq[l + 96] >> 4) << 6));
    }
  }
}

void quantize_q6_K(const float* x, int64_t n, BlockQ6_K* y) {
  for (int64_t i = 0; i < n / 256; ++i) quantize_q6_K_block(x + 256 * i, y + i);
}

void quantize_a4(const float* x, int64_t n, BlockA4* y) {
  for (int64_t i = 0; i < n / 32; ++i, x += 32) {
    float lo, hi;
    minmax(x, 32, &lo, &hi);
    y[i].s = (hi - lo) / 15.f;
    y[i].b = lo;
    const float id = y[i].s > 0.f ? 1.f / y[i].s : 0.f;
    for (int j = 0; j < 16; ++j) {
      const int a = static_cast<int>(std::clamp(std::nearbyint((x[j] - lo) * id), 0.f, 15.f));
      const int b = static_cast<int>(std::clamp(std::nearbyint((x[j + 16] - lo) * id), 0.f, 15.f));
      y[i].qs[j] = static_cast<uint8_t>(a | (b << 4));
    }
  }
}

void quantize_a8(const float* x, int64_t n, BlockA8* y) {
  for (int64_t i = 0; i < n / 32; ++i, x += 32) {
    float lo, hi;
    minmax(x, 32, &lo, &hi);
    y[i].s = (hi - lo) / 255.f;
    y[i].b = lo;
    const float id = y[i].s > 0.f ? 1.f / y[i].s : 0.f;
    for (int j = 0; j < 32; ++j) {
      y[i].qs[j] = static_cast<uint8_t>(std::clamp(std::nearbyint((x[j] - lo) * id), 0.f, 255.f));
    }
  }
}

int64_t act_group(core::DType t) { return core::dtype_info(t).block_elems == 256 ? 256 : 32; }

void quantize_act_ref(const float* x, int64_t n, int8_t* qs, float* d, int32_t* sum, int64_t group) {
  float amax = 0.f;
  for (int64_t i = 0; i < n / 32; ++i) {
    if (i % (group / 32) == 0) {
      amax = 0.f;
      for (int64_t j = 0; j < group; ++j) amax = std::max(amax, std::fabs(x[32 * i + j]));
    }
    d[i] = amax / 127.f;
    const float id = amax > 0.f ? 127.f / amax : 0.f;
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) {
      const int q = static_cast<int>(std::nearbyint(x[32 * i + j] * id));  // ties to even, as cvtps
      qs[32 * i + j] = static_cast<int8_t>(q);
      s += q;
    }
    sum[i] = s;
  }
}

void quantize(const float* src, core::DType t, int64_t n, void* dst) {
  using core::DType;
  NLM_CHECK_MSG(n % core::dtype_info(t).block_elems == 0, "[kernels] quantize: n not a multiple of the block");
  switch (t) {
    case DType::kF32: std::memcpy(dst, src, n * sizeof(float)); return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = f32_to_f16(src[i]);
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = core::f32_to_bf16(src[i]);
      return;
    case DType::kQ8_0: quantize_q8_0(src, n, static_cast<BlockQ8_0*>(dst)); return;
    case DType::kQ4_0: quantize_q4_0(src, n, static_cast<BlockQ4_0*>(dst)); return;
    case DType::kQ4_1: quantize_q4_1(src, n, static_cast<BlockQ4_1*>(dst)); return;
    case DType::kQ4_K: quantize_q4_K(src, n, static_cast<BlockQ4_K*>(dst)); return;
    case DType::kQ6_K: quantize_q6_K(src, n, static_cast<BlockQ6_K*>(dst)); return;
    case DType::kA4_32: quantize_a4(src, n, static_cast<BlockA4*>(dst)); return;
    case DType::kA8_32: quantize_a8(src, n, static_cast<BlockA8*>(dst)); return;
    case DType::kQ5_0: quantize_q5_0(src, n, static_cast<BlockQ5_0*>(dst)); return;
    case DType::kQ5_1: quantize_q5_1(src, n, static_cast<BlockQ5_1*>(dst)); return;
    case DType::kQ5_K: quantize_q5_K(src, n, static_cast<BlockQ5_K*>(dst)); return;
    case DType::kQ2_K: quantize_q2_K(src, n, static_cast<BlockQ2_K*>(dst)); return;
    case DType::kQ3_K: quantize_q3_K(src, n, static_cast<BlockQ3_K*>(dst)); return;
    default: break;
  }
  NLM_CHECK_MSG(false, "[kernels] quantize: unsupported dtype");
}

}  // namespace nlm::kernels::quant
