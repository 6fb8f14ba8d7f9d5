// format/half.h against the hardware's conversion (x86 F16C), where the
// CPU has it: every half, and float32s across the whole range.
#include "format/half.h"

#include <gtest/gtest.h>

#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mlxpack {
namespace {

TEST(Half, EveryHalfRoundTripsExceptSignalingNaNsWhichBecomeQuiet) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t back = f32_to_f16(f16_to_f32(static_cast<uint16_t>(h)));
    const bool nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
    EXPECT_EQ(back, nan ? (h | 0x200u) : h) << std::hex << h;
  }
}

TEST(Half, Bfloat16RoundsToNearestEvenAndKeepsNaNQuiet) {
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f808000u)), 0x3f80u);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f818000u)), 0x3f82u);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x7f7fffffu)), 0x7f80u);  // overflow: infinity
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x7f812345u)), 0x7fc1u);  // signaling NaN: quiet, top payload
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0xffc00001u)), 0xffc0u);
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (!std::isnan(f)) {
      EXPECT_EQ(f32_to_bf16(f), h);
    }
  }
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t hardware_to_half(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float hardware_from_half(uint16_t h) { return _cvtsh_ss(h); }

TEST(Half, AgreesWithF16CBitForBit) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "this CPU has no F16C";
  for (uint32_t h = 0; h < 65536; ++h) {
    ASSERT_EQ(f32_to_bits(f16_to_f32(static_cast<uint16_t>(h))), f32_to_bits(hardware_from_half(static_cast<uint16_t>(h))))
        << std::hex << h;
  }
  // Every 251st float32 bit pattern (all exponents, signs, NaN payloads),
  // plus the neighbourhood of each rounding boundary of the half range.
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 251) {
    const float f = f32_from_bits(static_cast<uint32_t>(bits));
    ASSERT_EQ(f32_to_f16(f), hardware_to_half(f)) << std::hex << bits;
  }
  for (uint32_t h = 0; h < 0x7c00u; ++h) {
    const uint32_t mid = f32_to_bits(f16_to_f32(static_cast<uint16_t>(h)));
    for (uint32_t d = 0; d < 0x2002u; d += 0xfffu) {
      const float f = f32_from_bits(mid + d);
      ASSERT_EQ(f32_to_f16(f), hardware_to_half(f)) << std::hex << (mid + d);
    }
  }
}
#endif

}  // namespace
}  // namespace mlxpack
