// AVX-512 (F, BW, VL, DQ, VNNI) table: the AVX2 table with the two GEMMs that gain most from 512-bit
// registers and VNNI.
// - f32: the packed layouts of isa.h; a 6×32 micro-kernel on pairs of 16-column B panels (12 zmm
//   accumulators, one per row and panel), a 6×16 one for a last odd panel, masked edge stores.
// - int8 (q8_0 and q4_0 weights × int8 activations): VPDPBUSD multiplies unsigned by signed bytes, so
//   weights are stored as w + 128 (unsigned) and activations stay signed; Σ(w + 128)·a over a 32-block
//   exceeds Σw·a by 128·Σa, which the activation quantizer already provides (ActRows::sum), so each
//   block's accumulator starts at −128·Σa. One block of a row pair costs 8 VPDPBUSD + convert, scale
//   and FMA, against 32 f32 FMAs for the same products.
// NLM_AVX512_EMULATE (test builds only) compiles this file without AVX-512 on scalar stand-ins for the
// intrinsics (avx512_emu.h), so the logic is tested on any x86-64 machine.
#ifdef NLM_AVX512_EMULATE
#include "kernels/cpu/avx512_emu.h"
#else
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstring>

#include "core/arena.h"
#include "core/f16.h"
#include "kernels/cpu/gemm_blocked.h"
#include "kernels/cpu/isa.h"
#include "kernels/quant/blocks.h"

// GCC 12 reports its own _mm512_undefined_ps() inside _mm512_cvtepi32_ps as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace nlm::kernels::cpu {
namespace avx512 {
namespace {

using core::DType;

constexpr int64_t kMR = kPackMR, kNR = kPackNR;

// C row (+)= v on its first n (1..16) columns.
inline void store_row(float* c, __m512 v, int64_t n, bool accumulate) {
  if (n >= 16) {
    if (accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(c));
    _mm512_storeu_ps(c, v);
    return;
  }
  const auto k = static_cast<__mmask16>((1u << n) - 1);
  if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, c));
  _mm512_mask_storeu_ps(c, k, v);
}

// C[6,16] (+)= Ap · Bp over kc (one B panel); writes the mr×nr corner.
void micro16(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t mr, int64_t nr,
             bool accumulate) {
  __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const float* a = ap + k * kMR;
    const __m512 b = _mm512_loadu_ps(bp + k * kNR);
    c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), b, c0);
    c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), b, c1);
    c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), b, c2);
    c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), b, c3);
    c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), b, c4);
    c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), b, c5);
  }
  const __m512 rows[kMR] = {c0, c1, c2, c3, c4, c5};
  for (int64_t i = 0; i < mr; ++i) store_row(c + i * ldc, rows[i], nr, accumulate);
}

// C[6,32] (+)= Ap · [Bp | Bq] over kc (two B panels); writes the mr×nr corner (16 < nr ≤ 32).
void micro32(int64_t kc, const float* ap, const float* bp, const float* bq, float* c, int64_t ldc, int64_t mr,
             int64_t nr, bool accumulate) {
  // Named accumulators: an array would be kept in memory across the loop.
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const float* a = ap + k * kMR;
    const __m512 b0 = _mm512_loadu_ps(bp + k * kNR), b1 = _mm512_loadu_ps(bq + k * kNR);
    __m512 x = _mm512_set1_ps(a[0]);
    c00 = _mm512_fmadd_ps(x, b0, c00), c01 = _mm512_fmadd_ps(x, b1, c01);
    x = _mm512_set1_ps(a[1]);
    c10 = _mm512_fmadd_ps(x, b0, c10), c11 = _mm512_fmadd_ps(x, b1, c11);
    x = _mm512_set1_ps(a[2]);
    c20 = _mm512_fmadd_ps(x, b0, c20), c21 = _mm512_fmadd_ps(x, b1, c21);
    x = _mm512_set1_ps(a[3]);
    c30 = _mm512_fmadd_ps(x, b0, c30), c31 = _mm512_fmadd_ps(x, b1, c31);
    x = _mm512_set1_ps(a[4]);
    c40 = _mm512_fmadd_ps(x, b0, c40), c41 = _mm512_fmadd_ps(x, b1, c41);
    x = _mm512_set1_ps(a[5]);
    c50 = _mm512_fmadd_ps(x, b0, c50), c51 = _mm512_fmadd_ps(x, b1, c51);
  }
  const __m512 rows[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int64_t i = 0; i < mr; ++i) {
    store_row(c + i * ldc, rows[i][0], kNR, accumulate);
    store_row(c + i * ldc + kNR, rows[i][1], nr - kNR, accumulate);
  }
}

// ---- int8 GEMM ----

// One packed 32-block of 16 weight rows: the values + 128 as unsigned bytes, [j < 8][row < 16][4] (lane
// `row` of the j-th vector holds k = 4j .. 4j+3), then the 16 rows' scales as f32.
constexpr int64_t kI8Block = 8 * 64 + 16 * 4;
constexpr int kI8Rows = 8;  // activation rows per micro-kernel call

// One weight block as 32 signed values; returns its scale.
float decode_block(DType t, const char* blk, int8_t* v) {
  uint16_t d;
  std::memcpy(&d, blk, 2);  // both formats start with the f16 scale
  if (t == DType::kQ8_0) {
    std::memcpy(v, blk + 2, 32);
  } else {  // q4_0
    const auto* qs = reinterpret_cast<const uint8_t*>(blk + 2);
    for (int j = 0; j < 16; ++j) {
      v[j] = static_cast<int8_t>((qs[j] & 15) - 8);
      v[j + 16] = static_cast<int8_t>((qs[j] >> 4) - 8);
    }
  }
  return core::f16_to_f32(d);
}

// Weight rows [0, nr) (nr ≤ 16; the rest get zero values and scales) as nb packed blocks.
void pack_i8_panel(DType t, const char* w, int64_t w_rb, int64_t nr, int64_t nb, uint8_t* out) {
  const int64_t bb = core::dtype_info(t).block_bytes;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* o = out + b * kI8Block;
    float scales[kNR];
    for (int64_t r = 0; r < kNR; ++r) {
      int8_t v[32] = {};
      scales[r] = r < nr ? decode_block(t, w + r * w_rb + b * bb, v) : 0.f;
      for (int k = 0; k < 32; ++k) o[(k / 4) * 64 + r * 4 + k % 4] = static_cast<uint8_t>(v[k]) ^ 0x80;
    }
    std::memcpy(o + 8 * 64, scales, sizeof scales);
  }
}

// out[i, 0..nr) = activation rows m0 .. m0+MR of x times one packed panel (nb blocks).
template <int MR>
void micro_i8(const ActRows& x, int64_t m0, int64_t nb, const uint8_t* bp, float* out, int64_t ldo, int64_t nr) {
  const int8_t* a = x.qs + m0 * x.K;
  const float* ad = x.d + m0 * nb;
  const int32_t* as = x.sum + m0 * nb;
  __m512 f[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) f[i] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = bp + b * kI8Block;
    __m512i s[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) s[i] = _mm512_set1_epi32(-128 * as[i * nb + b]);
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      const __m512i wv = _mm512_loadu_si512(blk + 64 * j);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        int32_t q;
        std::memcpy(&q, a + i * x.K + b * 32 + 4 * j, 4);
        s[i] = _mm512_dpbusd_epi32(s[i], wv, _mm512_set1_epi32(q));
      }
    }
    const __m512 dw = _mm512_loadu_ps(blk + 8 * 64);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      f[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[i]), _mm512_mul_ps(dw, _mm512_set1_ps(ad[i * nb + b])), f[i]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) store_row(out + i * ldo, f[i], nr, false);
}

using MicroI8 = void (*)(const ActRows&, int64_t, int64_t, const uint8_t*, float*, int64_t, int64_t);
constexpr MicroI8 kMicroI8[kI8Rows + 1] = {nullptr,      micro_i8<1>, micro_i8<2>, micro_i8<3>, micro_i8<4>,
                                           micro_i8<5>, micro_i8<6>, micro_i8<7>, micro_i8<8>};

}  // namespace

void gemm_packed(const float* ap, int64_t M, int64_t K, const float* bp, int64_t N, float* c, int64_t ldc) {
  gemm_packed_blocked<micro16, micro32>(ap, M, K, bp, N, c, ldc);
}

void gemm_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t M,
              int64_t N, int64_t K) {
  thread_local core::AlignedBuffer<float> abuf, bbuf;
  const int64_t Mp = (M + kMR - 1) / kMR * kMR, Np = (N + kNR - 1) / kNR * kNR;
  abuf.resize(static_cast<size_t>(Mp * K));
  bbuf.resize(static_cast<size_t>(Np * K));
  const IsaKernels& base = *avx2_kernels();  // the packers: same layouts, AVX2 transposes
  base.pack_a(a, lda, M, K, 0, Mp / kMR, abuf.data());
  base.pack_b(b, ldb, N, K, bbuf.data());
  gemm_packed(abuf.data(), M, K, bbuf.data(), N, c, ldc);
}

// The weight rows are packed once per call (all of them: callers pass a few panels' worth, which stay
// in L2), then each group of 8 activation rows sweeps every panel while its bytes sit in L1.
void gemm_int8(DType wt, const ActRows& x, int64_t M, const char* w, int64_t w_rb, int64_t n_rows, float* out,
               int64_t ldo) {
  const int64_t nb = x.K / 32, n_panels = (n_rows + kNR - 1) / kNR;
  thread_local core::AlignedBuffer<uint8_t> packed;
  packed.resize(static_cast<size_t>(n_panels * nb * kI8Block));
  for (int64_t p = 0; p < n_panels; ++p) {
    pack_i8_panel(wt, w + p * kNR * w_rb, w_rb, std::min(kNR, n_rows - p * kNR), nb,
                  packed.data() + p * nb * kI8Block);
  }
  for (int64_t m0 = 0; m0 < M; m0 += kI8Rows) {
    const MicroI8 micro = kMicroI8[std::min<int64_t>(kI8Rows, M - m0)];
    for (int64_t p = 0; p < n_panels; ++p) {
      micro(x, m0, nb, packed.data() + p * nb * kI8Block, out + m0 * ldo + p * kNR, ldo,
            std::min(kNR, n_rows - p * kNR));
    }
  }
}

}  // namespace avx512

// Only this table's own entries; dispatch.cpp fills the rest from the AVX2 table. A constant (no code
// runs here: this file's instructions may not exist on the CPU that asks).
const IsaKernels* avx512_kernels() {
  static constexpr IsaKernels k = {.isa = Isa::kAvx512,
                                   .gemm_f32 = avx512::gemm_f32,
                                   .gemm_packed = avx512::gemm_packed,
                                   .gemm_int8 = avx512::gemm_int8};
  return &k;
}

}  // namespace nlm::kernels::cpu
