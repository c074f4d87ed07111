// AVX2+FMA f32 GEMM: C[M,N] = A[M,K] · B[N,K]ᵀ with packed panels (A in 6-row panels [k][6], B in
// 16-column panels [k][16]) and a 6×16 register-blocked micro-kernel (12 accumulators). Single-threaded:
// linear.cpp splits C into tiles over the thread pool.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/arena.h"

namespace nlm::kernels::cpu::avx2 {
namespace {

constexpr int kMR = 6, kNR = 16;
constexpr int64_t kKC = 256, kMC = 96;

// In-register transpose of 8 rows of 8 floats: c[i][j] = r[j][i].
inline void transpose8(const __m256 r[8], __m256 c[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  c[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  c[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  c[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  c[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  c[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  c[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  c[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  c[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// Ap[kc][6] from A rows [m0, m0+mr) (rows past mr are zero). Full panels transpose 8 k at a time and
// store 8 floats per k (the 2 extra are overwritten by the next k; the buffer has 2 floats of slack).
void pack_a(const float* a, int64_t lda, int64_t mr, int64_t kc, float* ap) {
  int64_t k = 0;
  if (mr == kMR) {
    for (; k + 8 <= kc; k += 8) {
      __m256 r[8], c[8];
      for (int i = 0; i < kMR; ++i) r[i] = _mm256_loadu_ps(a + i * lda + k);
      r[6] = r[7] = _mm256_setzero_ps();
      transpose8(r, c);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(ap + (k + i) * kMR, c[i]);
    }
  }
  for (; k < kc; ++k) {
    for (int64_t i = 0; i < kMR; ++i) ap[k * kMR + i] = i < mr ? a[i * lda + k] : 0.f;
  }
}

// Bp[kc][16] from B rows [n0, n0+nr) (the output columns), transposing 8×8 blocks when full.
void pack_b(const float* b, int64_t ldb, int64_t nr, int64_t kc, float* bp) {
  if (nr == kNR) {
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      for (int half = 0; half < 2; ++half) {
        __m256 r[8], c[8];
        for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(b + (half * 8 + i) * ldb + k);
        transpose8(r, c);
        for (int i = 0; i < 8; ++i) _mm256_storeu_ps(bp + (k + i) * kNR + half * 8, c[i]);
      }
    }
    for (; k < kc; ++k) {
      for (int64_t j = 0; j < kNR; ++j) bp[k * kNR + j] = b[j * ldb + k];
    }
    return;
  }
  for (int64_t k = 0; k < kc; ++k) {
    for (int64_t j = 0; j < kNR; ++j) bp[k * kNR + j] = j < nr ? b[j * ldb + k] : 0.f;
  }
}

// C[6,16] (+)= Ap · Bp over kc; writes only the mr×nr corner.
void micro(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t mr, int64_t nr,
           bool accumulate) {
  __m256 acc[kMR][2];
  for (int i = 0; i < kMR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(bp + k * kNR), b1 = _mm256_loadu_ps(bp + k * kNR + 8);
    for (int i = 0; i < kMR; ++i) {
      const __m256 a = _mm256_broadcast_ss(ap + k * kMR + i);
      acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
    }
  }
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

struct Scratch {
  core::AlignedBuffer<float> ap, bp;
};

}  // namespace

void gemm_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t M,
              int64_t N, int64_t K) {
  thread_local Scratch s;
  const int64_t n_panels = (N + kNR - 1) / kNR;
  if (static_cast<int64_t>(s.bp.size()) < n_panels * kNR * kKC) s.bp.resize(n_panels * kNR * kKC);
  if (static_cast<int64_t>(s.ap.size()) < kMC * kKC + 8) s.ap.resize(kMC * kKC + 8);
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i) std::fill(c + i * ldc, c + i * ldc + N, 0.f);
    return;
  }
  for (int64_t k0 = 0; k0 < K; k0 += kKC) {
    const int64_t kc = std::min(kKC, K - k0);
    for (int64_t p = 0; p < n_panels; ++p) {
      pack_b(b + p * kNR * ldb + k0, ldb, std::min<int64_t>(kNR, N - p * kNR), kc, s.bp.data() + p * kNR * kc);
    }
    for (int64_t m0 = 0; m0 < M; m0 += kMC) {
      const int64_t mc = std::min(kMC, M - m0);
      const int64_t m_panels = (mc + kMR - 1) / kMR;
      for (int64_t q = 0; q < m_panels; ++q) {
        pack_a(a + (m0 + q * kMR) * lda + k0, lda, std::min<int64_t>(kMR, mc - q * kMR), kc,
               s.ap.data() + q * kMR * kc);
      }
      for (int64_t p = 0; p < n_panels; ++p) {
        for (int64_t q = 0; q < m_panels; ++q) {
          micro(kc, s.ap.data() + q * kMR * kc, s.bp.data() + p * kNR * kc, c + (m0 + q * kMR) * ldc + p * kNR,
                ldc, std::min<int64_t>(kMR, mc - q * kMR), std::min<int64_t>(kNR, N - p * kNR), k0 > 0);
        }
      }
    }
  }
}

}  // namespace nlm::kernels::cpu::avx2
