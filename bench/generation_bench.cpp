// Generation benchmark for one model: open time, time to first token from a
// cold process, prefill and decode tokens/s, peak RSS against the budget
// (file + KV cache + 64 MiB), and the decode's effective weight bandwidth
// beside this machine's streaming-read bandwidth measured in the same run
// (decode reads every weight once per token, except an untied embedding's
// unused rows, so that ratio says how close the kernels are to the memory
// roofline). Prefill is bound by arithmetic instead: it prints the
// prefill's multiply-adds per second beside this machine's FP32 FMA peak
// measured in the same run (the roof of float-weight prefill; quantized
// weights multiply int8 values and may pass it), the int8 peak of AVX-512
// VNNI and, where the CPU has it, of AMX's tile products.
//
//   generation_bench --model-root M.mlxpack [--prompt-tokens 128]
//                    [--decode-tokens 64] [--threads 2] [--repeat 3]
//
// Prints one line of key=value pairs (bench/run_generation_bench.sh reads
// them). Prompt ids are drawn from a fixed seed over the vocabulary, so runs
// compare like with like; an EOS from the random weights just continues.
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "format/cpu_features.h"
#include "mlxpack/model_source.h"
#include "mlxpack/runtime.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

// Resident set size now (VmRSS), bytes.
uint64_t current_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// Bytes of the files under `root` (a pack or a directory) this process
// maps with 2 MiB page-table entries now (FilePmdMapped in /proc/self/smaps).
// A mapping gets them only where the page cache holds the file in 2 MiB
// folios: read cold through the runtime's advised mapping, or written in
// large aligned writes. A file already cached in small pages stays in them,
// and decodes slower (see loader/src/mapped_file.cpp).
uint64_t huge_mapped_bytes(const std::string& root) {
  char resolved[PATH_MAX];
  if (realpath(root.c_str(), resolved) == nullptr) return 0;
  const std::string prefix = resolved;
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool ours = false;
  uint64_t kib = 0;
  while (std::getline(smaps, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < 17) {
      const size_t slash = line.find('/');
      ours = slash != std::string::npos && line.compare(slash, prefix.size(), prefix) == 0;
    } else if (ours && line.rfind("FilePmdMapped:", 0) == 0) {
      kib += std::stoull(line.substr(14));
    }
  }
  return kib * 1024;
}

uint64_t path_bytes(const std::string& path) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) return 0;
  return S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
}

// Sums of `n` floats (n % 64 == 0) read with the widest loads the CPU has,
// as the decode kernels read weights: four independent accumulators keep
// the loop bound by memory rather than by a dependency chain.
#if defined(__x86_64__)
__attribute__((target("avx512f"))) float read_floats_avx512(const float* p, size_t n) {
  __m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
  for (size_t i = 0; i < n; i += 64) {
    a = _mm512_add_ps(a, _mm512_loadu_ps(p + i));
    b = _mm512_add_ps(b, _mm512_loadu_ps(p + i + 16));
    c = _mm512_add_ps(c, _mm512_loadu_ps(p + i + 32));
    d = _mm512_add_ps(d, _mm512_loadu_ps(p + i + 48));
  }
  // Stored and summed by hand: GCC 12's _mm512_reduce_add_ps trips its own
  // -Wuninitialized (GCC bug 105593).
  float lanes[16];
  _mm512_storeu_ps(lanes, _mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)));
  float sum = 0;
  for (float v : lanes) sum += v;
  return sum;
}
__attribute__((target("avx2"))) float read_floats_avx2(const float* p, size_t n) {
  __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
  for (size_t i = 0; i < n; i += 32) {
    a = _mm256_add_ps(a, _mm256_loadu_ps(p + i));
    b = _mm256_add_ps(b, _mm256_loadu_ps(p + i + 8));
    c = _mm256_add_ps(c, _mm256_loadu_ps(p + i + 16));
    d = _mm256_add_ps(d, _mm256_loadu_ps(p + i + 24));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d));
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}
#endif
float read_floats_portable(const float* p, size_t n) {
  float lane[4] = {};
  for (size_t i = 0; i < n; i += 4) {
    for (int j = 0; j < 4; ++j) lane[j] += p[i + j];
  }
  return lane[0] + lane[1] + lane[2] + lane[3];
}

float read_floats(const float* p, size_t n) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) return read_floats_avx512(p, n);
  if (__builtin_cpu_supports("avx2")) return read_floats_avx2(p, n);
#endif
  return read_floats_portable(p, n);
}

// Streaming read bandwidth, GB/s, of `threads` threads reading a buffer
// larger than any cache: the bound on decode, which reads every weight once
// per token. Best of 5.
// The buffer is advised into 2 MiB pages before it is touched, as the
// loader advises model files (loader/src/mapped_file.cpp): with 4 KiB pages
// every page is a TLB miss, and the bound would be that of a slower read
// than the runtime's (AMD Zen 4, one thread: 25 against 30 GB/s).
double read_bandwidth_gbs(int threads) {
  constexpr size_t kBytes = size_t{512} << 20, kHuge = size_t{2} << 20;
  const size_t floats = kBytes / sizeof(float);
  std::unique_ptr<float, decltype(&std::free)> memory(static_cast<float*>(std::aligned_alloc(kHuge, kBytes)),
                                                      &std::free);
  if (memory == nullptr) return 0;
  float* const data = memory.get();
#ifdef MADV_HUGEPAGE
  (void)madvise(data, kBytes, MADV_HUGEPAGE);
#endif
  std::fill(data, data + floats, 1.0f);
  double best = 0;
  std::vector<float> sums(threads);
  const size_t per = floats / threads / 64 * 64;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] { sums[t] = read_floats(data + per * t, per); });
    }
    for (auto& th : pool) th.join();
    best = std::max(best, per * threads * sizeof(float) / seconds_since(t0) / 1e9);
  }
  for (float s : sums) {
    if (s != static_cast<float>(per) && s < 1e6f) std::fprintf(stderr, "generation_bench: bandwidth sums are off\n");
  }
  return best;
}

// Multiply-adds of `iters` rounds of 16 independent FMA chains (more than
// latency x ports, so throughput-bound) in the widest registers the CPU has.
#if defined(__x86_64__)
__attribute__((target("avx512f"))) float fma_chains_avx512(long iters, double* macs) {
  __m512 a[16];
  for (int i = 0; i < 16; ++i) a[i] = _mm512_set1_ps(0.001f * i);
  const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  }
  // Every chain feeds the result, or the compiler drops the unused ones.
  for (int i = 1; i < 16; ++i) a[0] = _mm512_add_ps(a[0], a[i]);
  float lanes[16];
  _mm512_storeu_ps(lanes, a[0]);
  *macs = static_cast<double>(iters) * 16 * 16;
  return lanes[0];
}
__attribute__((target("avx2,fma"))) float fma_chains_avx2(long iters, double* macs) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(0.001f * i);
  const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  }
  for (int i = 1; i < 12; ++i) a[0] = _mm256_add_ps(a[0], a[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, a[0]);
  *macs = static_cast<double>(iters) * 12 * 8;
  return lanes[0];
}
// int8 multiply-adds of `iters` rounds of 16 independent vpdpbusd chains
// (64 u8 x s8 products each): the roof of the quantized prefill, whose
// weights and activations multiply as int8. Without asm barriers: an empty
// asm on the chains made GCC copy registers and halved the count.
__attribute__((target("avx512f,avx512vnni"))) int32_t vnni_chains_avx512(long iters, double* macs) {
  __m512i a[16];
  for (int i = 0; i < 16; ++i) a[i] = _mm512_set1_epi32(i);
  const __m512i u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-2);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) a[i] = _mm512_dpbusd_epi32(a[i], u, s);
  }
  for (int i = 1; i < 16; ++i) a[0] = _mm512_add_epi32(a[0], a[i]);
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, a[0]);
  *macs = static_cast<double>(iters) * 16 * 64;
  return lanes[0];
}
// int8 multiply-adds of `iters` rounds of four independent tile products
// (TDPBUSD, 16 x 64 by 64 x 16 bytes: 16,384 each) into four accumulator
// tiles: the roof of the AMX prefill. Only called when the CPU has AMX and
// Linux granted the tile state (cpu_features; a forked child inherits it).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
__attribute__((target("amx-tile,amx-int8"))) int32_t amx_chains(long iters, double* macs) {
  TileConfig c;
  for (int t = 0; t < 8; ++t) {
    c.colsb[t] = 64;
    c.rows[t] = 16;
  }
  _tile_loadconfig(&c);
  alignas(64) static thread_local int8_t a[16 * 64];
  alignas(64) static thread_local int32_t out[16 * 16];
  for (int i = 0; i < 16 * 64; ++i) a[i] = static_cast<int8_t>(i % 7 - 3);
  _tile_loadd(4, a, 64);
  _tile_loadd(5, a, 64);
  _tile_loadd(6, a, 64);
  _tile_loadd(7, a, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (long it = 0; it < iters; ++it) {
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  _tile_stored(0, out, 64);
  int32_t sum = out[0];
  _tile_stored(3, out, 64);
  sum += out[255];
  _tile_release();
  *macs = static_cast<double>(iters) * 4 * 16 * 16 * 64;
  return sum;
}
#endif
int32_t vnni_chains(long iters, double* macs) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512vnni")) return vnni_chains_avx512(iters, macs);
#endif
  (void)iters;
  *macs = 0;  // no int8 dot-product unit measured: the fraction prints 0
  return 0;
}
float fma_chains_portable(long iters, double* macs) {
  float a[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  for (long it = 0; it < iters; ++it) {
    for (float& v : a) v = v * 0.999f + 0.001f;
  }
  *macs = static_cast<double>(iters) * 8;
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}
float fma_chains(long iters, double* macs) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) return fma_chains_avx512(iters, macs);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return fma_chains_avx2(iters, macs);
#endif
  return fma_chains_portable(iters, macs);
}

// Multiply-adds per second (GMAC/s) of `threads` threads each running
// chain(&macs) at once, best of 5. The chains' results are kept (and a NaN
// reported as `what`'s sums being off) so the compiler keeps their work.
template <typename Chain>
double peak_gmacs(int threads, const char* what, Chain chain) {
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<double> macs(threads);
    std::vector<double> sink(threads);
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sink[t] = static_cast<double>(chain(&macs[t])); });
    for (auto& th : pool) th.join();
    const double s = seconds_since(t0);
    double total = 0;
    for (double m : macs) total += m;
    best = std::max(best, total / s / 1e9);
    if (sink[0] != sink[0]) std::fprintf(stderr, "generation_bench: %s sums are off\n", what);
  }
  return best;
}

// FP32 multiply-adds per second of `threads` threads: the roof of a float
// matrix-matrix product.
double fma_peak_gmacs(int threads) {
  return peak_gmacs(threads, "FMA", [](double* macs) { return fma_chains(4000000, macs); });
}

// int8 multiply-adds per second of `threads` threads (vpdpbusd).
double int8_peak_gmacs(int threads) {
  return peak_gmacs(threads, "int8", [](double* macs) { return vnni_chains(10000000, macs); });
}

// AMX tile multiply-adds per second of `threads` threads; 0 where the CPU
// has no AMX (or Linux did not grant the tile state).
double amx_peak_gmacs(int threads) {
#if defined(__x86_64__)
  if (!mlxpack::cpu_features().amx_int8) return 0;
  return peak_gmacs(threads, "AMX", [](double* macs) { return amx_chains(2000000, macs); });
#else
  (void)threads;
  return 0;
#endif
}

struct MachinePeaks {
  double read_gbs = 0;
  double fma_gmacs = 0;
  double int8_gmacs = 0;
  double amx_gmacs = 0;
};

MachinePeaks peaks_in_child(int threads) {
  int fds[2];
  MachinePeaks p;
  if (pipe(fds) != 0) return p;
  const pid_t pid = fork();
  if (pid == 0) {
    const MachinePeaks got{read_bandwidth_gbs(threads), fma_peak_gmacs(threads), int8_peak_gmacs(threads),
                           amx_peak_gmacs(threads)};
    const ssize_t w = write(fds[1], &got, sizeof got);
    _exit(w == sizeof got ? 0 : 1);
  }
  close(fds[1]);
  if (pid < 0 || read(fds[0], &p, sizeof p) != sizeof p) p = MachinePeaks{};
  close(fds[0]);
  if (pid > 0) waitpid(pid, nullptr, 0);
  return p;
}

// Multiply-adds per prompt token of a prefill of `prompt` tokens, from
// config.json: the projections and MLP of every layer, plus causal attention
// (q.k and p.v over (prompt + 1) / 2 positions on average). The lm_head runs
// once per prefill, not per token. 0 if the config lacks a field.
double prefill_macs_per_token(const std::string& root, int prompt) {
  auto src = mlxpack::ModelSource::open(root);
  if (!src.is_ok()) return 0;
  auto text = (*src)->file("config.json");
  if (!text.is_ok()) return 0;
  const nlohmann::json c = nlohmann::json::parse(*text, nullptr, false);
  if (!c.is_object()) return 0;
  const double h = c.value("hidden_size", 0.0), inter = c.value("intermediate_size", 0.0);
  const double layers = c.value("num_hidden_layers", 0.0), heads = c.value("num_attention_heads", 0.0);
  const double kv_heads = c.value("num_key_value_heads", heads);
  const double head_dim = c.contains("head_dim") && c["head_dim"].is_number() ? c["head_dim"].get<double>()
                          : heads > 0                                          ? h / heads
                                                                               : 0.0;
  const double q = heads * head_dim, kv = kv_heads * head_dim;
  const double linear = h * (q + 2 * kv) + q * h + 3 * h * inter;
  const double attention = 2 * q * (prompt + 1) / 2.0;
  return layers * (linear + attention);
}

// Weight bytes a decode step reads: all of them, except an untied input
// embedding, of which it reads one row.
uint64_t bytes_read_per_token(const std::string& root, uint64_t weight_bytes) {
  auto src = mlxpack::ModelSource::open(root);
  if (!src.is_ok() || !(*src)->has_tensor("lm_head.weight")) return weight_bytes;
  uint64_t embedding = 0;
  for (const char* part : {"weight", "scales", "biases"}) {
    auto t = (*src)->tensor(std::string("model.embed_tokens.") + part);
    if (t.is_ok()) embedding += t->size_bytes;
  }
  return weight_bytes - std::min(weight_bytes, embedding);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mlxpack generation benchmark"};
  std::string root;
  int prompt_tokens = 128, decode_tokens = 64, threads = 2, repeat = 3;
  app.add_option("--model-root", root, "a .mlxpack file or a model directory")->required();
  app.add_option("--prompt-tokens", prompt_tokens)->check(CLI::Range(1, 4000));
  app.add_option("--decode-tokens", decode_tokens)->check(CLI::Range(2, 4000));
  app.add_option("--threads", threads, "0 = the runtime's default")->check(CLI::Range(0, 256));
  bool no_peaks = false;
  app.add_flag("--no-peaks", no_peaks, "skip measuring read bandwidth and FMA peak (rooflines print 0)");
  app.add_option("--repeat", repeat, "best of N for prefill and decode")->check(CLI::Range(1, 100));
  std::string kv_type = "f16";
  app.add_option("--kv-cache-type", kv_type, "KV cache entries (the runtime's default: f16)")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}));
  CLI11_PARSE(app, argc, argv);
  // Measured first, in a child process: its buffer must not count in this
  // process's peak RSS, and the runtime's spinning workers must not share
  // the cores with it.
  const MachinePeaks peaks = no_peaks ? MachinePeaks{} : peaks_in_child(std::max(threads, 1));
  const double bandwidth = peaks.read_gbs;
  const auto process_start = Clock::now();  // "cold": nothing of the model is open yet

  mlxpack::RuntimeOptions options;
  options.threads = threads;
  options.context_size = prompt_tokens + decode_tokens + 8;
  options.kv_cache_type = kv_type == "f32"    ? mlxpack::KvCacheType::kF32
                          : kv_type == "q8_0" ? mlxpack::KvCacheType::kQ8_0
                                              : mlxpack::KvCacheType::kF16;
  auto opened = mlxpack::Runtime::open(root, options);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "generation_bench: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  mlxpack::Runtime& rt = **opened;
  const double open_s = seconds_since(process_start);
  const uint64_t rss_after_open = current_rss_bytes();
  const uint64_t peak_after_open = peak_rss_bytes();

  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> pick(0, rt.vocab_size() - 1);
  std::vector<int32_t> prompt(prompt_tokens);
  for (int32_t& id : prompt) id = pick(rng);

  double best_prefill = 0, best_decode = 0, ttft_cold = 0;
  for (int rep = 0; rep < repeat; ++rep) {
    rt.reset();
    mlxpack::GenerationOptions g;
    g.max_tokens = decode_tokens;
    int steps = 0;
    double decode_s = 0;
    mlxpack::GenerationStats s;
    if (auto st = rt.generate(prompt, g, [](const mlxpack::TokenEvent&) { return true; }, &s); !st.is_ok()) {
      std::fprintf(stderr, "generation_bench: %s\n", st.to_string().c_str());
      return 1;
    }
    if (rep == 0) ttft_cold = open_s + s.time_to_first_token_s;
    best_prefill = std::max(best_prefill, s.prompt_tokens / s.prefill_s);
    steps += s.generated_tokens - 1;
    decode_s += s.decode_s;
    int32_t last = prompt.back();
    // Random weights may pick an EOS early: keep decoding from it.
    while (steps < decode_tokens - 1) {
      mlxpack::GenerationStats more;
      g.max_tokens = decode_tokens - 1 - steps;
      const auto t0 = Clock::now();
      if (auto st = rt.generate({last}, g, [&](const mlxpack::TokenEvent& e) { last = e.id; return true; }, &more);
          !st.is_ok()) {
        std::fprintf(stderr, "generation_bench: %s\n", st.to_string().c_str());
        return 1;
      }
      steps += more.generated_tokens;
      decode_s += seconds_since(t0);
    }
    best_decode = std::max(best_decode, steps / decode_s);
  }

  const uint64_t huge_bytes = huge_mapped_bytes(root);
  const uint64_t file_bytes = path_bytes(root);
  const uint64_t rss = peak_rss_bytes();
  const uint64_t kv = rt.kv_cache_bytes();
  const double prefill_gmacs = best_prefill * prefill_macs_per_token(root, prompt_tokens) / 1e9;
  const double decode_gbs = best_decode * static_cast<double>(bytes_read_per_token(root, rt.weight_bytes())) / 1e9;
  std::printf(
      "model=%s weights=\"%s\" kernels=%s kv=%s threads=%d weight_mib=%.1f file_mib=%.1f kv_mib=%.2f open_ms=%.1f "
      "ttft_cold_ms=%.1f prefill_tps=%.1f decode_tps=%.2f peak_rss_mib=%.1f rss_over_budget_base_mib=%.1f "
      "rss_after_open_mib=%.1f peak_after_open_mib=%.1f decode_weight_gbs=%.2f read_bandwidth_gbs=%.2f roofline_fraction=%.2f "
      "prefill_gmacs=%.1f fma_peak_gmacs=%.1f prefill_fma_fraction=%.2f int8_peak_gmacs=%.1f prefill_int8_fraction=%.2f "
      "amx_peak_gmacs=%.1f prefill_amx_fraction=%.2f huge_mapped_mib=%.1f\n",
      root.c_str(), rt.weights_summary().c_str(), rt.kernel_name(), kv_type.c_str(), threads,
      rt.weight_bytes() / 1048576.0,
      file_bytes / 1048576.0, kv / 1048576.0, open_s * 1e3, ttft_cold * 1e3, best_prefill, best_decode,
      rss / 1048576.0, (static_cast<double>(rss) - static_cast<double>(file_bytes) - static_cast<double>(kv)) / 1048576.0,
      rss_after_open / 1048576.0, peak_after_open / 1048576.0, decode_gbs, bandwidth, bandwidth > 0 ? decode_gbs / bandwidth : 0.0,
      prefill_gmacs, peaks.fma_gmacs, peaks.fma_gmacs > 0 ? prefill_gmacs / peaks.fma_gmacs : 0.0, peaks.int8_gmacs,
      peaks.int8_gmacs > 0 ? prefill_gmacs / peaks.int8_gmacs : 0.0, peaks.amx_gmacs,
      peaks.amx_gmacs > 0 ? prefill_gmacs / peaks.amx_gmacs : 0.0, huge_bytes / 1048576.0);
  return 0;
}
