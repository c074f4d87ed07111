#pragma once
// Quantized block layouts, bit for bit as GGUF stores them (ggml's block_q8_0, block_q4_0, block_q4_1,
// block_q5_0, block_q5_1, block_q2_K, block_q3_K, block_q4_K, block_q5_K, block_q6_K; all little-endian,
// packed, no padding),
// plus nativelm's MLX affine blocks.
// Element order inside a block (the dequantization spec the kernels follow):
//   q8_0  x[j] = d·qs[j]
//   q4_0  x[j] = d·((qs[j] & 15) − 8), x[j+16] = d·((qs[j] >> 4) − 8)           j < 16
//   q4_1  x[j] = d·(qs[j] & 15) + m,   x[j+16] = d·(qs[j] >> 4) + m
//   q5_0  h = qh as a little-endian uint32; for j < 16:
//         x[j] = d·((qs[j] & 15 | (h >> j & 1) << 4) − 16), x[j+16] = d·((qs[j] >> 4 | (h >> (j+16) & 1) << 4) − 16)
//   q5_1  as q5_0 without the −16, then + m
//   q2_K  16 sub-blocks of 16 with sc[s] = scales[s] & 15, mn[s] = scales[s] >> 4; for 32-block b
//         (n = b / 4, j = b % 4): x[32b+l] = d·sc[2b]·(qs[32n+l] >> 2j & 3) − dmin·mn[2b] and
//         x[32b+16+l] = d·sc[2b+1]·(qs[32n+16+l] >> 2j & 3) − dmin·mn[2b+1]                   l < 16
//   q3_K  16 6-bit scales e[s] = (s < 8 ? scales[s] & 15 : scales[s−8] >> 4) | (scales[8 + s%4] >> 2(s/4) & 3) << 4;
//         for 32-block b (n, j as q2_K), v = qs[32n+l] >> 2j & 3 minus 4 unless bit 4n+j of hmask[l]:
//         x[32b+l] = d·(e[2b] − 32)·v, and the same with qs / hmask at l + 16 under e[2b+1]       l < 16
//   q4_K  8 sub-blocks of 32 with 6-bit scale sc[s] and min mn[s] (k4_scale_min); for chunk c < 4
//         (64 elements, 32 bytes of qs): x[64c+l] = d·sc[2c]·(qs[32c+l] & 15) − dmin·mn[2c],
//         x[64c+32+l] = d·sc[2c+1]·(qs[32c+l] >> 4) − dmin·mn[2c+1]                  l < 32
//   q5_K  q4_K with a fifth bit per value: bit 2c of qh[l] joins qs[32c+l] & 15 (x[64c+l]) and bit
//         2c+1 joins qs[32c+l] >> 4 (x[64c+32+l]), as 16·bit + nibble
//   q6_K  two halves h of 128 (ql += 64h, qh += 32h, sc += 8h); for l < 32, with is = l/16:
//         q1 = (ql[l] & 15 | (qh[l] & 3) << 4) − 32        → x[128h + l]      · d·sc[is]
//         q2 = (ql[l+32] & 15 | (qh[l] >> 2 & 3) << 4) − 32 → x[128h + l + 32] · d·sc[is+2]
//         q3 = (ql[l] >> 4 | (qh[l] >> 4 & 3) << 4) − 32    → x[128h + l + 64] · d·sc[is+4]
//         q4 = (ql[l+32] >> 4 | (qh[l] >> 6 & 3) << 4) − 32 → x[128h + l + 96] · d·sc[is+6]
//   a4_32 x[j] = s·(qs[j] & 15) + b, x[j+16] = s·(qs[j] >> 4) + b   (a4/a8 rows: 4-byte aligned)
//   a8_32 x[j] = s·qs[j] + b
#include <cstdint>

namespace nlm::kernels::quant {

inline constexpr int kQK = 32;   // elements per q8_0 / q4_0 / q4_1 / a*_32 block
inline constexpr int kQKK = 256;  // elements per K-quant super-block

struct BlockQ8_0 {
  uint16_t d;  // f16
  int8_t qs[32];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
struct BlockQ4_1 {
  uint16_t d, m;
  uint8_t qs[16];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
struct BlockQ2_K {
  uint8_t scales[16];
  uint8_t qs[64];
  uint16_t d, dmin;
};
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  uint16_t d;
};
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
struct BlockA4 {
  float s, b;
  uint8_t qs[16];
};
struct BlockA8 {
  float s, b;
  uint8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockA4) == 24 && sizeof(BlockA8) == 40);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24 && sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110);

// The 6-bit scale e[s] (0..63, used as e − 32) of q3_K sub-block s (0..15) from its 12 packed bytes.
inline int k3_scale(const uint8_t* q, int s) {
  const int low = s < 8 ? q[s] & 15 : q[s - 8] >> 4;
  return low | ((q[8 + s % 4] >> (2 * (s / 4))) & 3) << 4;
}
static_assert(alignof(BlockQ8_0) == 2 && alignof(BlockQ6_K) == 2);

// 6-bit scale and min of q4_K sub-block s (0..7) from the 12 packed bytes.
inline void k4_scale_min(const uint8_t* q, int s, uint8_t* sc, uint8_t* mn) {
  if (s < 4) {
    *sc = q[s] & 63;
    *mn = q[s + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[s + 4] & 0xF) | ((q[s - 4] >> 6) << 4));
    *mn = static_cast<uint8_t>((q[s + 4] >> 4) | ((q[s] >> 6) << 4));
  }
}

// Activations quantized for integer dot products: per 32 elements, int8 values (|q| <= 127), the f32
// scale d (x ≈ d·q) and the sum of the 32 q's (for the min/offset terms of q4_0/q4_1/q4_K/a*).
struct ActQ8 {
  int8_t* qs;    // [K]
  float* d;      // [K/32]
  int32_t* sum;  // [K/32]
};

}  // namespace nlm::kernels::quant
