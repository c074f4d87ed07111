#pragma once
// Scalar unpacking of one 32-element block of a quantized row into signed int8 values with a scale and
// an offset per 16-element half: x[j] = s[j/16]·q[j] + m[j/16]. Shared by the portable integer dot products
// and by the tests. Every format fits: q8_0, q4_0 (q − 8), q4_1, q5_0 (q − 16), q5_1, q4_K and q5_K (per
// sub-block), q2_K / q3_K / q6_K (two sub-blocks of 16), a4 and a8 (q − 128, the bias moved into m).
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/dtype.h"
#include "core/f16.h"
#include "kernels/quant/blocks.h"

namespace nlm::kernels::quant {

struct Unpacked32 {
  int8_t q[32];
  float s[2];
  float m[2];  // the offset of each 16-value half (equal but for q2_K)
};

// Sub-block s (0..7) of a q4_K / q5_K super-block (q5_K: plus bit s of qh[j] as 16).
template <typename Block>
inline void unpack_k4(const Block& blk, int s, Unpacked32* u) {
  uint8_t sc, mn;
  k4_scale_min(blk.scales, s, &sc, &mn);
  const uint8_t* qs = blk.qs + 32 * (s / 2);
  const int shift = (s % 2) * 4;
  for (int j = 0; j < 32; ++j) {
    int q = (qs[j] >> shift) & 15;
    if constexpr (std::is_same_v<Block, BlockQ5_K>) q |= (blk.qh[j] >> s & 1) << 4;
    u->q[j] = static_cast<int8_t>(q);
  }
  u->s[0] = u->s[1] = core::f16_to_f32(blk.d) * sc;
  u->m[0] = u->m[1] = -core::f16_to_f32(blk.dmin) * mn;
}

// Block `b` (in units of 32 elements) of a row of dtype t.
inline void unpack32(core::DType t, const void* row, int64_t b, Unpacked32* u) {
  using core::DType;
  using core::f16_to_f32;
  switch (t) {
    case DType::kQ8_0: {
      const auto& blk = static_cast<const BlockQ8_0*>(row)[b];
      for (int j = 0; j < 32; ++j) u->q[j] = blk.qs[j];
      u->s[0] = u->s[1] = f16_to_f32(blk.d);
      u->m[0] = u->m[1] = 0.f;
      return;
    }
    case DType::kQ4_0: {
      const auto& blk = static_cast<const BlockQ4_0*>(row)[b];
      for (int j = 0; j < 16; ++j) {
        u->q[j] = static_cast<int8_t>((blk.qs[j] & 15) - 8);
        u->q[j + 16] = static_cast<int8_t>((blk.qs[j] >> 4) - 8);
      }
      u->s[0] = u->s[1] = f16_to_f32(blk.d);
      u->m[0] = u->m[1] = 0.f;
      return;
    }
    case DType::kQ4_1: {
      const auto& blk = static_cast<const BlockQ4_1*>(row)[b];
      for (int j = 0; j < 16; ++j) {
        u->q[j] = static_cast<int8_t>(blk.qs[j] & 15);
        u->q[j + 16] = static_cast<int8_t>(blk.qs[j] >> 4);
      }
      u->s[0] = u->s[1] = f16_to_f32(blk.d);
      u->m[0] = u->m[1] = f16_to_f32(blk.m);
      return;
    }
    case DType::kQ5_0:
    case DType::kQ5_1: {
      const bool q51 = t == DType::kQ5_1;
      const char* base = static_cast<const char*>(row) + b * (q51 ? sizeof(BlockQ5_1) : sizeof(BlockQ5_0));
      const uint16_t* dm = reinterpret_cast<const uint16_t*>(base);
      const uint8_t* qh = reinterpret_cast<const uint8_t*>(base) + (q51 ? 4 : 2);
      const uint8_t* qs = qh + 4;
      uint32_t h;
      std::memcpy(&h, qh, 4);
      const int off = q51 ? 0 : 16;
      for (int j = 0; j < 16; ++j) {
        u->q[j] = static_cast<int8_t>(((qs[j] & 15) | ((h >> j & 1) << 4)) - off);
        u->q[j + 16] = static_cast<int8_t>(((qs[j] >> 4) | ((h >> (j + 16) & 1) << 4)) - off);
      }
      u->s[0] = u->s[1] = f16_to_f32(dm[0]);
      u->m[0] = u->m[1] = q51 ? f16_to_f32(dm[1]) : 0.f;
      return;
    }
    case DType::kQ4_K: return unpack_k4(static_cast<const BlockQ4_K*>(row)[b / 8], static_cast<int>(b % 8), u);
    case DType::kQ5_K: return unpack_k4(static_cast<const BlockQ5_K*>(row)[b / 8], static_cast<int>(b % 8), u);
    case DType::kQ2_K: {
      const auto& blk = static_cast<const BlockQ2_K*>(row)[b / 8];
      const int s = static_cast<int>(b % 8);
      const uint8_t* qs = blk.qs + 32 * (s / 4);
      for (int j = 0; j < 32; ++j) u->q[j] = static_cast<int8_t>(qs[j] >> (2 * (s % 4)) & 3);
      for (int h = 0; h < 2; ++h) {
        u->s[h] = f16_to_f32(blk.d) * static_cast<float>(blk.scales[2 * s + h] & 15);
        u->m[h] = -(f16_to_f32(blk.dmin) * static_cast<float>(blk.scales[2 * s + h] >> 4));
      }
      return;
    }
    case DType::kQ3_K: {
      const auto& blk = static_cast<const BlockQ3_K*>(row)[b / 8];
      const int s = static_cast<int>(b % 8);
      const uint8_t* qs = blk.qs + 32 * (s / 4);
      for (int j = 0; j < 32; ++j) {
        u->q[j] = static_cast<int8_t>((qs[j] >> (2 * (s % 4)) & 3) - (blk.hmask[j] >> s & 1 ? 0 : 4));
      }
      for (int h = 0; h < 2; ++h) {
        u->s[h] = f16_to_f32(blk.d) * static_cast<float>(k3_scale(blk.scales, 2 * s + h) - 32);
      }
      u->m[0] = u->m[1] = 0.f;
      return;
    }
    case DType::kQ6_K: {
      const auto& blk = static_cast<const BlockQ6_K*>(row)[b / 8];
      const int s = static_cast<int>(b % 8);  // 32-element group: half h, quarter c
      const int h = s / 4, c = s % 4;
      const uint8_t* ql = blk.ql + 64 * h + (c % 2) * 32;
      const uint8_t* qh = blk.qh + 32 * h;
      const int lshift = (c / 2) * 4, hshift = 2 * c;
      for (int l = 0; l < 32; ++l) {
        u->q[l] = static_cast<int8_t>((((ql[l] >> lshift) & 15) | (((qh[l] >> hshift) & 3) << 4)) - 32);
      }
      const float d = f16_to_f32(blk.d);
      const int8_t* sc = blk.scales + 8 * h;
      u->s[0] = d * sc[2 * c];
      u->s[1] = d * sc[2 * c + 1];
      u->m[0] = u->m[1] = 0.f;
      return;
    }
    case DType::kA4_32: {
      const auto& blk = static_cast<const BlockA4*>(row)[b];
      for (int j = 0; j < 16; ++j) {
        u->q[j] = static_cast<int8_t>(blk.qs[j] & 15);
        u->q[j + 16] = static_cast<int8_t>(blk.qs[j] >> 4);
      }
      u->s[0] = u->s[1] = blk.s;
      u->m[0] = u->m[1] = blk.b;
      return;
    }
    case DType::kA8_32: {
      const auto& blk = static_cast<const BlockA8*>(row)[b];
      for (int j = 0; j < 32; ++j) u->q[j] = static_cast<int8_t>(blk.qs[j] - 128);
      u->s[0] = u->s[1] = blk.s;
      u->m[0] = u->m[1] = blk.b + 128.f * blk.s;
      return;
    }
    default: return;
  }
}

}  // namespace nlm::kernels::quant
