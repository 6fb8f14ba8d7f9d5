// A restricted reader of the pickle inside a PyTorch checkpoint
// (torch.save's data.pkl): a state dict, {name: tensor}. It interprets the
// opcodes such a pickle uses (protocols 2 to 5: containers, strings,
// integers, floats, the memo, persistent ids for storages) and calls
// nothing: the only globals it accepts are the few a state dict names,
// each handled by its own code here (collections.OrderedDict as a dict,
// torch._utils._rebuild_tensor_v2 and _rebuild_parameter as a tensor
// description, torch.*Storage as a storage type). Any other global, any
// other callable reached by REDUCE, and any other opcode is refused with
// an error naming it and its byte offset: no code ever runs from a pickle.
//
// Bounds: the input size, containers nested at most kMaxPickleDepth deep (a
// container is frozen once inside another, so no cycle can form), memo
// indices below kMaxPickleMemo, at most kMaxPickleValues values, tensors of at most 8 dimensions whose extent
// fits their storage.
#ifndef MLXPACK_FORMAT_TORCH_PICKLE_H_
#define MLXPACK_FORMAT_TORCH_PICKLE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mlxpack/dtype.h"
#include "mlxpack/status.h"

namespace mlxpack {

struct TorchStorage {
  DType dtype = DType::kF32;
  uint64_t numel = 0;  // elements, as the persistent id states them
};

// One entry of the state dict: a contiguous row-major view of a storage.
struct TorchTensor {
  std::string name;
  std::string storage;  // key: the archive's data/<key> entry
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;
  uint64_t offset = 0;  // elements into the storage
  uint64_t numel = 0;
};

struct TorchStateDict {
  std::vector<TorchTensor> tensors;  // in the pickle's order
  std::map<std::string, TorchStorage> storages;
};

inline constexpr int kMaxPickleDepth = 32;
inline constexpr uint64_t kMaxPickleMemo = uint64_t{1} << 20;
inline constexpr uint64_t kMaxPickleValues = uint64_t{1} << 21;

// Reads `size` bytes of pickle. Errors (InvalidArgument) start with
// `label` and name the opcode or global and its offset; a value that is
// not a dict of tensors, a tensor that is not contiguous or reaches past
// its storage, a storage of another dtype than one seen before under the
// same key are errors too.
Result<TorchStateDict> parse_torch_pickle(const uint8_t* data, size_t size, const std::string& label);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_TORCH_PICKLE_H_
