#pragma once
// Element types of tensors. Quantized block formats are laid out bit for bit as GGUF stores them
// (ggml's block_q8_0, block_q4_0, block_q4_1, block_q5_0, block_q5_1, block_q2_K, block_q3_K,
// block_q4_K, block_q5_K, block_q6_K), so GGUF weights are used in place.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nlm::core {

enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kI8,
  kI32,
  kI64,
  kQ8_0,  // 32 elements: f16 scale + 32 x int8                       (34 bytes)
  kQ4_0,  // 32 elements: f16 scale + 16 bytes of 4-bit (x-8)         (18 bytes)
  kQ4_1,  // 32 elements: f16 scale, f16 min + 16 bytes of 4-bit      (20 bytes)
  kQ4_K,  // 256 elements: super-block with 6-bit sub-scales/mins      (144 bytes)
  kQ6_K,  // 256 elements: 6-bit values, 8-bit sub-scales, f16 scale  (210 bytes)
  // MLX affine groups (4/8-bit, group 32/64/128) re-blocked exactly to 32 elements by
  // kernels::convert_mlx_affine: x = scale·q + bias, q unsigned. Not a GGUF type.
  kA4_32,  // 32 elements: f32 scale, f32 bias + 16 bytes of 4-bit (q4_1 nibble order)  (24 bytes)
  kA8_32,  // 32 elements: f32 scale, f32 bias + 32 x uint8                            (40 bytes)
  kQ5_0,   // 32 elements: f16 scale + 32 high bits + 16 bytes of low nibbles, (x-16)   (22 bytes)
  kQ5_1,   // 32 elements: f16 scale, f16 min + 32 high bits + 16 bytes of nibbles     (24 bytes)
  kQ5_K,   // 256 elements: q4_K's scales and mins, 32 bytes of high bits, 128 of nibbles (176 bytes)
  kQ2_K,   // 256 elements: 16 x (4-bit scale, 4-bit min), 2-bit values, f16 d, dmin  (84 bytes)
  kQ3_K,   // 256 elements: high-bit mask, 2-bit values, 16 x 6-bit scales, f16 d  (110 bytes)
};

struct DTypeInfo {
  std::string_view name;  // "f32", "q4_K", ...
  int64_t block_elems;    // elements per block (1 for plain types)
  int64_t block_bytes;    // bytes per block
  bool quantized;
};

constexpr DTypeInfo dtype_info(DType t) {
  switch (t) {
    case DType::kF32: return {"f32", 1, 4, false};
    case DType::kF16: return {"f16", 1, 2, false};
    case DType::kBF16: return {"bf16", 1, 2, false};
    case DType::kI8: return {"i8", 1, 1, false};
    case DType::kI32: return {"i32", 1, 4, false};
    case DType::kI64: return {"i64", 1, 8, false};
    case DType::kQ8_0: return {"q8_0", 32, 34, true};
    case DType::kQ4_0: return {"q4_0", 32, 18, true};
    case DType::kQ4_1: return {"q4_1", 32, 20, true};
    case DType::kQ4_K: return {"q4_K", 256, 144, true};
    case DType::kQ6_K: return {"q6_K", 256, 210, true};
    case DType::kA4_32: return {"a4_32", 32, 24, true};
    case DType::kA8_32: return {"a8_32", 32, 40, true};
    case DType::kQ5_0: return {"q5_0", 32, 22, true};
    case DType::kQ5_1: return {"q5_1", 32, 24, true};
    case DType::kQ5_K: return {"q5_K", 256, 176, true};
    case DType::kQ2_K: return {"q2_K", 256, 84, true};
    case DType::kQ3_K: return {"q3_K", 256, 110, true};
  }
  return {"?", 1, 1, false};
}

// Bytes taken by n elements (n must be a multiple of the block size for block formats).
constexpr int64_t dtype_row_bytes(DType t, int64_t n) {
  const DTypeInfo info = dtype_info(t);
  return n / info.block_elems * info.block_bytes;
}

}  // namespace nlm::core
