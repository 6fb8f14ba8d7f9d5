// MLX's affine group-wise quantization, bit for bit as MLX's CPU backend
// computes it (mlx/backend/cpu/quantized.cpp at MLX 0.32.2; rules restated
// in ../shared/reference/mlx-quantize/README.md):
//   - groups of `group_size` consecutive values along the last axis;
//   - per group, in float32 whatever the input dtype: scale from the range,
//     the endpoint of larger magnitude made exact (so about half of the
//     scales are negative), bias = that endpoint, q = clamp(rint((w-bias)/
//     scale), 0, 2^bits-1) with round-half-to-even;
//   - scales and biases stored in the weight's dtype;
//   - q values packed per row as one little-endian bit stream in uint32
//     words (3, 5 and 6-bit values cross word boundaries).
#ifndef MLXPACK_CONVERT_AFFINE_QUANT_H_
#define MLXPACK_CONVERT_AFFINE_QUANT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

struct QuantSpec {
  int bits = 4;
  int group_size = 64;
  bool operator==(const QuantSpec& o) const { return bits == o.bits && group_size == o.group_size; }
  bool operator!=(const QuantSpec& o) const { return !(*this == o); }
};

// InvalidArgument unless bits is 2, 3, 4, 5, 6 or 8 and group_size 32, 64 or 128.
Status check_quant_spec(const QuantSpec& spec);

// Output shapes for a weight of shape [..., K]: weight [..., K*bits/32] (U32),
// scales and biases [..., K/group_size] (the weight's dtype).
struct QuantizedShapes {
  std::vector<uint64_t> weight;
  std::vector<uint64_t> scales;
};
// InvalidArgument if rank < 2 or K is not a multiple of group_size.
Result<QuantizedShapes> quantized_shapes(const std::vector<uint64_t>& shape, const QuantSpec& spec,
                                         const std::string& name);

struct QuantizedTensor {
  std::string weight;  // little-endian uint32 words
  std::string scales;  // in `dtype`
  std::string biases;  // in `dtype`
  QuantizedShapes shapes;
};

// Quantizes `data` (little-endian, `dtype` F32/F16/BF16, `shape` [..., K]).
// Rows are spread over `threads` threads; the result does not depend on it.
Result<QuantizedTensor> affine_quantize(const uint8_t* data, DType dtype, const std::vector<uint64_t>& shape,
                                        const QuantSpec& spec, unsigned threads, const std::string& name);

// Packs k values of `bits` bits (each < 2^bits) as MLX lays out one row of
// a quantized weight: one little-endian bit stream, k * bits / 8 bytes.
// k * bits must be a multiple of 32.
void pack_affine_row(const uint8_t* q, uint64_t k, int bits, uint8_t* out);

// Dequantizes as MLX does: w = T(T(q * scale) + bias), rounding to the scales'
// dtype T after each operation. Returns float32 values of the T results.
std::vector<float> affine_dequantize(const QuantizedTensor& q, DType dtype, const QuantSpec& spec);


// y[m, n] = sum_k x[m, k] * dequant(w)[n, k] for x [M, K] and a 2-D quantized
// weight [N, K]; accumulates in double. For tests and references.
std::vector<float> quantized_matmul_reference(const std::vector<float>& x, uint64_t m, const QuantizedTensor& q,
                                              DType dtype, const QuantSpec& spec);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_AFFINE_QUANT_H_
