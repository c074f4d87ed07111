#pragma once
// The interpreter's internal error. It never leaves the jinja component: Template::parse / render
// catch it and return a core::Status (kTemplateError) naming the template line and column.
#include <string>
#include <utility>

namespace nlm::tok::jinja {

struct JinjaError {
  std::string message;
  int line = 0;
  int col = 0;
  bool raised = false;  // raise_exception() called by the template itself
};

[[noreturn]] inline void fail(std::string message, int line = 0, int col = 0) {
  throw JinjaError{std::move(message), line, col, false};
}

}  // namespace nlm::tok::jinja
