// ISA dispatch: the default choice is the best kernel set the CPU runs, every ISA the CPU features
// allow is offered (so the other tests really cover it), and set_isa refuses what the CPU lacks.
#include "kernels/dispatch.h"

#include <gtest/gtest.h>

#include <iostream>

#include "core/cpu_features.h"

namespace nlm::kernels {
namespace {

TEST(Dispatch, OffersEveryIsaTheCpuRuns) {
  const auto& f = core::cpu_features();
  std::cout << "kernels: " << isa_description() << "; tested ISAs:";
  for (Isa i : supported_isas()) std::cout << " " << isa_name(i);
  std::cout << "\n";
  EXPECT_TRUE(isa_supported(Isa::kPortable));
#if defined(__x86_64__)
  EXPECT_EQ(isa_supported(Isa::kAvx2), f.avx2 && f.fma && f.f16c);
  EXPECT_FALSE(isa_supported(Isa::kNeon));
#elif defined(__aarch64__)
  EXPECT_EQ(isa_supported(Isa::kNeon), f.neon && f.dotprod);
  EXPECT_FALSE(isa_supported(Isa::kAvx2));
#endif
  EXPECT_EQ(supported_isas().front(), Isa::kPortable);
}

TEST(Dispatch, SetIsaRoundTripsAndRefusesUnsupported) {
  const Isa saved = active_isa();
  for (Isa i : supported_isas()) {
    ASSERT_TRUE(set_isa(i));
    EXPECT_EQ(active_isa(), i);
  }
  for (Isa i : {Isa::kPortable, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    if (!isa_supported(i)) {
      EXPECT_FALSE(set_isa(i));
    }
  }
  ASSERT_TRUE(set_isa(saved));
}

}  // namespace
}  // namespace nlm::kernels
