// Kernel throughput next to the machine's own ceilings and OpenBLAS:
//   ceiling/fma_peak      GFLOP/s of independent FMAs (AVX2 ymm) on every pool thread
//   ceiling/fma_peak_avx512  the same with zmm FMAs (AVX-512 CPUs only): the ceiling of the avx512 f32 GEMM
//   ceiling/vnni_peak_avx512 GOP/s of independent zmm VPDPBUSD (64 multiply-adds each, counted as 2 ops):
//                            the ceiling of the avx512 int8 GEMM
//   ceiling/read_bw       GB/s of summing a 256 MiB array on every pool thread, two streams per task
//   ceiling/read_bw_1stream  the same as one stream per task (the ceiling before 2026-11-28)
//   gemm/<isa>/<dtype>/MxKxN     GFLOP/s of kernels::matmul at embedding shapes
//   gemm/openblas/f32/MxKxN      cblas_sgemm on the same shapes and thread count
//   gemm_cold/<isa>/<dtype>/MxKxN  a 16- or 32-row matmul on weights read from DRAM (a short prompt's
//                                prefill; the GEMM or the GEMV's batches, as kernels::matmul picks)
//   gemm_prepacked/<isa>/f32/MxKxN  gemm/'s f32 rows on weights packed once (as encoders hold them)
//   gemv/<isa>/<dtype>/1xKxN     GB/s of weight bytes read by a decode GEMV (weights rotated through
//                                enough copies to exceed the L3 cache, as a real decode step does)
//   gemv_batch/<isa>/<dtype>/8xKxN  an 8-row batch on the GEMV path (a short prompt), weights from DRAM
//   gemv_vs_bw/<isa>/<dtype>/1xKxN  the cold GEMV alternated call by call with read_bw's two-stream sum of
//                                another cold copy of the same bytes: frac = GEMV GB/s / sum GB/s measured in
//                                the same milliseconds (this VM's bandwidth moves by tens of % between runs)
//   pool/handoff/16        time per parallel_for of 16 empty tasks on the kernel pool: the fixed cost each of a
//                                decode step's ~150 regions pays (wake, deal, join), with no work to hide it
//   attention_decode/<isa>/h32kv4d64/N  one decode step's attention over N cached positions (TinyLlama's
//                                heads), GB/s of K and V read, caches rotated past the L3
// Threads: the kernel pool size (NLM_THREADS, default all cores); OpenBLAS gets the same count.
#include <benchmark/benchmark.h>
#include <cblas.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/kernels.h"
#include "read_streams.h"

extern "C" void openblas_set_num_threads(int);

namespace {

using nlm::bench::sum_streams;
using nlm::core::DType;
namespace k = nlm::kernels;

std::vector<float> randn(int64_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float fma_loop(int64_t iters) {
  __m256 a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm256_set1_ps(0.1f * i);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 10; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  }
  __m256 s = a[0];
  for (int i = 1; i < 10; ++i) s = _mm256_add_ps(s, a[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}
__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t iters) {
  __m512 a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm512_set1_ps(0.1f * i);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 10; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  }
  __m512 s = a[0];
  for (int i = 1; i < 10; ++i) s = _mm512_add_ps(s, a[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0] + out[15];
}
__attribute__((target("avx512f,avx512vnni"))) int vnni_loop_avx512(int64_t iters) {
  __m512i a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm512_set1_epi32(i);
  const __m512i u = _mm512_set1_epi8(3), v = _mm512_set1_epi8(-2);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 10; ++i) a[i] = _mm512_dpbusd_epi32(a[i], u, v);
  }
  __m512i s = a[0];
  for (int i = 1; i < 10; ++i) s = _mm512_add_epi32(s, a[i]);
  int out[16];
  _mm512_storeu_si512(out, s);
  return out[0] + out[15];
}
#endif

// Runs loop(iters) on every pool thread; ops_per_iter counts one iteration's operations on one thread.
template <typename Loop>
void run_peak(benchmark::State& st, Loop loop, double ops_per_iter, const char* counter) {
  const int64_t iters = 1 << 22;
  const int nt = nlm::core::n_threads();
  for (auto _ : st) {
    nlm::core::parallel_for(nt, [&](int64_t, int) { benchmark::DoNotOptimize(loop(iters)); });
  }
  st.counters[counter] = benchmark::Counter(static_cast<double>(iters) * ops_per_iter * nt * st.iterations() / 1e9,
                                            benchmark::Counter::kIsRate);
}

void BM_FmaPeak(benchmark::State& st) { run_peak(st, fma_loop, 10 * 8 * 2, "GFLOP/s"); }

#if defined(__x86_64__)
void BM_FmaPeakAvx512(benchmark::State& st) { run_peak(st, fma_loop_avx512, 10 * 16 * 2, "GFLOP/s"); }
void BM_VnniPeakAvx512(benchmark::State& st) { run_peak(st, vnni_loop_avx512, 10 * 64 * 2, "GOP/s"); }
#endif

// One region of 16 empty tasks per iteration; each task writes its own line (as a GEMV task writes its rows).
void BM_PoolHandoff(benchmark::State& st) {
  const int nt = nlm::core::n_threads();
  std::vector<int64_t> out(static_cast<size_t>(16 * 8), 0);
  for (auto _ : st) {
    nlm::core::parallel_for(16, [&](int64_t t, int) { out[static_cast<size_t>(t * 8)] += t; });
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["threads"] = nt;  // the time column is the time per region
}

template <int S>
void BM_ReadBw(benchmark::State& st) {
  const int64_t n = int64_t{256} << 20;  // 256 MiB
  nlm::core::AlignedBuffer<char> buf(n);
  std::memset(buf.data(), 1, n);
  const int nt = nlm::core::n_threads();
  std::vector<int64_t> partial(nt * 8);
  for (auto _ : st) {
    const int64_t chunk = n / 64;
    nlm::core::parallel_for(64, [&](int64_t c, int w) {
      partial[w * 8] += sum_streams<S>(buf.data() + c * chunk, chunk);
    });
    benchmark::DoNotOptimize(partial.data());
  }
  st.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(n) * st.iterations() / 1e9, benchmark::Counter::kIsRate);
}

struct Weights {
  std::vector<std::vector<char>> copies;
  DType t;
  int64_t N, K;
  k::TensorView view(size_t i) { return k::TensorView(copies[i].data(), t, {N, K}); }
};

Weights make_weights(DType t, int64_t N, int64_t K, int64_t min_total_bytes) {
  Weights w{{}, t, N, K};
  const int64_t rb = nlm::core::dtype_row_bytes(t, K);
  const std::vector<float> src = randn(N * K, 1);
  std::vector<char> one(N * rb);
  for (int64_t n = 0; n < N; ++n) k::quantize_row(src.data() + n * K, t, K, one.data() + n * rb);
  const int64_t copies = std::max<int64_t>(1, (min_total_bytes + N * rb - 1) / (N * rb));
  for (int64_t c = 0; c < copies; ++c) w.copies.push_back(one);
  return w;
}

// cold: weights rotated through copies that exceed the L3 (a short prompt's prefill reads them from DRAM,
// as decode does); also reports GB/s of weight bytes.
void gemm(benchmark::State& st, k::Isa isa, DType t, int64_t M, int64_t K, int64_t N, bool cold) {
  if (!k::set_isa(isa)) return st.SkipWithError("isa not supported");
  Weights w = make_weights(t, N, K, cold ? int64_t{96} << 20 : 0);
  const std::vector<float> x = randn(M * K, 2);
  std::vector<float> y(M * N);
  size_t i = 0;
  for (auto _ : st) {
    k::matmul(x.data(), M, w.view(i), nullptr, y.data());
    i = (i + 1) % w.copies.size();
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * M * N * K * st.iterations() / 1e9, benchmark::Counter::kIsRate);
  if (cold) {
    const double bytes = static_cast<double>(nlm::core::dtype_row_bytes(t, K)) * N;
    st.counters["GB/s"] = benchmark::Counter(bytes * st.iterations() / 1e9, benchmark::Counter::kIsRate);
  }
}

// f32 weights packed once, as encoders hold them (kernels::pack_gemm_panels at load): the GEMM alone,
// without the per-call weight packing that the gemm/ rows (and OpenBLAS) pay.
void gemm_prepacked(benchmark::State& st, k::Isa isa, int64_t M, int64_t K, int64_t N) {
  if (!k::set_isa(isa)) return st.SkipWithError("isa not supported");
  Weights w = make_weights(DType::kF32, N, K, 0);
  k::TensorView view = w.view(0);
  const auto panels = k::pack_gemm_panels(view);
  view.gemm_panels = panels.data();
  const std::vector<float> x = randn(M * K, 2);
  std::vector<float> y(M * N);
  for (auto _ : st) {
    k::matmul(x.data(), M, view, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * M * N * K * st.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void gemm_openblas(benchmark::State& st, int64_t M, int64_t K, int64_t N) {
  openblas_set_num_threads(nlm::core::n_threads());
  const std::vector<float> x = randn(M * K, 2), w = randn(N * K, 1);
  std::vector<float> y(M * N);
  for (auto _ : st) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(M), static_cast<int>(N),
                static_cast<int>(K), 1.f, x.data(), static_cast<int>(K), w.data(), static_cast<int>(K), 0.f,
                y.data(), static_cast<int>(N));
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * M * N * K * st.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void gemv(benchmark::State& st, k::Isa isa, DType t, int64_t K, int64_t N, bool cold) {
  if (!k::set_isa(isa)) return st.SkipWithError("isa not supported");
  Weights w = make_weights(t, N, K, cold ? int64_t{96} << 20 : 0);  // cold: > 2× a 32 MiB L3
  const std::vector<float> x = randn(K, 2);
  std::vector<float> y(N);
  size_t i = 0;
  for (auto _ : st) {
    k::matmul(x.data(), 1, w.view(i), nullptr, y.data());
    i = (i + 1) % w.copies.size();
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = static_cast<double>(nlm::core::dtype_row_bytes(t, K)) * N;
  st.counters["GB/s"] = benchmark::Counter(bytes * st.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// gemv()'s cold GEMV alternated call by call with read_bw's two-stream sum of another cold copy of the same
// bytes, split into the same number of tasks (8 per thread) on the same pool: both see the same minutes of
// this VM's bandwidth, so frac (GEMV GB/s over sum GB/s) does not move with it as two separate rows do.
void gemv_vs_bw(benchmark::State& st, k::Isa isa, DType t, int64_t K, int64_t N) {
  if (!k::set_isa(isa)) return st.SkipWithError("isa not supported");
  // At least 3 copies, the sum half of them ahead of the GEMV: between the sum's read of a copy and the
  // GEMV's, at least one other whole copy and 96 MiB in all pass through the cache.
  const int64_t one_copy = nlm::core::dtype_row_bytes(t, K) * N;
  Weights w = make_weights(t, N, K, std::max(int64_t{96} << 20, 3 * one_copy));
  const std::vector<float> x = randn(K, 2);
  std::vector<float> y(N);
  const int nt = nlm::core::n_threads();
  const int64_t bytes = one_copy, n_tasks = 8 * nt, chunk = bytes / n_tasks;
  std::vector<int64_t> partial(nt * 8);
  const size_t nc = w.copies.size(), half = nc / 2;
  double t_gemv = 0, t_sum = 0;
  size_t i = 0;
  using Clock = std::chrono::steady_clock;
  for (auto _ : st) {
    const auto t0 = Clock::now();
    const char* s = w.copies[(i + half) % nc].data();
    nlm::core::parallel_for(n_tasks, [&](int64_t c, int wk) {
      partial[wk * 8] += sum_streams<2>(s + c * chunk, c + 1 == n_tasks ? bytes - c * chunk : chunk);
    });
    benchmark::DoNotOptimize(partial.data());
    const auto t1 = Clock::now();
    k::matmul(x.data(), 1, w.view(i), nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
    const auto t2 = Clock::now();
    t_sum += std::chrono::duration<double>(t1 - t0).count();
    t_gemv += std::chrono::duration<double>(t2 - t1).count();
    i = (i + 1) % nc;
  }
  const double total = static_cast<double>(bytes) * st.iterations() / 1e9;
  st.counters["GB/s"] = total / t_gemv;
  st.counters["sum_GB/s"] = total / t_sum;
  st.counters["frac"] = t_sum / t_gemv;
}

// One decode step's attention for one layer of TinyLlama's shape (32 query heads sharing 4 kv heads, head
// dim 64) over `n_kv` cached positions, the cache f32 [kv head][position][64] as the decoder keeps it. The
// layers' caches are rotated through copies that exceed the L3 (a decode step reads every layer's cache
// once). GB/s: K and V bytes read per step.
void attention_decode(benchmark::State& st, k::Isa isa, int64_t n_kv) {
  if (!k::set_isa(isa)) return st.SkipWithError("isa not supported");
  constexpr int kHeads = 32, kKvHeads = 4, kDim = 64;
  const int64_t cache = n_kv * kKvHeads * kDim, copies = std::max<int64_t>(2, (int64_t{96} << 20) / (8 * cache));
  const std::vector<float> one = randn(cache, 3), q = randn(kHeads * kDim, 4);
  std::vector<std::vector<float>> kv(static_cast<size_t>(2 * copies), one);
  std::vector<float> out(kHeads * kDim);
  k::AttentionParams p;
  p.n_q = 1;
  p.n_kv = n_kv;
  p.n_heads = kHeads;
  p.n_kv_heads = kKvHeads;
  p.head_dim = kDim;
  p.causal = true;
  p.q_pos0 = n_kv - 1;
  p.ld_kv = kDim;
  p.kv_head_stride = n_kv * kDim;
  size_t i = 0;
  for (auto _ : st) {
    k::attention(q.data(), kv[2 * i].data(), kv[2 * i + 1].data(), out.data(), p);
    i = (i + 1) % static_cast<size_t>(copies);
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["GB/s"] = benchmark::Counter(8.0 * cache * st.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// OpenBLAS 0.3.21 picks its kernels from the CPU model it knows: on newer AVX-512 CPUs (Zen 5; Sapphire
// Rapids in a VM) it falls back to its Haswell (AVX2) or even Prescott kernels and runs at half speed or
// less. The peer gets its best: where this machine runs AVX-512 and OpenBLAS did not pick an AVX-512
// core, the bench restarts itself once with OPENBLAS_CORETYPE=SkylakeX (read when the library loads).
void give_openblas_its_avx512_kernels(char** argv) {
#if defined(__x86_64__) && defined(__linux__)
  const std::string core = openblas_get_corename();
  const bool avx512_core = core == "SkylakeX" || core == "Cooperlake" || core == "SapphireRapids";
  if (avx512_core || !k::isa_supported(k::Isa::kAvx512) || std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: run on with the detected core
  std::fprintf(stderr, "kernels_bench: could not restart with OPENBLAS_CORETYPE=SkylakeX\n");
#else
  (void)argv;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  give_openblas_its_avx512_kernels(argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RegisterBenchmark("ceiling/fma_peak", BM_FmaPeak)->UseRealTime();
#if defined(__x86_64__)
  if (k::isa_supported(k::Isa::kAvx512)) {
    benchmark::RegisterBenchmark("ceiling/fma_peak_avx512", BM_FmaPeakAvx512)->UseRealTime();
    benchmark::RegisterBenchmark("ceiling/vnni_peak_avx512", BM_VnniPeakAvx512)->UseRealTime();
  }
#endif
  benchmark::RegisterBenchmark("ceiling/read_bw", BM_ReadBw<2>)->UseRealTime();
  benchmark::RegisterBenchmark("ceiling/read_bw_1stream", BM_ReadBw<1>)->UseRealTime();
  benchmark::RegisterBenchmark("pool/handoff/16", BM_PoolHandoff)->UseRealTime();
  const struct { int64_t M, K, N; } gemm_shapes[] = {{2048, 384, 1536}, {2048, 768, 3072}};
  for (auto s : gemm_shapes) {
    const std::string shape = std::to_string(s.M) + "x" + std::to_string(s.K) + "x" + std::to_string(s.N);
    benchmark::RegisterBenchmark(("gemm/openblas/f32/" + shape).c_str(), gemm_openblas, s.M, s.K, s.N)->UseRealTime();
    for (k::Isa isa : k::supported_isas()) {
      for (DType t : {DType::kF32, DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ5_0, DType::kQ4_K, DType::kQ5_K,
                      DType::kQ6_K, DType::kA4_32}) {
        if (isa == k::Isa::kPortable && (s.K > 384 || t != DType::kF32)) continue;  // slow path: one is enough
        if (s.K % nlm::core::dtype_info(t).block_elems != 0) continue;  // q4_K needs K % 256 == 0
        const std::string name = "gemm/" + std::string(k::isa_name(isa)) + "/" +
                                 std::string(nlm::core::dtype_info(t).name) + "/" + shape;
        benchmark::RegisterBenchmark(name.c_str(), gemm, isa, t, s.M, s.K, s.N, false)->UseRealTime();
      }
      if (isa != k::Isa::kPortable) {
        benchmark::RegisterBenchmark(("gemm_prepacked/" + std::string(k::isa_name(isa)) + "/f32/" + shape).c_str(),
                                     gemm_prepacked, isa, s.M, s.K, s.N)
            ->UseRealTime();
      }
    }
  }
  for (k::Isa isa : k::supported_isas()) {
    for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
                    DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kA4_32}) {
      const std::string name = "gemv/" + std::string(k::isa_name(isa)) + "/" +
                               std::string(nlm::core::dtype_info(t).name) + "/1x2048x5632";
      benchmark::RegisterBenchmark(name.c_str(), gemv, isa, t, 2048, 5632, true)->UseRealTime();
      // The same kernel on cache-resident weights (its compute ceiling).
      benchmark::RegisterBenchmark(("gemv_hot/" + name.substr(5, name.rfind('/') - 5) + "/1x2048x512").c_str(), gemv,
                                   isa, t, 2048, 512, false)->UseRealTime();
    }
    // A vocabulary-sized output matrix (TinyLlama's 32000 rows): 5.7× the rows per call, so the per-call
    // costs (activation quantization, pool hand-off, the last task's wait) weigh 5.7× less than above.
    for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K}) {
      const std::string name = "gemv/" + std::string(k::isa_name(isa)) + "/" +
                               std::string(nlm::core::dtype_info(t).name) + "/1x2048x32000";
      benchmark::RegisterBenchmark(name.c_str(), gemv, isa, t, 2048, 32000, true)->UseRealTime();
    }
    // An 8-token prompt through the FFN matrix, weights from DRAM: below kernels::gemm_min_rows the GEMV
    // path runs batches, each weight row read once for all 8 (GFLOP/s: int8 work).
    for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K}) {
      const std::string name = "gemv_batch/" + std::string(k::isa_name(isa)) + "/" +
                               std::string(nlm::core::dtype_info(t).name) + "/8x2048x5632";
      benchmark::RegisterBenchmark(name.c_str(), gemm, isa, t, 8, 2048, 5632, true)->UseRealTime();
    }
  }
  for (k::Isa isa : k::supported_isas()) {
    if (isa == k::Isa::kPortable) continue;
    for (DType t : {DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K}) {
      const std::string name = "gemv_vs_bw/" + std::string(k::isa_name(isa)) + "/" +
                               std::string(nlm::core::dtype_info(t).name) + "/1x2048x5632";
      benchmark::RegisterBenchmark(name.c_str(), gemv_vs_bw, isa, t, 2048, 5632)->UseRealTime();
    }
  }
  // 16- and 32-token prompts through a TinyLlama-sized FFN matrix, weights from DRAM, on whichever path
  // kernels::matmul picks (gemm_min_rows: the int8 GEMM from 12 rows on AVX2; on AVX-512 the GEMV's batches
  // below 24 rows, 32 for the K-quants; f16's f32 GEMM from 40): where reading and repacking the weights
  // weighs as much as the products.
  for (k::Isa isa : k::supported_isas()) {
    if (isa == k::Isa::kPortable) continue;
    for (int64_t M : {16, 32}) {
      for (DType t : {DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K}) {
        const std::string name = "gemm_cold/" + std::string(k::isa_name(isa)) + "/" +
                                 std::string(nlm::core::dtype_info(t).name) + "/" + std::to_string(M) + "x2048x5632";
        benchmark::RegisterBenchmark(name.c_str(), gemm, isa, t, M, 2048, 5632, true)->UseRealTime();
      }
    }
  }
  // f32 alone: one ~128-token chunk through a MiniLM-L6-shaped layer (q/k/v/o, up, down), the shapes a
  // single embedding request runs, where packing and threading overheads weigh most; and the batch's
  // FFN-down product at mpnet's width (K = 3072: several k-blocks, so C is accumulated across them).
  const struct { int64_t M, K, N; } f32_shapes[] = {
      {128, 384, 384}, {128, 384, 1536}, {128, 1536, 384}, {2048, 3072, 768}};
  for (auto s : f32_shapes) {
    const std::string shape = std::to_string(s.M) + "x" + std::to_string(s.K) + "x" + std::to_string(s.N);
    benchmark::RegisterBenchmark(("gemm/openblas/f32/" + shape).c_str(), gemm_openblas, s.M, s.K, s.N)->UseRealTime();
    for (k::Isa isa : k::supported_isas()) {
      if (isa == k::Isa::kPortable) continue;
      benchmark::RegisterBenchmark(("gemm/" + std::string(k::isa_name(isa)) + "/f32/" + shape).c_str(), gemm, isa,
                                   DType::kF32, s.M, s.K, s.N, false)->UseRealTime();
    }
  }
  for (k::Isa isa : k::supported_isas()) {
    for (int64_t n_kv : {512, 2048}) {
      benchmark::RegisterBenchmark(
          ("attention_decode/" + std::string(k::isa_name(isa)) + "/h32kv4d64/" + std::to_string(n_kv)).c_str(),
          attention_decode, isa, n_kv)->UseRealTime();
    }
  }
  std::printf("kernels: isa %s, %d threads; openblas core %s\n", std::string(k::isa_description()).c_str(),
              nlm::core::n_threads(), openblas_get_corename());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
