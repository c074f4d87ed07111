#pragma once
// Scalar encode / decode of every weight dtype (the reference and the fallback for quantize_row /
// dequantize_row / embed_rows), and the int8 activation quantizer shared by the integer dot kernels.
#include <cstdint>

#include "core/dtype.h"
#include "kernels/quant/blocks.h"

namespace nlm::kernels::quant {

// dst[n] = decode(src); n a multiple of the block size of t.
void dequantize(const void* src, core::DType t, int64_t n, float* dst);
// dst = encode(src) as t (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K, q3_K, q4_K, q5_K, q6_K,
// a4_32, a8_32).
void quantize(const float* src, core::DType t, int64_t n, void* dst);

void quantize_q8_0(const float* x, int64_t n, BlockQ8_0* y);
void quantize_q4_0(const float* x, int64_t n, BlockQ4_0* y);
void quantize_q4_1(const float* x, int64_t n, BlockQ4_1* y);
void quantize_q4_K(const float* x, int64_t n, BlockQ4_K* y);
void quantize_q6_K(const float* x, int64_t n, BlockQ6_K* y);
void quantize_q5_0(const float* x, int64_t n, BlockQ5_0* y);
void quantize_q5_1(const float* x, int64_t n, BlockQ5_1* y);
void quantize_q5_K(const float* x, int64_t n, BlockQ5_K* y);
void quantize_q2_K(const float* x, int64_t n, BlockQ2_K* y);
void quantize_q3_K(const float* x, int64_t n, BlockQ3_K* y);
void quantize_a4(const float* x, int64_t n, BlockA4* y);
void quantize_a8(const float* x, int64_t n, BlockA8* y);

// Activation quantizer (scalar reference): over each `group` values (32, or 256 for the K-quants, whose
// kernels then apply one activation scale per super-block), d = max|x|/127 and q = round(x·127/max|x|)
// (ties to even, as SIMD rounding does); d is written once per 32-block (a group's value repeated) and
// sum = Σq per 32-block. n a multiple of `group`.
void quantize_act_ref(const float* x, int64_t n, int8_t* qs, float* d, int32_t* sum, int64_t group);
// The activation group quantize_act uses for weights of type t: 256 for the K-quants, else 32.
int64_t act_group(core::DType t);

}  // namespace nlm::kernels::quant
