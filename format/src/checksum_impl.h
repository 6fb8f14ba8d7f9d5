// Private: one table of XXH3-128 entry points per instruction set.
// checksum_generic.cpp, checksum_avx2.cpp and checksum_avx512.cpp each
// compile xxHash inline (XXH_INLINE_ALL) with a different XXH_VECTOR;
// checksum.cpp picks one. All produce the same hashes (checksum_builds_test).
#ifndef MLXPACK_FORMAT_CHECKSUM_IMPL_H_
#define MLXPACK_FORMAT_CHECKSUM_IMPL_H_

#include <cstddef>
#include <cstdint>

namespace mlxpack::checksum_impl {

// Big enough for XXH3_state_t (576 bytes in xxHash 0.8, 64-byte aligned).
inline constexpr size_t kStateSize = 640;
struct alignas(64) StateStorage {
  unsigned char bytes[kStateSize];
};

struct Table {
  void (*oneshot)(const void* data, size_t size, uint64_t* low, uint64_t* high);
  void (*reset)(StateStorage* state);
  void (*update)(StateStorage* state, const void* data, size_t size);
  void (*digest)(const StateStorage* state, uint64_t* low, uint64_t* high);
};

const Table& generic_table();
const Table* avx2_table();    // nullptr when not built for this target
const Table* avx512_table();  // nullptr when not built for this target

// The table checksum_bytes() and Hasher use, and its name ("generic",
// "avx2", "avx512"): the widest build this CPU runs, chosen once.
const Table& active_table();
const char* active_name();

}  // namespace mlxpack::checksum_impl

#endif
