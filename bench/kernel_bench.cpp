// The matrix kernels alone, against the memory they read. Lays out a set of
// weights of one shape (rows x cols, 4- or 8-bit affine with F16 scales and
// biases, or BF16) adding up to more than any cache, then alternates, best
// of --repeat: multiplying every weight by --m activation rows with
// kernels::linear_rows on --threads threads (each its share of every
// weight's rows, as the runtime splits them), and a plain vector read of
// the same bytes on the same threads. Prints the kernel's GB/s beside the
// read's (decode: how much of the memory's speed the kernel keeps) and its
// multiply-adds per second (prefill).
//
//   kernel_bench --bits 4 --rows 8192 --cols 2048 --m 1 --threads 1
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "runtime/kernels/linear.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

using mlxpack::kernels::Activations;
using mlxpack::kernels::ParamKind;
using mlxpack::kernels::Weight;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Bytes in 2 MiB pages where the kernel gives them, as the runtime maps
// model files (loader/src/mapped_file.cpp): advised before the first touch.
class HugeBytes {
 public:
  void resize(size_t n) {
    constexpr size_t kHuge = size_t{2} << 20;
    data_.reset(static_cast<uint8_t*>(std::aligned_alloc(kHuge, (n + kHuge - 1) / kHuge * kHuge)));
    if (data_ == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    (void)madvise(data_.get(), (n + kHuge - 1) / kHuge * kHuge, MADV_HUGEPAGE);
#endif
    size_ = n;
  }
  uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  uint8_t* begin() const { return data_.get(); }
  uint8_t* end() const { return data_.get() + size_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

// One weight's bytes as a pack holds them: values, then scales, then biases.
struct Storage {
  HugeBytes bytes;
  Weight w;
};

Storage make_weight(int bits, int rows, int cols, int group, std::mt19937& rng) {
  Storage s;
  Weight& w = s.w;
  w.rows = rows;
  w.cols = cols;
  const bool affine = bits == 4 || bits == 8;
  w.kind = affine ? ParamKind::kAffine : ParamKind::kBF16;
  w.row_bytes = affine ? static_cast<uint64_t>(cols) * bits / 8 : static_cast<uint64_t>(cols) * 2;
  const uint64_t data = w.row_bytes * rows;
  const uint64_t params = affine ? static_cast<uint64_t>(rows) * (cols / group) * 2 : 0;
  s.bytes.resize(data + 2 * params);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : s.bytes) b = static_cast<uint8_t>(byte(rng));
  // Scales and biases (and BF16 weights) small finite values: a fixed
  // exponent (2^-7 in both F16 and BF16) and a random mantissa and sign.
  auto* halves = reinterpret_cast<uint16_t*>(affine ? s.bytes.data() + data : s.bytes.data());
  const uint64_t count = affine ? 2 * params / 2 : data / 2;
  const uint16_t exponent = affine ? 0x2000 : 0x3c00, keep = affine ? 0x83ff : 0x807f;
  for (uint64_t i = 0; i < count; ++i) halves[i] = static_cast<uint16_t>(exponent | (halves[i] & keep));
  w.data = s.bytes.data();
  if (affine) {
    w.bits = bits;
    w.group_size = group;
    w.scale_kind = ParamKind::kF16;
    w.scales = s.bytes.data() + data;
    w.biases = s.bytes.data() + data + params;
  }
  return s;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t read_bytes_avx512(const uint8_t* p, uint64_t n) {
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  for (uint64_t i = 0; i + 256 <= n; i += 256) {
    a = _mm512_add_epi64(a, _mm512_load_si512(p + i));
    b = _mm512_add_epi64(b, _mm512_load_si512(p + i + 64));
    c = _mm512_add_epi64(c, _mm512_load_si512(p + i + 128));
    d = _mm512_add_epi64(d, _mm512_load_si512(p + i + 192));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(c, d)));
  uint64_t sum = 0;
  for (uint64_t v : lanes) sum += v;
  return sum;
}
#endif

uint64_t read_bytes(const uint8_t* p, uint64_t n) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) return read_bytes_avx512(p, n);
#endif
  uint64_t a[4] = {};
  for (uint64_t i = 0; i + 32 <= n; i += 32) {
    for (int j = 0; j < 4; ++j) {
      uint64_t v;
      std::memcpy(&v, p + i + 8 * j, 8);
      a[j] += v;
    }
  }
  return a[0] + a[1] + a[2] + a[3];
}

// Runs body(t) on `threads` threads (the caller is thread 0) and returns
// the seconds it took.
template <typename F>
double timed(int threads, F body) {
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(body, t);
  body(0);
  for (auto& th : pool) th.join();
  return seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mlxpack kernel benchmark"};
  int bits = 4, rows = 8192, cols = 2048, group = 64, m = 1, threads = 1, repeat = 5, mib = 512;
  app.add_option("--bits", bits, "4 or 8 (affine, F16 scales) or 16 (BF16)")->check(CLI::IsMember({4, 8, 16}));
  app.add_option("--rows", rows)->check(CLI::Range(16, 1 << 20));
  app.add_option("--cols", cols, "a multiple of 128")->check(CLI::Range(128, 1 << 20));
  app.add_option("--group-size", group)->check(CLI::IsMember({32, 64, 128}));
  app.add_option("--m", m, "activation rows (1 = decode)")->check(CLI::Range(1, 4096));
  app.add_option("--threads", threads)->check(CLI::Range(1, 256));
  app.add_option("--repeat", repeat)->check(CLI::Range(1, 100));
  app.add_option("--mib", mib, "weight bytes in all (more than the caches)")->check(CLI::Range(1, 1 << 16));
  std::string table = "auto";
  app.add_option("--kernels", table, "auto (what the CPU reports), avx512-amx, avx512-bf16, avx512-vnni, avx2 or scalar")
      ->check(CLI::IsMember({"auto", "avx512-amx", "avx512-bf16", "avx512-vnni", "avx2", "scalar"}));
  CLI11_PARSE(app, argc, argv);
  if (table != "auto") {  // one of the tables this CPU runs, by name
    const mlxpack::kernels::KernelTable* chosen = nullptr;
    for (const auto* t : mlxpack::kernels::supported_tables()) {
      if (table == t->name) chosen = t;
    }
    if (chosen == nullptr) {
      std::fprintf(stderr, "kernel_bench: this CPU or build has no %s kernels\n", table.c_str());
      return 2;
    }
    mlxpack::kernels::set_active_table(chosen);
  }
  if (cols % 128 != 0) {
    std::fprintf(stderr, "kernel_bench: --cols must be a multiple of 128\n");
    return 2;
  }
  std::mt19937 rng(7);
  std::vector<Storage> weights;
  uint64_t total = 0;
  while (total < (static_cast<uint64_t>(mib) << 20)) {
    weights.push_back(make_weight(bits, rows, cols, group, rng));
    total += weights.back().bytes.size();
  }
  std::vector<float> x(static_cast<size_t>(m) * cols);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(rng);
  Activations act;
  act.set(x.data(), m, cols);
  std::vector<std::vector<float>> y(threads, std::vector<float>(static_cast<size_t>(m) * rows));
  const int per = (rows / threads + 15) / 16 * 16;
  auto kernel = [&](int t) {
    const int n0 = std::min(rows, t * per), n1 = std::min(rows, n0 + per);
    for (const Storage& s : weights) mlxpack::kernels::linear_rows(s.w, act, y[t].data(), rows, n0, n1);
  };
  std::atomic<uint64_t> sink{0};
  auto reader = [&](int t) {
    uint64_t sum = 0;
    for (const Storage& s : weights) {
      const uint64_t share = s.bytes.size() / threads / 256 * 256;
      sum += read_bytes(s.bytes.data() + share * t, share);
    }
    sink += sum;
  };
  double best_kernel = 1e30, best_read = 1e30;
  for (int r = 0; r < repeat; ++r) {
    best_kernel = std::min(best_kernel, timed(threads, kernel));
    best_read = std::min(best_read, timed(threads, reader));
  }
  const double kernel_gbs = total / best_kernel / 1e9, read_gbs = total / best_read / 1e9;
  const double gmacs = static_cast<double>(weights.size()) * rows * cols * m / best_kernel / 1e9;
  std::printf("kernels=%s bits=%d rows=%d cols=%d group=%d m=%d threads=%d weights_mib=%.0f kernel_gbs=%.2f "
              "read_gbs=%.2f read_fraction=%.2f gmacs=%.1f\n",
              mlxpack::kernels::active_table()->name, bits, rows, cols, group, m, threads, total / 1048576.0,
              kernel_gbs, read_gbs, kernel_gbs / read_gbs, gmacs);
  return sink == 1 ? 1 : 0;
}
