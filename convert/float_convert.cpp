#include "convert/float_convert.h"

#include <cmath>
#include <cstring>

#include "format/byte_order.h"

namespace mlxpack {

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
