// spec/FORMAT.md §9: one handcrafted file per MUST, each rejected at open
// with its own FormatError; truncation at every length is rejected.
#include <gtest/gtest.h>

#include "format/checksum.h"
#include "format/index.h"
#include "format/layout.h"
#include "format/superblock.h"
#include "mlxpack/loader.h"
#include "tests/support/test_support.h"

namespace mlxpack {
namespace {

using namespace layout;
using test::PackBytes;

// A pack with tensors aa (F32 [8,4]), ab (F16 [8]), ac (I64 scalar), az (U8 [0]),
// files config.json (raw) and tokenizer.json (zstd), and source model.safetensors.
class ConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string model = dir_.file("model");
    test::write_model_dir(model, {
                                     {"aa", DType::kF32, {8, 4}, test::random_bytes(128, 1)},
                                     {"ab", DType::kF16, {8}, test::random_bytes(16, 2)},
                                     {"ac", DType::kI64, {}, test::random_bytes(8, 3)},
                                     {"az", DType::kU8, {0}, ""},
                                 });
    test::write_file(model + "/tokenizer.json", std::string(4096, 'a'));
    test::pack_or_die(model, dir_.file("base.mlxpack"));
    base_.bytes = test::read_file(dir_.file("base.mlxpack"));
    ASSERT_EQ(base_.entry_count(), 7u);
  }

  // Entry positions in index order (ac and az sit at 2 and 3).
  static constexpr uint64_t kAa = 0, kAb = 1, kConfig = 4, kTokenizer = 5, kSource = 6;

  Status open_bytes(const PackBytes& p) {
    const std::string path = dir_.file("case.mlxpack");
    test::write_file(path, p.bytes);
    auto r = Reader::open(path);
    return r.is_ok() ? Status::ok() : r.status();
  }

  void expect_rejected(const PackBytes& p, FormatError expected, StatusCode code = StatusCode::kCorruption) {
    const Status s = open_bytes(p);
    EXPECT_FALSE(s.is_ok());
    EXPECT_EQ(format_error_name(s.format_error()), std::string(format_error_name(expected))) << s.to_string();
    EXPECT_EQ(s.code(), code) << s.to_string();
    EXPECT_FALSE(s.message().empty());
  }

  // Edits and reseals a copy of the base pack.
  template <typename F>
  PackBytes edited(F&& edit) {
    PackBytes p = base_;
    edit(p);
    p.reseal();
    return p;
  }

  test::TempDir dir_;
  PackBytes base_;
};

TEST_F(ConformanceTest, BasePackOpens) { EXPECT_TRUE(open_bytes(base_).is_ok()) << open_bytes(base_).to_string(); }

TEST_F(ConformanceTest, BadMagicIsNotFound) {
  PackBytes p = base_;
  p.bytes[0] = 'X';
  expect_rejected(p, FormatError::kBadMagic, StatusCode::kNotFound);
}

TEST_F(ConformanceTest, OtherFormatsAreNotFound) {
  for (std::string other : {std::string("{\"a\": 1}"), std::string("PK\x03\x04zipzipzip"),
                            std::string("GGUF\x03\0\0\0", 8) + std::string(64, '\0'), std::string()}) {
    PackBytes p;
    p.bytes = other;
    expect_rejected(p, FormatError::kBadMagic, StatusCode::kNotFound);
  }
}

TEST_F(ConformanceTest, NewerMajorVersionIsUnsupported) {
  expect_rejected(edited([](PackBytes& p) { p.bytes[kSbVersionMajorOffset] = 2; }), FormatError::kUnsupportedVersion,
                  StatusCode::kUnsupported);
}

TEST_F(ConformanceTest, NewerMinorVersionOpens) {
  EXPECT_TRUE(open_bytes(edited([](PackBytes& p) { p.bytes[kSbVersionMinorOffset] = 7; })).is_ok());
}

TEST_F(ConformanceTest, WrongSuperblockSizeIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.put_u32(kSbSuperblockSizeOffset, 256); }), FormatError::kBadSuperblockSize);
}

TEST_F(ConformanceTest, SuperblockChecksumMismatchIsRejected) {
  PackBytes p = base_;
  p.bytes[kSbFileSizeOffset + 5] ^= 1;  // not resealed
  expect_rejected(p, FormatError::kSuperblockChecksum);
}

TEST_F(ConformanceTest, UnknownRequiredFeatureIsUnsupported) {
  expect_rejected(edited([](PackBytes& p) { p.put_u64(kSbFeaturesRequiredOffset, 1); }),
                  FormatError::kUnknownRequiredFeature, StatusCode::kUnsupported);
}

TEST_F(ConformanceTest, UnknownOptionalFeatureIsIgnored) {
  EXPECT_TRUE(open_bytes(edited([](PackBytes& p) { p.put_u64(kSbFeaturesOptionalOffset, uint64_t{1} << 40); })).is_ok());
}

TEST_F(ConformanceTest, NonZeroSuperblockReservedIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.bytes[kSbReservedOffset + 31] = 1; }), FormatError::kSuperblockReserved);
}

TEST_F(ConformanceTest, BadAlignmentIsRejected) {
  for (uint32_t a : {0u, 32u, 96u, 1u << 21}) {
    expect_rejected(edited([&](PackBytes& p) { p.put_u32(kSbAlignmentOffset, a); }), FormatError::kBadAlignment);
  }
}

TEST_F(ConformanceTest, UnknownChecksumAlgorithmIsUnsupported) {
  expect_rejected(edited([](PackBytes& p) { p.put_u32(kSbChecksumAlgorithmOffset, 2); }),
                  FormatError::kBadChecksumAlgorithm, StatusCode::kUnsupported);
}

TEST_F(ConformanceTest, TrailingBytesAreAFileSizeMismatch) {
  PackBytes p = base_;
  p.bytes += std::string(64, '\0');
  expect_rejected(p, FormatError::kFileSizeMismatch);
}

TEST_F(ConformanceTest, TruncationAtEveryLengthIsRejectedAtOpen) {
  for (size_t len = 0; len < base_.bytes.size(); ++len) {
    PackBytes p;
    p.bytes = base_.bytes.substr(0, len);
    const Status s = open_bytes(p);
    ASSERT_FALSE(s.is_ok()) << "length " << len;
    const FormatError want = len < 8 ? FormatError::kBadMagic : FormatError::kFileSizeMismatch;
    ASSERT_EQ(s.format_error(), want) << "length " << len << ": " << s.to_string();
  }
}

TEST_F(ConformanceTest, DamagedTrailerIsRejected) {
  PackBytes p = base_;
  p.bytes[p.bytes.size() - 1] ^= 0x55;
  expect_rejected(p, FormatError::kTrailerMismatch);
}

TEST_F(ConformanceTest, IndexOutsideItsPlaceIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.put_u64(kSbIndexOffsetOffset, p.index_offset() + 64); }),
                  FormatError::kIndexOutOfBounds);
  expect_rejected(edited([](PackBytes& p) { p.put_u64(kSbIndexSizeOffset, ~uint64_t{0} - 8); }),
                  FormatError::kIndexOutOfBounds);
  expect_rejected(edited([](PackBytes& p) { p.put_u64(kSbIndexOffsetOffset, 0); }), FormatError::kIndexOutOfBounds);
}

TEST_F(ConformanceTest, IndexChecksumMismatchIsRejected) {
  PackBytes p = base_;
  p.bytes[p.index_offset() + p.index_size() - 9] ^= 1;  // a name byte; checksum not resealed
  expect_rejected(p, FormatError::kIndexChecksum);
}

TEST_F(ConformanceTest, BadIndexMagicIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.bytes[p.index_offset()] = 'X'; }), FormatError::kBadIndexMagic);
}

TEST_F(ConformanceTest, BadEntrySizeIsRejected) {
  for (uint32_t size : {64u, 130u, 2048u}) {
    expect_rejected(edited([&](PackBytes& p) { p.put_u32(p.index_offset() + kIxEntrySizeOffset, size); }),
                    FormatError::kBadEntrySize);
  }
}

TEST_F(ConformanceTest, TooManyEntriesIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.index_offset() + kIxEntryCountOffset, kMaxEntries + 1); }),
                  FormatError::kTooManyEntries);
  // A count whose product with the entry size would overflow is caught by the limit first.
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.index_offset() + kIxEntryCountOffset, uint64_t{1} << 60); }),
                  FormatError::kTooManyEntries);
}

TEST_F(ConformanceTest, IndexSizeDisagreeingWithCountsIsRejected) {
  expect_rejected(edited([](PackBytes& p) {
                    const size_t at = p.index_offset() + kIxStringsSizeOffset;
                    p.put_u64(at, p.get_u64(at) + 64);
                  }),
                  FormatError::kIndexSizeMismatch);
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.index_offset() + kIxEntryCountOffset, 100); }),
                  FormatError::kIndexSizeMismatch);
}

TEST_F(ConformanceTest, NonZeroIndexReservedIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.index_offset() + kIxReservedOffset, 1); }),
                  FormatError::kIndexReserved);
}

TEST_F(ConformanceTest, BadEntryKindIsRejected) {
  for (uint8_t kind : {0, 4, 255}) {
    expect_rejected(edited([&](PackBytes& p) { p.put_u8(p.entry_at(kAa) + kEnKindOffset, kind); }),
                    FormatError::kBadEntryKind);
  }
}

TEST_F(ConformanceTest, NonZeroEntryReservedIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.put_u8(p.entry_at(kAa) + kEnReserved0Offset, 1); }),
                  FormatError::kEntryReserved);
  expect_rejected(edited([](PackBytes& p) { p.put_u32(p.entry_at(kAb) + kEnReserved1Offset, 1); }),
                  FormatError::kEntryReserved);
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.entry_at(kConfig) + kEnDimsOffset, 3); }),
                  FormatError::kEntryReserved);
}

TEST_F(ConformanceTest, BadNamesAreRejected) {
  // Empty name.
  expect_rejected(edited([](PackBytes& p) {
                    p.put_u32(p.entry_at(kAa) + kEnNameSizeOffset, 0);
                  }),
                  FormatError::kBadName);
  // A name that does not start where the previous one ends.
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.entry_at(kAb) + kEnNameOffsetOffset, 0); }),
                  FormatError::kBadName);
  // A name running past the name table.
  expect_rejected(edited([](PackBytes& p) { p.put_u32(p.entry_at(kSource) + kEnNameSizeOffset, 1u << 30); }),
                  FormatError::kBadName);
  // Invalid UTF-8 and NUL inside a name ("aa" -> "a\xFF", "a\0").
  const size_t strings = base_.entry_at(base_.entry_count());
  expect_rejected(edited([&](PackBytes& p) { p.bytes[strings + 1] = '\xFF'; }), FormatError::kBadName);
  expect_rejected(edited([&](PackBytes& p) { p.bytes[strings + 1] = '\0'; }), FormatError::kBadName);
}

TEST_F(ConformanceTest, UnsafePathsAreRejected) {
  // config.json is the first file; same-length replacements keep the order.
  const size_t strings = base_.entry_at(base_.entry_count());
  const size_t config_name = strings + base_.get_u64(base_.entry_at(kConfig) + kEnNameOffsetOffset);
  for (std::string evil : {"../fig.json", "/onfig.json", "c\\nfig.json", "c//fig.json", "./nfig.json"}) {
    ASSERT_EQ(evil.size(), 11u);
    expect_rejected(edited([&](PackBytes& p) { p.bytes.replace(config_name, 11, evil); }), FormatError::kBadPath);
  }
}

TEST_F(ConformanceTest, UnsortedAndDuplicateNamesAreRejected) {
  const size_t strings = base_.entry_at(base_.entry_count());
  // "aa","ab" -> "ab","ab": duplicate.
  expect_rejected(edited([&](PackBytes& p) { p.bytes[strings + 1] = 'b'; }), FormatError::kUnsortedOrDuplicate);
  // "aa","ab" -> "ac","ab": out of order.
  expect_rejected(edited([&](PackBytes& p) { p.bytes[strings + 1] = 'c'; }), FormatError::kUnsortedOrDuplicate);
}

TEST_F(ConformanceTest, UnknownDtypeIsRejected) {
  for (uint8_t code : {0, 16, 200}) {
    expect_rejected(edited([&](PackBytes& p) { p.put_u8(p.entry_at(kAa) + kEnTypeOffset, code); }),
                    FormatError::kBadDtype);
  }
}

TEST_F(ConformanceTest, RankAboveLimitIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.put_u8(p.entry_at(kAa) + kEnRankOffset, 9); }), FormatError::kBadRank);
}

TEST_F(ConformanceTest, ShapeNotMatchingSizeIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.entry_at(kAa) + kEnDimsOffset, 9); }),
                  FormatError::kShapeSizeMismatch);
  // A shape whose byte size overflows 64 bits.
  expect_rejected(edited([](PackBytes& p) {
                    p.put_u64(p.entry_at(kAa) + kEnDimsOffset, uint64_t{1} << 62);
                    p.put_u64(p.entry_at(kAa) + kEnDimsOffset + 8, 16);
                  }),
                  FormatError::kShapeSizeMismatch);
}

TEST_F(ConformanceTest, BadEncodingIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.put_u8(p.entry_at(kConfig) + kEnTypeOffset, 2); }),
                  FormatError::kBadEncoding);
  expect_rejected(edited([](PackBytes& p) { p.put_u8(p.entry_at(kSource) + kEnTypeOffset, 1); }),
                  FormatError::kBadEncoding);
}

TEST_F(ConformanceTest, BadOriginalSizeIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.entry_at(kAa) + kEnOriginalSizeOffset, 129); }),
                  FormatError::kBadOriginalSize);
  // config.json is stored with zstd; declared raw, its sizes disagree.
  expect_rejected(edited([](PackBytes& p) { p.put_u8(p.entry_at(kConfig) + kEnTypeOffset, kEncodingRaw); }),
                  FormatError::kBadOriginalSize);
  expect_rejected(edited([](PackBytes& p) {
                    p.put_u64(p.entry_at(kTokenizer) + kEnOriginalSizeOffset, kMaxBundledFileSize + 1);
                  }),
                  FormatError::kBadOriginalSize);
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.entry_at(kSource) + kEnOriginalSizeOffset, 8); }),
                  FormatError::kBadOriginalSize);
}

TEST_F(ConformanceTest, BadSourceIndexIsRejected) {
  expect_rejected(edited([](PackBytes& p) { p.put_u32(p.entry_at(kAa) + kEnSourceIndexOffset, 1); }),
                  FormatError::kBadSourceIndex);
  expect_rejected(edited([](PackBytes& p) { p.put_u32(p.entry_at(kConfig) + kEnSourceIndexOffset, 0); }),
                  FormatError::kBadSourceIndex);
}

TEST_F(ConformanceTest, SourceSizeNotAddingUpIsRejected) {
  expect_rejected(edited([](PackBytes& p) {
                    const size_t at = p.entry_at(kSource) + kEnOriginalSizeOffset;
                    p.put_u64(at, p.get_u64(at) + 1);
                  }),
                  FormatError::kSourceSizeMismatch);
  expect_rejected(edited([](PackBytes& p) { p.put_u32(p.entry_at(kAa) + kEnSourceIndexOffset, kNoSource); }),
                  FormatError::kSourceSizeMismatch);
}

TEST_F(ConformanceTest, EntriesOutsideTheDataRegionAreRejected) {
  // Into the superblock.
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.entry_at(kAa) + kEnDataOffsetOffset, 0); }),
                  FormatError::kEntryOutOfBounds);
  // Into the index.
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.entry_at(kAb) + kEnDataOffsetOffset, p.index_offset()); }),
                  FormatError::kEntryOutOfBounds);
  // offset + size wraps around 2^64.
  expect_rejected(edited([](PackBytes& p) { p.put_u64(p.entry_at(kAa) + kEnDataOffsetOffset, ~uint64_t{0} - 63); }),
                  FormatError::kEntryOutOfBounds);
}

TEST_F(ConformanceTest, MisalignedEntryIsRejected) {
  expect_rejected(edited([](PackBytes& p) {
                    const size_t at = p.entry_at(kAb) + kEnDataOffsetOffset;
                    p.put_u64(at, p.get_u64(at) + 8);
                  }),
                  FormatError::kMisaligned);
}

TEST_F(ConformanceTest, OverlapIsRejected) {
  expect_rejected(edited([](PackBytes& p) {
                    p.put_u64(p.entry_at(kAb) + kEnDataOffsetOffset, p.get_u64(p.entry_at(kAa) + kEnDataOffsetOffset));
                  }),
                  FormatError::kOverlapOrHole);
}

TEST_F(ConformanceTest, HoleIsRejected) {
  // Shrink aa from 128 to 64 bytes (and its source to match): 64 bytes then
  // belong to nothing.
  expect_rejected(edited([](PackBytes& p) {
                    p.put_u64(p.entry_at(kAa) + kEnDimsOffset, 4);
                    p.put_u64(p.entry_at(kAa) + kEnStoredSizeOffset, 64);
                    p.put_u64(p.entry_at(kAa) + kEnOriginalSizeOffset, 64);
                    const size_t at = p.entry_at(kSource) + kEnOriginalSizeOffset;
                    p.put_u64(at, p.get_u64(at) - 64);
                  }),
                  FormatError::kOverlapOrHole);
}

TEST_F(ConformanceTest, EveryRuleHasItsOwnName) {
  for (int e = 1; e <= static_cast<int>(FormatError::kBadSafetensors); ++e) {
    for (int f = e + 1; f <= static_cast<int>(FormatError::kBadSafetensors); ++f) {
      EXPECT_STRNE(format_error_name(static_cast<FormatError>(e)), format_error_name(static_cast<FormatError>(f)));
    }
  }
}

}  // namespace
}  // namespace mlxpack

namespace mlxpack {
namespace {

// The rules checked when verifying (§9, second table). Checksums are made to
// match, so only the rule itself is broken: open succeeds, reading fails.
Status verify_bytes(const test::TempDir& dir, const PackBytes& p, const std::string& name) {
  const std::string path = dir.file("verify-case.mlxpack");
  test::write_file(path, p.bytes);
  auto r = Reader::open(path);
  if (!r.is_ok()) return r.status();
  return (*r)->verify(name);
}

TEST_F(ConformanceTest, ZstdFrameDeclaringAnotherSizeIsRejected) {
  for (uint64_t lie : {uint64_t{4000}, uint64_t{5000}, kMaxBundledFileSize}) {
    PackBytes p = edited([&](PackBytes& q) { q.put_u64(q.entry_at(kTokenizer) + kEnOriginalSizeOffset, lie); });
    const std::string path = dir_.file("lie.mlxpack");
    test::write_file(path, p.bytes);
    auto r = Reader::open(path);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    auto file = (*r)->file("tokenizer.json");
    ASSERT_FALSE(file.is_ok());
    EXPECT_EQ(file.status().format_error(), FormatError::kBadCompressedData) << file.status().to_string();
    EXPECT_EQ((*r)->verify("tokenizer.json").format_error(), FormatError::kBadCompressedData);
  }
}

TEST_F(ConformanceTest, CorruptZstdDataWithAMatchingChecksumIsRejected) {
  PackBytes p = base_;
  const uint64_t offset = p.get_u64(p.entry_at(kTokenizer) + kEnDataOffsetOffset);
  const uint64_t size = p.get_u64(p.entry_at(kTokenizer) + kEnStoredSizeOffset);
  for (uint64_t k = offset + 6; k < offset + size; ++k) p.bytes[k] = '\x5A';
  p.rehash_entry(kTokenizer);
  p.reseal();
  const Status s = verify_bytes(dir_, p, "tokenizer.json");
  EXPECT_EQ(s.format_error(), FormatError::kBadCompressedData) << s.to_string();
}

TEST_F(ConformanceTest, SourceHeaderDisagreeingWithTheIndexIsRejected) {
  // Rename tensor "ab" to "ax" inside the stored safetensors header.
  PackBytes p = base_;
  const uint64_t offset = p.get_u64(p.entry_at(kSource) + kEnDataOffsetOffset);
  const size_t at = p.bytes.find("\"ab\"", offset);
  ASSERT_NE(at, std::string::npos);
  p.bytes[at + 2] = 'x';
  p.rehash_entry(kSource);
  p.reseal();
  const Status s = verify_bytes(dir_, p, "model.safetensors");
  EXPECT_EQ(s.format_error(), FormatError::kBadSafetensors) << s.to_string();
  EXPECT_NE(s.message().find("model.safetensors"), std::string::npos);
}

TEST_F(ConformanceTest, SourceHeaderSizeFieldDisagreeingIsRejected) {
  PackBytes p = base_;
  const uint64_t offset = p.get_u64(p.entry_at(kSource) + kEnDataOffsetOffset);
  p.put_u64(offset, p.get_u64(offset) - 8);
  p.rehash_entry(kSource);
  p.reseal();
  EXPECT_EQ(verify_bytes(dir_, p, "model.safetensors").format_error(), FormatError::kBadSafetensors);
}

}  // namespace
}  // namespace mlxpack

namespace mlxpack {
namespace {

// Builds a pack from scratch with the given index entries and no data (all
// entries zero-sized at data_start): for rules the writer cannot break.
std::string handcrafted_pack(const std::vector<Entry>& entries) {
  const std::vector<uint8_t> index = encode_index(entries);
  Superblock sb;
  sb.alignment = 64;
  sb.index_offset = data_region_start(64);
  sb.index_size = index.size();
  sb.index_checksum = checksum_bytes(index.data(), index.size());
  sb.file_size = sb.index_offset + index.size() + kSuperblockSize;
  const SuperblockBytes head = encode_superblock(sb);
  std::string out(reinterpret_cast<const char*>(head.data()), head.size());
  out.resize(sb.index_offset, '\0');
  out.append(reinterpret_cast<const char*>(index.data()), index.size());
  out.append(reinterpret_cast<const char*>(head.data()), head.size());
  return out;
}

// A zero-sized U8 tensor of shape [0] named `name`, at data_start.
Entry zero_sized_tensor(const std::string& name) {
  Entry e;
  e.kind = EntryKind::kTensor;
  e.type = static_cast<uint8_t>(DType::kU8);
  e.rank = 1;
  e.name = name;
  e.data_offset = data_region_start(64);
  return e;
}

TEST_F(ConformanceTest, HandcraftedPackWithAZeroSizedTensorOpens) {
  const std::string name(4096, 'n');
  PackBytes p;
  p.bytes = handcrafted_pack({zero_sized_tensor(name)});
  EXPECT_TRUE(open_bytes(p).is_ok()) << open_bytes(p).to_string();
}

TEST_F(ConformanceTest, OverLongNameIsRejected) {
  const std::string name(4097, 'n');
  PackBytes p;
  p.bytes = handcrafted_pack({zero_sized_tensor(name)});
  expect_rejected(p, FormatError::kBadName);
  EXPECT_NE(open_bytes(p).message().find("4096"), std::string::npos);
}

}  // namespace
}  // namespace mlxpack
