// Private state of mlxpack::Reader, shared by reader.cpp and verify.cpp.
#ifndef MLXPACK_LOADER_READER_IMPL_H_
#define MLXPACK_LOADER_READER_IMPL_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "format/index.h"
#include "loader/src/mapped_file.h"
#include "mlxpack/loader.h"

namespace mlxpack {

struct Reader::Impl {
  Impl(std::string p, MappedFile m) : path(std::move(p)), map(std::move(m)) {}

  std::string path;
  MappedFile map;
  IndexView index;
  // The index, copied at open: look-ups never touch the mapping again, so a
  // file truncated after open cannot fault them.
  std::vector<uint8_t> index_copy;
  PackInfo info;
  OpenOptions options;
  // Per entry, for VerifyMode::kLazy: 0 = not checked, 1 = sound, 2 = corrupt.
  std::unique_ptr<std::atomic<uint8_t>[]> lazy_state;

  const uint8_t* bytes_of(const Entry& e) const { return map.data() + e.data_offset; }
  TensorView tensor_view(const Entry& e) const;

  // Checks entry `i` alone (checksum; zstd frame for files; header against
  // the pack's tensors for sources). OK or Corruption naming the entry.
  // With `buffer` (non-empty, reused across calls) the stored bytes are read
  // into it chunk by chunk and hashed there, for verifying a whole pack;
  // without, they are hashed in place in the mapping, for an entry about to
  // be used from it.
  Status verify_entry(uint64_t i, std::vector<uint8_t>* buffer = nullptr) const;
  Result<SourceView> source_at(uint64_t i) const;
  // Copies an entry's stored bytes out of the mapping; IOError if the file
  // shrank since open (the read would have raised SIGBUS).
  Result<std::string> copy_stored(const Entry& e, const std::string& what) const;
};

EntryType to_entry_type(EntryKind kind);

}  // namespace mlxpack

#endif
