#pragma once
// The cache blocking around a kPackMR×kPackNR micro-kernel on the packed layouts shared by every ISA
// (isa.h), used by the SIMD GEMM files. The caller hands one task's B panels (linear.cpp: at most 16, so
// a k-block of them, 16 × 16 × 768 floats = 768 KiB, stays in L2). Loops, outermost first: m-chunks of
// kChunkPanels A panels (their C rows, ≤ 120 × 256 floats, stay in L2 from one k-block to the next, so
// accumulating does not read C back from memory); k-blocks of kPackKC; A panels (the micro-kernel's
// broadcast operand, read from L1 while every B panel of the task streams past from L2); B panels.
// Measured on Zen 5 (2 threads, docs/performance.md): this order with kc = 768 against the earlier one
// (B panels outside A panels, kc = 384) took 2048x768x3072 from 0.90–0.97× OpenBLAS to parity.
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
  constexpr int64_t kMR = kPackMR, kNR = kPackNR, kChunkPanels = 20;
  const int64_t Mp = (M + kMR - 1) / kMR * kMR, m_panels = Mp / kMR, n_panels = (N + kNR - 1) / kNR;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i) std::fill(c + i * ldc, c + i * ldc + N, 0.f);
    return;
  }
  for (int64_t q0 = 0; q0 < m_panels; q0 += kChunkPanels) {
    const int64_t q1 = std::min(m_panels, q0 + kChunkPanels);
    for (int64_t k0 = 0; k0 < K; k0 += kPackKC) {
      const int64_t kc = std::min(kPackKC, K - k0);
      for (int64_t q = q0; q < q1;) {
        const int64_t rp = std::min<int64_t>(kRP, q1 - q), mr = std::min(kMR * rp, M - q * kMR);
        const float* a = ap + k0 * Mp + q * kMR * kc;
        for (int64_t p = 0; p < n_panels;) {
          const int64_t np = std::min<int64_t>(kCP, n_panels - p), nr = std::min(kNR * np, N - p * kNR);
          const float* bk = bp + p * kNR * K + k0 * kNR;
          float* cq = c + q * kMR * ldc + p * kNR;
          if constexpr (kRP == 1 && kCP == 1) {
            kMicro(kc, a, bk, cq, ldc, mr, nr, k0 > 0);
          } else {
            kMicro(rp, np, kc, a, kMR * kc, bk, bk + kNR * K, cq, ldc, mr, nr, k0 > 0);
          }
          p += np;
        }
        q += rp;
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
