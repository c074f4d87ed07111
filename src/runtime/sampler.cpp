#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace nlm::runtime {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// At most 2^53 - 1, so the seed reported in the final line survives a JSON client that reads numbers as
// doubles (JavaScript) and can be sent back to reproduce the output.
uint64_t random_seed() {
  std::random_device rd;
  return ((static_cast<uint64_t>(rd()) << 32) ^ rd()) & ((uint64_t{1} << 53) - 1);
}

// Descending by value, ascending id on ties: a total order, so results never depend on the sort.
bool higher(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& s : s_) s = splitmix64(x);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

int32_t argmax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
  }
  return best;
}

Sampler::Sampler(const SamplingParams& params)
    : params_(params), seed_(params.seed ? *params.seed : random_seed()), rng_(seed_) {}

void Sampler::apply_penalties(std::span<float> logits, std::span<const int32_t> history) {
  const bool any = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                   params_.frequency_penalty != 0.0f;
  if (!any || params_.penalty_last_n == 0 || history.empty()) return;
  size_t n = history.size();
  if (params_.penalty_last_n > 0) n = std::min(n, static_cast<size_t>(params_.penalty_last_n));
  const auto window = history.subspan(history.size() - n);
  if (counts_.size() < logits.size()) counts_.assign(logits.size(), 0);
  for (int32_t t : window) {
    if (t >= 0 && static_cast<size_t>(t) < logits.size()) ++counts_[static_cast<size_t>(t)];
  }
  for (int32_t t : window) {
    if (t < 0 || static_cast<size_t>(t) >= logits.size()) continue;
    int32_t& c = counts_[static_cast<size_t>(t)];
    if (c == 0) continue;  // already applied (repeated token)
    float& l = logits[static_cast<size_t>(t)];
    if (params_.repeat_penalty != 1.0f) l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    l -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(c);
    c = 0;
  }
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  apply_penalties(logits, history);
  if (params_.temperature <= 0.0f) return argmax(logits);
  return draw(logits);
}

int32_t Sampler::draw(std::span<const float> logits) {
  cand_.clear();
  const float inv_t = 1.0f / params_.temperature;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isfinite(logits[i])) cand_.emplace_back(logits[i] * inv_t, static_cast<int32_t>(i));
  }
  if (cand_.empty()) return argmax(logits);
  size_t n = cand_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    n = static_cast<size_t>(params_.top_k);
    std::nth_element(cand_.begin(), cand_.begin() + static_cast<long>(n) - 1, cand_.end(), higher);
    cand_.resize(n);
  }
  std::sort(cand_.begin(), cand_.end(), higher);
  // Softmax in double over the survivors (cand_[0] holds the maximum).
  const double max_l = cand_[0].first;
  std::vector<double>& p = probs_;
  p.resize(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i] = std::exp(static_cast<double>(cand_[i].first) - max_l);
  size_t keep = n;
  if (params_.top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < n; ++i) {
      cum += p[i];
      if (cum >= params_.top_p * sum) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const double floor = params_.min_p * p[0];  // p[0] is the largest
    size_t k = 1;
    while (k < keep && p[k] >= floor) ++k;
    keep = k;
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += p[i];
  const double u = rng_.uniform() * total;
  double cum = 0;
  for (size_t i = 0; i < keep; ++i) {
    cum += p[i];
    if (u < cum) return cand_[i].second;
  }
  return cand_[keep - 1].second;
}

}  // namespace nlm::runtime
