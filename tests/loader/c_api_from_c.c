/* Compiled as C (C99): proves mlxpack.h is a C header, and walks a pack
 * through the C API the way an FFI user would. */
#include <string.h>

#include "mlxpack/mlxpack.h"
#include "mlxpack/mlxpack_runtime.h"

/* Returns the number of tensors whose views are sound, or -1 on error. */
int mlxpack_test_count_tensors_from_c(const char* path) {
  mlxpack_reader* reader = NULL;
  if (mlxpack_open(path, MLXPACK_VERIFY_LAZY, &reader) != MLXPACK_OK) return -1;
  int n = 0;
  for (uint64_t i = 0; i < mlxpack_entry_count(reader); ++i) {
    mlxpack_entry_type type;
    const char* name = NULL;
    if (mlxpack_entry(reader, i, &type, &name) != MLXPACK_OK) n = -1000;
    if (type != MLXPACK_ENTRY_TENSOR) continue;
    mlxpack_tensor t;
    if (mlxpack_tensor_get(reader, name, &t) != MLXPACK_OK || strcmp(t.name, name) != 0) n = -1000;
    if (t.size_bytes > 0 && t.data == NULL) n = -1000;
    ++n;
  }
  mlxpack_close(reader);
  return n < 0 ? -1 : n;
}
