// Runs on a big-endian host (tests/bigendian/run.sh: s390x under
// qemu-user) against packs written on a little-endian machine, proving the
// format code decodes explicitly rather than in host byte order.
//   MLXPACK_LE_TINY    the 960-byte pack of spec/FORMAT.md §10
//   MLXPACK_LE_STORIES a pack of stories260K, with
//   MLXPACK_LE_STORIES_JSON  `mlxpack info --json --tensors` of it, made on the little-endian host
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/byte_order.h"
#include "format/checksum.h"
#include "format/index.h"

namespace mlxpack {
namespace {

std::string slurp(const char* env) {
  const char* path = std::getenv(env);
  if (path == nullptr) return {};
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CrossEndianTest, ThisHostIsBigEndian) {
  const uint32_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  EXPECT_EQ(first, 0) << "run this test on a big-endian host (tests/bigendian/run.sh)";
}

TEST(CrossEndianTest, SpecExamplePackDecodes) {
  const std::string bytes = slurp("MLXPACK_LE_TINY");
  ASSERT_EQ(bytes.size(), 960u) << "set MLXPACK_LE_TINY";
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  auto index = IndexView::validate(p, bytes.size(), "tiny");
  ASSERT_TRUE(index.is_ok()) << index.status().to_string();
  EXPECT_EQ(index->superblock().index_offset, 384u);
  EXPECT_EQ(index->entry_count(), 3u);
  auto w = index->find(EntryKind::kTensor, "w");
  ASSERT_TRUE(w.has_value());
  const Entry e = index->entry(*w);
  EXPECT_EQ(e.dtype(), DType::kF32);
  EXPECT_EQ(e.rank, 2);
  EXPECT_EQ(e.dims[0], 2u);
  EXPECT_EQ(e.dims[1], 2u);
  for (int i = 0; i < 4; ++i) {
    const uint32_t bits = load_le32(p + e.data_offset + 4 * i);
    float v;
    std::memcpy(&v, &bits, 4);
    EXPECT_EQ(v, static_cast<float>(i + 1));
  }
  EXPECT_EQ(checksum_bytes(p + e.data_offset, e.stored_size), e.checksum);
}

TEST(CrossEndianTest, StoriesPackValidatesAndEveryChecksumMatches) {
  const std::string bytes = slurp("MLXPACK_LE_STORIES");
  const std::string info = slurp("MLXPACK_LE_STORIES_JSON");
  ASSERT_FALSE(bytes.empty()) << "set MLXPACK_LE_STORIES";
  ASSERT_FALSE(info.empty()) << "set MLXPACK_LE_STORIES_JSON";
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  auto index = IndexView::validate(p, bytes.size(), "stories");
  ASSERT_TRUE(index.is_ok()) << index.status().to_string();
  for (uint64_t i = 0; i < index->entry_count(); ++i) {
    const Entry e = index->entry(i);
    EXPECT_EQ(checksum_bytes(p + e.data_offset, e.stored_size), e.checksum) << e.name;
  }
  const auto j = nlohmann::json::parse(info);
  ASSERT_EQ(j["tensors"]["list"].size(), 47u);
  for (const auto& t : j["tensors"]["list"]) {
    auto at = index->find(EntryKind::kTensor, t["name"].get<std::string>());
    ASSERT_TRUE(at.has_value()) << t["name"];
    const Entry e = index->entry(*at);
    EXPECT_EQ(e.data_offset, t["offset"].get<uint64_t>());
    EXPECT_EQ(e.stored_size, t["size"].get<uint64_t>());
    ASSERT_EQ(e.rank, t["shape"].size());
    for (size_t d = 0; d < e.rank; ++d) EXPECT_EQ(e.dims[d], t["shape"][d].get<uint64_t>());
  }
}

}  // namespace
}  // namespace mlxpack
