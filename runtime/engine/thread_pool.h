// A small fixed pool for the forward pass: the calling thread and N-1
// workers take contiguous chunks of a range from a shared counter, chunks
// that shrink as the range runs out.
//
// Built to hold up when the CPU is shared (other processes, `taskset`, a
// container's quota), where any thread may be descheduled at any moment:
//  - A worker joins a section only while it is open. The caller works
//    through the range itself, closes the section once every chunk is
//    claimed, and waits only for workers that joined (and hold a chunk),
//    never for one that was not running when the section started.
//  - Workers spin for a bounded time between sections (decode issues
//    sections back to back), then sleep; the caller wakes sleepers only
//    when there are some, so an idle-machine section costs no system call.
//  - A caller waiting for a worker's chunk yields the CPU after a short
//    spin, so a worker queued on the same CPU gets to finish it.
//  - Work too small to gain from another thread (measured, see kMinWork
//    in thread_pool.cpp) runs on the calling thread without waking anyone.
//  - The pool times windows of sections on the calling thread alone now
//    and then, and keeps whichever mode was cheaper for a while: soon when
//    the caller spent much of a window waiting for descheduled workers,
//    rarely while the choice keeps being confirmed (SoloChooser below).
#ifndef MLXPACK_RUNTIME_ENGINE_THREAD_POOL_H_
#define MLXPACK_RUNTIME_ENGINE_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mlxpack::engine {

// Decides, window by window, whether parallel sections run on the pool or
// on the calling thread alone, from their measured cost per unit of work.
// Only the calling thread uses it.
class SoloChooser {
 public:
  // Whether the next section should run on the calling thread alone.
  bool solo() const { return solo_; }
  // One section's work (n * item_cost), wall time, and the time the caller
  // waited for joined workers after the last chunk was claimed.
  void record(double work, double ns, double wait_ns);

 private:
  void end_window();

  bool solo_ = false;
  bool probing_ = false;     // this window measures the mode not chosen
  int sections_ = 0;
  double work_ = 0, ns_ = 0, wait_ns_ = 0;
  double chosen_cost_ = 0;   // ns per unit of work in the last window of the chosen mode
  int hold_ = 4;             // windows left before the choice is revisited (first: 4)
  int backoff_ = 2;          // the next hold is 2^backoff windows
  bool pool_waited_ = false;     // the last pool window waited
  bool chosen_waiting_ = false;  // ... and did when the choice was made
};

class ThreadPool {
 public:
  // threads >= 1 (the caller counts as one).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over disjoint chunks covering [0, n), whose bounds
  // are multiples of `grain` (except the last), on any of the threads;
  // returns when all are done. `item_cost` is the work of one index in
  // multiply-adds (or comparable simple operations): a range whose total
  // is below the fan-out's break-even runs as one call on this thread.
  // Not re-entrant: fn must not call parallel_for.
  void parallel_for(int n, int grain, int64_t item_cost, const std::function<void(int, int)>& fn);

  // The total work (n * item_cost) below which parallel_for stays on the
  // calling thread.
  static int64_t min_parallel_work();

 private:
  void worker();
  void run_chunks();
  void run_section(int n, int grain, const std::function<void(int, int)>& fn, double* wait_ns);
  void wait_for_joined();

  std::vector<std::thread> workers_;
  // Section word: bits 63..32 the section's sequence number, bit 31 set
  // while workers may join, bits 30..0 the workers inside.
  std::atomic<uint64_t> state_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  const std::function<void(int, int)>* fn_ = nullptr;
  int n_ = 0;
  int grain_ = 1;
  std::atomic<int> next_{0};
  SoloChooser chooser_;
};

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_THREAD_POOL_H_
