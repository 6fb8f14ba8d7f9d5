// Conversions between float32 and the 16-bit float formats, bit-exact with
// IEEE 754 round-to-nearest-even (what MLX, PyTorch and numpy do), and
// element-wise reads and writes of little-endian tensors of any float dtype.
#ifndef MLXPACK_CONVERT_FLOAT_CONVERT_H_
#define MLXPACK_CONVERT_FLOAT_CONVERT_H_

#include <cstdint>
#include <cstring>

#include "mlxpack/dtype.h"

namespace mlxpack {

inline float f32_from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint32_t f32_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

inline float bf16_to_f32(uint16_t h) { return f32_from_bits(static_cast<uint32_t>(h) << 16); }

// Round to nearest even; NaN stays NaN (quiet), overflow becomes infinity.
inline uint16_t f32_to_bf16(float f) {
  const uint32_t bits = f32_to_bits(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // NaN
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);  // round to nearest even, subnormals, overflow to infinity

bool is_float_dtype(DType dtype);  // F16, BF16, F32, F64

// Element i of a little-endian tensor of a float dtype, as float32
// (F64 is rounded to nearest). REQUIRES: is_float_dtype(dtype).
float load_float(const uint8_t* data, DType dtype, uint64_t i);
// Stores v as element i; returns false when a finite v became infinite.
bool store_float(uint8_t* data, DType dtype, uint64_t i, float v);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_FLOAT_CONVERT_H_
