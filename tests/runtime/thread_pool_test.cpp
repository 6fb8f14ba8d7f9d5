// The forward pass's thread pool: every index once, small work on the
// caller, a descheduled worker never waited for, the solo/pool choice, and
// the default thread count from the process's CPU affinity.
#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

#include "format/cpu_features.h"
#include "runtime/engine/thread_pool.h"

namespace mlxpack::test {
namespace {

// Every index of the range runs exactly once, in chunks on grain bounds,
// for pools of several sizes and ranges around the chunk arithmetic's edges,
// with one pool reused for many sections (as decode does).
TEST(ThreadPool, CoversEveryIndexOnceInGrainAlignedChunks) {
  for (int threads : {1, 2, 3, 5}) {
    engine::ThreadPool pool(threads);
    for (int n : {1, 2, 7, 16, 17, 100, 1000, 32000}) {
      for (int grain : {1, 4, 16}) {
        std::vector<int> hits(n, 0);
        std::mutex mu;
        std::vector<std::pair<int, int>> chunks;
        std::set<std::thread::id> ids;
        pool.parallel_for(n, grain, engine::ThreadPool::min_parallel_work(), [&](int begin, int end) {
          for (int i = begin; i < end; ++i) ++hits[i];  // disjoint ranges: no race
          std::lock_guard<std::mutex> lock(mu);
          chunks.emplace_back(begin, end);
          ids.insert(std::this_thread::get_id());
        });
        for (int i = 0; i < n; ++i) ASSERT_EQ(hits[i], 1) << "threads " << threads << " n " << n << " i " << i;
        for (const auto& [begin, end] : chunks) {
          EXPECT_EQ(begin % grain, 0) << "n " << n << " grain " << grain;
          EXPECT_TRUE(end % grain == 0 || end == n) << "n " << n << " grain " << grain;
          EXPECT_LT(begin, end);
        }
        EXPECT_LE(ids.size(), size_t(threads));
      }
    }
  }
}

// Work below the fan-out's break-even is one call on the calling thread
// (stories260K's 64 x 64 projections); above it, the workers take part.
TEST(ThreadPool, SmallWorkStaysOnTheCallingThread) {
  engine::ThreadPool pool(2);
  const int64_t limit = engine::ThreadPool::min_parallel_work();
  std::vector<std::pair<int, int>> calls;
  std::set<std::thread::id> ids;
  std::mutex mu;
  const auto record = [&](int begin, int end) {
    std::lock_guard<std::mutex> lock(mu);
    calls.emplace_back(begin, end);
    ids.insert(std::this_thread::get_id());
  };
  pool.parallel_for(64, 1, limit / 64 - 1, record);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], std::make_pair(0, 64));
  EXPECT_EQ(*ids.begin(), std::this_thread::get_id());
  // Large work: many chunks (the worker may or may not catch one).
  calls.clear();
  pool.parallel_for(4096, 1, limit, record);
  EXPECT_GT(calls.size(), 1u);
}

#if defined(__linux__)
// A worker held in a signal handler stands for one the kernel descheduled:
// sections started while it is away must finish without it.
std::atomic<bool> g_in_handler{false};
std::atomic<bool> g_release{false};
void hold_thread(int) {
  g_in_handler.store(true);
  while (!g_release.load()) {
  }
}

TEST(ThreadPool, NeverWaitsForAWorkerThatIsNotRunning) {
  engine::ThreadPool pool(2);
  const int64_t cost = engine::ThreadPool::min_parallel_work();
  // Find the worker: run sections until a chunk lands on it.
  std::atomic<pthread_t> worker{};
  std::atomic<bool> found{false};
  const std::thread::id caller = std::this_thread::get_id();
  for (int i = 0; i < 100000 && !found.load(); ++i) {
    pool.parallel_for(64, 1, cost, [&](int, int) {
      if (std::this_thread::get_id() != caller && !found.exchange(true)) worker.store(pthread_self());
      std::this_thread::sleep_for(std::chrono::microseconds(20));  // long enough for the worker to join
    });
  }
  ASSERT_TRUE(found.load()) << "the worker never took a chunk";
  struct sigaction action {};
  action.sa_handler = hold_thread;
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGUSR1, &action, &old), 0);
  ASSERT_EQ(pthread_kill(worker.load(), SIGUSR1), 0);
  while (!g_in_handler.load()) std::this_thread::yield();
  auto sections = std::async(std::launch::async, [&] {
    std::vector<int> hits(4096, 0);
    for (int s = 0; s < 200; ++s) {
      pool.parallel_for(4096, 16, cost, [&](int begin, int end) {
        for (int i = begin; i < end; ++i) ++hits[i];
      });
    }
    return hits;
  });
  const bool finished = sections.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  g_release.store(true);
  EXPECT_TRUE(finished) << "parallel_for waited for a worker that was not running";
  for (int h : sections.get()) ASSERT_EQ(h, 200);
  sigaction(SIGUSR1, &old, nullptr);
}

// The default thread count follows the process's affinity (`taskset`).
TEST(AvailableCpus, FollowsTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  EXPECT_EQ(available_cpus(), CPU_COUNT(&saved));
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  EXPECT_EQ(available_cpus(), 1);
  ASSERT_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
}
#endif

// Windows of 64 sections, each costing what the mode the chooser picked
// costs (ns per unit of work) and waiting that share of it for workers.
struct Load {
  double pool_cost, pool_wait_share, solo_cost;
};
// Runs `windows` windows; returns how many ran solo.
int run_windows(engine::SoloChooser& c, const Load& load, int windows) {
  int solo = 0;
  for (int w = 0; w < windows; ++w) {
    const bool s = c.solo();
    solo += s;
    const double cost = s ? load.solo_cost : load.pool_cost;
    const double wait = s ? 0.0 : load.pool_wait_share;
    for (int i = 0; i < 64; ++i) c.record(1000, 1000 * cost, 1000 * cost * wait);
  }
  return solo;
}

// Idle, the pool is cheaper: the chooser only looks at solo now and then
// (at most 1 window in 20 over a long run, as probes back off).
TEST(SoloChooser, IdleStaysOnThePoolAndProbesRarely) {
  engine::SoloChooser c;
  const Load idle{1.0, 0.02, 1.7};
  EXPECT_LE(run_windows(c, idle, 400), 20);
  EXPECT_LE(run_windows(c, idle, 640), 10);  // steady state: one probe per 64 windows
  EXPECT_FALSE(c.solo());
}

// Workers descheduled while holding chunks (a quarter of the time spent
// waiting): solo is chosen when cheaper and kept; when solo is dearer in
// spite of the waits, the pool is kept.
TEST(SoloChooser, WaitingPoolGoesSoloOnlyWhenSoloIsCheaper) {
  engine::SoloChooser loaded;
  EXPECT_GE(run_windows(loaded, {2.0, 0.25, 1.5}, 200), 180);
  engine::SoloChooser helped;
  EXPECT_LE(run_windows(helped, {1.0, 0.25, 1.8}, 200), 20);
}

// A pool that never waits can still lose (its worker rarely runs while a
// section is open, and its spinning takes the caller's CPU time): periodic
// probes find solo cheaper and keep it.
TEST(SoloChooser, PoolThatLosesWithoutWaitingGoesSolo) {
  engine::SoloChooser c;
  EXPECT_GE(run_windows(c, {1.7, 0.0, 1.0}, 200), 180);
}

// The load changes: the choice follows within a few dozen windows each way.
TEST(SoloChooser, FollowsALoadThatComesAndGoes) {
  engine::SoloChooser c;
  const Load idle{1.0, 0.02, 1.7}, busy{2.0, 0.25, 1.2};
  run_windows(c, idle, 300);
  ASSERT_FALSE(c.solo());
  run_windows(c, busy, 4);  // waits cut the hold short
  EXPECT_GE(run_windows(c, busy, 100), 90);
  run_windows(c, idle, 70);  // a probe every 64 windows at most
  EXPECT_LE(run_windows(c, idle, 100), 10);
}

}  // namespace
}  // namespace mlxpack::test
