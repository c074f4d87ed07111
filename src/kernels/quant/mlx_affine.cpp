// Exact conversion of MLX affine-quantized weights (mlx.core.quantize, mode "affine") into nativelm's
// 32-element affine blocks: every MLX group of 32/64/128 becomes 1/2/4 blocks sharing its scale and bias,
// which f32 holds exactly whatever the source dtype (f16, bf16, f32); the integers are copied.
#include <bit>
#include <cstring>

#include "core/f16.h"
#include "kernels/kernels.h"
#include "kernels/quant/blocks.h"

namespace nlm::kernels {
namespace {

float load_scalar(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::kF16: return core::f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::kBF16: return core::bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}

// One 32-block of 4-bit values (4 words, element j at bits 4·(j % 8) of word j / 8) in q4_1 nibble order:
// byte j holds element j (low nibble) and element j + 16 (high nibble).
inline void pack_a4(const uint32_t* w, uint8_t* qs) {
  for (int j = 0; j < 8; ++j) {
    const int sh = 4 * j;
    qs[j] = static_cast<uint8_t>(((w[0] >> sh) & 15u) | (((w[2] >> sh) & 15u) << 4));
    qs[j + 8] = static_cast<uint8_t>(((w[1] >> sh) & 15u) | (((w[3] >> sh) & 15u) << 4));
  }
}

// One 32-block of 8-bit values: byte j of the little-endian words is element j.
inline void pack_a8(const uint32_t* w, uint8_t* qs) {
  static_assert(std::endian::native == std::endian::little, "MLX packs values into little-endian words");
  std::memcpy(qs, w, 32);
}

// One 32-block of any other width (2, 3, 5, 6 bits): MLX packs a row as one little-endian bit stream
// (value k in bits [k·bits, (k+1)·bits), so 8 3-bit values per 3 bytes); a block takes `bits` words.
// Widths up to 4 go into nibbles (a4_32), wider ones into bytes (a8_32): the same integers.
inline void pack_any(const uint32_t* w, int bits, uint8_t* qs) {
  uint8_t v[32];
  const uint32_t mask = (1u << bits) - 1u;
  for (int j = 0; j < 32; ++j) {
    const int p = j * bits, word = p / 32, sh = p % 32;
    uint32_t x = w[word] >> sh;
    if (sh + bits > 32) x |= w[word + 1] << (32 - sh);
    v[j] = static_cast<uint8_t>(x & mask);
  }
  if (bits <= 4) {
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(v[j] | (v[j + 16] << 4));
  } else {
    std::memcpy(qs, v, 32);
  }
}

bool supported_bits(int bits) { return bits == 2 || bits == 3 || bits == 4 || bits == 5 || bits == 6 || bits == 8; }

}  // namespace

DType mlx_affine_dtype(int bits) { return bits <= 4 ? DType::kA4_32 : DType::kA8_32; }

bool convert_mlx_affine(const uint32_t* wq, const void* scales, const void* biases, DType scale_dtype,
                        int64_t N, int64_t K, int bits, int group, void* dst) {
  if (!supported_bits(bits)) return false;
  if (group != 32 && group != 64 && group != 128) return false;
  if (scale_dtype != DType::kF16 && scale_dtype != DType::kBF16 && scale_dtype != DType::kF32) return false;
  if (K % group != 0 || N < 0) return false;
  const int64_t words_per_row = K * bits / 32, groups_per_row = K / group, nb = K / 32;
  for (int64_t n = 0; n < N; ++n) {
    const uint32_t* row = wq + n * words_per_row;
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t g = n * groups_per_row + (32 * b) / group;
      const float s = load_scalar(scales, scale_dtype, g), bias = load_scalar(biases, scale_dtype, g);
      const uint32_t* words = row + b * bits;  // 32 values take `bits` words
      if (bits <= 4) {
        quant::BlockA4& blk = static_cast<quant::BlockA4*>(dst)[n * nb + b];
        blk.s = s;
        blk.b = bias;
        if (bits == 4) {
          pack_a4(words, blk.qs);
        } else {
          pack_any(words, bits, blk.qs);
        }
      } else {
        quant::BlockA8& blk = static_cast<quant::BlockA8*>(dst)[n * nb + b];
        blk.s = s;
        blk.b = bias;
        if (bits == 8) {
          pack_a8(words, blk.qs);
        } else {
          pack_any(words, bits, blk.qs);
        }
      }
    }
  }
  return true;
}

}  // namespace nlm::kernels
