#pragma once
// Jinja lexer: template text → tokens, applying whitespace control ({%- -%} {{- -}} {#- -#}),
// trim_blocks and lstrip_blocks as transformers configures Jinja2 (both on), and {% raw %} blocks.
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/error.h"

namespace nlm::tok::jinja {

enum class Tok {
  kText,        // template data
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,
  kInt,
  kFloat,
  kOp,  // operators and punctuation, spelled in `text`
  kEof,
};

struct Token {
  Tok type;
  std::string text;  // data, name, decoded string, number spelling or operator
  int line = 1;
  int col = 1;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

// Throws JinjaError on an unterminated tag, string or comment.
std::vector<Token> lex(std::string_view source, const LexOptions& options = {});

}  // namespace nlm::tok::jinja
