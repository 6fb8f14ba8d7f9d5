/* The mlxpack C API: open a .mlxpack file and read its tensors in place.
 *
 * For FFI users (Python ctypes, Rust, Swift, ...). Handles are opaque; every
 * function returns an mlxpack_status. On failure, mlxpack_last_error()
 * returns a message naming the file, the field, the value and the limit, and
 * mlxpack_last_format_error() the rule of spec/FORMAT.md broken (a value of
 * enum mlxpack::FormatError, 0 if none). Both are per thread and stay valid
 * until the next failing call on the same thread.
 *
 * A reader may be used from many threads at once. Views (tensor data, names)
 * stay valid until mlxpack_close().
 */
#ifndef MLXPACK_C_API_H_
#define MLXPACK_C_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mlxpack_status {
  MLXPACK_OK = 0,
  MLXPACK_NOT_FOUND = 1,
  MLXPACK_CORRUPTION = 2,
  MLXPACK_UNSUPPORTED = 3,
  MLXPACK_INVALID_ARGUMENT = 4,
  MLXPACK_IO_ERROR = 5,
} mlxpack_status;

typedef enum mlxpack_verify_mode {
  MLXPACK_VERIFY_NONE = 0,
  MLXPACK_VERIFY_LAZY = 1,
  MLXPACK_VERIFY_AT_OPEN = 2,
} mlxpack_verify_mode;

typedef enum mlxpack_entry_type {
  MLXPACK_ENTRY_TENSOR = 0,
  MLXPACK_ENTRY_FILE = 1,
  MLXPACK_ENTRY_SOURCE = 2,
} mlxpack_entry_type;

typedef struct mlxpack_reader mlxpack_reader;

typedef struct mlxpack_tensor {
  const char* name; /* NUL-terminated, valid until mlxpack_close */
  int dtype;        /* a code of spec/FORMAT.md §6.2 (mlxpack::DType) */
  uint32_t rank;
  uint64_t shape[8];
  const void* data; /* in the mapping; aligned to the file's alignment */
  uint64_t size_bytes;
} mlxpack_tensor;

const char* mlxpack_last_error(void);
int mlxpack_last_format_error(void);

mlxpack_status mlxpack_open(const char* path, mlxpack_verify_mode verify, mlxpack_reader** out);
void mlxpack_close(mlxpack_reader* reader); /* NULL is allowed */

uint64_t mlxpack_entry_count(const mlxpack_reader* reader);
/* REQUIRES: index < mlxpack_entry_count(). */
mlxpack_status mlxpack_entry(const mlxpack_reader* reader, uint64_t index, mlxpack_entry_type* type,
                             const char** name);

mlxpack_status mlxpack_tensor_get(const mlxpack_reader* reader, const char* name, mlxpack_tensor* out);

/* A bundled file's bytes in a buffer the caller frees with mlxpack_free. */
mlxpack_status mlxpack_file_get(const mlxpack_reader* reader, const char* name, void** data, size_t* size);
void mlxpack_free(void* data);

/* MLXPACK_OK if every entry named `name` is sound. */
mlxpack_status mlxpack_verify(const mlxpack_reader* reader, const char* name);

/* Checks everything on `threads` threads (0 = all). Calls on_corrupt (may be
 * NULL) once per corrupt entry and stores their number in *n_corrupt. */
mlxpack_status mlxpack_verify_all(const mlxpack_reader* reader, unsigned threads,
                                  void (*on_corrupt)(void* user, const char* name, const char* reason),
                                  void* user, uint64_t* n_corrupt);

#ifdef __cplusplus
}
#endif

#endif /* MLXPACK_C_API_H_ */
