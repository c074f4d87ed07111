// apply_template: renders a chat template (the model's, or one given in the request) with messages,
// tools, documents, add_generation_prompt and extra variables, as transformers' apply_chat_template does.
#include "protocol/commands.h"
#include "runtime/engine.h"
#include "tokenizer/chat_template.h"

namespace nlm::protocol {
namespace {

using core::ErrorCode;
using OJson = nlohmann::ordered_json;

// Field `key` of the request with the client's key order (ctx.ordered_request()), type-checked.
core::Result<OJson> opt_value(const OJson& req, const char* key, bool (OJson::*is_type)() const noexcept, const char* want) {
  auto it = req.find(key);
  if (it == req.end() || it->is_null()) return OJson();
  if (!((*it).*is_type)()) return core::error(ErrorCode::kInvalidRequest, std::string("field '") + key + "' must be " + want);
  return *it;
}

core::Result<std::shared_ptr<tok::ChatTemplate>> model_template(CommandContext& ctx, const std::string& model) {
  NLM_ASSIGN_OR_RETURN(runtime::ResolvedModel resolved, ctx.resolve_model(model));
  return ctx.engine.get_or_load<tok::ChatTemplate>(
      resolved.path, [&]() { return tok::ChatTemplate::load_for_model(resolved.path); }, "chat_template");
}

}  // namespace

core::Result<Json> cmd_apply_template(CommandContext& ctx) {
  const Json& req = ctx.request;
  auto messages_it = req.find("messages");
  if (messages_it == req.end() || messages_it->is_null()) return core::error(ErrorCode::kInvalidRequest, "missing field 'messages'");
  if (!messages_it->is_array()) return core::error(ErrorCode::kInvalidRequest, "field 'messages' must be a list of objects");
  NLM_ASSIGN_OR_RETURN(std::optional<std::string> model, opt_string(req, "model"));
  NLM_ASSIGN_OR_RETURN(std::optional<std::string> source, opt_string(req, "template"));
  NLM_ASSIGN_OR_RETURN(std::optional<std::string> name, opt_string(req, "template_name"));
  NLM_ASSIGN_OR_RETURN(std::optional<bool> add_gen, opt_bool(req, "add_generation_prompt"));
  NLM_ASSIGN_OR_RETURN(std::optional<int64_t> now, opt_int(req, "now", 0, int64_t{1} << 40));

  const OJson oreq = ctx.ordered_request();
  tok::ChatRenderOptions options;
  options.add_generation_prompt = add_gen.value_or(false);
  options.template_name = name;
  options.now_unix = now.value_or(-1);
  NLM_ASSIGN_OR_RETURN(options.tools, opt_value(oreq, "tools", &OJson::is_array, "a list"));
  NLM_ASSIGN_OR_RETURN(options.documents, opt_value(oreq, "documents", &OJson::is_array, "a list"));
  NLM_ASSIGN_OR_RETURN(options.variables, opt_value(oreq, "variables", &OJson::is_object, "an object"));
  // Variables override everything at render time; tools given there also pick a "tool_use" template.
  if (options.tools.is_null() && options.variables.is_object() && options.variables.contains("tools")) {
    options.tools = options.variables["tools"];
  }

  std::shared_ptr<tok::ChatTemplate> tmpl;
  if (source) {
    OJson special = OJson::object();
    if (model) {
      NLM_ASSIGN_OR_RETURN(auto model_tmpl, model_template(ctx, *model));
      special = model_tmpl->special_tokens();
    }
    NLM_ASSIGN_OR_RETURN(tmpl, tok::ChatTemplate::from_source(*source, special));
  } else {
    NLM_ASSIGN_OR_RETURN(tmpl, model_template(ctx, model.value_or("")));
  }
  NLM_ASSIGN_OR_RETURN(std::string prompt, tmpl->render(oreq["messages"], options));
  Json out = Json::object();
  out["prompt"] = std::move(prompt);
  out["template"] = tmpl->is_fallback() ? std::string("fallback:chatml") : tmpl->select(options);
  out["stop"] = tmpl->stop_strings();
  return out;
}

}  // namespace nlm::protocol
