// A PyTorch checkpoint as torch.save (1.6 and later) writes it: a ZIP
// archive of stored entries, <prefix>/data.pkl (the pickled state dict,
// read by format/torch_pickle.h) beside <prefix>/data/<key> (each
// storage's bytes, little-endian). The tensors are located in the file for
// reading in place; nothing in the archive is executed.
#ifndef MLXPACK_FORMAT_TORCH_CHECKPOINT_H_
#define MLXPACK_FORMAT_TORCH_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "format/file_io.h"
#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

struct CheckpointTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;
  uint64_t offset = 0;  // of its first byte in the file
  uint64_t size_bytes = 0;
};

inline constexpr uint64_t kMaxCheckpointPickleBytes = uint64_t{64} << 20;

// The state dict of the checkpoint `in`. Errors (InvalidArgument) name the
// file: the archive's (format/zip_archive.h), the pickle's
// (format/torch_pickle.h), no or several data.pkl, a data.pkl over
// kMaxCheckpointPickleBytes or failing its CRC, a big-endian byteorder, a
// storage entry missing or smaller than its elements.
Result<std::vector<CheckpointTensor>> read_torch_checkpoint(const InputFile& in);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_TORCH_CHECKPOINT_H_
