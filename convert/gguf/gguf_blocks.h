// ggml's tensor types as MLX tensors, value for value.
//
// F32, F16 and BF16 stay as they are. The 32-value blocks of Q4_0, Q4_1,
// Q5_0, Q5_1 and Q8_0 are each an affine group, w = scale * q + bias with
// q unsigned: Q4_0 is scale d, bias -8d, q 4-bit; Q4_1 scale d, bias m;
// Q5_0 scale d, bias -16d, q 5-bit; Q5_1 scale d, bias m; Q8_0 (signed q)
// scale d, bias -128d, q + 128 8-bit. d and m are float16 and so are the
// MLX scales and biases: every product and sum is exact in float32, so
// the runtime's weights equal ggml's dequantized ones exactly. (MLX itself
// evaluates scale * q + bias in float16, which rounds.)
//
// K-quants are super-blocks of 256 whose sub-blocks are affine groups too:
// Q4_K and Q5_K groups of 32 with scale d * sc and bias -dmin * m; Q6_K
// groups of 16 with scale d * sc and bias -32 d sc; Q3_K groups of 16 with
// scale d (sc - 32) and bias -4 d (sc - 32); Q2_K groups of 16 with scale
// d * (sc & 15) and bias -dmin * (sc >> 4). Those products need more bits
// than float16 has, so their scales and biases are float32 (exact); groups
// of 16 are a layout of ours (MLX uses 32, 64, 128). Block layouts and the
// dequantization they must reproduce from ggml's ggml-common.h and
// ggml-quants.c.
#ifndef MLXPACK_CONVERT_GGUF_GGUF_BLOCKS_H_
#define MLXPACK_CONVERT_GGUF_GGUF_BLOCKS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

struct GgufAffineForm {
  int bits;
  int group_size;
  DType params = DType::kF16;  // of the scales and biases
};
// The MLX form of a block type, nullopt for float types and types not imported.
std::optional<GgufAffineForm> gguf_affine_form(uint32_t ggml_type);
// The float dtype of F32/F16/BF16, nullopt otherwise.
std::optional<DType> gguf_float_dtype(uint32_t ggml_type);

struct ImportedTensor {
  bool quantized = false;
  DType dtype = DType::kF32;    // a float tensor's; a quantized one's scales and biases (F16)
  std::vector<uint64_t> shape;  // in row-major order (ggml's dims reversed)
  std::string data;             // float bytes, or the packed weight (uint32 words)
  std::string scales, biases;   // quantized only: [rows, cols / group_size]
  GgufAffineForm form{0, 0};
};

// Converts tensor `t` whose bytes (t.size_bytes of them) are `bytes`. Output
// row r is the GGUF's row rows_from[r] when rows_from is not empty (rows
// are a 1-D tensor's elements). Unsupported for a type that is not float
// or one of the five block types; InvalidArgument for a value that does
// not fit its MLX parameter (a bias -8d beyond float16's range).
Result<ImportedTensor> import_gguf_tensor(const GgufTensorInfo& t, std::string bytes,
                                          const std::vector<uint64_t>& rows_from, const std::string& file);

// Whether dequantize_gguf_tensor reads `ggml_type`: the affine types, and
// IQ4_NL, IQ4_XS and MXFP4 (--dequantize-unsupported). The grid types
// (IQ1, IQ2, IQ3) and TQ1_0/TQ2_0 are not.
bool gguf_can_dequantize(uint32_t ggml_type);

// Tensor `t` as floats of `dtype` (F32, F16, BF16), value for value as
// ggml's dequantize_row_* computes them (rounded to dtype if not F32).
// Unsupported for a type gguf_can_dequantize refuses.
Result<ImportedTensor> dequantize_gguf_tensor(const GgufTensorInfo& t, const std::string& bytes,
                                              const std::vector<uint64_t>& rows_from, DType dtype,
                                              const std::string& file);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_GGUF_GGUF_BLOCKS_H_
