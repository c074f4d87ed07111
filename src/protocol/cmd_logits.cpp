// `logits`: the raw next-token logits of a token sequence, one row per position (or the last only).
#include "protocol/commands.h"
#include "runtime/decoder_loader.h"
#include "runtime/engine.h"
#include "runtime/generate.h"

namespace nlm::protocol {

core::Result<std::shared_ptr<runtime::LoadedDecoder>> get_decoder(CommandContext& ctx, double* load_ms);

core::Result<Json> cmd_logits(CommandContext& ctx) {
  NLM_ASSIGN_OR_RETURN(auto tokens, opt_token_list(ctx.request, "tokens"));
  if (!tokens) return core::error(core::ErrorCode::kInvalidRequest, "[logits] missing field 'tokens' (token ids)");
  NLM_ASSIGN_OR_RETURN(auto last_only, opt_bool(ctx.request, "last_only"));
  double load_ms = 0;
  NLM_ASSIGN_OR_RETURN(auto d, get_decoder(ctx, &load_ms));
  const bool last = last_only.value_or(false);
  NLM_ASSIGN_OR_RETURN(std::vector<float> logits,
                       runtime::compute_logits(*d->model, *tokens, last, [&] { return ctx.cancel.requested(); }));
  const auto vocab = static_cast<size_t>(d->model->info().vocab_size);
  Json rows = Json::array();
  for (size_t r = 0; r * vocab < logits.size(); ++r) {
    Json row = Json::array();
    row.get_ref<Json::array_t&>().reserve(vocab);
    for (size_t i = 0; i < vocab; ++i) row.push_back(logits[r * vocab + i]);
    rows.push_back(std::move(row));
  }
  return Json{{"logits", std::move(rows)}, {"vocab_size", vocab}, {"n_tokens", tokens->size()}};
}

}  // namespace nlm::protocol
