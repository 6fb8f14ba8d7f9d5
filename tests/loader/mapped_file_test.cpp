#include "loader/src/mapped_file.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "tests/support/test_files.h"

namespace mlxpack {
namespace {

std::string patterned_bytes(size_t n) {
  std::string bytes(n, '\0');
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  return bytes;
}

// The VmFlags line of the mapping that starts at `address` in
// /proc/self/smaps; empty when the file or the mapping is not there.
std::string vm_flags_of(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  char start[32];
  std::snprintf(start, sizeof start, "%lx-", static_cast<unsigned long>(reinterpret_cast<uintptr_t>(address)));
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    if (line.rfind(start, 0) == 0) {
      inside = true;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

TEST(MappedFile, ALargeFileStartsAtAHugePageBoundaryAdvisedForHugePages) {
  test::TempDir dir;
  const std::string bytes = patterned_bytes(kHugePageBytes + kHugePageBytes / 2 + 123);
  test::write_file(dir.file("big.bin"), bytes);
  auto map = MappedFile::open(dir.file("big.bin"));
  ASSERT_TRUE(map.is_ok()) << map.status().to_string();
  ASSERT_EQ(map->size_bytes(), bytes.size());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(map->data()) % kHugePageBytes, 0u);
  EXPECT_EQ(std::memcmp(map->data(), bytes.data(), bytes.size()), 0);
  const std::string flags = vm_flags_of(map->data());
  if (flags.empty()) GTEST_SKIP() << "no /proc/self/smaps entry to read the advice from";
  EXPECT_NE((flags + " ").find(" hg "), std::string::npos) << flags;
  EXPECT_EQ((flags + " ").find(" wr "), std::string::npos) << flags;
}

TEST(MappedFile, ASmallFileIsMappedWithoutTheAdvice) {
  test::TempDir dir;
  const std::string bytes = patterned_bytes(5000);
  test::write_file(dir.file("small.bin"), bytes);
  auto map = MappedFile::open(dir.file("small.bin"));
  ASSERT_TRUE(map.is_ok()) << map.status().to_string();
  ASSERT_EQ(map->size_bytes(), bytes.size());
  EXPECT_EQ(std::memcmp(map->data(), bytes.data(), bytes.size()), 0);
  const std::string flags = vm_flags_of(map->data());
  if (!flags.empty()) {
    EXPECT_EQ((flags + " ").find(" hg "), std::string::npos) << flags;
  }
}

TEST(MappedFile, AnEmptyFileHasNoBytes) {
  test::TempDir dir;
  test::write_file(dir.file("empty.bin"), "");
  auto map = MappedFile::open(dir.file("empty.bin"));
  ASSERT_TRUE(map.is_ok()) << map.status().to_string();
  EXPECT_EQ(map->size_bytes(), 0u);
  EXPECT_EQ(map->data(), nullptr);
}

}  // namespace
}  // namespace mlxpack
