#pragma once
// The cache blocking around a kPackMR×kPackNR micro-kernel on the packed layouts shared by every ISA
// (isa.h), used by the SIMD GEMM files: k-blocks of kPackKC; an m-chunk of 10 A panels (10 × 6 × 384
// floats = 90 KiB) stays in L2 while each B panel slice (384 × 16 floats = 24 KiB) sits in L1.
// kMicro(kc, ap, bp, c, ldc, mr, nr, accumulate) computes C[6,16] (+)= Ap·Bp over kc and writes the mr×nr
// corner. Each ISA file passes its own micro-kernel (internal linkage), so every instantiation belongs
// to one file and is compiled with that file's target flags. An ISA with registers for a larger tile sets
// kRP / kCP (A / B panels per call) and passes kMicro(rp, np, kc, ap, a_next, bp, bq, c, ldc, mr, nr,
// accumulate): C[6·rp, 16·np] from rp ≤ kRP A panels (a_next floats apart) and np ≤ kCP B panels (bp,
// bq); the edges of the grid get the smaller rp / np.
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/isa.h"

namespace nlm::kernels::cpu {

template <auto kMicro, int kRP = 1, int kCP = 1>
void gemm_packed_blocked(const float* ap, int64_t M, int64_t K, const float* bp, int64_t N, float* c, int64_t ldc) {
  constexpr int64_t kMR = kPackMR, kNR = kPackNR, kChunkPanels = 10;
  const int64_t Mp = (M + kMR - 1) / kMR * kMR, m_panels = Mp / kMR, n_panels = (N + kNR - 1) / kNR;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i) std::fill(c + i * ldc, c + i * ldc + N, 0.f);
    return;
  }
  for (int64_t k0 = 0; k0 < K; k0 += kPackKC) {
    const int64_t kc = std::min(kPackKC, K - k0);
    const float* ab = ap + k0 * Mp;
    for (int64_t q0 = 0; q0 < m_panels; q0 += kChunkPanels) {
      const int64_t q1 = std::min(m_panels, q0 + kChunkPanels);
      for (int64_t p = 0; p < n_panels;) {
        const int64_t np = std::min<int64_t>(kCP, n_panels - p), nr = std::min(kNR * np, N - p * kNR);
        const float* bk = bp + p * kNR * K + k0 * kNR;
        for (int64_t q = q0; q < q1;) {
          const int64_t rp = std::min<int64_t>(kRP, q1 - q), mr = std::min(kMR * rp, M - q * kMR);
          const float* a = ab + q * kMR * kc;
          float* cq = c + q * kMR * ldc + p * kNR;
          if constexpr (kRP == 1 && kCP == 1) {
            kMicro(kc, a, bk, cq, ldc, mr, nr, k0 > 0);
          } else {
            kMicro(rp, np, kc, a, kMR * kc, bk, bk + kNR * K, cq, ldc, mr, nr, k0 > 0);
          }
          q += rp;
        }
        p += np;
      }
    }
  }
}

// IsaKernels::gemm_f32 on unpacked operands, for an ISA's packers and packed GEMM: A and B are packed into
// the calling thread's buffers, then multiplied. Defined once in portable.cpp, compiled without ISA flags:
// code shared by several ISA files must not come from one of them (an inline copy built with AVX-512
// could be the one the linker keeps).
using PackAFn = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float*);
using PackBFn = void (*)(const float*, int64_t, int64_t, int64_t, float*);
using GemmPackedFn = void (*)(const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t);
void gemm_f32_by_packing(PackAFn pack_a, PackBFn pack_b, GemmPackedFn gemm_packed, const float* a, int64_t lda,
                         const float* b, int64_t ldb, float* c, int64_t ldc, int64_t M, int64_t N, int64_t K);

}  // namespace nlm::kernels::cpu
