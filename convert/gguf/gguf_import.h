// `convert` with a GGUF file as input: the model becomes a pack or an MLX
// directory laid out exactly as `convert` lays out any model (config.json
// with "quantization" where block types became affine groups, safetensors
// shards, the tokenizer files, generation_config.json), one tensor in
// memory at a time. See gguf_architecture.h (config and names),
// gguf_tokenizer.h (tokenizer) and gguf_blocks.h (values).
#ifndef MLXPACK_CONVERT_GGUF_GGUF_IMPORT_H_
#define MLXPACK_CONVERT_GGUF_GGUF_IMPORT_H_

#include <string>

#include "convert/converter.h"
#include "format/gguf.h"  // is_gguf_file

namespace mlxpack {

// Imports options.input (a GGUF). Casting (dtype) and quantization options
// are refused: import first, then convert the result. Errors: the GGUF
// reader's, the importer's (InvalidArgument, Unsupported), the output's
// (AlreadyExists, IOError).
Result<ConvertReport> import_gguf(const ConvertOptions& options);

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_GGUF_GGUF_IMPORT_H_
