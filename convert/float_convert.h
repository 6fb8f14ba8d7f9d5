// Element-wise reads and writes of little-endian tensors of any float dtype
// (the 16-bit conversions are format/half.h's).
#ifndef MLXPACK_CONVERT_FLOAT_CONVERT_H_
#define MLXPACK_CONVERT_FLOAT_CONVERT_H_

#include <cstdint>

#include "format/half.h"
#include "mlxpack/dtype.h"

namespace mlxpack {

bool is_float_dtype(DType dtype);  // F16, BF16, F32, F64

// Element i of a little-endian tensor of a float dtype, as float32
// (F64 is rounded to nearest). REQUIRES: is_float_dtype(dtype).
float load_float(const uint8_t* data, DType dtype, uint64_t i);
// Stores v as element i; returns false when a finite v became infinite.
bool store_float(uint8_t* data, DType dtype, uint64_t i, float v);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_FLOAT_CONVERT_H_
