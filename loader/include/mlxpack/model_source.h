// One interface over the two places a model lives: a .mlxpack file and a
// Hugging Face / MLX model directory (single or sharded safetensors). A
// runtime asks for tensors by name and for bundled files (config.json,
// tokenizer.json, ...) by name, and does not care which it was given.
//
// Contract:
//   - A pack is opened with Reader::open (all of its validation applies) and
//     its tensors are views into its mapping.
//   - A directory is validated as `pack` validates it (every safetensors
//     header, the shard index against the shards, no symlink leading out);
//     each safetensors file is mapped read-only and a tensor is a view into
//     that mapping when its data is aligned to its element size. Only
//     tensors that are not are copied (once, at open, into 64-byte-aligned
//     memory); copied_bytes() says how much that was.
//   - Views stay valid while the ModelSource lives. It is immutable after
//     open; const methods may be called from many threads.
//   - Errors are Status/Result; no exception escapes. This header is C++17.
#ifndef MLXPACK_MODEL_SOURCE_H_
#define MLXPACK_MODEL_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mlxpack/loader.h"
#include "mlxpack/status.h"

namespace mlxpack {

class ModelSource {
 public:
  // `path` is a .mlxpack file or a model directory. NotFound if it is
  // neither; otherwise the errors of Reader::open or of the directory checks
  // (InvalidArgument/Corruption naming the file and field).
  static Result<std::unique_ptr<ModelSource>> open(const std::string& path, const OpenOptions& options = {});

  ~ModelSource();
  ModelSource(const ModelSource&) = delete;
  ModelSource& operator=(const ModelSource&) = delete;

  const std::string& path() const;
  bool is_pack() const;

  // Tensor names, sorted.
  const std::vector<std::string>& tensor_names() const;
  bool has_tensor(std::string_view name) const;
  // NotFound if absent (the message names the model); for packs opened with
  // VerifyMode::kLazy, Corruption if the tensor fails its checksum.
  Result<TensorView> tensor(std::string_view name) const;

  // Bundled files: config.json, tokenizer files, generation_config.json, ...
  bool has_file(std::string_view name) const;
  Result<std::string> file(std::string_view name) const;

  // "<dir>/<name>" or "<pack>:<name>", for messages.
  std::string describe(std::string_view name) const;

  // Bytes of tensor data held in mapped files, and bytes copied because a
  // directory's tensor was not aligned.
  uint64_t mapped_bytes() const;
  uint64_t copied_bytes() const;

 private:
  struct Impl;
  explicit ModelSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlxpack

#endif  // MLXPACK_MODEL_SOURCE_H_
