// PyTorch checkpoints written by hand, as torch.save lays them out (a ZIP
// of stored entries: <prefix>/data.pkl, <prefix>/data/<key>, version,
// byteorder), with the pickle torch writes for a state dict (protocol 2:
// _rebuild_tensor_v2 over persistent-id storages). No PyTorch needed; the
// hostile variants are built from the same pieces.
#ifndef MLXPACK_TESTS_SUPPORT_TORCH_CHECKPOINT_WRITER_H_
#define MLXPACK_TESTS_SUPPORT_TORCH_CHECKPOINT_WRITER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mlxpack/dtype.h"

namespace mlxpack::test {

struct PickledTensor {
  std::string name;
  DType dtype = DType::kBF16;  // F32, F16 or BF16
  std::vector<uint64_t> shape;
  std::string bytes;  // shape's elements, little-endian
};

// The pickle torch.save writes for {name: tensor, ...}: each tensor its own
// storage (keys "0", "1", ...).
std::string state_dict_pickle(const std::vector<PickledTensor>& tensors);

// A stored ZIP of (name, bytes) entries, the end records in ZIP64 form when
// `zip64`.
std::string zip_archive(const std::vector<std::pair<std::string, std::string>>& entries, bool zip64 = false);

// A whole checkpoint: prefix/data.pkl (`pickle`, or the state dict's when
// empty), prefix/data/<k> for tensor k, prefix/version, prefix/byteorder.
std::string torch_checkpoint(const std::vector<PickledTensor>& tensors, const std::string& prefix = "archive",
                             const std::string& pickle = "", bool zip64 = false);

// Pickle pieces for hostile inputs.
std::string pickle_unicode(const std::string& s);  // BINUNICODE
std::string pickle_global(const std::string& module, const std::string& name);  // GLOBAL

}  // namespace mlxpack::test

#endif  // MLXPACK_TESTS_SUPPORT_TORCH_CHECKPOINT_WRITER_H_
