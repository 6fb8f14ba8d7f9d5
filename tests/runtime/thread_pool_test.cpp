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

// Windows of 64 sections: an idle pool never goes solo; a pool whose
// caller waits a quarter of the time for workers measures a solo window and
// keeps it when it is cheaper per unit of work, and not when it is dearer.
TEST(SoloChooser, GoesSoloOnlyWhenWaitingAndSoloIsFaster) {
  const auto window = [](engine::SoloChooser& c, double ns_per_work, double wait_share) {
    for (int i = 0; i < 64; ++i) c.record(1000, 1000 * ns_per_work, 1000 * ns_per_work * wait_share);
  };
  engine::SoloChooser idle;
  for (int w = 0; w < 100; ++w) {
    window(idle, 1.0, 0.02);
    ASSERT_FALSE(idle.solo()) << "window " << w;
  }
  engine::SoloChooser loaded;
  window(loaded, 2.0, 0.25);
  ASSERT_TRUE(loaded.solo());  // probing
  window(loaded, 1.5, 0.0);    // solo is cheaper: kept
  EXPECT_TRUE(loaded.solo());
  engine::SoloChooser helped;
  window(helped, 1.0, 0.25);
  ASSERT_TRUE(helped.solo());  // probing
  window(helped, 1.8, 0.0);    // solo is dearer: back to the pool
  EXPECT_FALSE(helped.solo());
}

}  // namespace
}  // namespace mlxpack::test
