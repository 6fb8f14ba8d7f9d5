// The one reader of a model, wherever it lives: a .mlxpack file, a Hugging
// Face / MLX model directory (single or sharded safetensors), or a directory
// holding only text files (a tokenizer, a chat template). The runtime, the
// tokenizer, the chat template and `convert` ask it for tensors by name and
// for bundled files (config.json, tokenizer.json, ...) by name, and do not
// care which it was given.
//
// Contract:
//   - A pack is opened with Reader::open (all of its validation applies) and
//     its tensors are views into its mapping.
//   - A directory is validated as `pack` validates it (every safetensors
//     header, the shard index against the shards, symlinks to files
//     followed wherever they point, as the Hugging Face hub cache needs);
//     each safetensors file is mapped read-only and a tensor is a view into
//     that mapping when its data is aligned to its element size. Only
//     tensors that are not are copied (once, at open, into 64-byte-aligned
//     memory); copied_bytes() says how much that was.
//   - A files-only directory (open_files) needs no weights and no
//     config.json: it serves the files with bundled names (see
//     format/model_dir.h) that are regular files in it, and no tensors.
//   - Bundled files larger than the spec's bundled-file limit (§7) are
//     refused with InvalidArgument.
//   - Views stay valid while the ModelSource lives. It is immutable after
//     open; const methods may be called from many threads.
//   - Errors are Status/Result; no exception escapes. This header is C++17.
#ifndef MLXPACK_MODEL_SOURCE_H_
#define MLXPACK_MODEL_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mlxpack/export.h"
#include "mlxpack/loader.h"
#include "mlxpack/status.h"

namespace mlxpack {

enum class SourceKind { kPack, kModelDirectory, kFileDirectory };

class MLXPACK_API ModelSource {
 public:
  // `path` is a .mlxpack file or a model directory. IOError if it does not
  // exist; otherwise the errors of Reader::open (NotFound for a file that is
  // not a pack) or of the directory checks (InvalidArgument/Corruption naming
  // the file and field).
  static Result<std::unique_ptr<ModelSource>> open(const std::string& path, const OpenOptions& options = {});
  // As open(), but a directory is read as a files-only directory (see above),
  // for reading a tokenizer or chat template where no weights are needed.
  static Result<std::unique_ptr<ModelSource>> open_files(const std::string& path, const OpenOptions& options = {});

  ~ModelSource();
  ModelSource(const ModelSource&) = delete;
  ModelSource& operator=(const ModelSource&) = delete;

  const std::string& path() const;
  SourceKind kind() const;
  bool is_pack() const { return kind() == SourceKind::kPack; }

  // Tensor names, sorted.
  const std::vector<std::string>& tensor_names() const;
  bool has_tensor(std::string_view name) const;
  // NotFound if absent (the message names the model); for packs opened with
  // VerifyMode::kLazy, Corruption if the tensor fails its checksum.
  Result<TensorView> tensor(std::string_view name) const;
  // The tensor's name, dtype, shape and size without touching or verifying
  // its bytes: `data` is null. NotFound if absent.
  Result<TensorView> tensor_metadata(std::string_view name) const;

  // Bundled files: config.json, tokenizer files, generation_config.json, ...
  // Names sorted.
  const std::vector<std::string>& file_names() const;
  bool has_file(std::string_view name) const;
  // NotFound if absent; IOError/Corruption if present but unreadable.
  Result<std::string> file(std::string_view name) const;
  // The file's bytes, or nullopt if the source has no such file.
  Result<std::optional<std::string>> optional_file(std::string_view name) const;

  // The files on disk this source reads (the pack, or a directory's bundled
  // and safetensors files): a writer must not replace any of them.
  const std::vector<std::string>& disk_paths() const;

  // "<dir>/<name>" or "<pack>:<name>", for messages.
  std::string describe(std::string_view name) const;

  // Bytes of tensor data held in mapped files, and bytes copied because a
  // directory's tensor was not aligned.
  uint64_t mapped_bytes() const;
  uint64_t copied_bytes() const;

 private:
  struct MLXPACK_LOCAL Impl;
  MLXPACK_LOCAL static Result<std::unique_ptr<ModelSource>> open_with(const std::string& path,
                                                                      const OpenOptions& options, bool files_only);
  MLXPACK_LOCAL explicit ModelSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlxpack

#endif  // MLXPACK_MODEL_SOURCE_H_
