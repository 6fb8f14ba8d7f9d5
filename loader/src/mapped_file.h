// A whole file mapped read-only (POSIX mmap), unmapped on destruction. The
// descriptor stays open beside the mapping for positioned reads of the same
// file (verify streams through it: copying cache-sized chunks out of the
// page cache is faster than faulting in a fresh mapping page by page).
#ifndef MLXPACK_LOADER_MAPPED_FILE_H_
#define MLXPACK_LOADER_MAPPED_FILE_H_

#include <cstdint>
#include <string>

#include "format/file_io.h"
#include "mlxpack/status.h"

namespace mlxpack {

// Files of at least this size are mapped at an address that is a multiple
// of it and advised MADV_HUGEPAGE (see mapped_file.cpp).
inline constexpr uint64_t kHugePageBytes = uint64_t{2} << 20;

class MappedFile {
 public:
  // IOError if the file cannot be opened, is not a regular file, or cannot
  // be mapped. An empty file gives an empty mapping (data() == nullptr).
  // A file of kHugePageBytes or more starts at a multiple of kHugePageBytes.
  static Result<MappedFile> open(const std::string& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  MappedFile(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  uint64_t size_bytes() const { return size_; }

  // Reads exactly `size` bytes at `offset` into `out`; IOError if the file
  // is shorter now (truncated by another process since open).
  Status read_at(uint64_t offset, void* out, size_t size) const { return file_.read_at(offset, out, size); }

 private:
  MappedFile(InputFile file, const uint8_t* data, uint64_t size) : file_(std::move(file)), data_(data), size_(size) {}
  InputFile file_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace mlxpack

#endif
