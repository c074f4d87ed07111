#pragma once
// What the processor offers, read once at start-up (cpuid on x86-64, hwcaps on ARM64).
#include <string>
#include <vector>

namespace nlm::core {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false, avx512vbmi = false, avxvnni = false;
  bool neon = false, dotprod = false, fp16 = false;
  int logical_cores = 1;
  std::string brand;

  std::vector<std::string> names() const;  // e.g. {"avx2","fma","avx512f",...}
};

const CpuFeatures& cpu_features();

}  // namespace nlm::core
