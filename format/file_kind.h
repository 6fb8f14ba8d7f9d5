// Recognizes the model files people mistake for packs (GGUF, safetensors,
// PyTorch checkpoints) from their first bytes, so a wrong file gets "this
// is a GGUF file; ..." and what to do instead of only "not an mlxpack
// file". Reads at most the bytes given; never trusts a length it reads.
#ifndef MLXPACK_FORMAT_FILE_KIND_H_
#define MLXPACK_FORMAT_FILE_KIND_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace mlxpack {

enum class ForeignFile { kUnknown, kGguf, kSafetensors, kPyTorchZip, kZip, kPickle };

// `bytes` is the start of a file of `file_size` bytes (`size` of them
// readable, size <= file_size).
ForeignFile identify_foreign_file(const uint8_t* bytes, size_t size, uint64_t file_size);

// "; this is a GGUF file (llama.cpp's format): ..." for a known kind, ""
// for kUnknown: appended to the "not an mlxpack file" message.
std::string foreign_file_hint(ForeignFile kind);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_FILE_KIND_H_
