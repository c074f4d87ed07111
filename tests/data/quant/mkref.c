// Writes llama.cpp's own quantization of fixed values, and its own dequantization of those blocks, for
X: per type, u32 ggml type id, u32 n,
// f32 src[n], u32 nbytes, the blocks, f32 deq[n]. Written for this project; it links llama.cpp's
// ggml/src/ggml-quants.c (MIT) at commit 80fb11ac73e66d89eae2c6a91d8a77428fa733ed, the source that
// node-llama-cpp 3.21.1 ships (llama/gitRelease.bundle):
//   G=llama.cpp/ggml; gcc -O1 -std=gnu11 -I$G/include -I$G/src -c $G/src/ggml-quants.c -o q.o
//   gcc -O1 -I$G/include -I$G/src mkref.c q.o -lm -o mkref && ./mkref llamacpp_quant_ref.bin
// (x86-64, no -march flags: the reference paths are plain C.)
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include "ggml.h"
#include "ggml-quants.h"
static uint32_t rng = 12345;
static float uni(void) { rng = rng * 1664525u + 1013904223u; return (rng >> 8) / 16777216.0f; }
int main(int argc, char** argv) {
  const int n = 1024;
  float src[1024], deq[1024];
  // Gaussian-ish values with a few outliers, a run of zeros and one constant block.
  for (int i = 0; i < n; ++i) {
    float g = (uni() + uni() + uni() + uni() - 2.0f) * 1.7f;
    if (i % 97 == 5) g *= 9.0f;
    src[i] = g;
  }
  for (int i = 256; i < 288; ++i) src[i] = 0.0f;
  for (int i = 512; i < 544; ++i) src[i] = 0.75f;
  FILE* f = fopen(argv[1], "wb");
  const int types[] = {GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
                       GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_Q2_K, GGML_TYPE_Q3_K};
  for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); ++t) {
    static unsigned char blocks[1024 * 2];
    size_t bytes = 0;
    switch (types[t]) {
      case GGML_TYPE_Q8_0: quantize_row_q8_0_ref(src, (block_q8_0*)blocks, n); dequantize_row_q8_0((block_q8_0*)blocks, deq, n); bytes = n / 32 * sizeof(block_q8_0); break;
      case GGML_TYPE_Q4_0: quantize_row_q4_0_ref(src, (block_q4_0*)blocks, n); dequantize_row_q4_0((block_q4_0*)blocks, deq, n); bytes = n / 32 * sizeof(block_q4_0); break;
      case GGML_TYPE_Q4_1: quantize_row_q4_1_ref(src, (block_q4_1*)blocks, n); dequantize_row_q4_1((block_q4_1*)blocks, deq, n); bytes = n / 32 * sizeof(block_q4_1); break;
      case GGML_TYPE_Q5_0: quantize_row_q5_0_ref(src, (block_q5_0*)blocks, n); dequantize_row_q5_0((block_q5_0*)blocks, deq, n); bytes = n / 32 * sizeof(block_q5_0); break;
      case GGML_TYPE_Q5_1: quantize_row_q5_1_ref(src, (block_q5_1*)blocks, n); dequantize_row_q5_1((block_q5_1*)blocks, deq, n); bytes = n / 32 * sizeof(block_q5_1); break;
      case GGML_TYPE_Q4_K: quantize_row_q4_K_ref(src, (block_q4_K*)blocks, n); dequantize_row_q4_K((block_q4_K*)blocks, deq, n); bytes = n / 256 * sizeof(block_q4_K); break;
      case GGML_TYPE_Q5_K: quantize_row_q5_K_ref(src, (block_q5_K*)blocks, n); dequantize_row_q5_K((block_q5_K*)blocks, deq, n); bytes = n / 256 * sizeof(block_q5_K); break;
      case GGML_TYPE_Q2_K: quantize_row_q2_K_ref(src, (block_q2_K*)blocks, n); dequantize_row_q2_K((block_q2_K*)blocks, deq, n); bytes = n / 256 * sizeof(block_q2_K); break;
      case GGML_TYPE_Q3_K: quantize_row_q3_K_ref(src, (block_q3_K*)blocks, n); dequantize_row_q3_K((block_q3_K*)blocks, deq, n); bytes = n / 256 * sizeof(block_q3_K); break;
      case GGML_TYPE_Q6_K: quantize_row_q6_K_ref(src, (block_q6_K*)blocks, n); dequantize_row_q6_K((block_q6_K*)blocks, deq, n); bytes = n / 256 * sizeof(block_q6_K); break;
    }
    uint32_t hdr[2] = {(uint32_t)types[t], (uint32_t)n}, nb = (uint32_t)bytes;
    fwrite(hdr, 4, 2, f); fwrite(src, 4, n, f); fwrite(&nb, 4, 1, f); fwrite(blocks, 1, bytes, f); fwrite(deq, 4, n, f);
  }
  fclose(f);
  return 0;
}
void ggml_abort(const char* file, int line, const char* fmt, ...) { fprintf(stderr, "abort %s:%d %s\n", file, line, fmt); abort(); }
size_t ggml_row_size(enum ggml_type t, int64_t ne) { (void)t; (void)ne; abort(); }
const char* ggml_type_name(enum ggml_type t) { (void)t; return "?"; }
size_t ggml_type_size(enum ggml_type t) { (void)t; abort(); }
