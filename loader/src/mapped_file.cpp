#include "loader/src/mapped_file.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace mlxpack {

Result<MappedFile> MappedFile::open(const std::string& path) {
  MLXPACK_ASSIGN_OR_RETURN(InputFile file, InputFile::open(path));
  const uint64_t size = file.size_bytes();
  // mmap() fails for a length of zero; an empty file simply has no bytes.
  if (size == 0) return MappedFile(std::move(file), nullptr, 0);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, file.fd(), 0);
  if (p == MAP_FAILED) return Status::io_error(path + ": cannot mmap: " + std::strerror(errno));
  return MappedFile(std::move(file), static_cast<const uint8_t*>(p), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : file_(std::move(other.file_)), data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace mlxpack
