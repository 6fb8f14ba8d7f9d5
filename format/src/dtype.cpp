#include "mlxpack/dtype.h"

#include <array>

namespace mlxpack {
namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;  // safetensors spelling
  uint32_t size_bytes;
};

constexpr std::array<DTypeInfo, 15> kDTypes = {{
    {DType::kBool, "BOOL", 1},   {DType::kU8, "U8", 1},
    {DType::kI8, "I8", 1},       {DType::kU16, "U16", 2},
    {DType::kI16, "I16", 2},     {DType::kU32, "U32", 4},
    {DType::kI32, "I32", 4},     {DType::kU64, "U64", 8},
    {DType::kI64, "I64", 8},     {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2},   {DType::kF32, "F32", 4},
    {DType::kF64, "F64", 8},     {DType::kF8E4M3, "F8_E4M3", 1},
    {DType::kF8E5M2, "F8_E5M2", 1},
}};

const DTypeInfo* find(DType dtype) {
  for (const auto& info : kDTypes) {
    if (info.dtype == dtype) return &info;
  }
  return nullptr;
}

}  // namespace

uint32_t dtype_size_bytes(DType dtype) {
  const DTypeInfo* info = find(dtype);
  return info ? info->size_bytes : 0;
}

const char* dtype_name(DType dtype) {
  const DTypeInfo* info = find(dtype);
  return info ? info->name : "?";
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& info : kDTypes) {
    if (name == info.name) return info.dtype;
  }
  return std::nullopt;
}

bool dtype_code_is_known(uint8_t code) { return code >= 1 && code <= kMaxDTypeCode; }

}  // namespace mlxpack
