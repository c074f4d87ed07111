// Reference attention: one query row at a time, scores in double, exactly the order documented in
// kernels.h (scale, softcap, bias, masks, softmax, weighted sum of v).
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/ref/ref.h"

namespace nlm::kernels::ref {

void attention(const float* q, const float* k, const float* v, float* out, const AttentionParams& p) {
  const int64_t D = p.head_dim, Tq = p.n_q, Tk = p.n_kv;
  const int64_t ldq = p.ld_q ? p.ld_q : p.n_heads * D;
  const int64_t ldkv = p.ld_kv ? p.ld_kv : p.n_kv_heads * D;
  const int64_t ldo = p.ld_o ? p.ld_o : p.n_heads * D;
  const int64_t hs = p.kv_head_stride ? p.kv_head_stride : D;
  const double scale = p.scale != 0.f ? p.scale : 1.0 / std::sqrt(static_cast<double>(D));
  const int group = p.n_heads / p.n_kv_heads;
  std::vector<double> s(Tk);
  for (int h = 0; h < p.n_heads; ++h) {
    const int hk = h / group;
    for (int64_t i = 0; i < Tq; ++i) {
      const float* qi = q + i * ldq + h * D;
      const int64_t pos = p.q_pos0 + i;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < Tk; ++j) {
        bool visible = !p.key_mask || p.key_mask[j];
        if (p.causal && j > pos) visible = false;
        if (p.window > 0 && pos - j >= p.window) visible = false;
        if (!visible) {
          s[j] = -std::numeric_limits<double>::infinity();
          continue;
        }
        const float* kj = k + j * ldkv + hk * hs;
        double dot = 0.0;
        for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(qi[d]) * kj[d];
        double logit = dot * scale;
        if (p.softcap > 0.f) logit = p.softcap * std::tanh(logit / p.softcap);
        if (p.bias) logit += p.bias[(h * Tq + i) * Tk + j];
        s[j] = logit;
        mx = std::max(mx, logit);
      }
      float* o = out + i * ldo + h * D;
      if (mx == -std::numeric_limits<double>::infinity()) {
        for (int64_t d = 0; d < D; ++d) o[d] = 0.f;
        continue;
      }
      double sum = 0.0;
      for (int64_t j = 0; j < Tk; ++j) {
        s[j] = std::exp(s[j] - mx);
        sum += s[j];
      }
      for (int64_t d = 0; d < D; ++d) {
        double acc = 0.0;
        for (int64_t j = 0; j < Tk; ++j)
          if (s[j] != 0.0) acc += s[j] * v[j * ldkv + hk * hs + d];
        o[d] = static_cast<float>(acc / sum);
      }
    }
  }
}

}  // namespace nlm::kernels::ref
