#include "core/cpu_features.h"

#include <thread>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define NLM_X86 1
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace nlm::core {
namespace {

#ifdef NLM_X86
bool os_saves_zmm() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0xE6) == 0xE6;  // XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM
}
bool os_saves_ymm() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0x6) == 0x6;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
  f.logical_cores = static_cast<int>(std::thread::hardware_concurrency());
  if (f.logical_cores <= 0) f.logical_cores = 1;
#ifdef NLM_X86
  unsigned a = 0, b = 0, c = 0, d = 0;
  __get_cpuid(1, &a, &b, &c, &d);
  const bool osxsave = c & bit_OSXSAVE;
  const bool ymm = osxsave && os_saves_ymm();
  const bool zmm = osxsave && os_saves_zmm();
  f.fma = ymm && (c & bit_FMA);
  f.f16c = ymm && (c & bit_F16C);
  __get_cpuid_count(7, 0, &a, &b, &c, &d);
  f.avx2 = ymm && (b & bit_AVX2);
  f.avx512f = zmm && (b & bit_AVX512F);
  f.avx512bw = zmm && (b & bit_AVX512BW);
  f.avx512vl = zmm && (b & bit_AVX512VL);
  f.avx512dq = zmm && (b & bit_AVX512DQ);
  f.avx512vnni = zmm && (c & bit_AVX512VNNI);
  f.avx512vbmi = zmm && (c & bit_AVX512VBMI);
  __get_cpuid_count(7, 1, &a, &b, &c, &d);
  f.avx512bf16 = zmm && (a & (1u << 5));
  f.avxvnni = ymm && (a & (1u << 4));
  unsigned brand[12] = {};
  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000004) {
    for (unsigned i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002 + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2], &brand[4 * i + 3]);
    }
    f.brand.assign(reinterpret_cast<const char*>(brand), 48);
    f.brand = f.brand.c_str();
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
  }
#elif defined(__aarch64__)
  f.neon = true;
#if defined(__linux__)
  unsigned long caps = getauxval(AT_HWCAP);
  f.dotprod = caps & HWCAP_ASIMDDP;
  f.fp16 = caps & HWCAP_ASIMDHP;
#elif defined(__APPLE__)
  f.dotprod = true;
  f.fp16 = true;
#endif
#endif
  return f;
}

}  // namespace

std::vector<std::string> CpuFeatures::names() const {
  std::vector<std::string> out;
  auto add = [&](bool on, const char* name) {
    if (on) out.emplace_back(name);
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512dq, "avx512dq");
  add(avx512vnni, "avx512vnni");
  add(avx512bf16, "avx512bf16");
  add(avx512vbmi, "avx512vbmi");
  add(avxvnni, "avxvnni");
  add(neon, "neon");
  add(dotprod, "dotprod");
  add(fp16, "fp16");
  return out;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures kFeatures = detect();
  return kFeatures;
}

}  // namespace nlm::core
