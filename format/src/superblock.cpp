#include "format/superblock.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "format/byte_order.h"
#include "format/file_kind.h"

namespace mlxpack {

using namespace layout;

SuperblockBytes encode_superblock(const Superblock& sb) {
  SuperblockBytes b{};
  std::memcpy(b.data() + kSbMagicOffset, kMagic.data(), kMagic.size());
  store_le16(b.data() + kSbVersionMajorOffset, sb.version_major);
  store_le16(b.data() + kSbVersionMinorOffset, sb.version_minor);
  store_le32(b.data() + kSbSuperblockSizeOffset, static_cast<uint32_t>(kSuperblockSize));
  store_le64(b.data() + kSbFeaturesRequiredOffset, sb.features_required);
  store_le64(b.data() + kSbFeaturesOptionalOffset, sb.features_optional);
  store_le64(b.data() + kSbFileSizeOffset, sb.file_size);
  store_le32(b.data() + kSbAlignmentOffset, sb.alignment);
  store_le32(b.data() + kSbChecksumAlgorithmOffset, sb.checksum_algorithm);
  store_le64(b.data() + kSbIndexOffsetOffset, sb.index_offset);
  store_le64(b.data() + kSbIndexSizeOffset, sb.index_size);
  store_le64(b.data() + kSbIndexChecksumOffset, sb.index_checksum.low64);
  store_le64(b.data() + kSbIndexChecksumOffset + 8, sb.index_checksum.high64);
  Checksum128 self = checksum_bytes(b.data(), kSbChecksumOffset);
  store_le64(b.data() + kSbChecksumOffset, self.low64);
  store_le64(b.data() + kSbChecksumOffset + 8, self.high64);
  return b;
}

Result<Superblock> decode_superblock(const uint8_t* bytes, size_t size, const std::string& what) {
  if (size < kMagic.size() || std::memcmp(bytes, kMagic.data(), kMagic.size()) != 0) {
    return Status::not_found(what + ": not an mlxpack file (the first 8 bytes are not the magic 89 4D 4C 58 50 4B 0D 0A)" +
                                 foreign_file_hint(identify_foreign_file(bytes, size, size)),
                             FormatError::kBadMagic);
  }
  if (size < kSuperblockSize) {
    return Status::corruption(FormatError::kFileSizeMismatch,
                              what + ": file is " + std::to_string(size) +
                                  " bytes, shorter than the " + std::to_string(kSuperblockSize) +
                                  "-byte superblock (truncated)");
  }
  ByteCursor c(bytes, kSuperblockSize);
  c.skip(kMagic.size());
  Superblock sb;
  uint32_t superblock_size = 0;
  c.read_u16(&sb.version_major);
  c.read_u16(&sb.version_minor);
  c.read_u32(&superblock_size);
  c.read_u64(&sb.features_required);
  c.read_u64(&sb.features_optional);
  c.read_u64(&sb.file_size);
  c.read_u32(&sb.alignment);
  c.read_u32(&sb.checksum_algorithm);
  c.read_u64(&sb.index_offset);
  c.read_u64(&sb.index_size);
  c.read_u64(&sb.index_checksum.low64);
  c.read_u64(&sb.index_checksum.high64);

  if (sb.version_major != kVersionMajor) {
    return Status::unsupported(what + ": format version_major is " + std::to_string(sb.version_major) +
                                   ", this reader supports only " + std::to_string(kVersionMajor),
                               FormatError::kUnsupportedVersion);
  }
  if (superblock_size != kSuperblockSize) {
    return Status::corruption(FormatError::kBadSuperblockSize,
                              what + ": superblock_size is " + std::to_string(superblock_size) +
                                  ", must be " + std::to_string(kSuperblockSize) + " in version 1");
  }
  Checksum128 stored{load_le64(bytes + kSbChecksumOffset), load_le64(bytes + kSbChecksumOffset + 8)};
  Checksum128 actual = checksum_bytes(bytes, kSbChecksumOffset);
  if (kCheckStructureChecksums && stored != actual) {
    return Status::corruption(FormatError::kSuperblockChecksum,
                              what + ": superblock_checksum is " + stored.to_hex() +
                                  " but bytes [0, 112) hash to " + actual.to_hex());
  }
  uint64_t unknown = sb.features_required & ~kKnownRequiredFeatures;
  if (unknown != 0) {
    char hex[24];
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(unknown));
    return Status::unsupported(what + ": features_required has unknown bits " + hex +
                                   "; this reader knows none",
                               FormatError::kUnknownRequiredFeature);
  }
  for (size_t i = 0; i < kSbReservedSize; ++i) {
    if (bytes[kSbReservedOffset + i] != 0) {
      return Status::corruption(FormatError::kSuperblockReserved,
                                what + ": superblock reserved byte at offset " +
                                    std::to_string(kSbReservedOffset + i) + " is " +
                                    std::to_string(bytes[kSbReservedOffset + i]) + ", must be 0");
    }
  }
  if (sb.alignment < kMinAlignment || sb.alignment > kMaxAlignment ||
      (sb.alignment & (sb.alignment - 1)) != 0) {
    return Status::corruption(FormatError::kBadAlignment,
                              what + ": alignment is " + std::to_string(sb.alignment) +
                                  ", must be a power of two in [" + std::to_string(kMinAlignment) +
                                  ", " + std::to_string(kMaxAlignment) + "]");
  }
  if (sb.checksum_algorithm != kChecksumXxh3_128) {
    return Status::unsupported(what + ": checksum_algorithm is " + std::to_string(sb.checksum_algorithm) +
                                   ", only 1 (XXH3-128) is defined",
                               FormatError::kBadChecksumAlgorithm);
  }
  return sb;
}

}  // namespace mlxpack
