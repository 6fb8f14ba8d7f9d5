#include "format/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/support/test_files.h"

namespace mlxpack {
namespace {

std::string patterned_bytes(size_t n, unsigned seed) {
  std::string bytes(n, '\0');
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>((i * 131 + seed + i / 4096) & 0xff);
  return bytes;
}

TEST(OutputFile, AppendsOfEverySizeAndAPatchLandWhereTheyBelong) {
  test::TempDir dir;
  auto out = OutputFile::create(dir.file("out.bin"), false);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  std::string expected;
  const auto append = [&](const std::string& bytes) {
    ASSERT_TRUE(out->append(bytes.data(), bytes.size()).is_ok());
    expected += bytes;
    ASSERT_EQ(out->position(), expected.size());
  };
  append(patterned_bytes(100, 1));                                    // starts a stretch
  append(patterned_bytes(3 * kWriteStretchBytes + 7, 2));             // fills it, then whole ones
  append(patterned_bytes(1, 3));
  ASSERT_TRUE(out->append_zeros(5000).is_ok());
  expected += std::string(5000, '\0');
  const uint64_t to_boundary = kWriteStretchBytes - expected.size() % kWriteStretchBytes;
  append(patterned_bytes(to_boundary, 4));                            // ends exactly on a boundary
  append(patterned_bytes(2 * kWriteStretchBytes, 5));                 // straight through, aligned
  append(patterned_bytes(12345, 6));                                  // still pending at the patch
  const std::string patch = "patched";
  ASSERT_TRUE(out->write_at(10, patch.data(), patch.size()).is_ok());
  expected.replace(10, patch.size(), patch);
  const uint64_t late = expected.size() - 100;  // inside what was pending
  ASSERT_TRUE(out->write_at(late, patch.data(), patch.size()).is_ok());
  expected.replace(late, patch.size(), patch);
  append(patterned_bytes(999, 7));
  ASSERT_TRUE(out->commit().is_ok());
  const std::string got = test::read_file(dir.file("out.bin"));
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "the written file differs from the appended bytes";
}

// Bytes of `path` the kernel maps with 2 MiB entries after a read of every
// page through a mapping at a 2 MiB boundary: how much of the file the page
// cache holds in 2 MiB folios. -1 where /proc/self/smaps does not say.
int64_t huge_folio_bytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  const uint64_t size = static_cast<uint64_t>(::lseek(fd, 0, SEEK_END)), huge = uint64_t{2} << 20;
  void* reserved = ::mmap(nullptr, size + huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  const uintptr_t aligned = (reinterpret_cast<uintptr_t>(reserved) + huge - 1) / huge * huge;
  void* p = ::mmap(reinterpret_cast<void*>(aligned), size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
  ::close(fd);
  volatile uint8_t sink = 0;
  for (uint64_t off = 0; off < size; off += 4096) sink = sink + static_cast<const uint8_t*>(p)[off];
  char start[32];
  std::snprintf(start, sizeof start, "%lx-", static_cast<unsigned long>(aligned));
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  int64_t bytes = -1;
  while (std::getline(smaps, line)) {
    if (line.rfind(start, 0) == 0) {
      inside = true;
    } else if (inside && line.rfind("FilePmdMapped:", 0) == 0) {
      bytes = std::stoll(line.substr(14)) * 1024;
      break;
    }
  }
  ::munmap(reserved, size + huge);
  return bytes;
}

TEST(OutputFile, SmallAppendsReachThePageCacheAsWholeHugeFolios) {
  test::TempDir dir;
  const uint64_t size = 3 * kWriteStretchBytes;
  // Whether this kernel and file system keep 2 MiB folios at all: one
  // aligned write of the whole file.
  test::write_file(dir.file("reference.bin"), patterned_bytes(size, 8));
  const int64_t reference = huge_folio_bytes(dir.file("reference.bin"));
  if (reference <= 0) GTEST_SKIP() << "no 2 MiB page-cache folios here (FilePmdMapped " << reference << ")";
  auto out = OutputFile::create(dir.file("out.bin"), false);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  const std::string piece = patterned_bytes(1000, 9);
  while (out->position() < size) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), size - out->position()));
    ASSERT_TRUE(out->append(piece.data(), n).is_ok());
  }
  ASSERT_TRUE(out->commit().is_ok());
  EXPECT_EQ(huge_folio_bytes(dir.file("out.bin")), reference);
}

}  // namespace
}  // namespace mlxpack
