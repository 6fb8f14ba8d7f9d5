#include "format/superblock.h"

#include <gtest/gtest.h>

#include "format/byte_order.h"
#include "format/checksum.h"

namespace mlxpack {
namespace {

TEST(SuperblockTest, EncodeThenDecodeRoundTrips) {
  Superblock sb;
  sb.file_size = 123456789012345;
  sb.alignment = 4096;
  sb.index_offset = 1u << 20;
  sb.index_size = 4096;
  sb.features_optional = 0x8000000000000001ull;
  sb.index_checksum = {0x1122334455667788ull, 0x99aabbccddeeff00ull};
  const SuperblockBytes bytes = encode_superblock(sb);
  auto back = decode_superblock(bytes.data(), bytes.size(), "x");
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->file_size, sb.file_size);
  EXPECT_EQ(back->alignment, sb.alignment);
  EXPECT_EQ(back->index_offset, sb.index_offset);
  EXPECT_EQ(back->index_size, sb.index_size);
  EXPECT_EQ(back->features_optional, sb.features_optional);
  EXPECT_EQ(back->index_checksum, sb.index_checksum);
  // Little-endian on every host: the low byte of file_size comes first.
  EXPECT_EQ(bytes[layout::kSbFileSizeOffset], 0x79);
  EXPECT_EQ(load_le64(bytes.data() + layout::kSbIndexChecksumOffset), 0x1122334455667788ull);
}

TEST(ChecksumTest, MatchesXxh3_128KnownValues) {
  // XXH3-128 of the empty input (seed 0), as published by xxHash.
  const Checksum128 empty = checksum_bytes("", 0);
  EXPECT_EQ(empty.to_hex(), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(checksum_bytes("abc", 3).to_hex(), "06b05ab6733a618578af5f94892f3950");  // xxhsum -H2
  // Streaming gives the one-shot value, across chunk boundaries.
  const std::string data(100000, 'x');
  Hasher h;
  for (size_t i = 0; i < data.size(); i += 777) h.update(data.data() + i, std::min<size_t>(777, data.size() - i));
  EXPECT_EQ(h.digest(), checksum_bytes(data.data(), data.size()));
}

}  // namespace
}  // namespace mlxpack
