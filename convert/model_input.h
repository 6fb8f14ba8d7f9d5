// What `convert` reads: a Hugging Face / MLX model directory or a .mlxpack,
// behind one interface. Directories are validated by pack's planner (every
// safetensors header, the shard index); packs by the loader.
#ifndef MLXPACK_CONVERT_MODEL_INPUT_H_
#define MLXPACK_CONVERT_MODEL_INPUT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

struct InputTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;
  uint64_t size_bytes = 0;
};

// A tensor's bytes: a view into a mapping, or bytes read into `owned`.
struct TensorBytes {
  const uint8_t* data = nullptr;
  uint64_t size_bytes = 0;
  std::string owned;
};

class ModelInput {
 public:
  virtual ~ModelInput() = default;

  // A directory or a .mlxpack file (decided by what `path` is).
  static Result<std::unique_ptr<ModelInput>> open(const std::string& path);

  const std::string& path() const { return path_; }
  // Tensors sorted by name.
  const std::vector<InputTensor>& tensors() const { return tensors_; }
  // Names of the bundled files (config, tokenizer, ...), sorted.
  const std::vector<std::string>& file_names() const { return file_names_; }
  // The files on disk this input reads (a pack, or a directory's bundled
  // and safetensors files): an output must not replace any of them.
  const std::vector<std::string>& disk_paths() const { return disk_paths_; }

  virtual Result<std::string> read_file(const std::string& name) const = 0;
  // REQUIRES: i < tensors().size().
  virtual Result<TensorBytes> read_tensor(size_t i) const = 0;

 protected:
  std::string path_;
  std::vector<InputTensor> tensors_;
  std::vector<std::string> file_names_;
  std::vector<std::string> disk_paths_;
};

}  // namespace mlxpack

#endif  // MLXPACK_CONVERT_MODEL_INPUT_H_
