// Attention, one (query head, query block) per task. A block of several queries runs as two small
// GEMMs through the ISA's f32 GEMM kernel — S = Q Kᵀ over the union of the rows' visible key ranges,
// then per-row masking, softcap, bias and softmax, then O = P V (against a transposed copy of V) — so
// the keys and values are read once per block, not once per query. A block of fewer than 4 queries
// (decode) takes the row path: per query, the query heads that share a kv head together (GQA), their
// scores by one dot_heads call and their outputs by one weighted sum of v rows (mix_rows), so each k and
// v row is read once per group of heads, not once per head.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/arena.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "kernels/cpu/isa.h"
#include "kernels/kernels.h"

namespace nlm::kernels {
namespace {

constexpr int64_t kQueryBlock = 16;   // rows per task on the row path
constexpr int64_t kGemmBlock = 64;    // rows per task on the GEMM path
constexpr int64_t kBlockMinRows = 4;  // fewer queries than this take the row path
constexpr int kMaxRowHeads = 16;     // query heads per row-path task

struct Dims {
  int64_t D, Tq, Tk, ldq, ldkv, ldo, hs;  // hs: floats between kv heads
  int group;
  float scale;
};

// Scores s[0, hi − lo) of keys [lo, hi) become logits: scale, softcap, bias; keys outside the query's
// visible range [l, r) or masked as padding get −inf. Returns the largest logit.
float to_logits(const cpu::IsaKernels& kt, const AttentionParams& p, const Dims& d, const float* bias_row,
                int64_t lo, int64_t hi, int64_t l, int64_t r, float* s) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (p.softcap <= 0.f && !p.key_mask) {  // the common case, vectorized over the visible keys [a, e)
    const int64_t a = std::clamp(l, lo, hi), e = std::clamp(r, a, hi);
    std::fill(s, s + (a - lo), neg_inf);
    std::fill(s + (e - lo), s + (hi - lo), neg_inf);
    if (a == e) return neg_inf;
    kt.scale_f32(d.scale, s + (a - lo), s + (a - lo), e - a);
    if (bias_row) kt.binary(cpu::kOpAdd, s + (a - lo), bias_row + a, s + (a - lo), e - a);
    return kt.max(s + (a - lo), e - a);
  }
  float mx = neg_inf;
  for (int64_t j = lo; j < hi; ++j) {
    float logit = s[j - lo] * d.scale;
    if (p.softcap > 0.f) logit = p.softcap * std::tanh(logit / p.softcap);
    if (bias_row) logit += bias_row[j];
    if (j < l || j >= r || (p.key_mask && !p.key_mask[j])) logit = neg_inf;
    s[j - lo] = logit;
    mx = std::max(mx, logit);
  }
  return mx;
}

// Query row i of the hg heads h0 .. h0 + hg − 1, which share kv head hk, over keys [lo, hi): the scores of
// all hg heads by dot_heads (each k row is read once for them all), a softmax per head (rows
// normalized), then o = P · v by mix_rows (each v row read once). s holds hg·(hi − lo) floats.
void attend_rows(const cpu::IsaKernels& kt, const AttentionParams& p, const Dims& d, int h0, int hg, int64_t i,
                 int64_t lo, int64_t hi, const float* q, const float* k, const float* v, float* out, float* s) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const int hk = h0 / d.group;
  const int64_t n = hi - lo;
  float* o = out + i * d.ldo + h0 * d.D;
  if (n <= 0) {
    std::fill(o, o + hg * d.D, 0.f);
    return;
  }
  kt.dot_heads(q + i * d.ldq + h0 * d.D, d.D, hg, k + lo * d.ldkv + hk * d.hs, d.ldkv, n, d.D, s, n);
  bool dead[kMaxRowHeads] = {};
  for (int g = 0; g < hg; ++g) {
    float* row = s + g * n;
    const float* bias_row = p.bias ? p.bias + ((h0 + g) * d.Tq + i) * d.Tk : nullptr;
    const float mx = to_logits(kt, p, d, bias_row, lo, hi, lo, hi, row);
    dead[g] = mx == neg_inf;  // sees no key: zeros
    if (dead[g]) {
      std::fill(row, row + n, 0.f);
      continue;
    }
    kt.scale_f32(1.f / kt.exp_sub_sum(row, mx, n), row, row, n);
  }
  kt.mix_rows(s, n, hg, v + lo * d.ldkv + hk * d.hs, d.ldkv, n, d.D, o, d.D);
  for (int g = 0; g < hg; ++g) {
    if (dead[g]) std::fill(o + g * d.D, o + (g + 1) * d.D, 0.f);
  }
}

struct BlockScratch {
  std::vector<float> s;
  core::AlignedBuffer<float> ap, vp;  // P packed as the GEMM's A; v rows as its B panels
};

// The visible key range [lo, hi) of query i.
void key_range(const AttentionParams& p, const Dims& d, int64_t i, int64_t* lo, int64_t* hi) {
  const int64_t pos = p.q_pos0 + i;
  *lo = 0;
  *hi = d.Tk;
  if (p.causal) *hi = std::clamp<int64_t>(pos + 1, 0, d.Tk);
  if (p.window > 0) *lo = std::clamp<int64_t>(pos - p.window + 1, 0, d.Tk);
}

// Queries [i0, i1) of head h: S = Q Kᵀ, masked softmax per row, O = P V, all by the GEMM kernel.
void attend_block(const cpu::IsaKernels& kt, const AttentionParams& p, const Dims& d, int h, int64_t i0,
                  int64_t i1, const float* q, const float* k, const float* v, float* out, BlockScratch& b) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  int64_t lo = d.Tk, hi = 0;
  for (int64_t i = i0; i < i1; ++i) {
    int64_t l, r;
    key_range(p, d, i, &l, &r);
    if (l < r) lo = std::min(lo, l), hi = std::max(hi, r);
  }
  const int64_t nq = i1 - i0, n = hi - lo;
  if (n <= 0) {
    for (int64_t i = i0; i < i1; ++i) std::fill(out + i * d.ldo + h * d.D, out + i * d.ldo + (h + 1) * d.D, 0.f);
    return;
  }
  const int hk = h / d.group;
  if (static_cast<int64_t>(b.s.size()) < nq * n) b.s.resize(static_cast<size_t>(nq * n));
  float* s = b.s.data();
  kt.gemm_f32(q + i0 * d.ldq + h * d.D, d.ldq, k + lo * d.ldkv + hk * d.hs, d.ldkv, s, n, nq, n, d.D);
  for (int64_t i = i0; i < i1; ++i) {
    float* row = s + (i - i0) * n;
    int64_t l, r;
    key_range(p, d, i, &l, &r);
    const float* bias_row = p.bias ? p.bias + (h * d.Tq + i) * d.Tk : nullptr;
    const float mx = to_logits(kt, p, d, bias_row, lo, hi, l, r, row);
    if (mx == neg_inf) {
      std::fill(row, row + n, 0.f);  // sees no key: zeros
      continue;
    }
    const float sum = kt.exp_sub_sum(row, mx, n);
    kt.scale_f32(1.f / sum, row, row, n);
  }
  // O = P V: B's panel c (output columns 16c .. 16c + 15) is [n][16], i.e. those columns of the v rows
  // (zeros past D), so v is copied in slices, never transposed.
  const float* vh = v + lo * d.ldkv + hk * d.hs;
  const int64_t nr = cpu::kPackNR, n_panels = (d.D + nr - 1) / nr, mp = (nq + cpu::kPackMR - 1) / cpu::kPackMR;
  b.vp.resize(static_cast<size_t>(n_panels * nr * n));
  b.ap.resize(static_cast<size_t>(mp * cpu::kPackMR * n));
  for (int64_t c = 0; c < n_panels; ++c) {
    const int64_t c0 = c * nr, w = std::min(nr, d.D - c0);
    float* panel = b.vp.data() + c * nr * n;
    for (int64_t j = 0; j < n; ++j) {
      std::copy_n(vh + j * d.ldkv + c0, w, panel + j * nr);
      std::fill(panel + j * nr + w, panel + (j + 1) * nr, 0.f);
    }
  }
  kt.pack_a(s, n, nq, n, 0, mp, b.ap.data());
  kt.gemm_packed(b.ap.data(), nq, n, b.vp.data(), d.D, out + i0 * d.ldo + h * d.D, d.ldo);
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
  d.hs = p.kv_head_stride ? p.kv_head_stride : d.D;
  d.group = p.n_heads / p.n_kv_heads;
  d.scale = p.scale != 0.f ? p.scale : 1.f / std::sqrt(static_cast<float>(d.D));
  if (d.Tq <= 0) return;
  const auto& kt = cpu::active_kernels();
  if (d.Tq >= kBlockMinRows) {
    // Enough tasks for the pool: smaller blocks when there are few heads.
    int64_t qb = kGemmBlock;
    while (qb > 16 && p.n_heads * ((d.Tq + qb - 1) / qb) < 4 * core::n_threads()) qb /= 2;
    const int64_t n_blocks = (d.Tq + qb - 1) / qb;
    core::parallel_for(p.n_heads * n_blocks, [&](int64_t task, int) {
      thread_local BlockScratch scratch;
      const int h = static_cast<int>(task / n_blocks);
      const int64_t i0 = (task % n_blocks) * qb;
      attend_block(kt, p, d, h, i0, std::min(d.Tq, i0 + qb), q, k, v, out, scratch);
    });
    return;
  }
  // Row path: tasks of (kv head, hg of its query heads, query block); hg is the whole group unless that
  // leaves fewer than 2 tasks per thread.
  const int64_t n_qb = (d.Tq + kQueryBlock - 1) / kQueryBlock;
  int hg = d.group;
  while (hg % 2 == 0 && (hg > kMaxRowHeads || p.n_kv_heads * (d.group / hg) * n_qb < 2 * core::n_threads())) hg /= 2;
  if (hg > kMaxRowHeads) hg = 1;  // an odd group of more than kMaxRowHeads
  const int64_t n_hg = d.group / hg;
  core::parallel_for(p.n_kv_heads * n_hg * n_qb, [&](int64_t task, int) {
    thread_local std::vector<float> scores;
    if (static_cast<int64_t>(scores.size()) < hg * d.Tk) scores.resize(static_cast<size_t>(hg * d.Tk));
    const int64_t qb = task % n_qb, hgi = task / n_qb;
    const int h0 = static_cast<int>(hgi * hg);  // heads h0 .. h0 + hg − 1 share kv head h0 / group
    const int64_t i0 = qb * kQueryBlock, i1 = std::min(d.Tq, i0 + kQueryBlock);
    for (int64_t i = i0; i < i1; ++i) {
      int64_t lo, hi;
      key_range(p, d, i, &lo, &hi);
      attend_rows(kt, p, d, h0, hg, i, lo, hi, q, k, v, out, scores.data());
    }
  });
}

}  // namespace nlm::kernels
