#include "convert/gguf/gguf_quantize.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "format/byte_order.h"
#include "format/gguf.h"
#include "format/half.h"

namespace mlxpack {

namespace {

constexpr int kBlock = 32;

void q8_0_block(const float* x, uint8_t* b) {
  float amax = 0;
  for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  store_le16(b, f32_to_f16(d));
  for (int j = 0; j < kBlock; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(x[j] * id)));
}

void q4_0_block(const float* x, uint8_t* b) {
  float amax = 0, max = 0;
  for (int j = 0; j < kBlock; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -8;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  store_le16(b, f32_to_f16(d));
  for (int j = 0; j < kBlock / 2; ++j) {
    const int x0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
    const int x1 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 8.5f)));
    b[2 + j] = static_cast<uint8_t>(x0 | (x1 << 4));
  }
}

void q4_1_block(const float* x, uint8_t* b) {
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < kBlock; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
  const float d = (max - min) / 15;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  store_le16(b, f32_to_f16(d));
  store_le16(b + 2, f32_to_f16(min));
  for (int j = 0; j < kBlock / 2; ++j) {
    const int x0 = std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - min) * id + 0.5f)));
    const int x1 = std::min(15, static_cast<int>(static_cast<int8_t>((x[j + 16] - min) * id + 0.5f)));
    b[4 + j] = static_cast<uint8_t>(x0 | (x1 << 4));
  }
}

}  // namespace

uint64_t gguf_row_bytes(uint32_t type, uint64_t cols) {
  const GgmlType* t = ggml_type(type);
  return cols / t->block_size * t->type_size;
}

void gguf_encode_row(uint32_t type, const float* x, uint64_t cols, uint8_t* out) {
  switch (type) {
    case kGgmlF32:
      for (uint64_t i = 0; i < cols; ++i) store_le32(out + 4 * i, f32_to_bits(x[i]));
      break;
    case kGgmlF16:
      for (uint64_t i = 0; i < cols; ++i) store_le16(out + 2 * i, f32_to_f16(x[i]));
      break;
    case kGgmlBF16:
      for (uint64_t i = 0; i < cols; ++i) store_le16(out + 2 * i, f32_to_bf16(x[i]));
      break;
    case kGgmlQ8_0:
      for (uint64_t b = 0; b < cols / kBlock; ++b) q8_0_block(x + b * kBlock, out + b * 34);
      break;
    case kGgmlQ4_0:
      for (uint64_t b = 0; b < cols / kBlock; ++b) q4_0_block(x + b * kBlock, out + b * 18);
      break;
    case kGgmlQ4_1:
      for (uint64_t b = 0; b < cols / kBlock; ++b) q4_1_block(x + b * kBlock, out + b * 20);
      break;
    default:
      break;
  }
}

}  // namespace mlxpack
