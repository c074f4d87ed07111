#pragma once
// The generation loop against an abstract models::DecoderModel: checks the request against the model's
// context, sizes a KV cache for it, prefills the prompt in batches, then decodes one token at a time
// (sample → detokenize → stop strings → stream → forward) until an eos id, a stop string, max_tokens
// or cancellation.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "models/decoder_model.h"
#include "runtime/sampler.h"

namespace nlm::runtime {

struct GenerateOptions {
  int64_t max_tokens = 0;               // new tokens at most; 0: up to min(256, context - prompt)
  SamplingParams sampling;
  std::vector<std::string> stop;        // stop strings (never emitted)
  std::vector<int32_t> eos_token_ids;   // generation ends (finish "stop") at any of these; not emitted
  int64_t prefill_batch = 512;          // prompt tokens per forward
};

enum class FinishReason { kStop, kLength, kCancelled };
std::string_view finish_reason_name(FinishReason r);

struct GenerateHooks {
  // Text a generated token adds (an incremental detokenizer); null: no text (token ids only).
  std::function<std::string(int32_t token)> detokenize;
  // Text still buffered by the detokenizer at the end (incomplete UTF-8 and the like); may be null.
  std::function<std::string()> detokenize_flush;
  // Streaming: called per generated token with the text now safe to emit (held back while it may be
  // the start of a stop string). token = -1 carries held-back text released at the end.
  std::function<void(int32_t token, const std::string& text)> on_token;
  std::function<bool()> cancelled;  // polled before every forward
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (an eos id that ended generation is not included)
  std::string text;             // their text, without any stop string
  FinishReason finish_reason = FinishReason::kLength;
  int64_t prompt_tokens = 0;
  int64_t kv_capacity = 0;      // positions of the KV cache this request used
  int64_t kv_bytes = 0;
  double prefill_ms = 0, decode_ms = 0;
  uint64_t seed = 0;
};

// The context a request may use: min(model context, prompt + max_tokens). input_too_long (naming the
// counts) when the prompt or prompt + max_tokens exceeds the model's context.
core::Result<int64_t> plan_context(const models::DecoderInfo& info, int64_t prompt_tokens, int64_t* max_tokens);

core::Result<GenerateResult> generate(const models::DecoderModel& model, std::span<const int32_t> prompt,
                                      const GenerateOptions& options, const GenerateHooks& hooks);

// Full-prompt logits ([n, vocab] rows, or only the last row): one sequence, prefilled in batches.
core::Result<std::vector<float>> compute_logits(const models::DecoderModel& model, std::span<const int32_t> tokens,
                                                bool last_only, const std::function<bool()>& cancelled = nullptr);

}  // namespace nlm::runtime
