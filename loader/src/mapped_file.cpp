#include "loader/src/mapped_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

namespace mlxpack {

namespace {

// Maps `size` bytes of fd read-only at an address that is a multiple of
// kHugePageBytes: reserves that much more address space, maps the file at
// the first boundary inside it and returns the slack on both sides. Only
// file offsets and addresses that agree modulo 2 MiB can be mapped by one
// page-table entry per 2 MiB; many kernels place file mappings at any page.
void* map_aligned(int fd, uint64_t size) {
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t span = (size + page - 1) / page * page;
  void* reserved =
      ::mmap(nullptr, span + kHugePageBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return MAP_FAILED;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(reserved);
  const uintptr_t aligned = (begin + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* p = ::mmap(reinterpret_cast<void*>(aligned), size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    ::munmap(reserved, span + kHugePageBytes);
    errno = err;
    return MAP_FAILED;
  }
  if (aligned > begin) ::munmap(reserved, aligned - begin);
  const uintptr_t tail = aligned + span, end = begin + span + kHugePageBytes;
  if (end > tail) ::munmap(reinterpret_cast<void*>(tail), end - tail);
  return p;
}

}  // namespace

Result<MappedFile> MappedFile::open(const std::string& path) {
  MLXPACK_ASSIGN_OR_RETURN(InputFile file, InputFile::open(path));
  const uint64_t size = file.size_bytes();
  // mmap() fails for a length of zero; an empty file simply has no bytes.
  if (size == 0) return MappedFile(std::move(file), nullptr, 0);
  if (size > std::numeric_limits<size_t>::max() - 2 * kHugePageBytes) {
    return Status::io_error(path + ": cannot mmap: " + std::to_string(size) + " bytes do not fit the address space");
  }
  const bool huge = size >= kHugePageBytes;
  void* p = huge ? map_aligned(file.fd(), size) : ::mmap(nullptr, size, PROT_READ, MAP_SHARED, file.fd(), 0);
  if (p == MAP_FAILED) return Status::io_error(path + ": cannot mmap: " + std::strerror(errno));
    // A model's weights are read whole for every token. Mapped 4 KiB at a
    // time, each page is a TLB miss and the hardware prefetchers stop at
    // every page. With MADV_HUGEPAGE a file read cold through the mapping
    // comes into the page cache in 2 MiB folios, each mapped by one entry
    // (where kernel and file system can: Linux 6.18 on ext4 here; a file
    // already cached in small folios stays in them, and then decodes slower:
    // 1B 4-bit, one thread, 28-30 tokens/s against 39). Measured on AMD
    // Zen 4, generation_bench decode tokens/s, page cache dropped before each
    // run, builds alternated: one thread 1B 4-bit 34.8-35.1 -> 37.6-39.3,
    // 110M 4-bit 308-342 -> 343-374, 110M 8-bit 138-156 -> 150-154; 1B 8-bit
    // (16.6-19.4 -> 16.9-19.4) and two threads even. Where the kernel lacks
    // THP the call fails harmlessly: advice is only advice.
#ifdef MADV_HUGEPAGE
  if (huge) (void)::madvise(p, size, MADV_HUGEPAGE);
#endif
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
