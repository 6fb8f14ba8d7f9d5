#include "runtime/engine/thread_pool.h"

#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mlxpack::engine {

namespace {

void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// How long a worker spins before it sleeps. Generation issues parallel
// sections back to back, and on virtual machines a sleeping thread can take
// milliseconds to wake (measured: decode 5 tokens/s with 2 threads when
// workers slept after ~0.1 ms, 90+ when they spin), so workers spin through
// a whole generation and sleep only once it pauses.
constexpr auto kSpinTime = std::chrono::milliseconds(20);

}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

// Chunks per thread: enough that a slowed thread's share can move to the
// others, few enough that the shared counter stays cheap (decode runs a few
// hundred sections per token).
constexpr int kChunksPerThread = 4;

void ThreadPool::run_chunks() {
  for (;;) {
    const int begin = next_.fetch_add(chunk_, std::memory_order_relaxed);
    if (begin >= n_) return;
    (*fn_)(begin, std::min(n_, begin + chunk_));
  }
}

void ThreadPool::parallel_for(int n, int grain, const std::function<void(int, int)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n <= grain) {
    fn(0, n);
    return;
  }
  if (grain < 1) grain = 1;
  const int parts = size() * kChunksPerThread;
  const int per = (n + parts - 1) / parts;
  fn_ = &fn;
  n_ = n;
  chunk_ = (per + grain - 1) / grain * grain;
  next_.store(0, std::memory_order_relaxed);
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_chunks();
  while (pending_.load(std::memory_order_acquire) != 0) cpu_relax();
}

void ThreadPool::worker() {
  uint64_t seen = 0;
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
    for (int spins = 0; generation_.load(std::memory_order_acquire) == seen; ++spins) {
      cpu_relax();
      if ((spins & 1023) == 1023 && std::chrono::steady_clock::now() > spin_until) break;
    }
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    run_chunks();
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace mlxpack::engine
