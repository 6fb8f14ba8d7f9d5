// The one CPU probe against the compiler's: they must agree wherever the
// OS saves the wide registers (every Linux that runs these tests).
#include "format/cpu_features.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace mlxpack {
namespace {

#if defined(__x86_64__)
TEST(CpuFeatures, AgreeWithTheCompilersProbe) {
  const CpuFeatures& f = cpu_features();
  EXPECT_EQ(f.avx2, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  EXPECT_EQ(f.avx512f, f.avx2 && __builtin_cpu_supports("avx512f"));
  EXPECT_EQ(f.avx512, f.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"));
  // The probe also needs Linux's grant of the tile state, which a kernel
  // without AMX support refuses: it may say no where the CPU says yes,
  // never the reverse.
  if (f.amx_int8) {
    EXPECT_TRUE(f.avx512_bf16);
    EXPECT_TRUE(__builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-int8"));
    EXPECT_EQ(f.amx_bf16, bool(__builtin_cpu_supports("amx-bf16")));
  } else {
    EXPECT_FALSE(f.amx_bf16);
  }
}
#endif

TEST(CpuFeatures, TheKernelsOverrideComesFromTheEnvironment) {
  const char* saved = std::getenv("MLXPACK_KERNELS");
  const std::string before = saved ? saved : "";
  ::setenv("MLXPACK_KERNELS", "scalar", 1);
  EXPECT_EQ(requested_kernels(), "scalar");
  ::unsetenv("MLXPACK_KERNELS");
  EXPECT_EQ(requested_kernels(), "");
  if (saved) ::setenv("MLXPACK_KERNELS", before.c_str(), 1);
}

}  // namespace
}  // namespace mlxpack
