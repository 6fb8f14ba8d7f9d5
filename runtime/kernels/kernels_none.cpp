// Builds for CPUs other than x86-64 have only the scalar table.
#include "runtime/kernels/kernel_table.h"

namespace mlxpack::kernels {

const KernelTable* avx2_table() { return nullptr; }
const KernelTable* avx512_table() { return nullptr; }
const KernelTable* avx512_bf16_table() { return nullptr; }
const KernelTable* avx512_amx_table() { return nullptr; }

}  // namespace mlxpack::kernels
