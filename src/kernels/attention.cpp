// Attention, one (query head, query block) per task: scores with dot products over the visible key
// range (causal / window bounds skip whole ranges), softcap, bias, key mask, softmax, then the weighted
// sum of v rows (axpy). The SIMD comes from the ISA table's vector helpers.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "kernels/cpu/isa.h"
#include "kernels/kernels.h"

namespace nlm::kernels {
namespace {

constexpr int64_t kQueryBlock = 16;

struct Dims {
  int64_t D, Tq, Tk, ldq, ldkv, ldo;
  int group;
  float scale;
};

// One query row of one head: o = softmax(s) · v over keys [lo, hi).
void attend_row(const cpu::IsaKernels& kt, const AttentionParams& p, const Dims& d, const float* qi,
                const float* k, const float* v, const float* bias_row, int64_t lo, int64_t hi, float* s,
                float* o) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  // All scores at once: the ISA's dot-rows kernel shares each q load across 4 keys.
  kt.dot_float(core::DType::kF32, qi, 0, 1, reinterpret_cast<const char*>(k + lo * d.ldkv), d.ldkv * 4, hi - lo,
               d.D, s, 0);
  float mx = neg_inf;
  for (int64_t j = lo; j < hi; ++j) {
    float logit = s[j - lo] * d.scale;
    if (p.softcap > 0.f) logit = p.softcap * std::tanh(logit / p.softcap);
    if (bias_row) logit += bias_row[j];
    if (p.key_mask && !p.key_mask[j]) logit = neg_inf;
    s[j - lo] = logit;
    mx = std::max(mx, logit);
  }
  std::fill(o, o + d.D, 0.f);
  if (mx == neg_inf) return;
  const float sum = kt.exp_sub_sum(s, mx, hi - lo);
  for (int64_t j = lo; j < hi; ++j) {
    if (s[j - lo] != 0.f) kt.axpy_f32(s[j - lo], v + j * d.ldkv, o, d.D);
  }
  kt.scale_f32(1.f / sum, o, o, d.D);
}

}  // namespace

void attention(const float* q, const float* k, const float* v, float* out, const AttentionParams& p) {
  NLM_CHECK(p.n_heads > 0 && p.n_kv_heads > 0 && p.n_heads % p.n_kv_heads == 0 && p.head_dim > 0);
  Dims d;
  d.D = p.head_dim;
  d.Tq = p.n_q;
  d.Tk = p.n_kv;
  d.ldq = p.ld_q ? p.ld_q : p.n_heads * d.D;
  d.ldkv = p.ld_kv ? p.ld_kv : p.n_kv_heads * d.D;
  d.ldo = p.ld_o ? p.ld_o : p.n_heads * d.D;
  d.group = p.n_heads / p.n_kv_heads;
  d.scale = p.scale != 0.f ? p.scale : 1.f / std::sqrt(static_cast<float>(d.D));
  if (d.Tq <= 0) return;
  const auto& kt = cpu::active_kernels();
  const int64_t n_qb = (d.Tq + kQueryBlock - 1) / kQueryBlock;
  core::parallel_for(p.n_heads * n_qb, [&](int64_t task, int) {
    thread_local std::vector<float> scores;
    if (static_cast<int64_t>(scores.size()) < d.Tk) scores.resize(d.Tk);
    const int h = static_cast<int>(task / n_qb);
    const int64_t i0 = (task % n_qb) * kQueryBlock, i1 = std::min(d.Tq, i0 + kQueryBlock);
    const int hk = h / d.group;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t pos = p.q_pos0 + i;
      int64_t lo = 0, hi = d.Tk;
      if (p.causal) hi = std::clamp<int64_t>(pos + 1, 0, d.Tk);
      if (p.window > 0) lo = std::clamp<int64_t>(pos - p.window + 1, 0, d.Tk);
      float* o = out + i * d.ldo + h * d.D;
      if (lo >= hi) {
        std::fill(o, o + d.D, 0.f);
        continue;
      }
      const float* bias_row = p.bias ? p.bias + (h * d.Tq + i) * d.Tk : nullptr;
      attend_row(kt, p, d, q + i * d.ldq + h * d.D, k + hk * d.D, v + hk * d.D, bias_row, lo, hi,
                 scores.data(), o);
    }
  });
}

}  // namespace nlm::kernels
