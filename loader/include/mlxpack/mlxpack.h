/* The mlxpack C API: open a .mlxpack file and read its tensors in place.
 * C99. For programs in C and for other languages' FFIs (Python ctypes, Rust,
 * Swift, ...). Generation through C is in mlxpack/mlxpack_runtime.h.
 *
 * Errors. Every function that can fail returns an mlxpack_status. On failure,
 * mlxpack_last_error() returns a message naming the file, the field, the value
 * and the limit, and mlxpack_last_format_error() the rule of spec/FORMAT.md §9
 * broken (an mlxpack_error_rule; MLXPACK_RULE_NONE if none). Both are per
 * thread and stay valid until the next failing call on the same thread. No
 * C++ exception leaves a function of this API.
 *
 * Threads. A reader may be used from many threads at once, except that
 * mlxpack_close must not run concurrently with any other use of it.
 *
 * Lifetime. Everything a reader hands out (names, tensor data) stays valid
 * until mlxpack_close. Tensor data points into a read-only mapping of the
 * file: it is const, and writing through it faults. Bytes returned in a
 * buffer (mlxpack_file_get) belong to the caller, who frees them with
 * mlxpack_free.
 *
 * Stability. Functions, enum values and struct layouts of this header change
 * incompatibly only with a new ABI version (MLXPACK_ABI_VERSION, the
 * shared library's SONAME). Enum values are the numbers of spec/FORMAT.md. */
#ifndef MLXPACK_C_API_H_
#define MLXPACK_C_API_H_

#include <stddef.h>
#include <stdint.h>

#include "mlxpack/export.h"
#include "mlxpack/version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mlxpack_status {
  MLXPACK_OK = 0,
  MLXPACK_NOT_FOUND = 1,         /* not an mlxpack file, or no such entry */
  MLXPACK_CORRUPTION = 2,        /* an mlxpack file that breaks a rule of the spec */
  MLXPACK_UNSUPPORTED = 3,       /* a newer format version or feature */
  MLXPACK_INVALID_ARGUMENT = 4,  /* a bad argument, option or input */
  MLXPACK_IO_ERROR = 5,          /* the OS refused a read or memory; a path that does not exist */
} mlxpack_status;

typedef enum mlxpack_verify_mode {
  MLXPACK_VERIFY_NONE = 0,     /* structure only; verify on demand */
  MLXPACK_VERIFY_LAZY = 1,     /* each tensor's checksum on its first mlxpack_tensor_get */
  MLXPACK_VERIFY_AT_OPEN = 2,  /* every checksum before mlxpack_open returns */
} mlxpack_verify_mode;

/* Entry kinds: spec/FORMAT.md §6.1 `kind`. */
typedef enum mlxpack_entry_type {
  MLXPACK_ENTRY_TENSOR = 1,
  MLXPACK_ENTRY_FILE = 2,
  MLXPACK_ENTRY_SOURCE = 3,
} mlxpack_entry_type;

/* Tensor dtypes: spec/FORMAT.md §6.2 codes. */
typedef enum mlxpack_dtype {
  MLXPACK_DTYPE_BOOL = 1,
  MLXPACK_DTYPE_U8 = 2,
  MLXPACK_DTYPE_I8 = 3,
  MLXPACK_DTYPE_U16 = 4,
  MLXPACK_DTYPE_I16 = 5,
  MLXPACK_DTYPE_U32 = 6,
  MLXPACK_DTYPE_I32 = 7,
  MLXPACK_DTYPE_U64 = 8,
  MLXPACK_DTYPE_I64 = 9,
  MLXPACK_DTYPE_F16 = 10,
  MLXPACK_DTYPE_BF16 = 11,
  MLXPACK_DTYPE_F32 = 12,
  MLXPACK_DTYPE_F64 = 13,
  MLXPACK_DTYPE_F8_E4M3 = 14,
  MLXPACK_DTYPE_F8_E5M2 = 15,
} mlxpack_dtype;

/* The rules of spec/FORMAT.md §9, by their codes. */
typedef enum mlxpack_error_rule {
  MLXPACK_RULE_NONE = 0,
  MLXPACK_RULE_BAD_MAGIC = 1,
  MLXPACK_RULE_UNSUPPORTED_VERSION = 2,
  MLXPACK_RULE_BAD_SUPERBLOCK_SIZE = 3,
  MLXPACK_RULE_SUPERBLOCK_CHECKSUM = 4,
  MLXPACK_RULE_UNKNOWN_REQUIRED_FEATURE = 5,
  MLXPACK_RULE_SUPERBLOCK_RESERVED = 6,
  MLXPACK_RULE_BAD_ALIGNMENT = 7,
  MLXPACK_RULE_BAD_CHECKSUM_ALGORITHM = 8,
  MLXPACK_RULE_FILE_SIZE_MISMATCH = 9,
  MLXPACK_RULE_TRAILER_MISMATCH = 10,
  MLXPACK_RULE_INDEX_OUT_OF_BOUNDS = 11,
  MLXPACK_RULE_INDEX_CHECKSUM = 12,
  MLXPACK_RULE_BAD_INDEX_MAGIC = 13,
  MLXPACK_RULE_BAD_ENTRY_SIZE = 14,
  MLXPACK_RULE_TOO_MANY_ENTRIES = 15,
  MLXPACK_RULE_INDEX_SIZE_MISMATCH = 16,
  MLXPACK_RULE_INDEX_RESERVED = 17,
  MLXPACK_RULE_BAD_ENTRY_KIND = 18,
  MLXPACK_RULE_ENTRY_RESERVED = 19,
  MLXPACK_RULE_BAD_NAME = 20,
  MLXPACK_RULE_BAD_PATH = 21,
  MLXPACK_RULE_UNSORTED_OR_DUPLICATE = 22,
  MLXPACK_RULE_BAD_DTYPE = 23,
  MLXPACK_RULE_BAD_RANK = 24,
  MLXPACK_RULE_SHAPE_SIZE_MISMATCH = 25,
  MLXPACK_RULE_BAD_ENCODING = 26,
  MLXPACK_RULE_BAD_ORIGINAL_SIZE = 27,
  MLXPACK_RULE_BAD_SOURCE_INDEX = 28,
  MLXPACK_RULE_SOURCE_SIZE_MISMATCH = 29,
  MLXPACK_RULE_ENTRY_OUT_OF_BOUNDS = 30,
  MLXPACK_RULE_MISALIGNED = 31,
  MLXPACK_RULE_OVERLAP_OR_HOLE = 32,
  MLXPACK_RULE_CHECKSUM_MISMATCH = 33,
  MLXPACK_RULE_NONZERO_PADDING = 34,
  MLXPACK_RULE_BAD_COMPRESSED_DATA = 35,
  MLXPACK_RULE_BAD_SAFETENSORS = 36,
} mlxpack_error_rule;

typedef struct mlxpack_reader mlxpack_reader;

typedef struct mlxpack_tensor {
  const char* name; /* NUL-terminated, valid until mlxpack_close */
  int dtype;        /* an mlxpack_dtype */
  uint32_t rank;
  uint64_t shape[8]; /* shape[0..rank) */
  const void* data; /* in the read-only mapping; aligned to the file's alignment */
  uint64_t size_bytes;
} mlxpack_tensor;

/* This library's version, "MAJOR.MINOR.PATCH" (MLXPACK_VERSION_STRING of the
 * build that made the library, which may be newer than the header). */
MLXPACK_API const char* mlxpack_version(void);
/* The format version it writes; it reads every minor of *major. */
MLXPACK_API void mlxpack_format_version(uint16_t* major, uint16_t* minor);

/* Names as spec/FORMAT.md writes them ("BF16", "F8_E4M3"; "bad_magic"); NULL
 * for a value that is not one of the enum's. */
MLXPACK_API const char* mlxpack_dtype_name(int dtype);
MLXPACK_API uint32_t mlxpack_dtype_size(int dtype); /* bytes per element; 0 if unknown */
MLXPACK_API const char* mlxpack_error_rule_name(int rule);

MLXPACK_API const char* mlxpack_last_error(void);
MLXPACK_API int mlxpack_last_format_error(void); /* an mlxpack_error_rule */

MLXPACK_API mlxpack_status mlxpack_open(const char* path, mlxpack_verify_mode verify, mlxpack_reader** out);
MLXPACK_API void mlxpack_close(mlxpack_reader* reader); /* NULL is allowed */

MLXPACK_API uint64_t mlxpack_entry_count(const mlxpack_reader* reader);
/* Entry `index` in the file's (kind, name) order: tensors first. */
MLXPACK_API mlxpack_status mlxpack_entry(const mlxpack_reader* reader, uint64_t index, mlxpack_entry_type* type,
                                         const char** name);

MLXPACK_API mlxpack_status mlxpack_tensor_get(const mlxpack_reader* reader, const char* name, mlxpack_tensor* out);

/* Where tensor `name`'s bytes start in the file, for a caller that maps the
 * file itself (e.g. copy-on-write, for frameworks without read-only arrays). */
MLXPACK_API mlxpack_status mlxpack_tensor_file_offset(const mlxpack_reader* reader, const char* name,
                                                      uint64_t* offset);

/* A bundled file's bytes in a buffer the caller frees with mlxpack_free. */
MLXPACK_API mlxpack_status mlxpack_file_get(const mlxpack_reader* reader, const char* name, void** data,
                                            size_t* size);
MLXPACK_API void mlxpack_free(void* data);

/* MLXPACK_OK if every entry named `name` is sound. */
MLXPACK_API mlxpack_status mlxpack_verify(const mlxpack_reader* reader, const char* name);

/* Checks everything on `threads` threads (0 = all). Calls on_corrupt (may be
 * NULL) once per corrupt entry and stores their number in *n_corrupt. */
MLXPACK_API mlxpack_status mlxpack_verify_all(const mlxpack_reader* reader, unsigned threads,
                                              void (*on_corrupt)(void* user, const char* name, const char* reason),
                                              void* user, uint64_t* n_corrupt);

#ifdef __cplusplus
}
#endif

#endif /* MLXPACK_C_API_H_ */
