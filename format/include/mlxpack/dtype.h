// Element types of tensors, with the codes spec/FORMAT.md §6.2 assigns them.
// Codes are stable and stored in files; new types take new codes.
// This header is C++17 so downstream runtimes can include it.
#ifndef MLXPACK_DTYPE_H_
#define MLXPACK_DTYPE_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "mlxpack/export.h"

namespace mlxpack {

enum class DType : uint8_t {
  kBool = 1,
  kU8 = 2,
  kI8 = 3,
  kU16 = 4,
  kI16 = 5,
  kU32 = 6,
  kI32 = 7,
  kU64 = 8,
  kI64 = 9,
  kF16 = 10,
  kBF16 = 11,
  kF32 = 12,
  kF64 = 13,
  kF8E4M3 = 14,
  kF8E5M2 = 15,
};

// The largest code this build knows.
inline constexpr uint8_t kMaxDTypeCode = 15;

// Size of one element in bytes; 0 for a code this build does not know.
MLXPACK_API uint32_t dtype_size_bytes(DType dtype);

// The safetensors spelling ("F32", "BF16", "F8_E4M3", ...); "?" if unknown.
MLXPACK_API const char* dtype_name(DType dtype);

// Parses a safetensors dtype string; nullopt when not supported.
MLXPACK_API std::optional<DType> dtype_from_name(std::string_view name);

// True when `code` is one of the codes above.
MLXPACK_API bool dtype_code_is_known(uint8_t code);

}  // namespace mlxpack

#endif  // MLXPACK_DTYPE_H_
