// Times Reader::open and a look-up of every tensor by name, repeated.
//   open_lookup_bench FILE [repeats]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mlxpack/loader.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [repeats]\n", argv[0]);
    return 2;
  }
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 20;
  using clock = std::chrono::steady_clock;
  double open_s = 0, lookup_s = 0;
  uint64_t n_tensors = 0, checksum = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = clock::now();
    auto reader = mlxpack::Reader::open(argv[1]);
    const auto t1 = clock::now();
    if (!reader.is_ok()) {
      std::fprintf(stderr, "%s\n", reader.status().to_string().c_str());
      return 3;
    }
    std::vector<std::string> names;
    for (uint64_t i = 0; i < (*reader)->entry_count(); ++i) {
      const auto e = (*reader)->entry(i);
      if (e.type == mlxpack::EntryType::kTensor) names.emplace_back(e.name);
    }
    const auto t2 = clock::now();
    for (const std::string& name : names) {
      auto t = (*reader)->tensor(name);
      checksum += t.is_ok() ? t->size_bytes : 0;
    }
    const auto t3 = clock::now();
    open_s += std::chrono::duration<double>(t1 - t0).count();
    lookup_s += std::chrono::duration<double>(t3 - t2).count();
    n_tensors = names.size();
  }
  std::printf("open: %.3f ms   look up %llu tensors: %.3f ms (%.0f ns each)   [%llu]\n", 1e3 * open_s / repeats,
              static_cast<unsigned long long>(n_tensors), 1e3 * lookup_s / repeats,
              1e9 * lookup_s / repeats / static_cast<double>(n_tensors ? n_tensors : 1),
              static_cast<unsigned long long>(checksum / repeats));
  return 0;
}
