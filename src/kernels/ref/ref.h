#pragma once
// Scalar references of every kernel: the test oracle, written for clarity and never optimized.
// Same contracts as kernels.h; accumulations in double. Quantized weights are dequantized with
// quant::dequantize and multiplied in f32/double (no activation quantization).
#include <cstdint>

#include "kernels/kernels.h"

namespace nlm::kernels::ref {

void matmul(const float* x, int64_t M, const TensorView& w, const float* bias, float* y, int64_t ldx = 0,
            int64_t ldy = 0);
void embed_rows(const TensorView& table, const int32_t* ids, int64_t n, float* out, int64_t ld_out = 0);
void layer_norm(const float* x, int64_t rows, int64_t dim, const float* w, const float* b, float eps,
                float* y);
void rms_norm(const float* x, int64_t rows, int64_t dim, const float* w, float eps, float* y,
              bool add_one = false);
void softmax(float* x, int64_t rows, int64_t n);
void l2_normalize(float* x, int64_t rows, int64_t dim, float eps = 1e-12f);
void gelu(const float* x, int64_t n, float* y);
void gelu_tanh(const float* x, int64_t n, float* y);
void silu(const float* x, int64_t n, float* y);
void swiglu(const float* gate, const float* up, int64_t n, float* y);
void geglu(const float* gate, const float* up, int64_t n, float* y, bool tanh_approx);
void add(const float* a, const float* b, int64_t n, float* y);
void mul(const float* a, const float* b, int64_t n, float* y);
void scale(const float* x, int64_t n, float s, float* y);
void add_bias(float* x, int64_t rows, int64_t cols, const float* bias);
void rope_cos_sin(const float* inv_freq, int64_t rot_dim, const int32_t* positions, int64_t n_tokens,
                  float attention_factor, float* cos, float* sin);
void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t rot_dim, const float* cos,
          const float* sin, RopeLayout layout, int64_t ld = 0);
void attention(const float* q, const float* k, const float* v, float* out, const AttentionParams& p);
void pool(const float* x, int64_t batch, int64_t n_tokens, int64_t dim, const uint8_t* mask, Pooling mode,
          float* out);

}  // namespace nlm::kernels::ref
