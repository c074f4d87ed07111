#include "runtime/sampler.h"

#include <cmath>
#include <map>
#include <vector>

#include <gtest/gtest.h>

namespace nlm::runtime {
namespace {

SamplingParams greedy() {
  SamplingParams p;
  p.temperature = 0;
  return p;
}

TEST(Sampler, GreedyPicksArgmaxLowestIdOnTies) {
  Sampler s(greedy());
  std::vector<float> l = {0.1f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(s.sample(l, {}), 1);
}

TEST(Sampler, RepeatPenaltyHfStyle) {
  SamplingParams p = greedy();
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  std::vector<float> l = {3.0f, 2.0f, -1.0f};
  const int32_t hist[] = {0, 0, 2};
  EXPECT_EQ(s.sample(l, hist), 1);  // 3/2 = 1.5 < 2
  EXPECT_FLOAT_EQ(l[0], 1.5f);      // applied once per distinct token
  EXPECT_FLOAT_EQ(l[2], -2.0f);     // negative logits are multiplied
}

TEST(Sampler, PresenceAndFrequencyPenaltiesWithWindow) {
  SamplingParams p = greedy();
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  p.penalty_last_n = 3;
  Sampler s(p);
  std::vector<float> l = {1.0f, 1.0f, 1.0f, 1.0f};
  const int32_t hist[] = {3, 0, 0, 1};  // the window is {0, 0, 1}: token 3 is outside it
  s.sample(l, hist);
  EXPECT_FLOAT_EQ(l[0], 1.0f - 0.5f - 0.5f);
  EXPECT_FLOAT_EQ(l[1], 1.0f - 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(l[2], 1.0f);
  EXPECT_FLOAT_EQ(l[3], 1.0f);
}

TEST(Sampler, SameSeedSameDraws) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 1234;
  Sampler a(p), b(p);
  std::vector<int32_t> da, db;
  for (int i = 0; i < 200; ++i) {
    std::vector<float> l(50), m(50);
    for (int j = 0; j < 50; ++j) l[static_cast<size_t>(j)] = m[static_cast<size_t>(j)] = std::sin(static_cast<float>(j));
    da.push_back(a.sample(l, {}));
    db.push_back(b.sample(m, {}));
  }
  EXPECT_EQ(da, db);
  p.seed = 1235;
  Sampler c(p);
  std::vector<int32_t> dc;
  for (int i = 0; i < 200; ++i) {
    std::vector<float> l(50);
    for (int j = 0; j < 50; ++j) l[static_cast<size_t>(j)] = std::sin(static_cast<float>(j));
    dc.push_back(c.sample(l, {}));
  }
  EXPECT_NE(da, dc);
}

// Draw frequencies match softmax(logits / T) restricted by the filters.
std::map<int32_t, int> histogram(SamplingParams p, const std::vector<float>& logits, int n) {
  p.seed = 7;
  Sampler s(p);
  std::map<int32_t, int> h;
  for (int i = 0; i < n; ++i) {
    std::vector<float> l = logits;
    ++h[s.sample(l, {})];
  }
  return h;
}

TEST(Sampler, TemperatureDistribution) {
  SamplingParams p;
  p.temperature = 2.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  const std::vector<float> l = {0.0f, std::log(2.0f) * 2.0f, std::log(4.0f) * 2.0f};  // probs 1:2:4 at T=2
  const int n = 70000;
  auto h = histogram(p, l, n);
  EXPECT_NEAR(h[0] / double(n), 1.0 / 7, 0.01);
  EXPECT_NEAR(h[1] / double(n), 2.0 / 7, 0.01);
  EXPECT_NEAR(h[2] / double(n), 4.0 / 7, 0.01);
}

TEST(Sampler, TopKTopPMinP) {
  const std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.top_k = 2;
  auto h = histogram(p, l, 20000);
  EXPECT_EQ(h.count(2) + h.count(3), 0u);
  EXPECT_NEAR(h[0] / 20000.0, 0.5 / 0.8, 0.02);
  p.top_k = 0;
  p.top_p = 0.85f;  // 0.5 + 0.3 < 0.85 <= 0.95: keeps three
  h = histogram(p, l, 20000);
  EXPECT_EQ(h.count(3), 0u);
  EXPECT_GT(h[2], 0);
  p.top_p = 1.0f;
  p.min_p = 0.4f;  // keeps p >= 0.2: tokens 0 and 1
  h = histogram(p, l, 20000);
  EXPECT_EQ(h.count(2) + h.count(3), 0u);
  EXPECT_GT(h[1], 0);
}

}  // namespace
}  // namespace nlm::runtime
