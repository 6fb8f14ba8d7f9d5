#include "format/torch_checkpoint.h"

#include <map>

#include "format/byte_order.h"
#include "format/torch_pickle.h"
#include "format/zip_archive.h"

namespace mlxpack {

Result<std::vector<CheckpointTensor>> read_torch_checkpoint(const InputFile& in) {
  MLXPACK_ASSIGN_OR_RETURN(std::vector<ZipEntry> entries, read_zip_directory(in));
  std::map<std::string, const ZipEntry*> by_name;
  const ZipEntry* pickle = nullptr;
  for (const ZipEntry& e : entries) {
    by_name[e.name] = &e;
    const size_t slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      if (pickle != nullptr) return Status::invalid_argument(in.path() + ": two data.pkl entries");
      pickle = &e;
    }
  }
  if (pickle == nullptr) {
    return Status::invalid_argument(in.path() + ": no <name>/data.pkl entry: not a PyTorch checkpoint (torch.save "
                                    "of 1.6 or later)");
  }
  const std::string prefix = pickle->name.substr(0, pickle->name.size() - 8);  // keeps the '/'
  if (auto it = by_name.find(prefix + "byteorder"); it != by_name.end()) {
    std::string order(static_cast<size_t>(std::min<uint64_t>(it->second->size, 16)), '\0');
    MLXPACK_RETURN_IF_ERROR(in.read_at(it->second->offset, order.data(), order.size()));
    if (order != "little") return Status::unsupported(in.path() + ": byteorder is '" + order + "' (little is read)");
  }
  if (pickle->size > kMaxCheckpointPickleBytes) {
    return Status::invalid_argument(in.path() + ": " + pickle->name + " is " + std::to_string(pickle->size) +
                                    " bytes (limit " + std::to_string(kMaxCheckpointPickleBytes) + ")");
  }
  std::string bytes(static_cast<size_t>(pickle->size), '\0');
  MLXPACK_RETURN_IF_ERROR(in.read_at(pickle->offset, bytes.data(), bytes.size()));
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  if (zip_crc32(data, bytes.size()) != pickle->crc32) {
    return Status::invalid_argument(in.path() + ": " + pickle->name + " fails its CRC-32");
  }
  MLXPACK_ASSIGN_OR_RETURN(TorchStateDict dict, parse_torch_pickle(data, bytes.size(), in.path() + ": " + pickle->name));
  std::vector<CheckpointTensor> out;
  for (const TorchTensor& t : dict.tensors) {
    const auto it = by_name.find(prefix + "data/" + t.storage);
    if (it == by_name.end()) {
      return Status::invalid_argument(in.path() + ": tensor " + t.name + "'s storage " + t.storage + " has no entry");
    }
    const uint64_t element = dtype_size_bytes(t.dtype);
    const TorchStorage& s = dict.storages.at(t.storage);
    uint64_t storage_bytes, skip, size;
    if (mul_overflows(s.numel, element, &storage_bytes) || storage_bytes > it->second->size) {
      return Status::invalid_argument(in.path() + ": storage " + t.storage + " of " + std::to_string(s.numel) +
                                      " elements is larger than its entry's " + std::to_string(it->second->size) +
                                      " bytes");
    }
    // The pickle checked offset + numel <= the storage's elements.
    mul_overflows(t.offset, element, &skip);
    mul_overflows(t.numel, element, &size);
    out.push_back({t.name, t.dtype, t.shape, it->second->offset + skip, size});
  }
  return out;
}

}  // namespace mlxpack
