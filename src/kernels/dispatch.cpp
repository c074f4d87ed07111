#include "kernels/dispatch.h"

#include <cstdlib>
#include <cstring>

#include "core/cpu_features.h"

namespace nlm::kernels {
namespace {
Isa detect_isa() {
  const auto& f = core::cpu_features();
  Isa best = Isa::kPortable;
#if defined(__aarch64__)
  best = Isa::kNeon;
#else
  if (f.avx2 && f.fma && f.f16c) best = Isa::kAvx2;
  if (best == Isa::kAvx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq) best = Isa::kAvx512;
#endif
  if (const char* forced = std::getenv("NLM_ISA")) {
    if (std::strcmp(forced, "portable") == 0) return Isa::kPortable;
    if (std::strcmp(forced, "avx2") == 0 && best == Isa::kAvx512) return Isa::kAvx2;
  }
  return best;
}
}  // namespace

Isa active_isa() {
  static const Isa kIsa = detect_isa();
  return kIsa;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kPortable: return "portable";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kNeon: return "neon";
  }
  return "portable";
}

}  // namespace nlm::kernels
