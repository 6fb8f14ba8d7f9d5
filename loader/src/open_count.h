// How many times this process has opened a pack with Reader::open. Opening
// maps the file and validates its whole index, so a caller that opens the
// same pack twice pays twice; tests use the count to hold Runtime::open to
// one opening. Internal: not part of the public API.
#ifndef MLXPACK_LOADER_SRC_OPEN_COUNT_H_
#define MLXPACK_LOADER_SRC_OPEN_COUNT_H_

#include <cstdint>

namespace mlxpack::internal {

uint64_t reader_open_count();

}  // namespace mlxpack::internal

#endif  // MLXPACK_LOADER_SRC_OPEN_COUNT_H_
