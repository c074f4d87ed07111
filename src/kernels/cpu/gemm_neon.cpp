// ARM64 NEON f32 GEMM on the packed layouts shared by every ISA (isa.h: A in 6-row panels [kc][6] per
// k-block, B in 16-column panels [K][16]). The 6×16 micro-kernel keeps its tile in 24 of the 32 q
// registers; per k it loads 4 vectors of B and the 6 values of A as two vectors, and multiplies by lane
// (fmla v, v, v.s[i]), so A needs no broadcasts. Packing is the portable table's (same layout).
#include <arm_neon.h>

#include <algorithm>

#include "core/arena.h"
#include "kernels/cpu/gemm_blocked.h"
#include "kernels/cpu/isa.h"

namespace nlm::kernels::cpu::neon {
namespace {

constexpr int kMR = 6, kNR = 16;

// C[6,16] (+)= Ap · Bp over kc; writes only the mr×nr corner.
void micro(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t mr, int64_t nr,
           bool accumulate) {
  // Named accumulators, not an array: GCC otherwise stores the array to the stack on every iteration.
  const float32x4_t z = vdupq_n_f32(0.f);
  float32x4_t c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z, c20 = z, c21 = z, c22 = z,
              c23 = z, c30 = z, c31 = z, c32 = z, c33 = z, c40 = z, c41 = z, c42 = z, c43 = z, c50 = z, c51 = z,
              c52 = z, c53 = z;
  for (int64_t k = 0; k < kc; ++k) {
    const float* a = ap + k * kMR;
    const float* b = bp + k * kNR;
    const float32x4_t a03 = vld1q_f32(a);
    const float32x2_t a45 = vld1_f32(a + 4);
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
#define NLM_ROW(i, fma, av, lane)                                                               \
  c##i##0 = fma(c##i##0, b0, av, lane), c##i##1 = fma(c##i##1, b1, av, lane), \
  c##i##2 = fma(c##i##2, b2, av, lane), c##i##3 = fma(c##i##3, b3, av, lane)
    NLM_ROW(0, vfmaq_laneq_f32, a03, 0);
    NLM_ROW(1, vfmaq_laneq_f32, a03, 1);
    NLM_ROW(2, vfmaq_laneq_f32, a03, 2);
    NLM_ROW(3, vfmaq_laneq_f32, a03, 3);
    NLM_ROW(4, vfmaq_lane_f32, a45, 0);
    NLM_ROW(5, vfmaq_lane_f32, a45, 1);
#undef NLM_ROW
  }
  const float32x4_t acc[kMR][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23},
                                   {c30, c31, c32, c33}, {c40, c41, c42, c43}, {c50, c51, c52, c53}};
  if (mr == kMR && nr == kNR) {
    for (int i = 0; i < kMR; ++i) {
      float* ci = c + i * ldc;
      for (int j = 0; j < 4; ++j) {
        vst1q_f32(ci + 4 * j, accumulate ? vaddq_f32(acc[i][j], vld1q_f32(ci + 4 * j)) : acc[i][j]);
      }
    }
    return;
  }
  float tmp[kMR][kNR];
  for (int i = 0; i < kMR; ++i) {
    for (int j = 0; j < 4; ++j) vst1q_f32(tmp[i] + 4 * j, acc[i][j]);
  }
  for (int64_t i = 0; i < mr; ++i) {
    for (int64_t j = 0; j < nr; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + tmp[i][j] : tmp[i][j];
  }
}

}  // namespace

void gemm_packed(const float* ap, int64_t M, int64_t K, const float* bp, int64_t N, float* c, int64_t ldc) {
  gemm_packed_blocked<micro>(ap, M, K, bp, N, c, ldc);
}

void gemm_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t M,
              int64_t N, int64_t K) {
  const IsaKernels& packers = portable_kernels();
  gemm_f32_by_packing(packers.pack_a, packers.pack_b, gemm_packed, a, lda, b, ldb, c, ldc, M, N, K);
}

}  // namespace nlm::kernels::cpu::neon
