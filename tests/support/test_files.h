// Files for tests: temporary directories, whole-file reads and writes,
// and the shared test data. Only the standard library and gtest, so the
// big-endian build (tests/bigendian/run.sh) compiles the tests that use
// them without the rest of the test support (which links the packer).
#ifndef MLXPACK_TESTS_SUPPORT_TEST_FILES_H_
#define MLXPACK_TESTS_SUPPORT_TEST_FILES_H_

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace mlxpack::test {

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);
std::vector<std::string> list_files(const std::string& dir);  // regular files, sorted, recursive, relative

// The shared data directory: $MLXPACK_TEST_DATA, else ../shared beside the
// source tree. nullopt when absent.
std::optional<std::string> test_data_dir();

// Skips the test (outside CI) or fails it (CI=true) when the shared data set
// `relative` is missing; returns its absolute path otherwise. Use as
//   std::string dir; MLXPACK_REQUIRE_TEST_DATA("models/stories260K", dir);
std::string test_data_path(const std::string& relative, bool* missing);
#define MLXPACK_REQUIRE_TEST_DATA(relative, out)                                              \
  do {                                                                                        \
    bool mlxpack_missing_ = false;                                                            \
    out = ::mlxpack::test::test_data_path(relative, &mlxpack_missing_);                       \
    if (mlxpack_missing_) {                                                                   \
      if (::mlxpack::test::running_in_ci()) FAIL() << "CI=true but test data is missing: " << relative; \
      GTEST_SKIP() << "test data not found (set MLXPACK_TEST_DATA): " << relative;           \
    }                                                                                         \
  } while (0)
bool running_in_ci();

}  // namespace mlxpack::test

#endif  // MLXPACK_TESTS_SUPPORT_TEST_FILES_H_
