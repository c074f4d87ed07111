// ThreadPool: every task runs exactly once with a valid worker index, nested regions run inline,
// concurrent callers are serialized safely, resize works, and the arena hands out aligned memory.
#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/arena.h"

namespace nlm::core {
namespace {

TEST(ThreadPool, EveryTaskOnceValidWorker) {
  ThreadPool pool(3);
  for (int64_t n : {0, 1, 2, 3, 17, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    std::atomic<bool> bad_worker{false};
    pool.parallel_for(n, [&](int64_t t, int w) {
      hits[t].fetch_add(1);
      if (w < 0 || w >= 3) bad_worker = true;
    });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    EXPECT_FALSE(bad_worker);
  }
}

TEST(ThreadPool, NestedRegionsRunInline) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  pool.parallel_for(8, [&](int64_t, int w) {
    pool.parallel_for(10, [&](int64_t t, int inner_w) {
      EXPECT_EQ(inner_w, w);
      total += t;
    });
  });
  EXPECT_EQ(total.load(), 8 * 45);
}

TEST(ThreadPool, ConcurrentCallersAndResize) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep) pool.parallel_for(16, [&](int64_t t, int) { total += t; });
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 4 * 50 * 120);
  pool.resize(1);
  EXPECT_EQ(pool.n_threads(), 1);
  total = 0;
  pool.parallel_for(5, [&](int64_t t, int w) {
    EXPECT_EQ(w, 0);
    total += t;
  });
  EXPECT_EQ(total.load(), 10);
  pool.resize(4);
  std::vector<std::atomic<int>> hits(100);
  pool.parallel_for(100, [&](int64_t t, int) { hits[t]++; });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
}

// Worker w starts at task w·n/W and goes up through its block; a worker done with its block takes the
// others' tasks from their ends. Worker 1 is held in its first task, so worker 0 must take all of worker
// 1's other tasks, last first.
TEST(ThreadPool, ContiguousBlocksThenStealsFromTheEnd) {
  ThreadPool pool(2);
  constexpr int64_t kTasks = 64;
  std::vector<int64_t> order[2];
  std::vector<std::atomic<int>> hits(kTasks);
  pool.parallel_for(kTasks, [&](int64_t t, int w) {
    if (t == kTasks / 2) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    order[w].push_back(t);
    hits[t]++;
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  const std::vector<int64_t>& mine = order[0];
  ASSERT_GE(mine.size(), static_cast<size_t>(kTasks / 2 + 1));
  for (int64_t i = 0; i < kTasks / 2; ++i) ASSERT_EQ(mine[i], i) << "worker 0's own block, in order";
  for (size_t i = kTasks / 2; i < mine.size(); ++i) {
    EXPECT_EQ(mine[i], kTasks - 1 - static_cast<int64_t>(i - kTasks / 2)) << "steals from the end";
  }
  if (!order[1].empty()) {  // worker 1 woke: its block from its start, in order
    for (size_t i = 0; i < order[1].size(); ++i) EXPECT_EQ(order[1][i], kTasks / 2 + static_cast<int64_t>(i));
  }
}

// Regions back to back, and after pauses long enough for the workers to fall asleep: every task's
// result is written before the call returns (the caller waits for every worker inside its region), and
// a sleeping worker is woken for the next region (two tasks that each wait for the other to start can
// only finish on two threads).
TEST(ThreadPool, BackToBackRegionsAndSleepingWorkersWake) {
  ThreadPool pool(2);
  std::vector<int64_t> out;
  for (int region = 0; region < 3000; ++region) {
    const int64_t n = 1 + region % 37;
    out.assign(static_cast<size_t>(n), -1);
    pool.parallel_for(n, [&](int64_t t, int) {
      volatile int64_t spin = 0;
      for (int k = 0; k < 200 * (t % 5); ++k) spin = spin + k;
      out[static_cast<size_t>(t)] = t * 3 + region;
    });
    for (int64_t t = 0; t < n; ++t) ASSERT_EQ(out[static_cast<size_t>(t)], t * 3 + region) << region;
  }
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the workers' spin: they sleep
    std::atomic<int> started{0};
    std::atomic<bool> met[2] = {false, false};
    pool.parallel_for(2, [&](int64_t t, int) {
      started++;
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (started.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
      met[t] = started.load() == 2;
    });
    EXPECT_TRUE(met[0] && met[1]) << "round " << round << ": the sleeping worker was not woken";
  }
}

TEST(ThreadPool, DefaultPoolExists) {
  EXPECT_GE(n_threads(), 1);
  std::atomic<int> n{0};
  parallel_for(10, [&](int64_t, int) { n++; });
  EXPECT_EQ(n.load(), 10);
}

TEST(Arena, AlignedAllocationsAndReset) {
  Arena arena(256);
  std::vector<char*> ptrs;
  for (int i = 0; i < 20; ++i) {
    char* p = arena.alloc<char>(100 + i);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % kAlignment, 0u);
    for (int j = 0; j < 100 + i; ++j) p[j] = static_cast<char>(i);
    ptrs.push_back(p);
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ptrs[i][99], static_cast<char>(i));  // no overlap
  const size_t reserved = arena.bytes_reserved();
  arena.reset();
  EXPECT_EQ(arena.bytes_used(), 0u);
  EXPECT_GE(arena.bytes_reserved(), reserved);
  float* f = arena.alloc<float>(reserved / sizeof(float) / 2);  // fits the merged chunk
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f) % kAlignment, 0u);
  EXPECT_EQ(arena.bytes_reserved(), reserved);  // one merged chunk, no new allocation
  AlignedBuffer<float> buf(33);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buf.data()) % kAlignment, 0u);
}

}  // namespace
}  // namespace nlm::core
