#pragma once
// Public entry point of nativelm's Jinja2 interpreter, held to Python Jinja2's behaviour as
// transformers configures it for chat templates: trim_blocks and lstrip_blocks on, autoescape off,
// Undefined renders empty and is falsy, tojson = json.dumps(ensure_ascii=False, sort_keys=False),
// globals raise_exception / strftime_now / range / namespace / dict, the immutable sandbox (no list or
// dict mutation), and transformers' {% generation %} block. No file access ({% include %},
// {% import %} and {% extends %} are unknown tags); work is bounded by RenderLimits.
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "tokenizer/jinja/interp.h"

namespace nlm::tok::jinja {

struct RenderOptions {
  RenderLimits limits;
  int64_t now_unix = -1;  // what strftime_now formats (local time); < 0: the current time
};

class Template {
 public:
  // kTemplateError "[jinja] line L, column C: …" on a syntax error or unknown tag.
  static core::Result<Template> parse(std::string_view source);

  // Renders with `context` (a JSON object: its keys become template variables). Errors are
  // kTemplateError: "[jinja] line L, column C: …", or for raise_exception() "[jinja] line L: <message>
  // (raised by the template)".
  core::Result<std::string> render(const nlohmann::json& context, const RenderOptions& options = {}) const;
  // The same, keeping the key order of every object (what tojson prints).
  core::Result<std::string> render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;
  // The same with the variables already converted.
  core::Result<std::string> render(const Dict& variables, const RenderOptions& options = {}) const;

  const std::string& source() const { return *source_; }

 private:
  std::shared_ptr<const std::string> source_;
  std::shared_ptr<const Body> body_;
};

}  // namespace nlm::tok::jinja
