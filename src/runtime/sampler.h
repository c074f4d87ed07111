#pragma once
// Token sampling: penalties over a window of recent tokens, then greedy (temperature 0) or
// temperature → top_k → top_p → min_p → a draw from a seeded generator. Same seed and same inputs give
// the same token on every run and platform (the generator and the uniform draw are our own code).
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace nlm::runtime {

struct SamplingParams {
  float temperature = 0.8f;        // 0: greedy (argmax, lowest id on ties)
  int top_k = 40;                  // 0: off
  float top_p = 0.95f;             // 1: off
  float min_p = 0.05f;             // 0: off; keeps tokens with p >= min_p * p_max
  float repeat_penalty = 1.0f;     // 1: off; HF style: logit > 0 ? logit / p : logit * p
  float presence_penalty = 0.0f;   // subtracted once from every token seen in the window
  float frequency_penalty = 0.0f;  // subtracted per occurrence in the window
  int penalty_last_n = 64;         // window (prompt included); 0: penalties off, -1: whole context
  std::optional<uint64_t> seed;    // none: a random seed
};

// A small, fully specified generator (splitmix64 seeding + xoshiro256**), so a seed means the same
// stream everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();  // [0, 1) with 53 random bits

 private:
  uint64_t s_[4];
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // Picks the next token from `logits` (one row, modified in place). `history` is the context so far
  // (prompt + generated), newest last; penalties look at its last penalty_last_n tokens.
  int32_t sample(std::span<float> logits, std::span<const int32_t> history);

  const SamplingParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }

 private:
  void apply_penalties(std::span<float> logits, std::span<const int32_t> history);
  int32_t draw(std::span<const float> logits);

  SamplingParams params_;
  uint64_t seed_;
  Rng rng_;
  std::vector<std::pair<float, int32_t>> cand_;  // reused candidate buffer
  std::vector<int32_t> counts_;                  // reused per-token counts for the penalty window
  std::vector<double> probs_;                    // reused probabilities of the candidates
};

int32_t argmax(std::span<const float> logits);

}  // namespace nlm::runtime
