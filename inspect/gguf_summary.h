// What `mlxpack info` says about a GGUF file: its version and alignment,
// the architecture and its hyperparameters (the "<arch>.*" keys), the
// tokenizer, and its tensors by ggml type, from the header alone (no
// tensor data is read). Every metadata key is listed with its value; long
// arrays and strings are abbreviated.
#ifndef MLXPACK_INSPECT_GGUF_SUMMARY_H_
#define MLXPACK_INSPECT_GGUF_SUMMARY_H_

#include <string>

#include "format/gguf.h"

namespace mlxpack {

std::string gguf_summary_text(const GgufFile& file, bool list_tensors);
std::string gguf_summary_json(const GgufFile& file, bool list_tensors);

}  // namespace mlxpack

#endif  // MLXPACK_INSPECT_GGUF_SUMMARY_H_
