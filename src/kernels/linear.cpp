// matmul / embed_rows / quantize_row / dequantize_row: argument checks, tiling over the thread pool,
// and the call into the active ISA table (kernels/cpu/isa.h).
#include <algorithm>
#include <cstring>

#include "core/arena.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "kernels/cpu/isa.h"
#include "kernels/kernels.h"
#include "kernels/quant/quant.h"

namespace nlm::kernels {
namespace {

using core::DType;

bool is_int_dtype(DType t) {
  switch (t) {
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ6_K:
    case DType::kA4_32:
    case DType::kA8_32: return true;
    default: return false;
  }
}

// Per-thread scratch for quantized activations, grown on demand and reused.
struct ActScratch {
  core::AlignedBuffer<int8_t> qs;
  core::AlignedBuffer<float> d;
  core::AlignedBuffer<int32_t> sum;
};

ActScratch& act_scratch(int64_t M, int64_t K) {
  thread_local ActScratch s;
  if (static_cast<int64_t>(s.qs.size()) < M * K) s.qs.resize(M * K);
  if (static_cast<int64_t>(s.d.size()) < M * K / 32) {
    s.d.resize(M * K / 32);
    s.sum.resize(M * K / 32);
  }
  return s;
}

// The M rows of x quantized to int8 for weights of dtype t (rows split over the pool), in the calling
// thread's scratch.
cpu::ActRows quantize_rows(const cpu::IsaKernels& kt, const float* x, int64_t M, int64_t ldx, int64_t K, DType t) {
  const int64_t nb = K / 32;
  ActScratch& s = act_scratch(M, K);
  int8_t* const qs = s.qs.data();  // by pointer: inside the tasks `s` would name the worker's own
  float* const d = s.d.data();
  int32_t* const sum = s.sum.data();
  core::parallel_for(M, [&](int64_t m, int) {
    kt.quantize_act(x + m * ldx, K, qs + m * K, d + m * nb, sum + m * nb, quant::act_group(t));
  });
  return cpu::ActRows{qs, d, sum, K};
}

bool int8_gemm_dtype(const cpu::IsaKernels& kt, DType t) {
  return kt.gemm_int8 != nullptr && (kt.gemm_int8_dtypes & cpu::dtype_bit(t)) != 0;
}

void check_weight(const TensorView& w) {
  NLM_CHECK_MSG(w.data != nullptr && w.ndim >= 1, "[kernels] weight view is empty");
  NLM_CHECK_MSG(is_weight_dtype(w.dtype), "[kernels] unsupported weight dtype");
  NLM_CHECK_MSG(w.cols() % core::dtype_info(w.dtype).block_elems == 0,
                "[kernels] weight row length not a multiple of the block size");
}

// Rows of W per task. Decode (M == 1) streams W once: each task is one sequential read whose first
// kilobytes wait on memory, so tasks are few and long — 8 per thread (balance on a noisy machine) and
// at least 64 KiB of weights each. Measured at 1x2048x5632 q4_0 on 2 threads: 64 tasks read at 69 % of
// the bandwidth ceiling, 16 tasks at 83 %.
int64_t rows_per_task(int64_t N, int64_t M, int64_t row_bytes) {
  if (M != 1) return 64;
  const int64_t by_threads = (N + 8 * core::n_threads() - 1) / (8 * core::n_threads());
  const int64_t by_bytes = ((int64_t{64} << 10) + row_bytes - 1) / row_bytes;
  return (std::max({by_threads, by_bytes, int64_t{8}}) + 7) / 8 * 8;
}

// Decodes weight rows [n0, n0 + nr) to f32 and packs them as B panels (nr ≤ kPackNR·panels).
void pack_weight_rows(const cpu::IsaKernels& kt, const TensorView& w, int64_t n0, int64_t nr, float* bp) {
  const int64_t K = w.cols();
  const char* wd = static_cast<const char*>(w.data) + n0 * w.row_bytes;
  if (w.dtype == DType::kF32) {
    kt.pack_b(reinterpret_cast<const float*>(wd), w.row_bytes / 4, nr, K, bp);
    return;
  }
  thread_local core::AlignedBuffer<float> rows;
  rows.resize(static_cast<size_t>(cpu::kPackNR * K));
  for (int64_t r0 = 0; r0 < nr; r0 += cpu::kPackNR) {
    const int64_t n = std::min(cpu::kPackNR, nr - r0);
    for (int64_t r = 0; r < n; ++r) kt.dequantize(wd + (r0 + r) * w.row_bytes, w.dtype, K, rows.data() + r * K);
    kt.pack_b(rows.data(), K, n, K, bp + r0 * K);
  }
}

// y = x · Wᵀ when matmul_runs_gemm (f32 GEMM): x is packed once (its panels split over the pool), then the
// weight's 16-column panels are split over the pool; each task packs its panels unless the view
// carries them packed already.
void gemm(const float* x, int64_t M, int64_t ldx, const TensorView& w, float* y, int64_t ldy) {
  const auto& kt = cpu::active_kernels();
  const int64_t N = w.rows(), K = w.cols();
  const int64_t m_panels = (M + cpu::kPackMR - 1) / cpu::kPackMR;
  thread_local core::AlignedBuffer<float> ap;  // the calling thread's; the pool writes into it
  ap.resize(static_cast<size_t>(m_panels * cpu::kPackMR * K));
  float* const a_packed = ap.data();  // by pointer: inside the tasks `ap` would name the worker's own
  // Small activations (128×384) are packed by the calling thread: cheaper than waking the pool.
  constexpr int64_t kPanelsPerPackTask = 4, kParallelPackFloats = int64_t{1} << 16;
  if (M * K < kParallelPackFloats) {
    kt.pack_a(x, ldx, M, K, 0, m_panels, a_packed);
  } else {
    core::parallel_for((m_panels + kPanelsPerPackTask - 1) / kPanelsPerPackTask, [&](int64_t t, int) {
      const int64_t q0 = t * kPanelsPerPackTask;
      kt.pack_a(x, ldx, M, K, q0, std::min(m_panels, q0 + kPanelsPerPackTask), a_packed);
    });
  }
  const int64_t n_panels = (N + cpu::kPackNR - 1) / cpu::kPackNR;
  // About 3 tasks per thread (balance), at most 16 panels (B slice ≤ 16·16·K floats).
  const int64_t per_task = std::clamp<int64_t>(n_panels / (3 * core::n_threads()), 1, 16);
  core::parallel_for((n_panels + per_task - 1) / per_task, [&](int64_t t, int) {
    const int64_t p0 = t * per_task, p1 = std::min(n_panels, p0 + per_task);
    const int64_t n0 = p0 * cpu::kPackNR, nr = std::min(N, p1 * cpu::kPackNR) - n0;
    const float* bp = w.gemm_panels ? w.gemm_panels + n0 * K : nullptr;
    if (!bp) {
      thread_local core::AlignedBuffer<float> panels;
      panels.resize(static_cast<size_t>((p1 - p0) * cpu::kPackNR * K));
      pack_weight_rows(kt, w, n0, nr, panels.data());
      bp = panels.data();
    }
    kt.gemm_packed(a_packed, M, K, bp, nr, y + n0, ldy);
  });
}

// y = x · Wᵀ in int8 (kt.gemm_int8): x quantized once, then groups of 16-row weight panels split over
// the pool, each task repacking its panels (at most 8: about 440 KiB at K = 3072, held in L2).
void gemm_int8(const cpu::IsaKernels& kt, const float* x, int64_t M, int64_t ldx, const TensorView& w, float* y,
               int64_t ldy) {
  const int64_t N = w.rows(), K = w.cols();
  const cpu::ActRows xq = quantize_rows(kt, x, M, ldx, K, w.dtype);
  const int64_t n_panels = (N + cpu::kPackNR - 1) / cpu::kPackNR;
  const int64_t per_task = std::clamp<int64_t>(n_panels / (3 * core::n_threads()), 1, 8);
  const char* wd = static_cast<const char*>(w.data);
  core::parallel_for((n_panels + per_task - 1) / per_task, [&](int64_t t, int) {
    const int64_t n0 = t * per_task * cpu::kPackNR, nr = std::min(N, n0 + per_task * cpu::kPackNR) - n0;
    kt.gemm_int8(w.dtype, xq, M, wd + n0 * w.row_bytes, w.row_bytes, nr, y + n0, ldy);
  });
}

}  // namespace

bool gemm_runs_int8(DType t) { return int8_gemm_dtype(cpu::active_kernels(), t); }

int64_t gemm_min_rows(const TensorView& w) {
  if (w.gemm_panels || w.dtype == DType::kF32) return kGemmMinRows;
  const cpu::IsaKernels& kt = cpu::active_kernels();
  if (!int8_gemm_dtype(kt, w.dtype)) return kDecodedGemmMinRows;
  const int64_t rows = core::dtype_info(w.dtype).block_elems == 256 ? kt.gemm_int8_min_rows_k : kt.gemm_int8_min_rows;
  return rows > 0 ? rows : kGemmMinRows;
}

bool matmul_runs_gemm(const TensorView& w, int64_t M) { return M >= gemm_min_rows(w); }

core::AlignedBuffer<float> pack_gemm_panels(const TensorView& w) {
  check_weight(w);
  const int64_t N = w.rows(), K = w.cols(), n_panels = (N + cpu::kPackNR - 1) / cpu::kPackNR;
  core::AlignedBuffer<float> out(static_cast<size_t>(n_panels * cpu::kPackNR * K));
  const auto& kt = cpu::active_kernels();
  core::parallel_for(n_panels, [&](int64_t p, int) {
    const int64_t n0 = p * cpu::kPackNR;
    pack_weight_rows(kt, w, n0, std::min(cpu::kPackNR, N - n0), out.data() + n0 * K);
  });
  return out;
}

bool is_weight_dtype(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16 || is_int_dtype(t);
}

void matmul(const float* x, int64_t M, const TensorView& w, const float* bias, float* y, int64_t ldx,
            int64_t ldy) {
  check_weight(w);
  const int64_t N = w.rows(), K = w.cols();
  if (ldx == 0) ldx = K;
  if (ldy == 0) ldy = N;
  if (M <= 0 || N <= 0) return;
  const auto& kt = cpu::active_kernels();
  const char* wd = static_cast<const char*>(w.data);
  const int64_t rb = w.row_bytes;
  const int64_t m_tile = M == 1 ? 1 : 64;
  const int64_t n_tile = rows_per_task(N, M, rb);
  const int64_t n_mt = (M + m_tile - 1) / m_tile, n_nt = (N + n_tile - 1) / n_tile;
  const bool run_gemm = matmul_runs_gemm(w, M);
  if (run_gemm && !w.gemm_panels && int8_gemm_dtype(kt, w.dtype)) {
    gemm_int8(kt, x, M, ldx, w, y, ldy);
  } else if (run_gemm) {
    gemm(x, M, ldx, w, y, ldy);
  } else if (is_int_dtype(w.dtype)) {
    const int64_t nb = K / 32;
    const cpu::ActRows xq = quantize_rows(kt, x, M, ldx, K, w.dtype);
    core::parallel_for(n_mt * n_nt, [&](int64_t t, int) {
      const int64_t m0 = (t % n_mt) * m_tile, n0 = (t / n_mt) * n_tile;
      const cpu::ActRows a{xq.qs + m0 * K, xq.d + m0 * nb, xq.sum + m0 * nb, K};
      kt.dot_quant(w.dtype, a, std::min(m_tile, M - m0), wd + n0 * rb, rb, std::min(n_tile, N - n0),
                   y + m0 * ldy + n0, ldy);
    });
  } else {
    core::parallel_for(n_mt * n_nt, [&](int64_t t, int) {
      const int64_t m0 = (t % n_mt) * m_tile, n0 = (t / n_mt) * n_tile;
      kt.dot_float(w.dtype, x + m0 * ldx, ldx, std::min(m_tile, M - m0), wd + n0 * rb, rb,
                   std::min(n_tile, N - n0), K, y + m0 * ldy + n0, ldy);
    });
  }
  if (bias) {
    for (int64_t m = 0; m < M; ++m) kt.binary(cpu::kOpAdd, y + m * ldy, bias, y + m * ldy, N);
  }
}

void embed_rows(const TensorView& table, const int32_t* ids, int64_t n, float* out, int64_t ld_out) {
  check_weight(table);
  const int64_t V = table.rows(), D = table.cols();
  if (ld_out == 0) ld_out = D;
  for (int64_t i = 0; i < n; ++i) {
    NLM_CHECK_MSG(ids[i] >= 0 && ids[i] < V, "[kernels] embed_rows: token id out of range");
  }
  const auto& kt = cpu::active_kernels();
  core::parallel_for(n, [&](int64_t i, int) {
    kt.dequantize(table.row<const char>(ids[i]), table.dtype, D, out + i * ld_out);
  });
}

void dequantize_row(const void* src, DType t, int64_t n, float* dst) {
  cpu::active_kernels().dequantize(src, t, n, dst);
}

void quantize_row(const float* src, DType t, int64_t n, void* dst) { quant::quantize(src, t, n, dst); }

}  // namespace nlm::kernels
