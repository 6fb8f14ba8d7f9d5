#include "convert/gguf/gguf_blocks.h"

#include <cmath>
#include <cstring>

#include "convert/affine_quant.h"
#include "format/byte_order.h"
#include "format/half.h"

namespace mlxpack {

namespace {

constexpr int kBlock = 32;
constexpr int kSuper = 256;

// One ggml block's unsigned values and its groups' scales and biases.
struct Decoded {
  uint8_t q[kSuper];
  float scale[kSuper / 16];
  float bias[kSuper / 16];
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

void decode_legacy(uint32_t type, const uint8_t* b, Decoded* g) {
  const float d = f16_to_f32(load_le16(b));
  g->scale[0] = d;
  switch (type) {
    case kGgmlQ4_0:  // d, qs[16]
      low_high_nibbles(b + 2, g->q);
      g->bias[0] = -8 * d;
      break;
    case kGgmlQ4_1:  // d, m, qs[16]
      low_high_nibbles(b + 4, g->q);
      g->bias[0] = f16_to_f32(load_le16(b + 2));
      break;
    case kGgmlQ5_0:  // d, qh[4], qs[16]
      low_high_nibbles(b + 6, g->q);
      add_high_bits(load_le32(b + 2), g->q);
      g->bias[0] = -16 * d;
      break;
    case kGgmlQ5_1:  // d, m, qh[4], qs[16]
      low_high_nibbles(b + 8, g->q);
      add_high_bits(load_le32(b + 4), g->q);
      g->bias[0] = f16_to_f32(load_le16(b + 2));
      break;
    default:  // Q8_0: d, qs[32] signed
      for (int j = 0; j < kBlock; ++j) g->q[j] = static_cast<uint8_t>(static_cast<int8_t>(b[2 + j]) + 128);
      g->bias[0] = -128 * d;
      break;
  }
}

// ggml's get_scale_min_k4: sub-block j's 6-bit scale and min of Q4_K/Q5_K.
void scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Q4_K (d, dmin, scales[12], qs[128]) and Q5_K (... qh[32] before qs).
void decode_q45_k(const uint8_t* b, bool five, Decoded* g) {
  const float d = f16_to_f32(load_le16(b)), dmin = f16_to_f32(load_le16(b + 2));
  const uint8_t* sc = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + (five ? 48 : 16);
  for (int j = 0; j < 4; ++j) {  // 64 values: two groups, low then high nibbles
    for (int h = 0; h < 2; ++h) {
      uint8_t s, m;
      scale_min_k4(2 * j + h, sc, &s, &m);
      g->scale[2 * j + h] = d * s;
      g->bias[2 * j + h] = -(dmin * m);
      const int bit = 2 * j + h;  // Q5_K's high bit of these 32 values
      for (int l = 0; l < 32; ++l) {
        uint8_t v = h == 0 ? qs[32 * j + l] & 0x0F : qs[32 * j + l] >> 4;
        if (five) v = static_cast<uint8_t>(v | (((qh[l] >> bit) & 1) << 4));
        g->q[64 * j + 32 * h + l] = v;
      }
    }
  }
}

// Q6_K: ql[128], qh[64], int8 scales[16], d; groups of 16.
void decode_q6_k(const uint8_t* b, Decoded* g) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = f16_to_f32(load_le16(b + 208));
  for (int n = 0; n < 2; ++n, ql += 64, qh += 32) {  // 128 values each
    for (int l = 0; l < 32; ++l) {
      uint8_t* q = g->q + 128 * n + l;
      q[0] = static_cast<uint8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4));
      q[32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
      q[64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      q[96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
  }
  for (int k = 0; k < 16; ++k) {
    g->scale[k] = d * sc[k];
    g->bias[k] = -32 * g->scale[k];
  }
}

// Q3_K: hmask[32], qs[64], scales[12] (6-bit, packed), d; groups of 16.
void decode_q3_k(const uint8_t* b, Decoded* g) {
  const uint8_t* hm = b;
  const uint8_t* qs = b + 32;
  const float d = f16_to_f32(load_le16(b + 108));
  uint32_t aux[4] = {load_le32(b + 96), load_le32(b + 100), load_le32(b + 104), 0};
  constexpr uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
  const uint32_t tmp = aux[2];
  aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
  aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
  aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
  aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
  for (int k = 0; k < 16; ++k) {
    const int sc = static_cast<int>((aux[k / 4] >> (8 * (k % 4))) & 0xff) - 32;
    g->scale[k] = d * static_cast<float>(sc);
    g->bias[k] = -4 * g->scale[k];
  }
  int group = 0;
  for (int n = 0; n < 2; ++n) {
    const uint8_t* q = qs + 32 * n;
    for (int j = 0; j < 4; ++j) {
      const int shift = 2 * j;
      const uint8_t m = static_cast<uint8_t>(1u << (4 * n + j));
      for (int half = 0; half < 2; ++half, ++group) {
        for (int l = 0; l < 16; ++l) {
          const int i = l + 16 * half;
          g->q[16 * group + l] = static_cast<uint8_t>(((q[i] >> shift) & 3) + ((hm[i] & m) ? 4 : 0));
        }
      }
    }
  }
}

// Q2_K: scales[16] (4-bit scale, 4-bit min), qs[64], d, dmin; groups of 16.
void decode_q2_k(const uint8_t* b, Decoded* g) {
  const uint8_t* sc = b;
  const uint8_t* qs = b + 16;
  const float d = f16_to_f32(load_le16(b + 80)), dmin = f16_to_f32(load_le16(b + 82));
  for (int k = 0; k < 16; ++k) {
    g->scale[k] = d * static_cast<float>(sc[k] & 0xF);
    g->bias[k] = -(dmin * static_cast<float>(sc[k] >> 4));
  }
  int group = 0;
  for (int n = 0; n < 2; ++n) {
    const uint8_t* q = qs + 32 * n;
    for (int j = 0; j < 4; ++j) {
      for (int half = 0; half < 2; ++half, ++group) {
        for (int l = 0; l < 16; ++l) g->q[16 * group + l] = (q[l + 16 * half] >> (2 * j)) & 3;
      }
    }
  }
}

void decode_block(uint32_t type, const uint8_t* b, Decoded* g) {
  switch (type) {
    case kGgmlQ4_K: decode_q45_k(b, false, g); break;
    case kGgmlQ5_K: decode_q45_k(b, true, g); break;
    case kGgmlQ6_K: decode_q6_k(b, g); break;
    case kGgmlQ3_K: decode_q3_k(b, g); break;
    case kGgmlQ2_K: decode_q2_k(b, g); break;
    default: decode_legacy(type, b, g); break;
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
  const uint64_t blocks = cols / type->block_size;
  const uint64_t groups_per_block = type->block_size / form.group_size;
  const uint64_t groups = cols / form.group_size;
  const uint64_t param_bytes = dtype_size_bytes(form.params);
  const uint64_t row_in = blocks * type->type_size;
  const uint64_t row_out = cols * form.bits / 8;
  ImportedTensor out;
  out.quantized = true;
  out.form = form;
  out.dtype = form.params;
  out.shape = reversed(t.dims);
  out.data.assign(rows * row_out, '\0');
  out.scales.assign(rows * groups * param_bytes, '\0');
  out.biases.assign(rows * groups * param_bytes, '\0');
  std::vector<uint8_t> q(cols);
  Decoded g;
  for (uint64_t r = 0; r < rows; ++r) {
    const uint8_t* src = data + (rows_from.empty() ? r : rows_from[r]) * row_in;
    auto* scales = reinterpret_cast<uint8_t*>(out.scales.data()) + r * groups * param_bytes;
    auto* biases = reinterpret_cast<uint8_t*>(out.biases.data()) + r * groups * param_bytes;
    for (uint64_t b = 0; b < blocks; ++b) {
      decode_block(t.type, src + b * type->type_size, &g);
      std::memcpy(q.data() + b * type->block_size, g.q, type->block_size);
      for (uint64_t k = 0; k < groups_per_block; ++k) {
        const uint64_t at = b * groups_per_block + k;
        if (form.params == DType::kF32) {
          store_le32(scales + 4 * at, f32_to_bits(g.scale[k]));
          store_le32(biases + 4 * at, f32_to_bits(g.bias[k]));
          continue;
        }
        const std::optional<uint16_t> s = exact_f16(g.scale[k]), z = exact_f16(g.bias[k]);
        if (!s || !z) {
          return Status::invalid_argument(file + ": tensor " + t.name + ", row " + std::to_string(r) + ", block " +
                                          std::to_string(b) + ": its scale " + std::to_string(g.scale[k]) +
                                          " and bias " + std::to_string(g.bias[k]) + " do not both fit in float16");
        }
        store_le16(scales + 2 * at, *s);
        store_le16(biases + 2 * at, *z);
      }
    }
    pack_affine_row(q.data(), cols, form.bits, reinterpret_cast<uint8_t*>(out.data.data()) + r * row_out);
  }
  return out;
}

// The types with no affine form that --dequantize-unsupported turns into
// floats, one block into 32 or 256 values as ggml's dequantize_row_* do.
constexpr uint32_t kIq4Nl = 20, kIq4Xs = 23, kMxfp4 = 39;
constexpr int8_t kValuesIq4Nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
constexpr int8_t kValuesMxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

float e8m0_half(uint8_t x) {  // 2^(x - 128)
  return f32_from_bits(x < 2 ? 0x00200000u << x : static_cast<uint32_t>(x - 1) << 23);
}

void table_halves(const int8_t* table, const uint8_t* qs, float d, float* y) {
  for (int j = 0; j < 16; ++j) {
    y[j] = d * table[qs[j] & 0x0f];
    y[j + 16] = d * table[qs[j] >> 4];
  }
}

void dequantize_block(uint32_t type, const uint8_t* b, Decoded* g, float* y) {
  switch (type) {
    case kIq4Nl:  // d, qs[16]
      table_halves(kValuesIq4Nl, b + 2, f16_to_f32(load_le16(b)), y);
      return;
    case kMxfp4:  // e, qs[16]
      for (int j = 0; j < 16; ++j) {
        y[j] = kValuesMxfp4[b[1 + j] & 0x0f] * e8m0_half(b[0]);
        y[j + 16] = kValuesMxfp4[b[1 + j] >> 4] * e8m0_half(b[0]);
      }
      return;
    case kIq4Xs: {  // d, scales_h, scales_l[4], qs[128]
      const float d = f16_to_f32(load_le16(b));
      const uint16_t scales_h = load_le16(b + 2);
      for (int ib = 0; ib < 8; ++ib) {
        const int ls = ((b[4 + ib / 2] >> (4 * (ib % 2))) & 0xf) | (((scales_h >> (2 * ib)) & 3) << 4);
        table_halves(kValuesIq4Nl, b + 8 + 16 * ib, d * static_cast<float>(ls - 32), y + 32 * ib);
      }
      return;
    }
    default: {
      const GgmlType* t = ggml_type(type);
      const int group = gguf_affine_form(type)->group_size;
      decode_block(type, b, g);
      for (uint32_t i = 0; i < t->block_size; ++i) y[i] = g->scale[i / group] * static_cast<float>(g->q[i]) + g->bias[i / group];
      return;
    }
  }
}

}  // namespace

bool gguf_can_dequantize(uint32_t ggml_type) {
  return gguf_affine_form(ggml_type) || ggml_type == kIq4Nl || ggml_type == kIq4Xs || ggml_type == kMxfp4;
}

Result<ImportedTensor> dequantize_gguf_tensor(const GgufTensorInfo& t, const std::string& bytes,
                                              const std::vector<uint64_t>& rows_from, DType dtype,
                                              const std::string& file) {
  const GgmlType* type = ggml_type(t.type);
  if (!gguf_can_dequantize(t.type)) {
    return Status::unsupported(file + ": tensor " + t.name + " has type " + type->name +
                               ", which mlxpack cannot dequantize (the IQ1/IQ2/IQ3 and TQ types)");
  }
  const uint64_t cols = t.dims[0], rows = t.rows(), blocks = cols / type->block_size;
  ImportedTensor out;
  out.dtype = dtype;
  out.shape = reversed(t.dims);
  out.data.assign(rows * cols * dtype_size_bytes(dtype), '\0');
  auto* dst = reinterpret_cast<uint8_t*>(out.data.data());
  std::vector<float> row(cols);
  Decoded g;
  for (uint64_t r = 0; r < rows; ++r) {
    const auto* src = reinterpret_cast<const uint8_t*>(bytes.data()) +
                      (rows_from.empty() ? r : rows_from[r]) * blocks * type->type_size;
    for (uint64_t b = 0; b < blocks; ++b) {
      dequantize_block(t.type, src + b * type->type_size, &g, row.data() + b * type->block_size);
    }
    for (uint64_t i = 0; i < cols; ++i) {
      const uint64_t at = r * cols + i;
      if (dtype == DType::kF32) store_le32(dst + 4 * at, f32_to_bits(row[i]));
      else store_le16(dst + 2 * at, dtype == DType::kF16 ? f32_to_f16(row[i]) : f32_to_bf16(row[i]));
    }
  }
  return out;
}

std::optional<GgufAffineForm> gguf_affine_form(uint32_t ggml_type) {
  switch (ggml_type) {
    case kGgmlQ4_0: case kGgmlQ4_1: return GgufAffineForm{4, kBlock};
    case kGgmlQ5_0: case kGgmlQ5_1: return GgufAffineForm{5, kBlock};
    case kGgmlQ8_0: return GgufAffineForm{8, kBlock};
    case kGgmlQ4_K: return GgufAffineForm{4, 32, DType::kF32};
    case kGgmlQ5_K: return GgufAffineForm{5, 32, DType::kF32};
    case kGgmlQ6_K: return GgufAffineForm{6, 16, DType::kF32};
    case kGgmlQ3_K: return GgufAffineForm{3, 16, DType::kF32};
    case kGgmlQ2_K: return GgufAffineForm{2, 16, DType::kF32};
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
                               ", which is not imported (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K-Q6_K are)");
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
