/* Which declarations the mlxpack libraries export.
 *
 * The libraries are built with hidden visibility: only what a public header
 * marks MLXPACK_API is part of the ABI, so internal code, nlohmann, xxhash
 * and Oniguruma never appear in the shared library's symbol table. C99 and
 * C++17. */
#ifndef MLXPACK_EXPORT_H_
#define MLXPACK_EXPORT_H_

#if defined(__GNUC__) || defined(__clang__)
#define MLXPACK_API __attribute__((visibility("default")))
/* Private members of an exported class: kept out of the ABI. */
#define MLXPACK_LOCAL __attribute__((visibility("hidden")))
#else
#define MLXPACK_API
#define MLXPACK_LOCAL
#endif

#endif /* MLXPACK_EXPORT_H_ */
