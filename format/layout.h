// The byte layout of a .mlxpack file, as constants.
//
// spec/FORMAT.md is the authority; each block below repeats one of its tables
// (section named in the comment) and builds every offset from the previous
// one so the two cannot drift silently. static_asserts pin the sizes.
//
// File: [superblock][pad][entry data, each aligned][pad][index][trailer]
#ifndef MLXPACK_FORMAT_LAYOUT_H_
#define MLXPACK_FORMAT_LAYOUT_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace mlxpack::layout {

// §3 Magic: 89 'M' 'L' 'X' 'P' 'K' CR LF.
inline constexpr std::array<uint8_t, 8> kMagic = {0x89, 'M', 'L', 'X', 'P', 'K', 0x0D, 0x0A};

inline constexpr uint16_t kVersionMajor = 1;
inline constexpr uint16_t kVersionMinor = 0;

// §4 Superblock (and §8 trailer: a byte-identical copy at the end of the file).
//   OFFSET SIZE FIELD
inline constexpr size_t kSbMagicOffset = 0;                                       // 8  magic
inline constexpr size_t kSbVersionMajorOffset = kSbMagicOffset + 8;               // 2  version_major
inline constexpr size_t kSbVersionMinorOffset = kSbVersionMajorOffset + 2;        // 2  version_minor
inline constexpr size_t kSbSuperblockSizeOffset = kSbVersionMinorOffset + 2;      // 4  superblock_size
inline constexpr size_t kSbFeaturesRequiredOffset = kSbSuperblockSizeOffset + 4;  // 8  features_required
inline constexpr size_t kSbFeaturesOptionalOffset = kSbFeaturesRequiredOffset + 8;  // 8  features_optional
inline constexpr size_t kSbFileSizeOffset = kSbFeaturesOptionalOffset + 8;        // 8  file_size
inline constexpr size_t kSbAlignmentOffset = kSbFileSizeOffset + 8;               // 4  alignment
inline constexpr size_t kSbChecksumAlgorithmOffset = kSbAlignmentOffset + 4;      // 4  checksum_algorithm
inline constexpr size_t kSbIndexOffsetOffset = kSbChecksumAlgorithmOffset + 4;    // 8  index_offset
inline constexpr size_t kSbIndexSizeOffset = kSbIndexOffsetOffset + 8;            // 8  index_size
inline constexpr size_t kSbIndexChecksumOffset = kSbIndexSizeOffset + 8;          // 16 index_checksum
inline constexpr size_t kSbReservedOffset = kSbIndexChecksumOffset + 16;          // 32 reserved
inline constexpr size_t kSbReservedSize = 32;
inline constexpr size_t kSbChecksumOffset = kSbReservedOffset + kSbReservedSize;  // 16 superblock_checksum
inline constexpr size_t kSuperblockSize = kSbChecksumOffset + 16;
static_assert(kSbIndexChecksumOffset == 64);
static_assert(kSbChecksumOffset == 112);
static_assert(kSuperblockSize == 128);

inline constexpr uint32_t kChecksumXxh3_128 = 1;

// §4 Superblock: alignment limits (the `alignment` field).
inline constexpr uint32_t kMinAlignment = 64;
inline constexpr uint32_t kMaxAlignment = 1u << 20;
inline constexpr uint32_t kDefaultAlignment = 64;

// §5 Index header.
inline constexpr std::array<uint8_t, 4> kIndexMagic = {'M', 'X', 'I', 'X'};
inline constexpr size_t kIxMagicOffset = 0;                         // 4 index_magic
inline constexpr size_t kIxEntrySizeOffset = kIxMagicOffset + 4;     // 4 entry_size
inline constexpr size_t kIxEntryCountOffset = kIxEntrySizeOffset + 4;  // 8 entry_count
inline constexpr size_t kIxStringsSizeOffset = kIxEntryCountOffset + 8;  // 8 strings_size
inline constexpr size_t kIxReservedOffset = kIxStringsSizeOffset + 8;    // 8 reserved
inline constexpr size_t kIndexHeaderSize = kIxReservedOffset + 8;
static_assert(kIndexHeaderSize == 32);

// §6 Index entry.
inline constexpr size_t kEnKindOffset = 0;                           // 1  kind
inline constexpr size_t kEnTypeOffset = kEnKindOffset + 1;           // 1  dtype (tensor) / encoding
inline constexpr size_t kEnRankOffset = kEnTypeOffset + 1;           // 1  rank
inline constexpr size_t kEnReserved0Offset = kEnRankOffset + 1;      // 1  reserved
inline constexpr size_t kEnSourceIndexOffset = kEnReserved0Offset + 1;  // 4  source_index
inline constexpr size_t kEnNameOffsetOffset = kEnSourceIndexOffset + 4;  // 8  name_offset
inline constexpr size_t kEnNameSizeOffset = kEnNameOffsetOffset + 8;     // 4  name_size
inline constexpr size_t kEnReserved1Offset = kEnNameSizeOffset + 4;      // 4  reserved
inline constexpr size_t kEnDataOffsetOffset = kEnReserved1Offset + 4;    // 8  data_offset
inline constexpr size_t kEnStoredSizeOffset = kEnDataOffsetOffset + 8;   // 8  stored_size
inline constexpr size_t kEnOriginalSizeOffset = kEnStoredSizeOffset + 8;  // 8  original_size
inline constexpr size_t kEnChecksumOffset = kEnOriginalSizeOffset + 8;    // 16 checksum
inline constexpr size_t kEnDimsOffset = kEnChecksumOffset + 16;           // 64 dims[8]
inline constexpr size_t kMaxRank = 8;
inline constexpr size_t kEntrySize = kEnDimsOffset + 8 * kMaxRank;
static_assert(kEnDataOffsetOffset == 24);
static_assert(kEnChecksumOffset == 48);
static_assert(kEntrySize == 128);

// §6.1 Entry kinds.
inline constexpr uint8_t kKindTensor = 1;
inline constexpr uint8_t kKindFile = 2;
inline constexpr uint8_t kKindSource = 3;

// §6.3 Encodings of file and source entries.
inline constexpr uint8_t kEncodingRaw = 0;
inline constexpr uint8_t kEncodingZstd = 1;

inline constexpr uint32_t kNoSource = 0xFFFFFFFFu;

// §7 Limits.
inline constexpr uint64_t kMaxEntries = 1u << 20;
inline constexpr uint32_t kMaxNameSize = 4096;
inline constexpr uint64_t kMaxFileSize = uint64_t{1} << 62;
inline constexpr uint64_t kMaxBundledFileSize = uint64_t{1} << 30;  // original_size of a file entry
inline constexpr uint64_t kMaxSafetensorsHeaderSize = 100'000'000;  // as safetensors' MAX_HEADER_SIZE
// §5.1 entry_size: a multiple of 8 in [kEntrySize, kMaxEntrySize]; later
// minor versions may append fields to an entry.
inline constexpr uint32_t kMaxEntrySize = 1024;
inline constexpr uint32_t kEntrySizeMultiple = 8;

// Fuzz builds (MLXPACK_FUZZ=ON) skip the superblock, trailer and index
// checksum comparisons so the fuzzer can reach the rules behind them; no
// other build does.
#ifdef MLXPACK_FUZZING_SKIP_CHECKSUMS
inline constexpr bool kCheckStructureChecksums = false;
#else
inline constexpr bool kCheckStructureChecksums = true;
#endif

// §4 Superblock: features_required bits; none are defined in 1.0.
inline constexpr uint64_t kKnownRequiredFeatures = 0;

}  // namespace mlxpack::layout

#endif  // MLXPACK_FORMAT_LAYOUT_H_
