#include "convert/float_convert.h"

#include <cmath>

#include "format/byte_order.h"

namespace mlxpack {

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in float32.
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return f32_from_bits(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_f16(float f) {
  const uint32_t bits = f32_to_bits(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: infinity
  if (abs < 0x38800000u) {
    // Result is subnormal (or zero) in half: value / 2^-24, rounded to nearest even.
    const float scaled = f32_from_bits(abs) * 16777216.0f;  // exact: power of two
    const float r = std::nearbyint(scaled);                  // default rounding mode: ties to even
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(r));
  }
  // Normal: rebias the exponent and round the 13 dropped mantissa bits to even.
  const uint32_t rebased = abs - (112u << 23);
  const uint32_t rounded = rebased + 0xfffu + ((rebased >> 13) & 1u);
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

bool is_float_dtype(DType dtype) {
  return dtype == DType::kF16 || dtype == DType::kBF16 || dtype == DType::kF32 || dtype == DType::kF64;
}

float load_float(const uint8_t* data, DType dtype, uint64_t i) {
  switch (dtype) {
    case DType::kF16: return f16_to_f32(load_le16(data + 2 * i));
    case DType::kBF16: return bf16_to_f32(load_le16(data + 2 * i));
    case DType::kF32: return f32_from_bits(load_le32(data + 4 * i));
    case DType::kF64: {
      double d;
      const uint64_t bits = load_le64(data + 8 * i);
      std::memcpy(&d, &bits, 8);
      return static_cast<float>(d);
    }
    default: return 0.0f;
  }
}

bool store_float(uint8_t* data, DType dtype, uint64_t i, float v) {
  float stored = v;
  switch (dtype) {
    case DType::kF16: {
      const uint16_t h = f32_to_f16(v);
      store_le16(data + 2 * i, h);
      stored = f16_to_f32(h);
      break;
    }
    case DType::kBF16: {
      const uint16_t h = f32_to_bf16(v);
      store_le16(data + 2 * i, h);
      stored = bf16_to_f32(h);
      break;
    }
    case DType::kF32: store_le32(data + 4 * i, f32_to_bits(v)); break;
    case DType::kF64: {
      const double d = v;
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      store_le64(data + 8 * i, bits);
      break;
    }
    default: return true;
  }
  return !(std::isinf(stored) && std::isfinite(v));
}

}  // namespace mlxpack
