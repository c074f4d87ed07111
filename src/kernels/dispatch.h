#pragma once
// Runtime ISA dispatch: the kernel set is chosen once at start-up from the CPU's features (never
// -march=native). Overridable with NLM_ISA=portable|avx2|avx512 for tests and benchmarks.
#include <string_view>

namespace nlm::kernels {

enum class Isa { kPortable, kAvx2, kAvx512, kNeon };

Isa active_isa();
std::string_view isa_name(Isa isa);

}  // namespace nlm::kernels
