#include "convert/affine_quant.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "convert/float_convert.h"
#include "format/byte_order.h"

namespace mlxpack {

namespace {

// Quantizes one group of `n` floats into `q`; returns the float32 scale and
// bias, before they are rounded to the storage dtype (MLX quantizes with the
// unrounded values).
void quantize_group(const float* w, int n, int bits, uint8_t* q, float* scale_out, float* bias_out) {
  const float n_bins = static_cast<float>((1 << bits) - 1);
  const float eps = 1e-7f;
  float w_max = -INFINITY, w_min = INFINITY;
  for (int i = 0; i < n; ++i) {
    w_max = std::max(w_max, w[i]);
    w_min = std::min(w_min, w[i]);
  }
  const bool mask = std::fabs(w_min) > std::fabs(w_max);
  float scale = std::max((w_max - w_min) / n_bins, eps);
  scale = mask ? scale : -scale;
  const float edge = mask ? w_min : w_max;
  const float q0 = std::rint(edge / scale);
  float bias = 0.0f;
  if (q0 != 0.0f) {
    scale = edge / q0;
    bias = edge;
  }
  for (int i = 0; i < n; ++i) {
    const float v = std::rint((w[i] - bias) / scale);
    q[i] = static_cast<uint8_t>(std::clamp(v, 0.0f, n_bins));
  }
  *scale_out = scale;
  *bias_out = bias;
}

// Writes a row's values as one little-endian bit stream: value i at stream
// bits [i*bits, (i+1)*bits), stream bit p in byte p/8 at bit p%8, which read
// as little-endian uint32 words is MLX's layout.
void pack_row(const uint8_t* q, uint64_t k, int bits, uint8_t* out) {
  uint64_t acc = 0;
  int n_bits = 0;
  for (uint64_t i = 0; i < k; ++i) {
    acc |= static_cast<uint64_t>(q[i]) << n_bits;
    n_bits += bits;
    while (n_bits >= 8) {
      *out++ = static_cast<uint8_t>(acc);
      acc >>= 8;
      n_bits -= 8;
    }
  }
  // k * bits is a multiple of 32 (k is a multiple of the group size), so nothing is left over.
}

// Converts n elements starting at element `first` to float32, with the
// dtype dispatch outside the loop.
void load_floats(const uint8_t* data, DType dtype, uint64_t first, uint64_t n, float* out) {
  switch (dtype) {
    case DType::kF32:
      for (uint64_t i = 0; i < n; ++i) out[i] = f32_from_bits(load_le32(data + 4 * (first + i)));
      break;
    case DType::kBF16:
      for (uint64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(load_le16(data + 2 * (first + i)));
      break;
    default:
      for (uint64_t i = 0; i < n; ++i) out[i] = load_float(data, dtype, first + i);
      break;
  }
}

uint32_t unpack(const uint8_t* words, int bits, uint64_t i) {
  uint32_t v = 0;
  for (int j = 0; j < bits; ++j) {
    const uint64_t p = i * bits + j;
    v |= ((words[p >> 3] >> (p & 7)) & 1u) << j;
  }
  return v;
}

}  // namespace

Status check_quant_spec(const QuantSpec& spec) {
  const int b = spec.bits, g = spec.group_size;
  if (b != 2 && b != 3 && b != 4 && b != 5 && b != 6 && b != 8) {
    return Status::invalid_argument("quantization bits " + std::to_string(b) +
                                    " is not supported; the supported bits are 2, 3, 4, 5, 6 and 8");
  }
  if (g != 32 && g != 64 && g != 128) {
    return Status::invalid_argument("quantization group size " + std::to_string(g) +
                                    " is not supported; the supported group sizes are 32, 64 and 128");
  }
  return Status::ok();
}

Result<QuantizedShapes> quantized_shapes(const std::vector<uint64_t>& shape, const QuantSpec& spec,
                                         const std::string& name) {
  MLXPACK_RETURN_IF_ERROR(check_quant_spec(spec));
  if (shape.size() < 2) {
    return Status::invalid_argument("tensor '" + name + "' has rank " + std::to_string(shape.size()) +
                                    "; quantization needs rank 2 or more");
  }
  const uint64_t k = shape.back();
  if (k % static_cast<uint64_t>(spec.group_size) != 0) {
    return Status::invalid_argument("tensor '" + name + "': last dimension " + std::to_string(k) +
                                    " is not a multiple of the group size " + std::to_string(spec.group_size));
  }
  QuantizedShapes s;
  s.weight = shape;
  s.weight.back() = k * spec.bits / 32;
  s.scales = shape;
  s.scales.back() = k / spec.group_size;
  return s;
}

Result<QuantizedTensor> affine_quantize(const uint8_t* data, DType dtype, const std::vector<uint64_t>& shape,
                                        const QuantSpec& spec, unsigned threads, const std::string& name) {
  if (dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16) {
    return Status::invalid_argument("tensor '" + name + "' has dtype " + dtype_name(dtype) +
                                    "; only F32, F16 and BF16 weights can be quantized");
  }
  QuantizedTensor out;
  MLXPACK_ASSIGN_OR_RETURN(out.shapes, quantized_shapes(shape, spec, name));
  const uint64_t k = shape.back();
  uint64_t rows = 1;
  for (size_t d = 0; d + 1 < shape.size(); ++d) rows *= shape[d];
  const uint64_t groups_per_row = k / spec.group_size;
  const uint64_t row_bytes = k * spec.bits / 8;
  const uint32_t t_size = dtype_size_bytes(dtype);
  out.weight.assign(rows * row_bytes, '\0');
  out.scales.assign(rows * groups_per_row * t_size, '\0');
  out.biases.assign(rows * groups_per_row * t_size, '\0');

  const auto work = [&](uint64_t row_begin, uint64_t row_end) {
    std::vector<float> w(k);
    std::vector<uint8_t> q(k);
    for (uint64_t r = row_begin; r < row_end; ++r) {
      load_floats(data, dtype, r * k, k, w.data());
      for (uint64_t g = 0; g < groups_per_row; ++g) {
        float scale, bias;
        quantize_group(w.data() + g * spec.group_size, spec.group_size, spec.bits, q.data() + g * spec.group_size,
                       &scale, &bias);
        store_float(reinterpret_cast<uint8_t*>(out.scales.data()), dtype, r * groups_per_row + g, scale);
        store_float(reinterpret_cast<uint8_t*>(out.biases.data()), dtype, r * groups_per_row + g, bias);
      }
      pack_row(q.data(), k, spec.bits, reinterpret_cast<uint8_t*>(out.weight.data()) + r * row_bytes);
    }
  };
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(std::min<uint64_t>(rows, 64))));
  std::vector<std::thread> pool;
  const uint64_t per = (rows + threads - 1) / threads;
  for (unsigned t = 1; t < threads; ++t) {
    const uint64_t b = std::min(rows, t * per), e = std::min(rows, (t + 1) * per);
    if (b < e) pool.emplace_back(work, b, e);
  }
  work(0, std::min(rows, per));
  for (auto& th : pool) th.join();
  return out;
}

std::vector<float> affine_dequantize(const QuantizedTensor& q, DType dtype, const QuantSpec& spec) {
  const std::vector<uint64_t>& s = q.shapes.scales;
  uint64_t rows = 1;
  for (size_t d = 0; d + 1 < s.size(); ++d) rows *= s[d];
  const uint64_t groups_per_row = s.back();
  const uint64_t k = groups_per_row * spec.group_size;
  const uint64_t row_bytes = k * spec.bits / 8;
  const auto* scales = reinterpret_cast<const uint8_t*>(q.scales.data());
  const auto* biases = reinterpret_cast<const uint8_t*>(q.biases.data());
  std::vector<float> out(rows * k);
  std::vector<uint8_t> tmp(8);
  for (uint64_t r = 0; r < rows; ++r) {
    const auto* words = reinterpret_cast<const uint8_t*>(q.weight.data()) + r * row_bytes;
    for (uint64_t i = 0; i < k; ++i) {
      const uint64_t g = r * groups_per_row + i / spec.group_size;
      const float scale = load_float(scales, dtype, g);
      const float bias = load_float(biases, dtype, g);
      const float qv = static_cast<float>(unpack(words, spec.bits, i));
      // Round to T after the product and after the sum, as MLX's op-level
      // dequantize does (no fused multiply-add).
      store_float(tmp.data(), dtype, 0, qv * scale);
      const float prod = load_float(tmp.data(), dtype, 0);
      store_float(tmp.data(), dtype, 0, prod + bias);
      out[r * k + i] = load_float(tmp.data(), dtype, 0);
    }
  }
  return out;
}

std::vector<float> quantized_matmul_reference(const std::vector<float>& x, uint64_t m, const QuantizedTensor& q,
                                              DType dtype, const QuantSpec& spec) {
  const std::vector<float> w = affine_dequantize(q, dtype, spec);
  const uint64_t k = q.shapes.scales.back() * spec.group_size;
  const uint64_t n = w.size() / k;
  std::vector<float> y(m * n);
  for (uint64_t i = 0; i < m; ++i) {
    for (uint64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (uint64_t t = 0; t < k; ++t) acc += static_cast<double>(x[i * k + t]) * w[j * k + t];
      y[i * n + j] = static_cast<float>(acc);
    }
  }
  return y;
}

void pack_affine_row(const uint8_t* q, uint64_t k, int bits, uint8_t* out) { pack_row(q, k, bits, out); }

}  // namespace mlxpack
