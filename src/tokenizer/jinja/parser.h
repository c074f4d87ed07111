#pragma once
// Jinja parser: tokens → syntax tree. Throws JinjaError (with line and column) on a syntax error,
// an unknown tag, or nesting deeper than kMaxNesting.
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace nlm::tok::jinja {

inline constexpr int kMaxNesting = 200;

Body parse(const std::vector<Token>& tokens);

}  // namespace nlm::tok::jinja
