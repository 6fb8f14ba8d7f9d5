#include "convert/gguf/gguf_blocks.h"

#include <cmath>
#include <cstring>

#include "convert/affine_quant.h"
#include "format/byte_order.h"
#include "format/half.h"

namespace mlxpack {

namespace {

constexpr int kBlock = 32;

// One block's unsigned values and its group's scale and bias.
struct Group {
  uint8_t q[kBlock];
  float scale;
  float bias;
};

void low_high_nibbles(const uint8_t* qs, uint8_t* q) {
  for (int j = 0; j < 16; ++j) {
    q[j] = qs[j] & 0x0f;
    q[j + 16] = qs[j] >> 4;
  }
}

// The fifth bits: bit j of qh belongs to value j.
void add_high_bits(uint32_t qh, uint8_t* q) {
  for (int j = 0; j < kBlock; ++j) q[j] |= static_cast<uint8_t>(((qh >> j) & 1) << 4);
}

void decode_block(uint32_t type, const uint8_t* b, Group* g) {
  const float d = f16_to_f32(load_le16(b));
  switch (type) {
    case kGgmlQ4_0:  // d, qs[16]
      low_high_nibbles(b + 2, g->q);
      g->scale = d, g->bias = -8 * d;
      break;
    case kGgmlQ4_1:  // d, m, qs[16]
      low_high_nibbles(b + 4, g->q);
      g->scale = d, g->bias = f16_to_f32(load_le16(b + 2));
      break;
    case kGgmlQ5_0:  // d, qh[4], qs[16]
      low_high_nibbles(b + 6, g->q);
      add_high_bits(load_le32(b + 2), g->q);
      g->scale = d, g->bias = -16 * d;
      break;
    case kGgmlQ5_1:  // d, m, qh[4], qs[16]
      low_high_nibbles(b + 8, g->q);
      add_high_bits(load_le32(b + 4), g->q);
      g->scale = d, g->bias = f16_to_f32(load_le16(b + 2));
      break;
    case kGgmlQ8_0:  // d, qs[32] signed
      for (int j = 0; j < kBlock; ++j) g->q[j] = static_cast<uint8_t>(static_cast<int8_t>(b[2 + j]) + 128);
      g->scale = d, g->bias = -128 * d;
      break;
    default:
      break;
  }
}

// x as float16 bits, or nullopt if float16 does not hold it exactly.
std::optional<uint16_t> exact_f16(float x) {
  const uint16_t h = f32_to_f16(x);
  const float back = f16_to_f32(h);
  if (back == x || (std::isnan(x) && std::isnan(back))) return h;
  return std::nullopt;
}

std::vector<uint64_t> reversed(const std::vector<uint64_t>& dims) { return {dims.rbegin(), dims.rend()}; }

Result<ImportedTensor> import_blocks(const GgufTensorInfo& t, const uint8_t* data,
                                     const std::vector<uint64_t>& rows_from, GgufAffineForm form,
                                     const std::string& file) {
  const GgmlType* type = ggml_type(t.type);
  const uint64_t cols = t.dims[0], rows = t.rows();
  const uint64_t blocks = cols / kBlock;
  const uint64_t row_in = blocks * type->type_size;
  const uint64_t row_out = cols * form.bits / 8;
  ImportedTensor out;
  out.quantized = true;
  out.form = form;
  out.dtype = DType::kF16;
  out.shape = reversed(t.dims);
  out.data.assign(rows * row_out, '\0');
  out.scales.assign(rows * blocks * 2, '\0');
  out.biases.assign(rows * blocks * 2, '\0');
  std::vector<uint8_t> q(cols);
  Group g;
  for (uint64_t r = 0; r < rows; ++r) {
    const uint8_t* src = data + (rows_from.empty() ? r : rows_from[r]) * row_in;
    auto* scales = reinterpret_cast<uint8_t*>(out.scales.data()) + r * blocks * 2;
    auto* biases = reinterpret_cast<uint8_t*>(out.biases.data()) + r * blocks * 2;
    for (uint64_t b = 0; b < blocks; ++b) {
      decode_block(t.type, src + b * type->type_size, &g);
      std::memcpy(q.data() + b * kBlock, g.q, kBlock);
      const std::optional<uint16_t> s = exact_f16(g.scale), z = exact_f16(g.bias);
      if (!s || !z) {
        return Status::invalid_argument(file + ": tensor " + t.name + ", row " + std::to_string(r) + ", block " +
                                        std::to_string(b) + ": its scale " + std::to_string(g.scale) + " and bias " +
                                        std::to_string(g.bias) + " do not both fit in float16");
      }
      store_le16(scales + 2 * b, *s);
      store_le16(biases + 2 * b, *z);
    }
    pack_affine_row(q.data(), cols, form.bits, reinterpret_cast<uint8_t*>(out.data.data()) + r * row_out);
  }
  return out;
}

}  // namespace

std::optional<GgufAffineForm> gguf_affine_form(uint32_t ggml_type) {
  switch (ggml_type) {
    case kGgmlQ4_0: case kGgmlQ4_1: return GgufAffineForm{4, kBlock};
    case kGgmlQ5_0: case kGgmlQ5_1: return GgufAffineForm{5, kBlock};
    case kGgmlQ8_0: return GgufAffineForm{8, kBlock};
    default: return std::nullopt;
  }
}

std::optional<DType> gguf_float_dtype(uint32_t ggml_type) {
  switch (ggml_type) {
    case kGgmlF32: return DType::kF32;
    case kGgmlF16: return DType::kF16;
    case kGgmlBF16: return DType::kBF16;
    default: return std::nullopt;
  }
}

Result<ImportedTensor> import_gguf_tensor(const GgufTensorInfo& t, std::string bytes,
                                          const std::vector<uint64_t>& rows_from, const std::string& file) {
  if (std::optional<GgufAffineForm> form = gguf_affine_form(t.type)) {
    if (t.dims.size() < 2) {
      return Status::unsupported(file + ": tensor " + t.name + " is a 1-D " + ggml_type(t.type)->name +
                                 " tensor; only matrices are imported from block types");
    }
    return import_blocks(t, reinterpret_cast<const uint8_t*>(bytes.data()), rows_from, *form, file);
  }
  const std::optional<DType> dtype = gguf_float_dtype(t.type);
  if (!dtype) {
    return Status::unsupported(file + ": tensor " + t.name + " has type " + ggml_type(t.type)->name +
                               ", which is not imported (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 are)");
  }
  ImportedTensor out;
  out.dtype = *dtype;
  out.shape = reversed(t.dims);
  if (rows_from.empty()) {
    out.data = std::move(bytes);
    return out;
  }
  const uint64_t rows = rows_from.size();
  const uint64_t row_bytes = t.size_bytes / rows;
  out.data.resize(t.size_bytes);
  for (uint64_t r = 0; r < rows; ++r) {
    std::memcpy(out.data.data() + r * row_bytes, bytes.data() + rows_from[r] * row_bytes, row_bytes);
  }
  return out;
}

}  // namespace mlxpack
