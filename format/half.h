// float32 <-> float16 and bfloat16, the one conversion the converter and
// the portable kernels share. Round to nearest even, overflow to infinity,
// subnormal halves kept, and one NaN rule for both formats: a NaN stays a
// quiet NaN keeping its top payload bits (what x86's F16C and the usual
// bfloat16 truncation do), so the SIMD kernels and these agree bit for bit.
#ifndef MLXPACK_FORMAT_HALF_H_
#define MLXPACK_FORMAT_HALF_H_

#include <cstdint>
#include <cstring>

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

inline uint16_t f32_to_bf16(float f) {
  const uint32_t bits = f32_to_bits(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // NaN
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float32
    const float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  if (exp == 31) return f32_from_bits(sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0u));  // inf / quiet NaN
  return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

inline uint16_t f32_to_f16(float f) {
  const uint32_t x = f32_to_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: infinity
  uint32_t h, rem, half;
  if (a >= 0x38800000u) {  // normal half: rebias the exponent, drop 13 bits
    h = (a >> 13) - (112u << 10);
    rem = a & 0x1fffu;
    half = 0x1000u;
  } else {
    if (a < 0x33000000u) return sign;  // below 2^-25 (a tie at 2^-25 goes to even 0)
    // Subnormal half: units of 2^-24; value = mant * 2^(e - 150).
    const uint32_t e = a >> 23, mant = (a & 0x7fffffu) | 0x800000u, shift = 126 - e;
    h = mant >> shift;
    rem = mant & ((1u << shift) - 1);
    half = 1u << (shift - 1);
  }
  if (rem > half || (rem == half && (h & 1u))) ++h;  // a carry into the exponent is still right
  return static_cast<uint16_t>(sign | h);
}

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_HALF_H_
