#include "kernels/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/cpu_features.h"
#include "kernels/cpu/isa.h"

namespace nlm::kernels {
namespace cpu {
#if !defined(__x86_64__) || defined(NLM_NO_X86_KERNELS)
const IsaKernels* avx2_kernels() { return nullptr; }
const IsaKernels* avx512_kernels() { return nullptr; }
bool avx512_use_vbmi(bool) { return false; }
bool avx512_vbmi() { return false; }
#endif
#if !defined(__aarch64__)
const IsaKernels* neon_kernels() { return nullptr; }
#endif
}  // namespace cpu

namespace {

const cpu::IsaKernels* raw_table(Isa isa) {
  switch (isa) {
    case Isa::kPortable: return &cpu::portable_kernels();
    case Isa::kAvx2: return cpu::avx2_kernels();
    case Isa::kAvx512: return cpu::avx512_kernels();
    case Isa::kNeon: return cpu::neon_kernels();
  }
  return nullptr;
}

bool cpu_runs(Isa isa) {
  const auto& f = core::cpu_features();
  switch (isa) {
    case Isa::kPortable: return true;
    case Isa::kAvx2: return f.avx2 && f.fma && f.f16c;
    case Isa::kAvx512:
#ifdef NLM_AVX512_EMULATE  // test builds: the AVX-512 table on scalar stand-ins (cpu/avx512_emu.h)
      return f.avx2 && f.fma && f.f16c;
#endif
      return f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni;
    case Isa::kNeon: return f.neon && f.dotprod;  // ops_neon.cpp is built with +dotprod
  }
  return false;
}

// A copy of an ISA's table with its null entries taken from the portable table.
struct Merged {
  cpu::IsaKernels table[4];
  bool ready[4] = {};
};

const cpu::IsaKernels* merged_table(Isa isa) {
  static Merged merged = [] {
    Merged m;
    for (Isa i : {Isa::kPortable, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
      const cpu::IsaKernels* t = raw_table(i);
      if (!t) continue;
      cpu::IsaKernels k = *t;
      // AVX-512 builds on the AVX2 table (every AVX-512 CPU runs it), the others on the portable one.
      const cpu::IsaKernels& base = i == Isa::kAvx512 && m.ready[static_cast<int>(Isa::kAvx2)]
                                        ? m.table[static_cast<int>(Isa::kAvx2)]
                                        : cpu::portable_kernels();
#define NLM_FILL(f) \
  if (!k.f) k.f = base.f
      NLM_FILL(dot_float);
      NLM_FILL(dot_quant);
      NLM_FILL(quantize_act);
      NLM_FILL(gemm_f32);
      NLM_FILL(dot_f32);
      NLM_FILL(scale_f32);
      NLM_FILL(sum_sq);
      NLM_FILL(sum);
      NLM_FILL(max);
      NLM_FILL(exp_sub_sum);
      NLM_FILL(rms_apply);
      NLM_FILL(ln_apply);
      NLM_FILL(unary);
      NLM_FILL(binary);
      NLM_FILL(pack_a);
      NLM_FILL(pack_b);
      NLM_FILL(gemm_packed);
      NLM_FILL(dequantize);
      NLM_FILL(dot_heads);
      NLM_FILL(mix_rows);
      if (!k.gemm_int8) {  // may stay null
        k.gemm_int8 = base.gemm_int8;
        k.gemm_int8_dtypes = base.gemm_int8_dtypes;
        k.gemm_int8_min_rows = base.gemm_int8_min_rows;
        k.gemm_int8_min_rows_k = base.gemm_int8_min_rows_k;
      }
#undef NLM_FILL
      m.table[static_cast<int>(i)] = k;
      m.ready[static_cast<int>(i)] = true;
    }
    return m;
  }();
  const int i = static_cast<int>(isa);
  return merged.ready[i] ? &merged.table[i] : nullptr;
}

Isa detect_isa() {
  Isa best = Isa::kPortable;
  for (Isa i : {Isa::kNeon, Isa::kAvx2, Isa::kAvx512}) {
    if (isa_supported(i)) best = i;
  }
  if (const char* forced = std::getenv("NLM_ISA")) {
    for (Isa i : {Isa::kPortable, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
      if (isa_name(i) == forced && isa_supported(i)) return i;
    }
  }
  return best;
}

std::atomic<const cpu::IsaKernels*>& active_slot() {
  static std::atomic<const cpu::IsaKernels*> slot{merged_table(detect_isa())};
  return slot;
}

}  // namespace

const cpu::IsaKernels& cpu::active_kernels() { return *active_slot().load(std::memory_order_acquire); }

Isa active_isa() { return cpu::active_kernels().isa; }

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kPortable: return "portable";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kNeon: return "neon";
  }
  return "portable";
}

bool isa_supported(Isa isa) { return raw_table(isa) != nullptr && cpu_runs(isa); }

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa i : {Isa::kPortable, Isa::kNeon, Isa::kAvx2, Isa::kAvx512}) {
    if (isa_supported(i)) out.push_back(i);
  }
  return out;
}

bool set_isa(Isa isa) {
  if (!isa_supported(isa)) return false;
  active_slot().store(merged_table(isa), std::memory_order_release);
  return true;
}

std::string_view isa_description() {
  static const std::string desc = [] {
    std::string s(isa_name(detect_isa()));
    s += " (";
    const auto names = core::cpu_features().names();
    for (size_t i = 0; i < names.size(); ++i) {
      if (i) s.push_back(' ');
      s.append(names[i]);
    }
    s.push_back(')');
    return s;
  }();
  return desc;
}

}  // namespace nlm::kernels
