// ggml's reference quantizers (ggml-quants.c, quantize_row_*_ref), for
// export: rows of float32 values into Q8_0, Q4_0 and Q4_1 blocks of 32, and
// the float types. Same inputs, same bytes as ggml's.
#ifndef MLXPACK_CONVERT_GGUF_GGUF_QUANTIZE_H_
#define MLXPACK_CONVERT_GGUF_GGUF_QUANTIZE_H_

#include <cstdint>

namespace mlxpack {

// Bytes of one row of `cols` values in ggml type `type` (F32, F16, BF16,
// Q8_0, Q4_0, Q4_1; cols a multiple of 32 for the block types).
uint64_t gguf_row_bytes(uint32_t type, uint64_t cols);

// Writes `cols` values of x as one row of `type` at out.
void gguf_encode_row(uint32_t type, const float* x, uint64_t cols, uint8_t* out);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_GGUF_GGUF_QUANTIZE_H_
