#include "tokenizer/jinja/template.h"

#include <exception>

#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"

namespace nlm::tok::jinja {
namespace {

core::Status to_status(const JinjaError& e, int line, int col) {
  const int l = e.line > 0 ? e.line : line;
  const int c = e.line > 0 ? e.col : col;
  std::string where = "[jinja] line " + std::to_string(l);
  if (e.raised) return core::error(core::ErrorCode::kTemplateError, where + ": " + e.message + " (raised by the template)");
  if (c > 0) where += ", column " + std::to_string(c);
  return core::error(core::ErrorCode::kTemplateError, where + ": " + e.message);
}

}  // namespace

core::Result<Template> Template::parse(std::string_view source) {
  Template t;
  t.source_ = std::make_shared<const std::string>(source);
  try {
    t.body_ = std::make_shared<const Body>(jinja::parse(lex(*t.source_)));
  } catch (const JinjaError& e) {
    return to_status(e, 0, 0);
  } catch (const std::exception& e) {
    return core::error(core::ErrorCode::kTemplateError, std::string("[jinja] ") + e.what());
  }
  return t;
}

core::Result<std::string> Template::render(const nlohmann::json& context, const RenderOptions& options) const {
  if (!context.is_object()) return core::error(core::ErrorCode::kInvalidRequest, "[jinja] the render context must be a JSON object");
  return render(Value::from_json(context).dict_ref(), options);
}

core::Result<std::string> Template::render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
  if (!context.is_object()) return core::error(core::ErrorCode::kInvalidRequest, "[jinja] the render context must be a JSON object");
  return render(Value::from_json(context).dict_ref(), options);
}

core::Result<std::string> Template::render(const Dict& variables, const RenderOptions& options) const {
  auto frame = std::make_shared<Frame>();
  frame->parent = make_globals(options.now_unix);
  frame->vars = variables;
  Interp run(options.limits, frame);
  try {
    return run.render(*body_);
  } catch (const JinjaError& e) {
    return to_status(e, run.line(), run.col());
  } catch (const std::bad_alloc&) {
    return core::error(core::ErrorCode::kTemplateError, "[jinja] out of memory while rendering");
  } catch (const std::exception& e) {
    return core::error(core::ErrorCode::kTemplateError, std::string("[jinja] ") + e.what());
  }
}

}  // namespace nlm::tok::jinja
