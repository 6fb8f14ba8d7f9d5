// A small fixed pool for the forward pass: the calling thread and N-1
// workers take contiguous chunks of a range from a shared counter, chunks
// that shrink as the range runs out, so a thread the machine slows down (a
// busy neighbour on a shared host) takes fewer and nobody waits long at the
// end of a section.
// Workers spin briefly before sleeping, because a decode step issues a few
// hundred short parallel sections and a futex wake-up per section would cost
// more than the work.
#ifndef MLXPACK_RUNTIME_ENGINE_THREAD_POOL_H_
#define MLXPACK_RUNTIME_ENGINE_THREAD_POOL_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mlxpack::engine {

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
  // returns when all are done. Not re-entrant: fn must not call parallel_for.
  void parallel_for(int n, int grain, const std::function<void(int, int)>& fn);

 private:
  void worker();
  void run_chunks();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int, int)>* fn_ = nullptr;
  int n_ = 0;
  int grain_ = 1;
  std::atomic<int> next_{0};
};

}  // namespace mlxpack::engine

#endif  // MLXPACK_RUNTIME_ENGINE_THREAD_POOL_H_
