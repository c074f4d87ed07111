// `chat`: messages rendered with the model's chat template, then generated like `generate`; the final
// line adds "message": {"role": "assistant", "content": …}.
#include "protocol/commands.h"
#include "runtime/decoder_loader.h"
#include "runtime/engine.h"
#include "runtime/generate.h"
#include "tokenizer/chat_template.h"

namespace nlm::protocol {

core::Result<std::shared_ptr<runtime::LoadedDecoder>> get_decoder(CommandContext& ctx, double* load_ms);
core::Result<runtime::GenerateOptions> parse_generate_options(const Json& req, const runtime::LoadedDecoder& d);
core::Result<Json> run_generation(CommandContext& ctx, const runtime::LoadedDecoder& d,
                                  const std::vector<int32_t>& prompt, runtime::GenerateOptions options,
                                  double load_ms);

namespace {
using core::ErrorCode;

// Models without a template whose vocabulary has no ChatML markers (stories260K) get plain text: the
// message contents, one per line.
constexpr std::string_view kPlainTemplate =
    "{% for message in messages %}{{ message['content'] }}\n{% endfor %}";

core::Status check_messages(const Json& messages) {
  if (!messages.is_array() || messages.empty()) {
    return core::error(ErrorCode::kInvalidRequest, "[chat] 'messages' must be a non-empty array");
  }
  for (const Json& m : messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return core::error(ErrorCode::kInvalidRequest, "[chat] each message needs a string 'role'");
    }
    auto c = m.find("content");
    if (c != m.end() && !c->is_string() && !c->is_array() && !c->is_null()) {
      return core::error(ErrorCode::kInvalidRequest, "[chat] a message 'content' must be a string or a list of parts");
    }
  }
  return core::Status::ok();
}

}  // namespace

core::Result<Json> cmd_chat(CommandContext& ctx) {
  auto mit = ctx.request.find("messages");
  if (mit == ctx.request.end()) return core::error(ErrorCode::kInvalidRequest, "[chat] missing field 'messages'");
  NLM_RETURN_IF_ERROR(check_messages(*mit));
  double load_ms = 0;
  NLM_ASSIGN_OR_RETURN(auto d, get_decoder(ctx, &load_ms));
  if (!d->tokenizer) {
    return core::error(ErrorCode::kInvalidRequest, "[chat] model " + d->path + " has no tokenizer");
  }
  NLM_ASSIGN_OR_RETURN(auto tmpl, ctx.engine.get_or_load<tok::ChatTemplate>(
                                      d->path, [&] { return tok::ChatTemplate::load_for_model(d->path); },
                                      "chat_template"));
  const bool plain = tmpl->is_fallback() && !d->tokenizer->token_to_id("<|im_start|>");
  if (plain) {
    NLM_ASSIGN_OR_RETURN(tmpl, tok::ChatTemplate::from_source(kPlainTemplate, tmpl->special_tokens()));
  }
  tok::ChatRenderOptions ro;
  const nlohmann::ordered_json oreq = ctx.ordered_request();  // tojson keeps the client's key order
  if (auto it = oreq.find("tools"); it != oreq.end() && !it->is_null()) ro.tools = *it;
  if (auto it = oreq.find("chat_template_kwargs"); it != oreq.end() && it->is_object()) ro.variables = *it;
  NLM_ASSIGN_OR_RETURN(std::string text, tmpl->render(oreq["messages"], ro));
  NLM_ASSIGN_OR_RETURN(std::vector<int32_t> prompt, d->tokenizer->encode(text, /*add_special_tokens=*/false));
  const int32_t bos = d->model->info().bos_token_id;
  if (plain && bos >= 0 && (prompt.empty() || prompt[0] != bos)) prompt.insert(prompt.begin(), bos);
  if (prompt.empty()) return core::error(ErrorCode::kInvalidRequest, "[chat] the rendered prompt is empty");

  NLM_ASSIGN_OR_RETURN(runtime::GenerateOptions options, parse_generate_options(ctx.request, *d));
  for (const std::string& s : tmpl->stop_strings()) {
    // End-of-turn markers are special tokens (decoded to nothing): stop on their ids as well.
    if (auto id = d->tokenizer->token_to_id(s)) options.eos_token_ids.push_back(*id);
    options.stop.push_back(s);
  }
  NLM_ASSIGN_OR_RETURN(Json out, run_generation(ctx, *d, prompt, std::move(options), load_ms));
  out["message"] = {{"role", "assistant"}, {"content", out["text"]}};
  return out;
}

}  // namespace nlm::protocol
