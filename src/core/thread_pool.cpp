#include "core/thread_pool.h"

#include <cstdlib>

#include "core/status.h"

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
  blocks_ = std::vector<Block>(static_cast<size_t>(n_threads));
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

void ThreadPool::deal(Job& job) {
  const int64_t n = job.n_tasks, w = job.n_blocks;
  NLM_CHECK_MSG(n < (int64_t{1} << 32), "[core] parallel_for: over 2^32 tasks");  // a block packs in 64 bits
  for (int64_t b = 0; b < w; ++b) {
    const uint64_t begin = static_cast<uint64_t>(b * n / w), end = static_cast<uint64_t>((b + 1) * n / w);
    blocks_[static_cast<size_t>(b)].range.store(begin | end << 32, std::memory_order_relaxed);
  }
}

// Takes the first task of a block (front) or its last (a steal); false when the block is empty.
bool ThreadPool::claim(int block, bool front, int64_t* task) {
  std::atomic<uint64_t>& range = blocks_[static_cast<size_t>(block)].range;
  uint64_t r = range.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t begin = r & 0xFFFFFFFFu, end = r >> 32;
    if (begin >= end) return false;
    const uint64_t next = front ? (begin + 1) | end << 32 : begin | (end - 1) << 32;
    if (range.compare_exchange_weak(r, next, std::memory_order_relaxed)) {
      *task = static_cast<int64_t>(front ? begin : end - 1);
      return true;
    }
  }
}

void ThreadPool::run_tasks(Job& job, int worker) {
  const int saved = tl_worker;
  tl_worker = worker;
  int victim = worker;  // own block first, then the others' from their ends
  for (;;) {
    int64_t t = -1;
    while (!claim(victim, victim == worker, &t)) {
      victim = (victim + 1) % job.n_blocks;
      if (victim == worker) break;
    }
    if (t < 0) break;
    job.fn(job.ctx, t, worker);
    if (job.done.fetch_add(1, std::memory_order_acq_rel) + 1 == job.n_tasks) {
      std::lock_guard<std::mutex> lk(mu_);  // the caller may be asleep waiting for the last task
      done_cv_.notify_all();
    }
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
    Job* job = nullptr;
    {
      std::unique_lock<std::mutex> lk(mu_);
      wake_cv_.wait(lk, [&] { return quit_ || generation_.load(std::memory_order_acquire) != seen; });
      if (quit_) return;
      seen = generation_.load(std::memory_order_acquire);
      job = job_;
      if (job == nullptr) continue;  // woke after the region ended
      ++job->entered;
    }
    run_tasks(*job, worker);
    std::lock_guard<std::mutex> lk(mu_);
    if (--job->entered == 0) done_cv_.notify_all();
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
  Job job;
  job.fn = fn;
  job.ctx = ctx;
  job.n_tasks = n_tasks;
  job.n_blocks = n_threads_.load(std::memory_order_relaxed);
  deal(job);
  if (job.n_blocks == 1) {
    run_tasks(job, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = &job;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_cv_.notify_all();
  run_tasks(job, 0);
  // Wait for tasks other workers claimed (not for workers that never woke): spin, then sleep.
  for (int spin = 0; job.done.load(std::memory_order_acquire) != n_tasks && spin < 20000; ++spin) cpu_relax();
  std::unique_lock<std::mutex> lk(mu_);
  done_cv_.wait(lk, [&] { return job.done.load(std::memory_order_acquire) == n_tasks; });
  job_ = nullptr;  // late wakers find no job
  done_cv_.wait(lk, [&] { return job.entered == 0; });
}

ThreadPool& default_pool() {
  static ThreadPool pool(hardware_threads());
  return pool;
}

void set_threads(int n) { default_pool().resize(n <= 0 ? hardware_threads() : n); }

}  // namespace nlm::core
