#pragma once
// Runtime ISA dispatch: the kernel set is chosen once at start-up from the CPU's features (never
// -march=native). Overridable with NLM_ISA=portable|avx2|avx512|neon for tests and benchmarks (a request for
// an ISA the CPU lacks is ignored), or with set_isa() from tests and benches.
#include <string_view>
#include <vector>

namespace nlm::kernels {

enum class Isa { kPortable, kAvx2, kAvx512, kNeon };

Isa active_isa();
std::string_view isa_name(Isa isa);

// True when this binary has kernels for `isa` and the CPU runs them.
bool isa_supported(Isa isa);
// Every supported ISA, portable first.
std::vector<Isa> supported_isas();
// Switches the kernel set (tests, benches). Returns false, changing nothing, when unsupported. Not for
// use while other threads run kernels.
bool set_isa(Isa isa);
// "avx2 (avx2 fma f16c)" and the like: the choice and the features that made it, for logs and `info`.
std::string_view isa_description();

}  // namespace nlm::kernels
