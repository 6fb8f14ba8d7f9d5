// xxHash built with AVX2. This file is compiled with -mavx2 on x86-64 only
// (format/CMakeLists.txt); checksum.cpp calls it only when the CPU has AVX2.
#define XXH_VECTOR XXH_AVX2
#define MLXPACK_XXH_TABLE avx2_table_impl
#include "format/src/checksum_xxh3.inc"

namespace mlxpack::checksum_impl {
const Table* avx2_table() { return &avx2_table_impl(); }
}  // namespace mlxpack::checksum_impl
