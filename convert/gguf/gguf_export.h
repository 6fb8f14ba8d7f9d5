// `convert --output-format gguf`: a model directory or pack as a GGUF v3
// that llama.cpp loads and runs: architecture metadata, the tokenizer
// (gguf_tokenizer_export.h), the chat template, and the tensors under
// llama.cpp's names, q/k rows in llama.cpp's order for llama models.
//
// Types (options.gguf_type): f32, f16, bf16, q8_0, q4_0, q4_1 cast or
// quantize every matrix (ggml's reference quantizers; 1-D tensors stay
// F32, as llama.cpp keeps them); keep writes each tensor in the type that
// holds it exactly (float as it is; MLX 4-bit groups of 32 with float16
// scales and biases as Q4_1, block for block) and requantizes what no GGUF
// type holds (listed in the report's kept_float). Matrices whose rows are
// not whole blocks of 32 are written as F16 (listed too).
#ifndef MLXPACK_CONVERT_GGUF_GGUF_EXPORT_H_
#define MLXPACK_CONVERT_GGUF_GGUF_EXPORT_H_

#include "convert/converter.h"

namespace mlxpack {

// Errors: the input's (as convert reports them), Unsupported for an
// architecture, tokenizer or rope scaling GGUF cannot express here,
// InvalidArgument for cast/quantize options, AlreadyExists, IOError.
Result<ConvertReport> export_gguf(const ConvertOptions& options);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_GGUF_GGUF_EXPORT_H_
