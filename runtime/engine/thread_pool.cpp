#include "runtime/engine/thread_pool.h"

#include <algorithm>
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

using Clock = std::chrono::steady_clock;
double nanoseconds(Clock::duration d) { return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()); }

constexpr uint64_t kOpen = uint64_t{1} << 31;
constexpr uint64_t kJoinedMask = kOpen - 1;
uint64_t sequence(uint64_t state) { return state >> 32; }

// How long an idle worker spins before it sleeps. A decode step issues a
// few hundred sections microseconds apart, and between tokens the caller
// samples and detokenizes for tens of microseconds: a worker that spins
// for 1 ms stays awake through a generation. It sleeps once generation
// pauses, and on a busy machine a spinner that is not needed gives its CPU
// back after at most this long.
constexpr auto kSpinTime = std::chrono::microseconds(1000);

// How long the caller spins for a joined worker's last chunk before it
// yields its CPU each time it looks (that worker may be queued behind it).
constexpr auto kJoinSpinTime = std::chrono::microseconds(50);

// Guided scheduling: each claim takes 1/kShare of what is left per thread
// (rounded to the grain), so chunks start large (few claims on the shared
// counter) and shrink towards the end, where a thread that finishes early
// waits for at most one small chunk. Fixed chunks of 1/4 of a thread's
// share left up to that much idle at the end of every section: in a 110M
// 4-bit decode, threads waited ~17% of the time (perf).
constexpr int kShare = 2;

// The fan-out's break-even, in multiply-adds: waking a spinning worker and
// joining it costs about two cache-line round trips between cores (~1 us
// here), in which one core does ~16K multiply-adds of a float decode.
// Measured on this 2-core machine, 2 threads, generation_bench, decode
// tokens/s of stories260K (largest decode section: lm_head, 512 x 64 = 32K)
// and the 110M shape at 4-bit, two runs each, for limits 0 / 16K / 64K /
// 256K: stories260K 13.0-13.9K / 16.4-16.6K / 19.7-21.5K / 15.6-15.9K,
// 110M 341 / 333-348 / 348 / 330-366 (no change: its sections are > 1M).
constexpr int64_t kMinWork = 65536;

}  // namespace

int64_t ThreadPool::min_parallel_work() { return kMinWork; }

// The chooser's window: 64 sections are about one decode step of a 12-layer
// model, long enough to average over a scheduler tick, short enough to
// follow a load that comes and goes.
constexpr int kWindow = 64;
// A pool window whose caller waited more than this share of its time for
// descheduled workers ends the current choice early: the next window times
// the caller alone. Idle, the wait is 1.8% (110M 4-bit decode, 2 threads);
// with one busy process on this 2-core machine, 25%.
constexpr double kWaitShare = 0.10;
// Every choice is also revisited when it has held for 2^backoff windows:
// waiting is not the only way a pool loses. With two busy processes on this
// 2-core machine the worker rarely gets a CPU while a section is open, so
// the caller does nearly all the work without waiting, while the worker's
// spinning between sections takes CPU time the caller would have had (110M
// 4-bit decode: 106 tokens/s on the pool against 175 alone). The backoff
// grows while the probes confirm the choice (a probe every 64 windows at
// most, ~0.5% of an idle decode) and starts again when a probe changes it.
constexpr int kMaxBackoff = 6;

void SoloChooser::record(double work, double ns, double wait_ns) {
  work_ += work;
  ns_ += ns;
  wait_ns_ += wait_ns;
  if (++sections_ == kWindow) end_window();
}

void SoloChooser::end_window() {
  const double cost = ns_ / std::max(work_, 1.0);
  const bool waited = !solo_ && wait_ns_ > kWaitShare * ns_;
  sections_ = 0;
  work_ = ns_ = wait_ns_ = 0;
  if (!solo_) pool_waited_ = waited;
  if (probing_) {  // this window ran the other mode: keep the cheaper one
    probing_ = false;
    const bool was_solo = !solo_;
    const double solo_cost = solo_ ? cost : chosen_cost_;
    const double pool_cost = solo_ ? chosen_cost_ : cost;
    solo_ = solo_cost < pool_cost;
    backoff_ = solo_ == was_solo ? std::min(backoff_ + 1, kMaxBackoff) : 0;
    hold_ = 1 << backoff_;
    chosen_waiting_ = pool_waited_;
    return;
  }
  chosen_cost_ = cost;
  if (waited && !chosen_waiting_) hold_ = 0;  // load arrived since the choice: look now
  if (hold_ > 0) {
    --hold_;
    return;
  }
  probing_ = true;
  solo_ = !solo_;
}

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    state_.fetch_add(uint64_t{1} << 32);  // spinning workers look at the sequence
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_chunks() {
  const int threads = size();
  int begin = next_.load(std::memory_order_relaxed);
  for (;;) {
    int end;
    do {
      if (begin >= n_) return;
      const int take = std::max(grain_, (n_ - begin) / (kShare * threads) / grain_ * grain_);
      end = std::min(n_, begin + take);
    } while (!next_.compare_exchange_weak(begin, end, std::memory_order_relaxed));
    (*fn_)(begin, end);
    begin = next_.load(std::memory_order_relaxed);
  }
}

void ThreadPool::parallel_for(int n, int grain, int64_t item_cost, const std::function<void(int, int)>& fn) {
  if (n <= 0) return;
  const int64_t work = static_cast<int64_t>(n) * std::max<int64_t>(item_cost, 1);
  if (workers_.empty() || n <= grain || work < kMinWork) {
    fn(0, n);
    return;
  }
  const auto t0 = Clock::now();
  double wait_ns = 0;
  if (chooser_.solo()) {
    fn(0, n);
  } else {
    run_section(n, grain, fn, &wait_ns);
  }
  chooser_.record(static_cast<double>(work), nanoseconds(Clock::now() - t0), wait_ns);
}

void ThreadPool::run_section(int n, int grain, const std::function<void(int, int)>& fn, double* wait_ns) {
  fn_ = &fn;
  n_ = n;
  grain_ = std::max(1, grain);
  next_.store(0, std::memory_order_relaxed);
  // Open the next section (no worker is inside: the last one closed with
  // none left). seq_cst pairs with a sleeper's check: either it sees this
  // section or this thread sees it counted in sleepers_.
  const uint64_t seq = sequence(state_.load(std::memory_order_relaxed)) + 1;
  state_.store(seq << 32 | kOpen, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> lock(mutex_); }
    wake_.notify_all();
  }
  run_chunks();
  // Every chunk is claimed: close, so late workers stay out, and wait for
  // those inside (they hold the last chunks).
  state_.fetch_and(~kOpen, std::memory_order_acq_rel);
  const auto t1 = Clock::now();
  wait_for_joined();
  *wait_ns = nanoseconds(Clock::now() - t1);
}

void ThreadPool::wait_for_joined() {
  if ((state_.load(std::memory_order_acquire) & kJoinedMask) == 0) return;
  const auto spin_until = Clock::now() + kJoinSpinTime;
  bool spinning = true;
  for (int spins = 0; (state_.load(std::memory_order_acquire) & kJoinedMask) != 0; ++spins) {
    if (spinning) {
      cpu_relax();
      if ((spins & 63) == 63 && Clock::now() > spin_until) spinning = false;
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::worker() {
  uint64_t seen = 0;  // the constructor's sequence: a section opened before this line still counts
  for (;;) {
    const auto spin_until = Clock::now() + kSpinTime;
    uint64_t s = state_.load(std::memory_order_acquire);
    for (int spins = 0; sequence(s) == seen; ++spins) {
      cpu_relax();
      if ((spins & 255) == 255 && Clock::now() > spin_until) break;
      s = state_.load(std::memory_order_acquire);
    }
    if (sequence(s) == seen) {
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_.load() || sequence(state_.load(std::memory_order_seq_cst)) != seen; });
      }
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      s = state_.load(std::memory_order_acquire);
    }
    if (stop_.load()) return;
    seen = sequence(s);
    // Join if the section is still open; a missed one is simply skipped.
    while ((s & kOpen) && sequence(s) == seen) {
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        run_chunks();
        state_.fetch_sub(1, std::memory_order_release);
        break;
      }
    }
  }
}

}  // namespace mlxpack::engine
