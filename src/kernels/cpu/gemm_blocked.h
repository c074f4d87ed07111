#pragma once
// The cache blocking around a kPackMR×kPackNR micro-kernel on the packed layouts shared by every ISA
// (isa.h), used by the SIMD GEMM files: k-blocks of kPackKC; an m-chunk of 10 A panels (10 × 6 × 384
// floats = 90 KiB) stays in L2 while each B panel slice (384 × 16 floats = 24 KiB) sits in L1.
// kMicro(kc, ap, bp, c, ldc, mr, nr, accumulate) computes C[6,16] (+)= Ap·Bp over kc and writes the mr×nr
// corner. Each ISA file passes its own micro-kernel (internal linkage), so every instantiation belongs
// to one file and is compiled with that file's target flags. An ISA with registers for two panels also
// passes kMicro2(kc, ap, bp, bp_next, c, ldc, mr, nr, accumulate): C[6,32] from B panels bp and
// bp_next (nr ≤ 32), run on pairs of panels; a last odd panel runs kMicro. The pair's B slice (48 KiB)
// then sits in L1 or L2.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cpu/isa.h"

namespace nlm::kernels::cpu {

template <auto kMicro, auto kMicro2 = nullptr>
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
        const float* bk = bp + p * kNR * K + k0 * kNR;
        bool pair = false;
        if constexpr (!std::is_null_pointer_v<decltype(kMicro2)>) pair = p + 1 < n_panels;
        for (int64_t q = q0; q < q1; ++q) {
          const float* a = ab + q * kMR * kc;
          float* cq = c + q * kMR * ldc + p * kNR;
          const int64_t mr = std::min(kMR, M - q * kMR);
          if constexpr (!std::is_null_pointer_v<decltype(kMicro2)>) {
            if (pair) {
              kMicro2(kc, a, bk, bk + kNR * K, cq, ldc, mr, std::min(2 * kNR, N - p * kNR), k0 > 0);
              continue;
            }
          }
          kMicro(kc, a, bk, cq, ldc, mr, std::min(kNR, N - p * kNR), k0 > 0);
        }
        p += pair ? 2 : 1;
      }
    }
  }
}

}  // namespace nlm::kernels::cpu
