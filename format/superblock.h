// The superblock (spec/FORMAT.md §4) and its trailer copy (§8).
#ifndef MLXPACK_FORMAT_SUPERBLOCK_H_
#define MLXPACK_FORMAT_SUPERBLOCK_H_

#include <array>
#include <cstdint>

#include "format/checksum.h"
#include "format/layout.h"
#include "mlxpack/status.h"

namespace mlxpack {

struct Superblock {
  uint16_t version_major = layout::kVersionMajor;
  uint16_t version_minor = layout::kVersionMinor;
  uint64_t features_required = 0;
  uint64_t features_optional = 0;
  uint64_t file_size = 0;
  uint32_t alignment = layout::kDefaultAlignment;
  uint32_t checksum_algorithm = layout::kChecksumXxh3_128;
  uint64_t index_offset = 0;
  uint64_t index_size = 0;
  Checksum128 index_checksum;
};

using SuperblockBytes = std::array<uint8_t, layout::kSuperblockSize>;

// Serializes `sb`, filling reserved bytes with zero and computing
// superblock_checksum last.
SuperblockBytes encode_superblock(const Superblock& sb);

// Decodes and checks one superblock in isolation, in the order of §4.1:
// magic (NotFound: not an mlxpack file), version_major (Unsupported),
// superblock_size, superblock_checksum, features_required, reserved bytes,
// alignment, checksum_algorithm (all Corruption with their FormatError,
// except unknown features and algorithms, which are Unsupported).
// Does not check file_size or the index against the file: see
// IndexView::validate (format/index.h).
// `what` names the file in messages.
Result<Superblock> decode_superblock(const uint8_t* bytes, size_t size, const std::string& what);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_SUPERBLOCK_H_
