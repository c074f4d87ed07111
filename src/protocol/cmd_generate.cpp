// `generate`: text (or token ids) in, sampled continuation out; streamed as token events when asked.
#include <chrono>
#include <optional>

#include "protocol/commands.h"
#include "runtime/decoder_loader.h"
#include "runtime/engine.h"
#include "runtime/generate.h"
#include "tokenizer/stream_decoder.h"

namespace nlm::protocol {
namespace {
using core::ErrorCode;

// Defaults for sampling from the model's generation_config.json (do_sample false means greedy).
void apply_generation_config(const Json& g, runtime::SamplingParams* p) {
  if (!g.is_object()) return;
  auto num = [&](const char* key, auto* out) {
    auto it = g.find(key);
    if (it != g.end() && it->is_number()) *out = it->get<std::remove_pointer_t<decltype(out)>>();
  };
  num("temperature", &p->temperature);
  num("top_k", &p->top_k);
  num("top_p", &p->top_p);
  num("min_p", &p->min_p);
  num("repetition_penalty", &p->repeat_penalty);
  auto ds = g.find("do_sample");
  if (ds != g.end() && ds->is_boolean() && !ds->get<bool>()) p->temperature = 0.f;
}

core::Result<std::vector<std::string>> stop_list(const Json& req) {
  auto it = req.find("stop");
  if (it == req.end() || it->is_null()) return std::vector<std::string>{};
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  NLM_ASSIGN_OR_RETURN(auto list, opt_string_list(req, "stop"));
  return list.value_or(std::vector<std::string>{});
}

}  // namespace

// Reads every generate option of `req` (also used by `chat`).
core::Result<runtime::GenerateOptions> parse_generate_options(const Json& req, const runtime::LoadedDecoder& d) {
  runtime::GenerateOptions o;
  runtime::SamplingParams& p = o.sampling;
  apply_generation_config(d.generation_config, &p);
  NLM_ASSIGN_OR_RETURN(auto max_tokens, opt_int(req, "max_tokens", 1, 1 << 24));
  NLM_ASSIGN_OR_RETURN(auto temperature, opt_number(req, "temperature", 0, 100));
  NLM_ASSIGN_OR_RETURN(auto top_k, opt_int(req, "top_k", 0, 1 << 30));
  NLM_ASSIGN_OR_RETURN(auto top_p, opt_number(req, "top_p", 0, 1));
  NLM_ASSIGN_OR_RETURN(auto min_p, opt_number(req, "min_p", 0, 1));
  NLM_ASSIGN_OR_RETURN(auto repeat, opt_number(req, "repeat_penalty", 0.01, 100));
  NLM_ASSIGN_OR_RETURN(auto presence, opt_number(req, "presence_penalty", -100, 100));
  NLM_ASSIGN_OR_RETURN(auto frequency, opt_number(req, "frequency_penalty", -100, 100));
  NLM_ASSIGN_OR_RETURN(auto last_n, opt_int(req, "penalty_last_n", -1, 1 << 24));
  NLM_ASSIGN_OR_RETURN(auto seed, opt_int(req, "seed", 0, (int64_t{1} << 53) - 1));
  NLM_ASSIGN_OR_RETURN(auto ignore_eos, opt_bool(req, "ignore_eos"));
  NLM_ASSIGN_OR_RETURN(o.stop, stop_list(req));
  o.max_tokens = max_tokens.value_or(0);
  if (temperature) p.temperature = static_cast<float>(*temperature);
  if (top_k) p.top_k = static_cast<int>(*top_k);
  if (top_p) p.top_p = static_cast<float>(*top_p);
  if (min_p) p.min_p = static_cast<float>(*min_p);
  if (repeat) p.repeat_penalty = static_cast<float>(*repeat);
  if (presence) p.presence_penalty = static_cast<float>(*presence);
  if (frequency) p.frequency_penalty = static_cast<float>(*frequency);
  if (last_n) p.penalty_last_n = static_cast<int>(*last_n);
  if (seed) p.seed = static_cast<uint64_t>(*seed);
  if (!ignore_eos.value_or(false)) o.eos_token_ids = d.eos_token_ids;
  return o;
}

// The model named by "model" ("" or absent: the default model), loaded once per path.
core::Result<std::shared_ptr<runtime::LoadedDecoder>> get_decoder(CommandContext& ctx, double* load_ms) {
  const auto t0 = std::chrono::steady_clock::now();
  NLM_ASSIGN_OR_RETURN(auto ref, opt_string(ctx.request, "model"));
  NLM_ASSIGN_OR_RETURN(runtime::ResolvedModel rm, ctx.resolve_model(ref.value_or("")));
  auto d = ctx.engine.get_or_load<runtime::LoadedDecoder>(
      rm.path, [&] { return runtime::load_decoder(rm.path); }, "decoder");
  *load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return d;
}

// Runs one generation for `prompt` and builds the final line; streams token events when "stream".
core::Result<Json> run_generation(CommandContext& ctx, const runtime::LoadedDecoder& d,
                                  const std::vector<int32_t>& prompt, runtime::GenerateOptions options,
                                  double load_ms) {
  NLM_ASSIGN_OR_RETURN(auto stream, opt_bool(ctx.request, "stream"));
  runtime::GenerateHooks hooks;
  std::optional<tok::StreamDecoder> text;
  if (d.tokenizer) {
    text.emplace(d.tokenizer, /*skip_special_tokens=*/true);
    NLM_RETURN_IF_ERROR(text->prime(prompt));  // the reply continues the prompt
    hooks.detokenize = [&](int32_t t) { return text->step(t).value_or(std::string()); };
    hooks.detokenize_flush = [&] { return text->flush().value_or(std::string()); };
  }
  hooks.cancelled = [&] { return ctx.cancel.requested(); };
  if (stream.value_or(false)) {
    hooks.on_token = [&](int32_t token, const std::string& piece) {
      Json ev = {{"event", "token"}, {"text", piece}};
      if (token >= 0) ev["token"] = token;
      ctx.emit(std::move(ev));
    };
  }
  NLM_ASSIGN_OR_RETURN(runtime::GenerateResult r, runtime::generate(*d.model, prompt, options, hooks));
  const auto n_out = static_cast<int64_t>(r.tokens.size());
  auto per_s = [](double n, double ms) { return ms > 0 ? n * 1000.0 / ms : 0.0; };
  Json out = Json::object();
  out["done"] = true;
  out["text"] = r.text;
  out["tokens"] = r.tokens;
  out["finish_reason"] = std::string(runtime::finish_reason_name(r.finish_reason));
  out["usage"] = {{"prompt_tokens", r.prompt_tokens}, {"completion_tokens", n_out}};
  out["timings"] = {{"load_ms", load_ms},
                    {"prefill_ms", r.prefill_ms},
                    {"decode_ms", r.decode_ms},
                    {"prefill_tokens_per_s", per_s(static_cast<double>(r.prompt_tokens), r.prefill_ms)},
                    {"decode_tokens_per_s", per_s(static_cast<double>(n_out), r.decode_ms)}};
  out["kv_cache"] = {{"positions", r.kv_capacity}, {"bytes", r.kv_bytes}};
  out["seed"] = r.seed;
  return out;
}

core::Result<Json> cmd_generate(CommandContext& ctx) {
  double load_ms = 0;
  NLM_ASSIGN_OR_RETURN(auto d, get_decoder(ctx, &load_ms));
  NLM_ASSIGN_OR_RETURN(auto prompt_text, opt_string(ctx.request, "prompt"));
  NLM_ASSIGN_OR_RETURN(auto prompt_tokens, opt_token_list(ctx.request, "prompt_tokens"));
  if (prompt_text && prompt_tokens) {
    return core::error(ErrorCode::kInvalidRequest, "[generate] give either 'prompt' or 'prompt_tokens', not both");
  }
  if (!prompt_text && !prompt_tokens) {
    return core::error(ErrorCode::kInvalidRequest, "[generate] missing field 'prompt' (or 'prompt_tokens')");
  }
  std::vector<int32_t> prompt;
  if (prompt_tokens) {
    prompt = std::move(*prompt_tokens);
  } else {
    NLM_ASSIGN_OR_RETURN(prompt, d->encode_prompt(*prompt_text));
  }
  NLM_ASSIGN_OR_RETURN(runtime::GenerateOptions options, parse_generate_options(ctx.request, *d));
  return run_generation(ctx, *d, prompt, std::move(options), load_ms);
}

}  // namespace nlm::protocol
