// tokenize, detokenize: text ↔ token ids with the tokenizer of a model folder, a tokenizer-only folder or
// a .gguf file (docs/protocol.md, "tokenize / detokenize").
#include "protocol/commands.h"
#include "runtime/engine.h"
#include "tokenizer/tokenizer.h"

namespace nlm::protocol {
namespace {

core::Result<std::shared_ptr<tok::Tokenizer>> tokenizer_for(CommandContext& ctx) {
  NLM_ASSIGN_OR_RETURN(std::optional<std::string> model, opt_string(ctx.request, "model"));
  NLM_ASSIGN_OR_RETURN(runtime::ResolvedModel resolved, ctx.resolve_model(model.value_or("")));
  const std::string path = resolved.path;
  return ctx.engine.get_or_load<tok::Tokenizer>(
      path, [&path]() { return tok::load_tokenizer(path); }, "tokenizer");
}

}  // namespace

core::Result<Json> cmd_tokenize(CommandContext& ctx) {
  NLM_ASSIGN_OR_RETURN(std::string text, get_string(ctx.request, "text"));
  NLM_ASSIGN_OR_RETURN(std::optional<bool> add_special, opt_bool(ctx.request, "add_special_tokens"));
  NLM_ASSIGN_OR_RETURN(std::optional<int64_t> max_length, opt_int(ctx.request, "max_length", 1, INT32_MAX));
  bool left = false;
  if (auto it = ctx.request.find("truncation_side"); it != ctx.request.end() && !it->is_null()) {
    if (!it->is_string() || (*it != "right" && *it != "left")) {
      return core::error(core::ErrorCode::kInvalidRequest, "[protocol] 'truncation_side' must be \"right\" or \"left\"");
    }
    left = *it == "left";
  }
  NLM_ASSIGN_OR_RETURN(auto tk, tokenizer_for(ctx));
  tok::EncodeOptions opt;
  opt.add_special_tokens = add_special.value_or(true);
  opt.max_length = max_length ? static_cast<size_t>(*max_length) : 0;
  opt.truncation_side = left ? tok::TruncationSide::kLeft : tok::TruncationSide::kRight;
  NLM_ASSIGN_OR_RETURN(tok::Ids ids, tk->encode(text, opt));
  Json out = Json::object();
  out["count"] = ids.size();
  out["tokens"] = std::move(ids);
  return out;
}

core::Result<Json> cmd_detokenize(CommandContext& ctx) {
  NLM_ASSIGN_OR_RETURN(std::optional<std::vector<int32_t>> ids, opt_token_list(ctx.request, "tokens"));
  if (!ids) return core::error(core::ErrorCode::kInvalidRequest, "[protocol] missing field 'tokens' (an array of token ids)");
  NLM_ASSIGN_OR_RETURN(std::optional<bool> skip, opt_bool(ctx.request, "skip_special_tokens"));
  NLM_ASSIGN_OR_RETURN(auto tk, tokenizer_for(ctx));
  NLM_ASSIGN_OR_RETURN(std::string text, tk->decode(*ids, skip.value_or(false)));
  return Json{{"text", std::move(text)}};
}

}  // namespace nlm::protocol
