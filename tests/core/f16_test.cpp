// f16 / bf16 conversion: exhaustive round trip of every f16 bit pattern, rounding to nearest even at
// ties, overflow, subnormals, NaN; bf16 the same on sampled patterns. Expected values are IEEE 754 facts.
#include "core/f16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace nlm::core {
namespace {

TEST(F16, EveryPatternRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f))));
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), h) << std::hex << h;
  }
}

TEST(F16, KnownValues) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.f, -14));  // smallest normal
  EXPECT_EQ(f16_to_f32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f32_to_f16(65519.f), 0x7BFF);  // below the midpoint to 65536: rounds down
  EXPECT_EQ(f32_to_f16(65520.f), 0x7C00);  // the midpoint ties to even: infinity
  EXPECT_EQ(f32_to_f16(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xFC00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.f, -25)), 0x0000);          // tie between 0 and 2^-24: even (0)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);         // above the tie
  EXPECT_EQ(f32_to_f16(std::ldexp(3.f, -25)), 0x0002);          // 1.5 × 2^-24 ties to even (2)
  EXPECT_EQ(f32_to_f16(1.f + std::ldexp(1.f, -11)), 0x3C00);    // tie: even mantissa 0
  EXPECT_EQ(f32_to_f16(1.f + 3 * std::ldexp(1.f, -11)), 0x3C02);  // tie: rounds up to even
  EXPECT_EQ(f32_to_f16(-0.f), 0x8000);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(BF16, RoundsToNearestEven) {
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.f);
  EXPECT_EQ(f32_to_bf16(1.f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(bits_f32(0x3F808000)), 0x3F80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(bits_f32(0x3F818000)), 0x3F82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(bits_f32(0x3F808001)), 0x3F81);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  for (uint32_t h = 0; h < 0x10000; h += 7) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (!std::isnan(f)) {
      ASSERT_EQ(f32_to_bf16(f), h);
    }
  }
}

}  // namespace
}  // namespace nlm::core
