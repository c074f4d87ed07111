// AVX2+FMA f32 GEMM: C[M,N] = A[M,K] · B[N,K]ᵀ on packed operands (layouts in isa.h: A in 6-row panels
// [kc][6] per k-block, B in 16-column panels [K][16]) with a 6×16 register-blocked micro-kernel (12
// accumulators). Single-threaded: linear.cpp packs A once per call and splits B's panels over the pool.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/arena.h"
#include "kernels/cpu/gemm_blocked.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/vec_avx2.h"

namespace nlm::kernels::cpu::avx2 {
namespace {

constexpr int kMR = 6, kNR = 16;
constexpr int64_t kKC = kPackKC;  // 768: one k-block for K ≤ 768 (gemm_blocked.h)

// One m-panel of A: rows [0, mr) of `a` (rows past mr are zero), k in [0, kc), as [kc][6]. Full
// panels transpose 8 k at a time and store exactly 6 floats per k (4 + 2: panels are packed by
// several threads at once, so nothing may spill into a neighbour; AMD's masked stores are slow).
void pack_a_panel(const float* a, int64_t lda, int64_t mr, int64_t kc, float* ap) {
  int64_t k = 0;
  if (mr == kMR) {
    for (; k + 8 <= kc; k += 8) {
      __m256 r[8], c[8];
      for (int i = 0; i < kMR; ++i) r[i] = _mm256_loadu_ps(a + i * lda + k);
      r[6] = r[7] = _mm256_setzero_ps();
      transpose8(r, c);
      for (int i = 0; i < 8; ++i) {
        float* dst = ap + (k + i) * kMR;
        _mm_storeu_ps(dst, _mm256_castps256_ps128(c[i]));
        _mm_storel_pi(reinterpret_cast<__m64*>(dst + 4), _mm256_extractf128_ps(c[i], 1));
      }
    }
  }
  for (; k < kc; ++k) {
    for (int64_t i = 0; i < kMR; ++i) ap[k * kMR + i] = i < mr ? a[i * lda + k] : 0.f;
  }
}

// One n-panel of B: rows [0, nr) of `b` (the output columns; rows past nr are zero) as [K][16],
// transposing 8×8 blocks when full.
void pack_b_panel(const float* b, int64_t ldb, int64_t nr, int64_t K, float* bp) {
  if (nr == kNR) {
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
      for (int half = 0; half < 2; ++half) {
        __m256 r[8], c[8];
        for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(b + (half * 8 + i) * ldb + k);
        transpose8(r, c);
        for (int i = 0; i < 8; ++i) _mm256_storeu_ps(bp + (k + i) * kNR + half * 8, c[i]);
      }
    }
    for (; k < K; ++k) {
      for (int64_t j = 0; j < kNR; ++j) bp[k * kNR + j] = b[j * ldb + k];
    }
    return;
  }
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t j = 0; j < kNR; ++j) bp[k * kNR + j] = j < nr ? b[j * ldb + k] : 0.f;
  }
}

// C[6,16] (+)= Ap · Bp over kc; writes only the mr×nr corner.
void micro(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t mr, int64_t nr,
           bool accumulate) {
  // Named accumulators, not an array: GCC otherwise keeps the array in memory across the loop when the
  // function is not inlined (a store and reload per FMA).
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const float* a = ap + k * kMR;
    const __m256 b0 = _mm256_loadu_ps(bp + k * kNR), b1 = _mm256_loadu_ps(bp + k * kNR + 8);
    __m256 x = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
  }
  __m256 acc[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == kMR && nr == kNR) {
    for (int i = 0; i < kMR; ++i) {
      float* ci = c + i * ldc;
      if (accumulate) {
        acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(ci));
        acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(ci + 8));
      }
      _mm256_storeu_ps(ci, acc[i][0]);
      _mm256_storeu_ps(ci + 8, acc[i][1]);
    }
    return;
  }
  alignas(32) float tmp[kMR][kNR];
  for (int i = 0; i < kMR; ++i) {
    _mm256_store_ps(tmp[i], acc[i][0]);
    _mm256_store_ps(tmp[i] + 8, acc[i][1]);
  }
  for (int64_t i = 0; i < mr; ++i) {
    for (int64_t j = 0; j < nr; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + tmp[i][j] : tmp[i][j];
  }
}

}  // namespace

static_assert(kMR == kPackMR && kNR == kPackNR && kKC == kPackKC, "packed layouts are shared with portable.cpp");

void pack_a(const float* a, int64_t lda, int64_t M, int64_t K, int64_t q0, int64_t q1, float* ap) {
  const int64_t Mp = (M + kMR - 1) / kMR * kMR;
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min(kKC, K - k0);
    for (int64_t q = q0; q < q1; ++q) {
      pack_a_panel(a + q * kMR * lda + k0, lda, std::min<int64_t>(kMR, M - q * kMR), kc, ap + k0 * Mp + q * kMR * kc);
    }
  }
}

void pack_b(const float* b, int64_t ldb, int64_t N, int64_t K, float* bp) {
  for (int64_t p = 0; p * kNR < N; ++p) {
    pack_b_panel(b + p * kNR * ldb, ldb, std::min<int64_t>(kNR, N - p * kNR), K, bp + p * kNR * K);
  }
}

void gemm_packed(const float* ap, int64_t M, int64_t K, const float* bp, int64_t N, float* c, int64_t ldc) {
  gemm_packed_blocked<micro>(ap, M, K, bp, N, c, ldc);
}

void gemm_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t M,
              int64_t N, int64_t K) {
  gemm_f32_by_packing(pack_a, pack_b, gemm_packed, a, lda, b, ldb, c, ldc, M, N, K);
}

}  // namespace nlm::kernels::cpu::avx2
