// xxHash built with AVX-512. This file is compiled with -mavx512f on x86-64
// only (format/CMakeLists.txt); checksum.cpp calls it only when the CPU has
// AVX-512F with ZMM state saved by the OS.
#define XXH_VECTOR XXH_AVX512
#define MLXPACK_XXH_TABLE avx512_table_impl
#include "format/src/checksum_xxh3.inc"

namespace mlxpack::checksum_impl {
const Table* avx512_table() { return &avx512_table_impl(); }
}  // namespace mlxpack::checksum_impl
