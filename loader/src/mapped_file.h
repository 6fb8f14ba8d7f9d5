// A whole file mapped read-only (POSIX mmap), unmapped on destruction.
#ifndef MLXPACK_LOADER_MAPPED_FILE_H_
#define MLXPACK_LOADER_MAPPED_FILE_H_

#include <cstdint>
#include <string>

#include "mlxpack/status.h"

namespace mlxpack {

class MappedFile {
 public:
  // IOError if the file cannot be opened, is not a regular file, or cannot
  // be mapped. An empty file gives an empty mapping (data() == nullptr).
  static Result<MappedFile> open(const std::string& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  MappedFile(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  uint64_t size_bytes() const { return size_; }

  // Hints for a range about to be read front to back (verify).
  void advise_sequential(uint64_t offset, uint64_t size) const;

 private:
  MappedFile(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace mlxpack

#endif
