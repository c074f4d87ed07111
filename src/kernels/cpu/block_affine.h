#pragma once
// The affine form of a weight row's 32-blocks for the int8 GEMM packers: w = s·v + o per block, v the
// block's integers as stored (q8_0: q; q4_0 / q4_1 / q4_K / a4_32: the 4-bit value; q5_0 / q5_1 / q5_K:
// the 5-bit value; a8_32: the byte), so q8_0: s = d, o = 0; q4_0: s = d, o = −8d; q5_0: s = d, o = −16d;
// q4_1 / q5_1: s = d, o = m; q4_K / q5_K: s = d·sc, o = −dmin·m of the sub-block; a4_32 / a8_32: their
// f32 s and b. Included only by ISA files: internal linkage, so each
// compiles its own copy with its own flags and its own f16 conversion (the template argument).
#include <cstdint>
#include <cstring>

#include "core/dtype.h"
#include "kernels/quant/blocks.h"

namespace nlm::kernels::cpu {
namespace {

// s[i·stride], o[i·stride] for blocks b0 + i < b1 of `row` (dtypes above).
template <float (*f16)(uint16_t)>
void block_affine(core::DType t, const char* row, int64_t b0, int64_t b1, float* s, float* o, int64_t stride) {
  using core::DType;
  const int64_t bb = core::dtype_info(t).block_bytes;
  if (t == DType::kQ4_K || t == DType::kQ5_K) {  // the same header: d, dmin, scales[12]
    for (int64_t b = b0; b < b1; ++b, s += stride, o += stride) {
      const auto& blk = *reinterpret_cast<const quant::BlockQ4_K*>(row + b / 8 * bb);
      uint8_t sc, mn;
      quant::k4_scale_min(blk.scales, static_cast<int>(b % 8), &sc, &mn);
      *s = f16(blk.d) * sc;
      *o = -f16(blk.dmin) * mn;
    }
  } else if (t == DType::kA4_32 || t == DType::kA8_32) {
    for (int64_t b = b0; b < b1; ++b, s += stride, o += stride) {
      std::memcpy(s, row + b * bb, 4);
      std::memcpy(o, row + b * bb + 4, 4);
    }
  } else {  // q8_0 / q4_0 / q4_1 / q5_0 / q5_1: f16 d (q4_1 / q5_1: then m)
    const float m8 = t == DType::kQ4_0 ? -8.f : t == DType::kQ5_0 ? -16.f : 0.f;
    const bool with_m = t == DType::kQ4_1 || t == DType::kQ5_1;
    for (int64_t b = b0; b < b1; ++b, s += stride, o += stride) {
      uint16_t h[2];
      std::memcpy(h, row + b * bb, sizeof h);
      *s = f16(h[0]);
      *o = with_m ? f16(h[1]) : m8 * *s;
    }
  }
}

}  // namespace
}  // namespace nlm::kernels::cpu
