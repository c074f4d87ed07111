// attention against kernels/ref on every ISA: causal with a query offset (KV cache decode and chunked
// prefill), key padding mask, sliding window, softcap, additive bias, GQA and MQA, non-default scale,
// strided q/kv/out, odd head dims.
// Tolerance: logits carry f32 dot-product error δ ≤ (D+2)·u·scale·Σ|q||k| (softcap's tanh is
// 1-Lipschitz); softmax maps a logit perturbation δ to ≤ 2δ in total probability; the SIMD exp adds ≤ 4u
// relative per weight and the sums Tk·u; so |o − o_ref| ≤ max|v|·(2δ + (2·Tk + 16)·u).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "kernels/cpu/isa.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"
#include "kernels/ref/ref.h"

namespace nlm::kernels {
namespace {

using namespace testing;

// head_major: k and v laid out as a KV cache keeps them, [Hkv, capacity, D] with capacity > Tk and padded
// rows (kv_head_stride, ld_kv); else [Tk, Hkv, D] with padded tokens.
void check(AttentionParams p, bool with_mask, bool with_bias, uint64_t seed, bool head_major = false) {
  SCOPED_TRACE(::testing::Message() << "Tq=" << p.n_q << " Tk=" << p.n_kv << " H=" << p.n_heads << "/"
                                    << p.n_kv_heads << " D=" << p.head_dim << " causal=" << p.causal
                                    << " pos0=" << p.q_pos0 << " window=" << p.window << " cap=" << p.softcap
                                    << " head_major=" << head_major);
  Rng rng(seed);
  const int64_t D = p.head_dim;
  p.ld_q = p.n_heads * D + 3;
  p.ld_kv = head_major ? D + 3 : p.n_kv_heads * D + 5;
  p.kv_head_stride = head_major ? (p.n_kv + 2) * p.ld_kv : 0;
  const int64_t hs = head_major ? p.kv_head_stride : D;
  p.ld_o = p.n_heads * D + 1;
  const int64_t kv_size = head_major ? p.n_kv_heads * hs : p.n_kv * p.ld_kv;
  Floats q(p.n_q * p.ld_q), k(kv_size), v(kv_size);
  q.set(rng.normals(q.size(), 1.5f));
  k.set(rng.normals(k.size(), 1.5f));
  v.set(rng.normals(v.size()));
  std::vector<uint8_t> mask(p.n_kv, 1);
  if (with_mask) {
    for (int64_t j = 0; j < p.n_kv; ++j) mask[j] = (j % 3 != 1);
    p.key_mask = mask.data();
  }
  std::vector<float> bias;
  if (with_bias) {
    bias = rng.normals(p.n_heads * p.n_q * p.n_kv);
    p.bias = bias.data();
  }
  std::vector<float> ref(p.n_q * p.ld_o, 0.f);
  ref::attention(q.data(), k.data(), v.data(), ref.data(), p);
  const double scale = p.scale != 0.f ? p.scale : 1.0 / std::sqrt(static_cast<double>(D));
  double max_v = 0, max_qk = 0;
  for (int64_t i = 0; i < v.size(); ++i) max_v = std::max(max_v, static_cast<double>(std::fabs(v[i])));
  for (int64_t i = 0; i < p.n_q; ++i)
    for (int h = 0; h < p.n_heads; ++h)
      for (int64_t j = 0; j < p.n_kv; ++j) {
        double s = 0;
        const int hk = h / (p.n_heads / p.n_kv_heads);
        for (int64_t d = 0; d < D; ++d) s += std::fabs(q[i * p.ld_q + h * D + d] * k[j * p.ld_kv + hk * hs + d]);
        max_qk = std::max(max_qk, s);
      }
  const double delta = (D + 2) * kU * scale * max_qk + 4 * kU * (with_bias ? 5.0 : 0.0);
  const double tol = max_v * (2 * delta + (2 * p.n_kv + 16) * kU);
  for_each_isa([&](Isa) {
    Floats out(p.n_q * p.ld_o);
    std::fill(out.data(), out.data() + out.size(), 9.f);
    attention(q.data(), k.data(), v.data(), out.data(), p);
    for (int64_t i = 0; i < p.n_q; ++i)
      for (int64_t c = 0; c < p.n_heads * D; ++c)
        ASSERT_NEAR(out[i * p.ld_o + c], ref[i * p.ld_o + c], tol) << "i=" << i << " c=" << c;
  });
}

AttentionParams make(int64_t tq, int64_t tk, int h, int hkv, int d) {
  AttentionParams p;
  p.n_q = tq;
  p.n_kv = tk;
  p.n_heads = h;
  p.n_kv_heads = hkv;
  p.head_dim = d;
  return p;
}

TEST(Attention, EncoderBidirectionalWithPaddingAndBias) {
  for (int d : {1, 7, 8, 9, 64}) check(make(9, 9, 4, 4, d), true, false, d);
  check(make(17, 17, 2, 2, 32), true, true, 50);
}

TEST(Attention, CausalPrefillAndDecodeWithGqaAndMqa) {
  for (int hkv : {1, 2, 4}) {
    AttentionParams p = make(13, 13, 4, hkv, 16);
    p.causal = true;
    check(p, false, false, 60 + hkv);
    AttentionParams dec = make(1, 33, 8, hkv, 64);  // one new token, 32 cached
    dec.causal = true;
    dec.q_pos0 = 32;
    check(dec, false, false, 70 + hkv);
    check(dec, false, false, 73 + hkv, true);
    AttentionParams chunk = make(5, 21, 4, hkv, 24);  // second prefill chunk
    chunk.causal = true;
    chunk.q_pos0 = 16;
    check(chunk, false, false, 80 + hkv);
    check(chunk, false, false, 83 + hkv, true);
  }
}

TEST(Attention, SlidingWindowSoftcapScale) {
  AttentionParams p = make(19, 19, 4, 2, 16);
  p.causal = true;
  p.window = 4;
  p.softcap = 50.f;
  p.scale = 0.3f;
  check(p, false, false, 90);
  p.softcap = 2.f;  // a cap that actually bends the logits
  check(p, true, false, 91);
  AttentionParams big = make(large(70, 20), large(300, 60), 4, 1, 128);
  big.causal = true;
  big.q_pos0 = big.n_kv - big.n_q;
  big.window = 37;
  check(big, false, false, 92);
  // More keys than one k-block of the packed GEMM (kPackKC = 768): P·V sums over several.
  AttentionParams longer = make(large(24, 6), large(1700, 800), 2, 1, 32);
  longer.causal = true;
  longer.q_pos0 = longer.n_kv - longer.n_q;
  check(longer, false, false, 93, true);
}

// Decode (the row path) over more keys than the kernels' blocks and prefetch distance, at head dims
// around the vector widths and past the register-held query (D > 128), with groups of query heads that
// split into short tiles (3, 5), that the task split halves (6, 20), and a masked key.
TEST(Attention, DecodeGroupsAndHeadDims) {
  const int64_t tk = large(300, 60) + 7;
  const struct { int h, hkv, d; } shapes[] = {{12, 4, 24}, {5, 1, 72}, {6, 2, 17}, {40, 2, 8}, {4, 2, 256}};
  for (auto s : shapes) {
    AttentionParams p = make(1, tk, s.h, s.hkv, s.d);
    p.causal = true;
    p.q_pos0 = tk - 1;
    check(p, s.d == 17, false, 100 + s.d);
    check(p, false, s.d == 24, 200 + s.d, true);
  }
  AttentionParams gemma = make(2, tk, 8, 2, 32);  // two queries, sliding window, softcap, per-head bias
  gemma.causal = true;
  gemma.q_pos0 = tk - 2;
  gemma.window = 37;
  gemma.softcap = 2.f;
  check(gemma, false, true, 300, true);
}

// The row path's two kernels on their own, against double sums: s[g][j] = q_g·k_j (dot_heads) and
// o[g] = Σ_j p[g][j]·v_j (mix_rows), at key counts and head dims around the 8- and 16-wide blocks, head
// counts around the 4-head tiles, strided rows. Error: a sum of m products is off by ≤ m·u·Σ|products|.
TEST(Attention, DotHeadsAndMixRowsMatchDoubleSums) {
  Rng rng(300);
  for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{16}, int64_t{17}, int64_t{33}, large(1000, 100) + 7}) {
    for (int64_t D : {1, 8, 15, 16, 17, 64, 72, 130, 256}) {
      for (int64_t G : {1, 3, 4, 5, 8}) {
        SCOPED_TRACE(::testing::Message() << "n=" << n << " D=" << D << " G=" << G);
        const int64_t ldq = D + 1, ldk = D + 5, lds = n + 3;
        Floats q(G * ldq), k(n * ldk), pw(G * lds);
        q.set(rng.normals(q.size()));
        k.set(rng.normals(k.size()));
        pw.set(rng.normals(pw.size()));
        for_each_isa([&](Isa) {
          const auto& kt = cpu::active_kernels();
          Floats s(G * lds), o(G * ldq);
          kt.dot_heads(q.data(), ldq, G, k.data(), ldk, n, D, s.data(), lds);
          kt.mix_rows(pw.data(), lds, G, k.data(), ldk, n, D, o.data(), ldq);
          // Σ a[i·sa]·b[i·sb] over m terms in double, and its bound m·u·Σ|products|.
          const auto sum = [](const float* a, int64_t sa, const float* b, int64_t sb, int64_t m) {
            double ref = 0, mag = 0;
            for (int64_t i = 0; i < m; ++i) {
              const double t = static_cast<double>(a[i * sa]) * b[i * sb];
              ref += t;
              mag += std::fabs(t);
            }
            return std::pair<double, double>{ref, (m + 1) * kU * mag};
          };
          for (int64_t g = 0; g < G; ++g) {
            for (int64_t j = 0; j < n; ++j) {
              const auto [ref, tol] = sum(q.data() + g * ldq, 1, k.data() + j * ldk, 1, D);
              ASSERT_NEAR(s[g * lds + j], ref, tol) << "s g=" << g << " j=" << j;
            }
            for (int64_t c = 0; c < D; ++c) {
              const auto [ref, tol] = sum(pw.data() + g * lds, 1, k.data() + c, ldk, n);
              ASSERT_NEAR(o[g * ldq + c], ref, tol) << "o g=" << g << " c=" << c;
            }
          }
        });
      }
    }
  }
}

TEST(Attention, FullyMaskedQueryGetsZeros) {
  // 2 queries take the row path, 6 the block (GEMM) path.
  for (int64_t tq : {2, 6}) {
    AttentionParams p = make(tq, 3, 1, 1, 4);
    std::vector<uint8_t> mask = {0, 0, 0};
    p.key_mask = mask.data();
    std::vector<float> q(static_cast<size_t>(tq * 4), 1.5f), o(static_cast<size_t>(tq * 4));
    float k[12] = {}, v[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    for_each_isa([&](Isa) {
      std::fill(o.begin(), o.end(), 5.f);
      attention(q.data(), k, v, o.data(), p);
      for (float x : o) ASSERT_EQ(x, 0.f);
    });
  }
}

}  // namespace
}  // namespace nlm::kernels
