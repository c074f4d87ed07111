#include "runtime/generate.h"

#include <algorithm>
#include <chrono>
#include <unistd.h>

#include "runtime/kv_cache.h"
#include "runtime/stop_strings.h"

namespace nlm::runtime {
namespace {
using core::ErrorCode;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

constexpr int64_t kDefaultMaxTokens = 256;

// A KV cache larger than half the machine's memory is refused rather than risking an OOM abort.
core::Status check_kv_memory(const models::DecoderInfo& info, int64_t capacity) {
  const int64_t need = kv_cache_bytes(info, capacity);
  const int64_t limit = static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE) / 2;
  if (limit > 0 && need > limit) {
    return core::error(ErrorCode::kInputTooLong, "[generate] a KV cache of " + std::to_string(capacity) +
                                                     " positions needs " + std::to_string(need >> 20) +
                                                     " MiB, more than half of this machine's memory; ask for fewer "
                                                     "max_tokens");
  }
  return core::Status::ok();
}

core::Status check_tokens(const models::DecoderInfo& info, std::span<const int32_t> tokens) {
  if (tokens.empty()) return core::error(ErrorCode::kInvalidRequest, "[generate] the prompt has no tokens");
  for (int32_t t : tokens) {
    if (t < 0 || t >= info.vocab_size) {
      return core::error(ErrorCode::kInvalidRequest, "[generate] token id " + std::to_string(t) +
                                                         " outside the vocabulary [0, " +
                                                         std::to_string(info.vocab_size) + ")");
    }
  }
  return core::Status::ok();
}

// Runs `tokens` through the model in batches of at most `batch`; the last row's logits land in `last`
// (or every row in `all`, when given).
core::Status prefill(const models::DecoderModel& model, std::span<const int32_t> tokens, int64_t batch, KvCache& kv,
                     float* last, float* all, const std::function<bool()>& cancelled) {
  const int64_t vocab = model.info().vocab_size;
  for (size_t i = 0; i < tokens.size(); i += static_cast<size_t>(batch)) {
    if (cancelled && cancelled()) return core::error(ErrorCode::kCancelled, "[generate] cancelled");
    const size_t n = std::min(tokens.size() - i, static_cast<size_t>(batch));
    const bool is_last = i + n == tokens.size();
    float* out = all ? all + static_cast<int64_t>(i) * vocab : last;
    if (!all && !is_last) out = last;  // intermediate batches: only the scratch row is written
    NLM_RETURN_IF_ERROR(model.forward(tokens.subspan(i, n), kv.state(), kv.scratch(), all != nullptr, out));
  }
  return core::Status::ok();
}

}  // namespace

std::string_view finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "?";
}

core::Result<int64_t> plan_context(const models::DecoderInfo& info, int64_t prompt_tokens, int64_t* max_tokens) {
  const int64_t ctx = info.max_position_embeddings;
  if (prompt_tokens >= ctx) {
    return core::error(ErrorCode::kInputTooLong, "[generate] the prompt has " + std::to_string(prompt_tokens) +
                                                     " tokens; the model's context is " + std::to_string(ctx) +
                                                     " tokens, leaving no room to generate");
  }
  if (*max_tokens <= 0) *max_tokens = std::min(kDefaultMaxTokens, ctx - prompt_tokens);
  if (prompt_tokens + *max_tokens > ctx) {
    return core::error(ErrorCode::kInputTooLong,
                       "[generate] prompt_tokens " + std::to_string(prompt_tokens) + " + max_tokens " +
                           std::to_string(*max_tokens) + " = " + std::to_string(prompt_tokens + *max_tokens) +
                           " exceeds the model's context of " + std::to_string(ctx) + " tokens");
  }
  return prompt_tokens + *max_tokens;
}

core::Result<GenerateResult> generate(const models::DecoderModel& model, std::span<const int32_t> prompt,
                                      const GenerateOptions& options, const GenerateHooks& hooks) {
  const models::DecoderInfo& info = model.info();
  NLM_RETURN_IF_ERROR(check_tokens(info, prompt));
  int64_t max_tokens = options.max_tokens;
  NLM_ASSIGN_OR_RETURN(const int64_t capacity, plan_context(info, static_cast<int64_t>(prompt.size()), &max_tokens));

  NLM_RETURN_IF_ERROR(check_kv_memory(info, capacity));
  GenerateResult r;
  r.prompt_tokens = static_cast<int64_t>(prompt.size());
  KvCache kv(info, capacity);
  r.kv_capacity = capacity;
  r.kv_bytes = kv.bytes();
  std::vector<float> logits(static_cast<size_t>(info.vocab_size));
  auto t0 = Clock::now();
  core::Status st = prefill(model, prompt, std::max<int64_t>(1, options.prefill_batch), kv, logits.data(), nullptr,
                            hooks.cancelled);
  r.prefill_ms = ms_since(t0);
  if (!st.is_ok() && st.code() != ErrorCode::kCancelled) return st;
  if (!st.is_ok()) {
    r.finish_reason = FinishReason::kCancelled;
    return r;
  }

  Sampler sampler(options.sampling);
  r.seed = sampler.seed();
  StopStrings stops(options.stop);
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  history.reserve(static_cast<size_t>(capacity));
  r.tokens.reserve(static_cast<size_t>(max_tokens));
  t0 = Clock::now();
  for (;;) {
    const int32_t tok = sampler.sample(logits, history);
    if (std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), tok) != options.eos_token_ids.end()) {
      r.finish_reason = FinishReason::kStop;
      break;
    }
    r.tokens.push_back(tok);
    history.push_back(tok);
    std::string text = stops.push(hooks.detokenize ? hooks.detokenize(tok) : std::string());
    const bool at_length = static_cast<int64_t>(r.tokens.size()) >= max_tokens;
    if (at_length && !stops.stopped()) {  // the last token: release held-back text with it
      if (hooks.detokenize_flush) text += stops.push(hooks.detokenize_flush());
      if (!stops.stopped()) text += stops.flush();
    }
    r.text += text;
    if (hooks.on_token) hooks.on_token(tok, text);
    if (stops.stopped()) {
      r.finish_reason = FinishReason::kStop;
      break;
    }
    if (at_length) {
      r.finish_reason = FinishReason::kLength;
      break;
    }
    if (hooks.cancelled && hooks.cancelled()) {
      r.finish_reason = FinishReason::kCancelled;
      break;
    }
    const int32_t one[1] = {tok};
    NLM_RETURN_IF_ERROR(model.forward(one, kv.state(), kv.scratch(), false, logits.data()));
  }
  if (r.finish_reason != FinishReason::kLength && !stops.stopped()) {  // eos or cancel: release the tail
    std::string tail = hooks.detokenize_flush ? stops.push(hooks.detokenize_flush()) : std::string();
    if (!stops.stopped()) tail += stops.flush();
    if (!tail.empty()) {
      r.text += tail;
      if (hooks.on_token) hooks.on_token(-1, tail);
    }
  }
  r.decode_ms = ms_since(t0);
  return r;
}

core::Result<std::vector<float>> compute_logits(const models::DecoderModel& model, std::span<const int32_t> tokens,
                                                bool last_only, const std::function<bool()>& cancelled) {
  const models::DecoderInfo& info = model.info();
  NLM_RETURN_IF_ERROR(check_tokens(info, tokens));
  const auto n = static_cast<int64_t>(tokens.size());
  if (n > info.max_position_embeddings) {
    return core::error(ErrorCode::kInputTooLong, "[logits] " + std::to_string(n) + " tokens exceed the model's context of " +
                                                     std::to_string(info.max_position_embeddings) + " tokens");
  }
  NLM_RETURN_IF_ERROR(check_kv_memory(info, n));
  KvCache kv(info, n);
  std::vector<float> out(static_cast<size_t>((last_only ? 1 : n) * info.vocab_size));
  NLM_RETURN_IF_ERROR(prefill(model, tokens, 512, kv, out.data(), last_only ? nullptr : out.data(), cancelled));
  return out;
}

}  // namespace nlm::runtime
