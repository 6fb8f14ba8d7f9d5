// Targets without AVX2 (non-x86): the dispatcher falls back to the generic build.
#include "format/src/checksum_impl.h"

namespace mlxpack::checksum_impl {
const Table* avx2_table() { return nullptr; }
}  // namespace mlxpack::checksum_impl
