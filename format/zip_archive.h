// The central directory of a ZIP archive whose entries are stored (not
// compressed), as torch.save writes its checkpoints: each entry's name
// and where its bytes lie in the file, for reading in place. ZIP64 records
// (archives and entries past 4 GiB) are read; encrypted, compressed or
// multi-disk archives are refused.
#ifndef MLXPACK_FORMAT_ZIP_ARCHIVE_H_
#define MLXPACK_FORMAT_ZIP_ARCHIVE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "format/file_io.h"
#include "mlxpack/status.h"

namespace mlxpack {

struct ZipEntry {
  std::string name;
  uint64_t offset = 0;  // of its first byte in the file
  uint64_t size = 0;
  uint32_t crc32 = 0;   // as the directory states it
};

inline constexpr uint64_t kMaxZipEntries = uint64_t{1} << 20;
inline constexpr uint64_t kMaxZipDirectoryBytes = uint64_t{256} << 20;

// Every entry of `in`'s central directory, in its order. Errors
// (InvalidArgument) name the file and what is wrong: no end record, a
// record or entry reaching past the file, a compressed, encrypted or
// split entry, more than kMaxZipEntries entries or a directory over
// kMaxZipDirectoryBytes, entries that overlap the directory.
Result<std::vector<ZipEntry>> read_zip_directory(const InputFile& in);

// The CRC-32 (ISO-HDLC, zip's) of `size` bytes.
uint32_t zip_crc32(const uint8_t* data, size_t size);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_ZIP_ARCHIVE_H_
