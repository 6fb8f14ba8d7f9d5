// Targets other than x86-64: no vector builds, the dispatcher falls back to
// the generic one.
#include "format/src/checksum_impl.h"

namespace mlxpack::checksum_impl {
const Table* avx2_table() { return nullptr; }
const Table* avx512_table() { return nullptr; }
}  // namespace mlxpack::checksum_impl
