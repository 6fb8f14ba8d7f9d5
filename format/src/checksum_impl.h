// Private: one table of XXH3-128 entry points per instruction set.
// checksum_generic.cpp and checksum_avx2.cpp each compile xxHash inline
// (XXH_INLINE_ALL) with a different XXH_VECTOR; checksum.cpp picks one.
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
const Table* avx2_table();  // nullptr when not built for this target

}  // namespace mlxpack::checksum_impl

#endif
