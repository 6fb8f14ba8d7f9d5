#include <gtest/gtest.h>

#include "tests/support/test_support.h"

extern "C" int mlxpack_test_count_tensors_from_c(const char* path);
namespace mlxpack_test {
unsigned long long sum_tensor_bytes_cxx17(const std::string& path);
}

namespace mlxpack {
namespace {

TEST(PublicHeadersTest, CAndCxx17ClientsReadAPack) {
  test::TempDir dir;
  const auto tensors = test::sample_tensors();
  test::write_model_dir(dir.file("m"), tensors);
  test::pack_or_die(dir.file("m"), dir.file("m.mlxpack"));
  EXPECT_EQ(mlxpack_test_count_tensors_from_c(dir.file("m.mlxpack").c_str()), static_cast<int>(tensors.size()));
  unsigned long long want = 0;
  for (const auto& t : tensors) want += t.bytes.size();
  EXPECT_EQ(mlxpack_test::sum_tensor_bytes_cxx17(dir.file("m.mlxpack")), want);
  EXPECT_EQ(mlxpack_test_count_tensors_from_c(dir.file("absent.mlxpack").c_str()), -1);
}

}  // namespace
}  // namespace mlxpack
