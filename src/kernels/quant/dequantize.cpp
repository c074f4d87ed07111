// Scalar decoding of every weight dtype, following the element order documented in blocks.h.
#include <cstring>
#include <type_traits>

#include "core/f16.h"
#include "core/status.h"
#include "kernels/quant/quant.h"

namespace nlm::kernels::quant {
namespace {

using core::f16_to_f32;

void deq_q8_0(const BlockQ8_0* b, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < 32; ++j) y[j] = d * b[i].qs[j];
  }
}

void deq_q4_0(const BlockQ4_0* b, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * ((b[i].qs[j] & 15) - 8);
      y[j + 16] = d * ((b[i].qs[j] >> 4) - 8);
    }
  }
}

void deq_q4_1(const BlockQ4_1* b, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * (b[i].qs[j] & 15) + m;
      y[j + 16] = d * (b[i].qs[j] >> 4) + m;
    }
  }
}

inline uint32_t high_bits(const uint8_t* qh) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  return h;
}

void deq_q5_0(const BlockQ5_0* b, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = f16_to_f32(b[i].d);
    const uint32_t h = high_bits(b[i].qh);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * static_cast<float>(static_cast<int>((b[i].qs[j] & 15) | ((h >> j & 1) << 4)) - 16);
      y[j + 16] = d * static_cast<float>(static_cast<int>((b[i].qs[j] >> 4) | ((h >> (j + 16) & 1) << 4)) - 16);
    }
  }
}

void deq_q5_1(const BlockQ5_1* b, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    const uint32_t h = high_bits(b[i].qh);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * static_cast<float>((b[i].qs[j] & 15) | ((h >> j & 1) << 4)) + m;
      y[j + 16] = d * static_cast<float>((b[i].qs[j] >> 4) | ((h >> (j + 16) & 1) << 4)) + m;
    }
  }
}

// q4_K and q5_K (the same header; q5_K adds bit 2c / 2c+1 of qh[l] as 16).
template <typename Block>
void deq_k4(const Block* b, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    const uint8_t* q = b[i].qs;
    for (int c = 0; c < 4; ++c, q += 32, y += 64) {
      uint8_t sc0, m0, sc1, m1;
      k4_scale_min(b[i].scales, 2 * c, &sc0, &m0);
      k4_scale_min(b[i].scales, 2 * c + 1, &sc1, &m1);
      const float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
      for (int l = 0; l < 32; ++l) {
        int lo = q[l] & 15, hi = q[l] >> 4;
        if constexpr (std::is_same_v<Block, BlockQ5_K>) {
          lo |= (b[i].qh[l] >> (2 * c) & 1) << 4;
          hi |= (b[i].qh[l] >> (2 * c + 1) & 1) << 4;
        }
        y[l] = d0 * static_cast<float>(lo) - mm0;
        y[l + 32] = d1 * static_cast<float>(hi) - mm1;
      }
    }
  }
}

void deq_q2_K(const BlockQ2_K* b, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int blk = 0; blk < 8; ++blk, y += 32) {
      const uint8_t* q = b[i].qs + 32 * (blk / 4);
      const int shift = 2 * (blk % 4);
      for (int h = 0; h < 2; ++h) {
        const uint8_t sc = b[i].scales[2 * blk + h];
        const float dl = d * static_cast<float>(sc & 15), ml = dmin * static_cast<float>(sc >> 4);
        for (int l = 0; l < 16; ++l) y[16 * h + l] = dl * static_cast<float>(q[16 * h + l] >> shift & 3) - ml;
      }
    }
  }
}

void deq_q3_K(const BlockQ3_K* b, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int blk = 0; blk < 8; ++blk, y += 32) {
      const uint8_t* q = b[i].qs + 32 * (blk / 4);
      const int shift = 2 * (blk % 4), hbit = 1 << blk;  // bit 4n + j of hmask, n = blk / 4, j = blk % 4
      for (int h = 0; h < 2; ++h) {
        const float dl = d * static_cast<float>(k3_scale(b[i].scales, 2 * blk + h) - 32);
        for (int l = 16 * h; l < 16 * h + 16; ++l) {
          const int v = (q[l] >> shift & 3) - (b[i].hmask[l] & hbit ? 0 : 4);
          y[l] = dl * static_cast<float>(v);
        }
      }
    }
  }
}

void deq_q6_K(const BlockQ6_K* b, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    const uint8_t* ql = b[i].ql;
    const uint8_t* qh = b[i].qh;
    const int8_t* sc = b[i].scales;
    for (int h = 0; h < 2; ++h, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

void deq_a4(const BlockA4* b, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    for (int j = 0; j < 16; ++j) {
      y[j] = b[i].s * (b[i].qs[j] & 15) + b[i].b;
      y[j + 16] = b[i].s * (b[i].qs[j] >> 4) + b[i].b;
    }
  }
}

void deq_a8(const BlockA8* b, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    for (int j = 0; j < 32; ++j) y[j] = b[i].s * b[i].qs[j] + b[i].b;
  }
}

}  // namespace

void dequantize(const void* src, core::DType t, int64_t n, float* dst) {
  using core::DType;
  const int64_t be = core::dtype_info(t).block_elems;
  NLM_CHECK_MSG(n % be == 0, "[kernels] dequantize: n not a multiple of the block size");
  const int64_t nb = n / be;
  switch (t) {
    case DType::kF32: std::memcpy(dst, src, n * sizeof(float)); return;
    case DType::kF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      return;
    }
    case DType::kBF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = core::bf16_to_f32(h[i]);
      return;
    }
    case DType::kQ8_0: deq_q8_0(static_cast<const BlockQ8_0*>(src), nb, dst); return;
    case DType::kQ4_0: deq_q4_0(static_cast<const BlockQ4_0*>(src), nb, dst); return;
    case DType::kQ4_1: deq_q4_1(static_cast<const BlockQ4_1*>(src), nb, dst); return;
    case DType::kQ4_K: deq_k4(static_cast<const BlockQ4_K*>(src), nb, dst); return;
    case DType::kQ6_K: deq_q6_K(static_cast<const BlockQ6_K*>(src), nb, dst); return;
    case DType::kA4_32: deq_a4(static_cast<const BlockA4*>(src), nb, dst); return;
    case DType::kA8_32: deq_a8(static_cast<const BlockA8*>(src), nb, dst); return;
    case DType::kQ5_0: deq_q5_0(static_cast<const BlockQ5_0*>(src), nb, dst); return;
    case DType::kQ5_1: deq_q5_1(static_cast<const BlockQ5_1*>(src), nb, dst); return;
    case DType::kQ5_K: deq_k4(static_cast<const BlockQ5_K*>(src), nb, dst); return;
    case DType::kQ2_K: deq_q2_K(static_cast<const BlockQ2_K*>(src), nb, dst); return;
    case DType::kQ3_K: deq_q3_K(static_cast<const BlockQ3_K*>(src), nb, dst); return;
    default: break;
  }
  NLM_CHECK_MSG(false, "[kernels] dequantize: not a weight dtype");
}

}  // namespace nlm::kernels::quant
