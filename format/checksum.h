// XXH3-128 checksums (spec/FORMAT.md §2.3), with runtime dispatch to the
// widest build of xxHash the CPU runs: AVX-512, AVX2, or the generic one.
#ifndef MLXPACK_FORMAT_CHECKSUM_H_
#define MLXPACK_FORMAT_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace mlxpack {

// A 128-bit checksum. Stored in files as low64 then high64, each little-endian.
struct Checksum128 {
  uint64_t low64 = 0;
  uint64_t high64 = 0;
  bool operator==(const Checksum128& o) const { return low64 == o.low64 && high64 == o.high64; }
  bool operator!=(const Checksum128& o) const { return !(*this == o); }
  // 32 lowercase hex digits, high64 first: the canonical XXH3-128 spelling
  // that `xxhsum -H2` prints.
  std::string to_hex() const;
};

Checksum128 checksum_bytes(const void* data, size_t size);

// Streaming form: update() any number of times, then digest().
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void update(const void* data, size_t size);
  Checksum128 digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// "avx512", "avx2" or "generic": the xxHash build in use, for benchmark output.
const char* checksum_implementation();

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_CHECKSUM_H_
