#include "core/thread_pool.h"

#include <cstdlib>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace nlm::core {
namespace {

thread_local int tl_worker = -1;  // >= 0 while this thread runs a task of some pool

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

int hardware_threads() {
  if (const char* env = std::getenv("NLM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) { start(n_threads < 1 ? 1 : n_threads); }

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::start(int n_threads) {
  quit_ = false;
  n_threads_.store(n_threads, std::memory_order_relaxed);
  for (int w = 1; w < n_threads; ++w) threads_.emplace_back([this, w] { worker_loop(w); });
}

void ThreadPool::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    quit_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void ThreadPool::resize(int n_threads) {
  std::lock_guard<std::mutex> call(call_mu_);
  stop();
  start(n_threads < 1 ? 1 : n_threads);
}

void ThreadPool::work(int worker) {
  const int saved = tl_worker;
  tl_worker = worker;
  for (;;) {
    const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
    if (t >= n_tasks_) break;
    fn_(ctx_, t, worker);
  }
  tl_worker = saved;
}

void ThreadPool::worker_loop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    // Spin briefly (decode issues many short regions), then sleep.
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < 4000; ++spin) {
      cpu_relax();
      g = generation_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lk(mu_);
      wake_cv_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (quit_) return;
    }
    work(worker);
    if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lk(mu_);
      done_cv_.notify_all();
    }
  }
}

void ThreadPool::run(int64_t n_tasks, TaskFn fn, void* ctx) {
  if (n_tasks <= 0) return;
  if (tl_worker >= 0 || n_tasks == 1) {  // nested or trivial: inline
    const int w = tl_worker >= 0 ? tl_worker : 0;
    for (int64_t t = 0; t < n_tasks; ++t) fn(ctx, t, w);
    return;
  }
  std::lock_guard<std::mutex> call(call_mu_);
  const int n = n_threads_.load(std::memory_order_relaxed);
  if (n == 1) {
    tl_worker = 0;
    for (int64_t t = 0; t < n_tasks; ++t) fn(ctx, t, 0);
    tl_worker = -1;
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    fn_ = fn;
    ctx_ = ctx;
    n_tasks_ = n_tasks;
    next_.store(0, std::memory_order_relaxed);
    active_.store(n - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_cv_.notify_all();
  work(0);
  // Wait for the helpers: spin briefly, then sleep.
  for (int spin = 0; active_.load(std::memory_order_acquire) != 0 && spin < 20000; ++spin) cpu_relax();
  if (active_.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return active_.load(std::memory_order_acquire) == 0; });
  }
}

ThreadPool& default_pool() {
  static ThreadPool pool(hardware_threads());
  return pool;
}

void set_threads(int n) { default_pool().resize(n <= 0 ? hardware_threads() : n); }

}  // namespace nlm::core
