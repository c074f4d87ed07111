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

// Spins before a worker sleeps (decode issues many short regions back to back) and before the caller
// sleeps waiting for the workers inside its region.
constexpr int kWorkerSpins = 4000, kCallerSpins = 20000;

ThreadPool::ThreadPool(int n_threads) { start(n_threads < 1 ? 1 : n_threads); }

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::start(int n_threads) {
  quit_.store(false, std::memory_order_seq_cst);
  n_threads_.store(n_threads, std::memory_order_relaxed);
  blocks_ = std::vector<Block>(static_cast<size_t>(n_threads));
  const uint64_t generation = state_.load(std::memory_order_relaxed) >> 32;  // not a job for the new workers
  for (int w = 1; w < n_threads; ++w) {
    threads_.emplace_back([this, w, generation] { worker_loop(w, generation); });
  }
}

void ThreadPool::stop() {
  quit_.store(true, std::memory_order_seq_cst);
  { std::lock_guard<std::mutex> lk(mu_); }  // a worker between its check of quit_ and its wait holds mu_
  wake_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void ThreadPool::resize(int n_threads) {
  std::lock_guard<std::mutex> call(call_mu_);
  stop();
  start(n_threads < 1 ? 1 : n_threads);
}

void ThreadPool::deal() {
  const int64_t n = job_.n_tasks, w = job_.n_blocks;
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

void ThreadPool::run_tasks(int worker) {
  const int saved = tl_worker;
  tl_worker = worker;
  int victim = worker;  // own block first, then the others' from their ends
  for (;;) {
    int64_t t = -1;
    while (!claim(victim, victim == worker, &t)) {
      victim = (victim + 1) % job_.n_blocks;
      if (victim == worker) break;
    }
    if (t < 0) break;
    job_.fn(job_.ctx, t, worker);
  }
  tl_worker = saved;
}

// Enters the open job if its generation is not *last (the one this worker joined before).
bool ThreadPool::try_join(uint64_t* last) {
  uint64_t s = state_.load(std::memory_order_acquire);
  if ((s & kOpen) == 0 || s >> 32 == *last) return false;
  if (!state_.compare_exchange_strong(s, s + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) {
    return false;  // closed, or another worker joined first: the caller's loop tries again
  }
  *last = s >> 32;
  return true;
}

void ThreadPool::leave() {
  state_.fetch_sub(1, std::memory_order_seq_cst);
  if (caller_waits_.load(std::memory_order_seq_cst)) {
    std::lock_guard<std::mutex> lk(mu_);
    done_cv_.notify_all();
  }
}

void ThreadPool::worker_loop(int worker, uint64_t last) {
  const auto joinable = [&] {
    const uint64_t s = state_.load(std::memory_order_seq_cst);
    return (s & kOpen) != 0 && s >> 32 != last;
  };
  for (;;) {
    bool joined = false;
    for (int spin = 0; spin < kWorkerSpins && !joined; ++spin) {
      if (quit_.load(std::memory_order_relaxed)) return;
      joined = try_join(&last);
      if (!joined) cpu_relax();
    }
    if (joined) {
      run_tasks(worker);
      leave();
      continue;
    }
    std::unique_lock<std::mutex> lk(mu_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    wake_cv_.wait(lk, [&] { return quit_.load(std::memory_order_seq_cst) || joinable(); });
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    if (quit_.load(std::memory_order_relaxed)) return;
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
  job_ = Job{fn, ctx, n_tasks, n_threads_.load(std::memory_order_relaxed)};
  deal();
  if (job_.n_blocks == 1) {
    run_tasks(0);
    return;
  }
  const uint64_t generation = (state_.load(std::memory_order_relaxed) >> 32) + 1;
  state_.store(generation << 32 | kOpen, std::memory_order_seq_cst);  // no worker inside (see below)
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> lk(mu_); }  // a sleeper between its count and its wait holds mu_
    wake_cv_.notify_all();
  }
  run_tasks(0);
  // Every task is claimed: close the job, then wait for the workers inside (spin, then sleep).
  state_.fetch_and(~kOpen, std::memory_order_seq_cst);
  const auto inside = [&] { return (state_.load(std::memory_order_seq_cst) & kInside) != 0; };
  for (int spin = 0; spin < kCallerSpins && inside(); ++spin) cpu_relax();
  if (!inside()) return;
  std::unique_lock<std::mutex> lk(mu_);
  caller_waits_.store(true, std::memory_order_seq_cst);
  done_cv_.wait(lk, [&] { return !inside(); });
  caller_waits_.store(false, std::memory_order_relaxed);
}

ThreadPool& default_pool() {
  static ThreadPool pool(hardware_threads());
  return pool;
}

void set_threads(int n) { default_pool().resize(n <= 0 ? hardware_threads() : n); }

}  // namespace nlm::core
