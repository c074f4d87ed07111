#pragma once
// One process-wide thread pool (STYLE.md §2): parallel_for(n_tasks, fn(task, worker)).
//
//   core::parallel_for(n_rows, [&](int64_t r, int worker) { ... scratch[worker] ... });
//
// - The calling thread takes part as worker 0; workers are numbered [0, n_threads()).
// - Safe to call from several request threads at once: callers are serialized (one parallel region at a
//   time; the others wait their turn).
// - A parallel_for issued from inside a task runs inline on that thread (same worker index), so kernels
//   may be called from within a parallel region without deadlock.
// - Tasks are dealt in contiguous blocks: worker w starts at task w·n/W and goes up; a worker whose block
//   is done takes the last remaining task of another's block. So each worker reads consecutive tasks'
//   data in order (a streaming kernel's memory streams carry on from one task to the next), and a
//   worker that starts late or is descheduled still gets its tasks done by the others.
// - No allocation per call; fn is called by reference.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace nlm::core {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads >= 1 (the caller included)
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_.load(std::memory_order_relaxed); }
  // Stops the workers and starts n of them (waits for a running parallel_for to finish).
  void resize(int n_threads);

  template <typename Fn>
  void parallel_for(int64_t n_tasks, Fn&& fn) {
    auto call = [](void* ctx, int64_t task, int worker) { (*static_cast<Fn*>(ctx))(task, worker); };
    run(n_tasks, call, const_cast<void*>(static_cast<const void*>(&fn)));
  }

  using TaskFn = void (*)(void* ctx, int64_t task, int worker);
  void run(int64_t n_tasks, TaskFn fn, void* ctx);

 private:
  void start(int n_threads);
  void stop();
  void worker_loop(int worker, uint64_t last);

  // One parallel region at a time (call_mu_), in fields the caller fills before it opens the region.
  struct Job {
    TaskFn fn = nullptr;
    void* ctx = nullptr;
    int64_t n_tasks = 0;
    int n_blocks = 0;  // = the pool's worker count when the job started
  };
  // Worker w's block of tasks [begin, end), packed as begin | end << 32; blocks_[w] belongs to the
  // current job.
  struct alignas(64) Block {
    std::atomic<uint64_t> range{0};
  };
  void deal();
  bool claim(int block, bool front, int64_t* task);
  void run_tasks(int worker);
  bool try_join(uint64_t* last);
  void leave();

  // The hand-off is one word, state_ = generation << 32 | open << 31 | workers inside the job. The
  // caller fills job_ and blocks_, then stores a new generation, open, with no worker inside. A worker
  // joins by compare-exchange while the job is open and new to it; the caller closes the job once no
  // task is left to claim and returns when no worker is inside, so job_ and blocks_ are never rewritten
  // under a worker, and a worker that wakes late finds the job closed. Workers spin on the word, then
  // sleep on wake_cv_; the caller spins on it, then sleeps on done_cv_. The sleepers are counted (and
  // those counts and state_ are sequentially consistent) so that nobody pays for a lock or a system
  // call while both sides are spinning.
  static constexpr uint64_t kOpen = uint64_t{1} << 31, kInside = kOpen - 1;
  std::mutex call_mu_;  // serializes parallel regions and resize
  alignas(64) std::atomic<uint64_t> state_{0};
  Job job_;
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_waits_{false};
  std::atomic<bool> quit_{false};
  std::mutex mu_;  // guards the condition variables' waits only
  std::condition_variable wake_cv_, done_cv_;
  std::vector<std::thread> threads_;
  std::vector<Block> blocks_;  // one per worker
  std::atomic<int> n_threads_{1};
};

// The process-wide pool, sized by std::thread::hardware_concurrency() (or NLM_THREADS) on first use.
ThreadPool& default_pool();
// Resizes the default pool (n <= 0: hardware concurrency).
void set_threads(int n);
inline int n_threads() { return default_pool().n_threads(); }

template <typename Fn>
void parallel_for(int64_t n_tasks, Fn&& fn) {
  default_pool().parallel_for(n_tasks, std::forward<Fn>(fn));
}

}  // namespace nlm::core
