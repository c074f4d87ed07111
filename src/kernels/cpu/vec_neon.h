#pragma once
// Small NEON helpers shared by the ARM64 kernel files (included only by *_neon.cpp).
#include <arm_neon.h>

#include <cstdint>

namespace nlm::kernels::cpu::neon {

// The fifth bits of a q5_0 / q5_1 block (bit j of the little-endian qh for element j) as 0 or 16 in the
// bytes of elements 0..15 (lo) and 16..31 (hi): each byte picks its byte of qh (tbl) and tests its bit.
inline void fifth_bits(const uint8_t* qh, uint8x16_t* lo, uint8x16_t* hi) {
  const uint8x16_t h = vreinterpretq_u8_u32(vdupq_n_u32(static_cast<uint32_t>(qh[0]) | qh[1] << 8 | qh[2] << 16 |
                                                        static_cast<uint32_t>(qh[3]) << 24));
  const uint8x16_t bit = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201ull)), k16 = vdupq_n_u8(16);
  const uint8x16_t pick_lo = vcombine_u8(vdup_n_u8(0), vdup_n_u8(1)), pick_hi = vcombine_u8(vdup_n_u8(2), vdup_n_u8(3));
  *lo = vandq_u8(vtstq_u8(vqtbl1q_u8(h, pick_lo), bit), k16);
  *hi = vandq_u8(vtstq_u8(vqtbl1q_u8(h, pick_hi), bit), k16);
}

}  // namespace nlm::kernels::cpu::neon
