// Every xxHash build this CPU runs (generic, AVX2, AVX-512) gives the same
// XXH3-128 as the generic one, one-shot and streamed in uneven pieces, at
// every length class XXH3 treats differently and at unaligned starts; and
// the dispatcher picks the widest build the CPU runs.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "format/checksum.h"
#include "format/cpu_features.h"
#include "format/src/checksum_impl.h"

namespace mlxpack {
namespace {

using checksum_impl::Table;

struct Named {
  const char* name;
  const Table* table;
};

// The builds compiled in whose instructions this CPU has.
std::vector<Named> runnable_builds() {
  std::vector<Named> builds;
  if (cpu_features().avx2 && checksum_impl::avx2_table()) builds.push_back({"avx2", checksum_impl::avx2_table()});
  if (cpu_features().avx512f && checksum_impl::avx512_table()) {
    builds.push_back({"avx512", checksum_impl::avx512_table()});
  }
  return builds;
}

Checksum128 oneshot(const Table& t, const uint8_t* p, size_t n) {
  Checksum128 c;
  t.oneshot(p, n, &c.low64, &c.high64);
  return c;
}

Checksum128 streamed(const Table& t, const uint8_t* p, size_t n, std::mt19937& rng) {
  checksum_impl::StateStorage state;
  t.reset(&state);
  for (size_t at = 0; at < n;) {
    const size_t piece = std::min<size_t>(n - at, std::uniform_int_distribution<size_t>(0, 3000)(rng));
    t.update(&state, p + at, piece);
    at += piece;
  }
  Checksum128 c;
  t.digest(&state, &c.low64, &c.high64);
  return c;
}

TEST(ChecksumBuilds, EveryBuildMatchesTheGenericOne) {
  // XXH3 switches algorithm at 16, 128, 240 bytes and works in 64-byte
  // stripes and 1024-byte blocks; lengths on both sides of each.
  const size_t lengths[] = {0,    1,    3,    4,    8,    9,    16,   17,    64,    127,     128,    129,
                            239,  240,  241,  255,  256,  1023, 1024, 1025,  4095,  4096,    65537, 100003,
                            1 << 20, (1 << 20) + 63};
  std::mt19937 rng(7);
  std::vector<uint8_t> bytes((1 << 20) + 64 + 8);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  const std::vector<Named> builds = runnable_builds();
  if (builds.empty()) GTEST_SKIP() << "this CPU runs only the generic build";
  const Table& generic = checksum_impl::generic_table();
  for (const Named& build : builds) {
    for (size_t n : lengths) {
      for (size_t misalign : {0, 1, 7}) {
        const uint8_t* p = bytes.data() + misalign;
        const Checksum128 want = oneshot(generic, p, n);
        EXPECT_EQ(oneshot(*build.table, p, n), want) << build.name << " one-shot, " << n << " bytes at +" << misalign;
        EXPECT_EQ(streamed(*build.table, p, n, rng), want) << build.name << " streamed, " << n << " bytes";
      }
    }
  }
}

TEST(ChecksumBuilds, TheGenericBuildGivesXxhsumsDigests) {
  // `printf '' | xxhsum -H2` and `printf abc | xxhsum -H2`.
  const Table& generic = checksum_impl::generic_table();
  EXPECT_EQ(oneshot(generic, nullptr, 0).to_hex(), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(oneshot(generic, reinterpret_cast<const uint8_t*>("abc"), 3).to_hex(),
            "06b05ab6733a618578af5f94892f3950");
}

TEST(ChecksumBuilds, TheWidestRunnableBuildIsChosen) {
  const CpuFeatures& cpu = cpu_features();
  const std::string want = cpu.avx512f && checksum_impl::avx512_table() ? "avx512"
                           : cpu.avx2 && checksum_impl::avx2_table()    ? "avx2"
                                                                        : "generic";
  EXPECT_EQ(checksum_implementation(), want);
  EXPECT_EQ(&checksum_impl::active_table(), want == "avx512" ? checksum_impl::avx512_table()
                                            : want == "avx2" ? checksum_impl::avx2_table()
                                                             : &checksum_impl::generic_table());
}

}  // namespace
}  // namespace mlxpack
