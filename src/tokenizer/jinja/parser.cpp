#include "tokenizer/jinja/parser.h"

#include <cstdlib>
#include <initializer_list>
#include <string_view>

#include "tokenizer/jinja/error.h"

namespace nlm::tok::jinja {
namespace {

using EK = Expr::Kind;
using SK = Stmt::Kind;

class Parser {
 public:
  explicit Parser(const std::vector<Token>& t) : t_(t) {}

  Body parse_template() {
    std::string end;
    Body body = parse_body({}, &end);
    if (peek().type != Tok::kEof) fail_at(peek(), "unexpected token");
    return body;
  }

 private:
  const Token& peek(size_t ahead = 0) const {
    const size_t i = std::min(i_ + ahead, t_.size() - 1);
    return t_[i];
  }
  const Token& next() {
    const Token& tok = t_[i_];
    if (i_ + 1 < t_.size()) ++i_;
    return tok;
  }
  [[noreturn]] static void fail_at(const Token& tok, const std::string& msg) {
    std::string got = tok.type == Tok::kEof ? "end of template" : tok.type == Tok::kBlockEnd ? "'%}'"
                      : tok.type == Tok::kVarEnd ? "'}}'" : "'" + tok.text + "'";
    fail(msg + " (got " + got + ")", tok.line, tok.col);
  }
  bool is_op(const char* op, size_t ahead = 0) const {
    const Token& tok = peek(ahead);
    return tok.type == Tok::kOp && tok.text == op;
  }
  bool is_name(const char* name, size_t ahead = 0) const {
    const Token& tok = peek(ahead);
    return tok.type == Tok::kName && tok.text == name;
  }
  void expect_op(const char* op) {
    if (!is_op(op)) fail_at(peek(), std::string("expected '") + op + "'");
    next();
  }
  void expect_name(const char* name) {
    if (!is_name(name)) fail_at(peek(), std::string("expected '") + name + "'");
    next();
  }
  std::string expect_identifier() {
    if (peek().type != Tok::kName) fail_at(peek(), "expected a name");
    return next().text;
  }
  void expect_block_end() {
    if (peek().type != Tok::kBlockEnd) fail_at(peek(), "expected end of statement '%}'");
    next();
  }

  struct DepthGuard {
    explicit DepthGuard(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxNesting) fail("template nested too deeply", p.peek().line, p.peek().col);
    }
    ~DepthGuard() { --p_.depth_; }
    Parser& p_;
  };

  static ExprPtr make(EK kind, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->col = at.col;
    return e;
  }
  static StmtPtr make_stmt(SK kind, const Token& at) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = at.line;
    s->col = at.col;
    return s;
  }

  // Statements up to one of `ends` ({% end %} tag names); *end receives the tag that stopped it.
  Body parse_body(std::initializer_list<std::string_view> ends, std::string* end) {
    DepthGuard guard(*this);
    Body body;
    for (;;) {
      const Token& tok = peek();
      if (tok.type == Tok::kEof) {
        if (ends.size() != 0) fail_at(tok, "unexpected end of template, expected '" + std::string(*(ends.end() - 1)) + "'");
        return body;
      }
      if (tok.type == Tok::kText) {
        auto s = make_stmt(SK::kText, tok);
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (tok.type == Tok::kVarBegin) {
        next();
        auto s = make_stmt(SK::kOutput, tok);
        s->expr = parse_tuple(true);
        if (peek().type != Tok::kVarEnd) fail_at(peek(), "expected end of print statement '}}'");
        next();
        body.push_back(std::move(s));
      } else if (tok.type == Tok::kBlockBegin) {
        const Token& name = peek(1);
        if (name.type != Tok::kName) fail_at(name, "expected a tag name");
        for (std::string_view e : ends) {
          if (name.text == e) {
            next();
            next();
            *end = name.text;
            return body;
          }
        }
        next();
        body.push_back(parse_statement());
      } else {
        fail_at(tok, "unexpected token");
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& tok = next();
    const std::string& tag = tok.text;
    if (tag == "if") return parse_if(tok);
    if (tag == "for") return parse_for(tok);
    if (tag == "set") return parse_set(tok);
    if (tag == "macro") return parse_macro(tok);
    if (tag == "call") return parse_call_block(tok);
    if (tag == "filter") return parse_filter_block(tok);
    if (tag == "break" || tag == "continue") {
      expect_block_end();
      return make_stmt(tag == "break" ? SK::kBreak : SK::kContinue, tok);
    }
    if (tag == "generation") {
      expect_block_end();
      auto s = make_stmt(SK::kGeneration, tok);
      std::string end;
      s->body = parse_body({"endgeneration"}, &end);
      expect_block_end();
      return s;
    }
    fail("unknown tag '" + tag + "'", tok.line, tok.col);
  }

  StmtPtr parse_if(const Token& tok) {
    auto s = make_stmt(SK::kIf, tok);
    ExprPtr cond = parse_tuple(false);
    for (;;) {
      expect_block_end();
      std::string end;
      Body body = parse_body({"elif", "else", "endif"}, &end);
      s->branches.emplace_back(std::move(cond), std::move(body));
      if (end == "elif") {
        cond = parse_tuple(false);
        continue;
      }
      if (end == "else") {
        expect_block_end();
        Body else_body = parse_body({"endif"}, &end);
        s->branches.emplace_back(nullptr, std::move(else_body));
      }
      expect_block_end();
      return s;
    }
  }

  StmtPtr parse_for(const Token& tok) {
    auto s = make_stmt(SK::kFor, tok);
    s->target = parse_assign_target(false);
    expect_name("in");
    s->expr = parse_tuple(false, {"recursive"});
    if (is_name("if")) {
      next();
      s->cond = parse_expression(true);
    }
    if (is_name("recursive")) {
      next();
      s->recursive = true;
    }
    expect_block_end();
    std::string end;
    s->body = parse_body({"else", "endfor"}, &end);
    if (end == "else") {
      expect_block_end();
      s->else_body = parse_body({"endfor"}, &end);
    }
    expect_block_end();
    return s;
  }

  StmtPtr parse_set(const Token& tok) {
    auto s = make_stmt(SK::kSet, tok);
    s->target = parse_assign_target(true);
    if (is_op("=")) {
      next();
      s->expr = parse_tuple(true);
      expect_block_end();
      return s;
    }
    s->kind = SK::kSetBlock;
    if (is_op("|")) s->expr = parse_filter_chain(nullptr);
    expect_block_end();
    std::string end;
    s->body = parse_body({"endset"}, &end);
    expect_block_end();
    return s;
  }

  void parse_params(Stmt& s) {
    expect_op("(");
    while (!is_op(")")) {
      if (!s.params.empty()) expect_op(",");
      if (is_op(")")) break;
      s.params.push_back(expect_identifier());
      if (is_op("=")) {
        next();
        s.defaults.push_back(parse_expression(true));
      } else {
        s.defaults.push_back(nullptr);
      }
    }
    next();
  }

  StmtPtr parse_macro(const Token& tok) {
    auto s = make_stmt(SK::kMacro, tok);
    s->name = expect_identifier();
    parse_params(*s);
    expect_block_end();
    std::string end;
    s->body = parse_body({"endmacro"}, &end);
    if (peek().type == Tok::kName) next();  // {% endmacro name %}
    expect_block_end();
    return s;
  }

  StmtPtr parse_call_block(const Token& tok) {
    auto s = make_stmt(SK::kCallBlock, tok);
    if (is_op("(")) parse_params(*s);
    s->expr = parse_expression(true);
    if (s->expr->kind != EK::kCall) fail("expected a call after {% call %}", tok.line, tok.col);
    expect_block_end();
    std::string end;
    s->body = parse_body({"endcall"}, &end);
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block(const Token& tok) {
    auto s = make_stmt(SK::kFilterBlock, tok);
    s->expr = parse_filter_chain(nullptr, false);
    expect_block_end();
    std::string end;
    s->body = parse_body({"endfilter"}, &end);
    expect_block_end();
    return s;
  }

  // Names, `a, b` tuples, and (with_attr) `ns.attr` targets.
  ExprPtr parse_assign_target(bool with_attr) {
    std::vector<ExprPtr> items;
    const Token& start = peek();
    bool paren = false;
    if (is_op("(")) {
      paren = true;
      next();
    }
    for (;;) {
      const Token& tok = peek();
      auto e = make(EK::kName, tok);
      e->name = expect_identifier();
      if (with_attr && is_op(".")) {
        next();
        auto attr = make(EK::kGetAttr, tok);
        attr->name = expect_identifier();
        attr->args.push_back(std::move(e));
        e = std::move(attr);
      }
      items.push_back(std::move(e));
      if (!is_op(",")) break;
      next();
      if (paren && is_op(")")) break;
    }
    if (paren) expect_op(")");
    if (items.size() == 1 && !paren) return std::move(items[0]);
    auto t = make(EK::kTuple, start);
    t->args = std::move(items);
    return t;
  }

  // expr [, expr]* — a tuple when there is a comma.
  ExprPtr parse_tuple(bool with_condexpr, std::initializer_list<const char*> stop_names = {}) {
    const Token& start = peek();
    std::vector<ExprPtr> items;
    bool comma = false;
    for (;;) {
      if (!items.empty()) {
        if (!is_op(",")) break;
        next();
        comma = true;
      }
      const Token& tok = peek();
      if (tok.type == Tok::kBlockEnd || tok.type == Tok::kVarEnd || is_op(")") || is_name("if")) break;
      bool stop = false;
      for (const char* n : stop_names) stop = stop || is_name(n);
      if (stop) break;
      items.push_back(parse_expression(with_condexpr));
    }
    if (items.empty()) fail_at(peek(), "expected an expression");
    if (!comma) return std::move(items[0]);
    auto t = make(EK::kTuple, start);
    t->args = std::move(items);
    return t;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard guard(*this);
    ExprPtr e = parse_or();
    if (!with_condexpr) return e;
    while (is_name("if")) {
      const Token& tok = next();
      auto c = make(EK::kCondExpr, tok);
      c->args.push_back(parse_or());
      c->args.push_back(std::move(e));
      if (is_name("else")) {
        next();
        c->args.push_back(parse_expression(true));
      } else {
        c->args.push_back(nullptr);
      }
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(const Token& at, std::string op, ExprPtr a, ExprPtr b) {
    auto e = make(EK::kBinary, at);
    e->name = std::move(op);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      const Token& tok = next();
      e = binary(tok, "or", std::move(e), parse_and());
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      const Token& tok = next();
      e = binary(tok, "and", std::move(e), parse_not());
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      const Token& tok = next();
      auto e = make(EK::kUnary, tok);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token& start = peek();
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    for (;;) {
      std::string op;
      const Token& tok = peek();
      if (tok.type == Tok::kOp && (tok.text == "==" || tok.text == "!=" || tok.text == "<" || tok.text == ">" ||
                                   tok.text == "<=" || tok.text == ">=")) {
        op = tok.text;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && is_name("in", 1)) {
        op = "not in";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(EK::kCompare, start);
        cmp->args.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& tok = next();
      e = binary(tok, tok.text, std::move(e), parse_concat());
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      const Token& tok = next();
      e = binary(tok, "~", std::move(e), parse_math2());
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& tok = next();
      e = binary(tok, tok.text, std::move(e), parse_pow());
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      const Token& tok = next();
      e = binary(tok, "**", std::move(e), parse_unary(true));
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& tok = next();
      e = make(EK::kUnary, tok);
      e->name = tok.text;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr literal(const Token& tok, Value v) {
    auto e = make(EK::kLiteral, tok);
    e->value = std::move(v);
    return e;
  }

  ExprPtr parse_primary() {
    const Token& tok = peek();
    switch (tok.type) {
      case Tok::kName: {
        next();
        if (tok.text == "true" || tok.text == "True") return literal(tok, Value(true));
        if (tok.text == "false" || tok.text == "False") return literal(tok, Value(false));
        if (tok.text == "none" || tok.text == "None") return literal(tok, Value::none());
        auto e = make(EK::kName, tok);
        e->name = tok.text;
        return e;
      }
      case Tok::kString: {
        std::string s;
        while (peek().type == Tok::kString) s += next().text;
        return literal(tok, Value(std::move(s)));
      }
      case Tok::kInt: {
        next();
        return literal(tok, Value(static_cast<int64_t>(std::strtoll(tok.text.c_str(), nullptr, 10))));
      }
      case Tok::kFloat: {
        next();
        return literal(tok, Value(std::strtod(tok.text.c_str(), nullptr)));
      }
      default: break;
    }
    if (is_op("(")) {
      next();
      if (is_op(")")) {
        next();
        return make(EK::kTuple, tok);
      }
      ExprPtr e = parse_tuple(true);
      expect_op(")");
      return e;
    }
    if (is_op("[") || is_op("{")) {
      const bool is_dict = is_op("{");
      next();
      auto e = make(is_dict ? EK::kDict : EK::kList, tok);
      const char* close = is_dict ? "}" : "]";
      while (!is_op(close)) {
        if (!e->args.empty()) {
          expect_op(",");
          if (is_op(close)) break;
        }
        e->args.push_back(parse_expression(true));
        if (is_dict) {
          expect_op(":");
          e->args.push_back(parse_expression(true));
        }
      }
      next();
      return e;
    }
    fail_at(tok, "unexpected token in expression");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    for (;;) {
      const Token& tok = peek();
      if (is_op(".")) {
        next();
        const Token& attr = next();
        if (attr.type == Tok::kName) {
          auto g = make(EK::kGetAttr, tok);
          g->name = attr.text;
          g->args.push_back(std::move(e));
          e = std::move(g);
        } else if (attr.type == Tok::kInt) {
          auto g = make(EK::kGetItem, tok);
          g->args.push_back(std::move(e));
          g->args.push_back(literal(attr, Value(static_cast<int64_t>(std::strtoll(attr.text.c_str(), nullptr, 10)))));
          e = std::move(g);
        } else {
          fail_at(attr, "expected an attribute name");
        }
      } else if (is_op("[")) {
        next();
        e = parse_subscript(tok, std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(const Token& tok, ExprPtr obj) {
    ExprPtr parts[3];
    int colons = 0;
    while (!is_op("]")) {
      if (is_op(":")) {
        next();
        if (++colons > 2) fail_at(peek(), "too many ':' in slice");
        continue;
      }
      if (parts[colons]) fail_at(peek(), "expected ']'");
      parts[colons] = parse_expression(true);
    }
    next();
    if (colons == 0) {
      if (!parts[0]) fail_at(tok, "empty subscript");
      auto g = make(EK::kGetItem, tok);
      g->args.push_back(std::move(obj));
      g->args.push_back(std::move(parts[0]));
      return g;
    }
    auto s = make(EK::kSlice, tok);
    s->args.push_back(std::move(obj));
    for (auto& p : parts) s->args.push_back(std::move(p));
    return s;
  }

  void parse_call_args(Expr& call) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) {
        expect_op(",");
        if (is_op(")")) break;
      }
      first = false;
      if (peek().type == Tok::kName && is_op("=", 1)) {
        std::string key = next().text;
        next();
        call.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!call.kwargs.empty()) fail_at(peek(), "positional argument after keyword argument");
        call.args.push_back(parse_expression(true));
      }
    }
    next();
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto c = make(EK::kCall, peek());
    c->args.push_back(std::move(callee));
    parse_call_args(*c);
    return c;
  }

  ExprPtr parse_filter_chain(ExprPtr input, bool leading_pipe = true) {
    bool first = true;
    while ((first && !leading_pipe) || is_op("|")) {
      if (!(first && !leading_pipe)) next();
      first = false;
      const Token& tok = peek();
      auto f = make(EK::kFilter, tok);
      f->name = expect_identifier();
      while (is_op(".")) {
        next();
        f->name.push_back('.');
        f->name += expect_identifier();
      }
      f->args.push_back(std::move(input));
      if (is_op("(")) parse_call_args(*f);
      input = std::move(f);
    }
    return input;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    for (;;) {
      if (is_op("|")) {
        e = parse_filter_chain(std::move(e));
      } else if (is_name("is")) {
        e = parse_test(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_test(ExprPtr subject) {
    const Token& tok = next();  // 'is'
    auto t = make(EK::kTest, tok);
    if (is_name("not")) {
      next();
      t->negated = true;
    }
    const Token& name = peek();
    if (name.type == Tok::kName) {
      t->name = next().text;
      while (is_op(".")) {
        next();
        t->name.push_back('.');
        t->name += expect_identifier();
      }
    } else if (name.type == Tok::kOp && (name.text == "==" || name.text == "!=" || name.text == "<" ||
                                         name.text == ">" || name.text == "<=" || name.text == ">=")) {
      t->name = next().text;
    } else {
      fail_at(name, "expected a test name");
    }
    t->args.push_back(std::move(subject));
    const Token& arg = peek();
    if (is_op("(")) {
      parse_call_args(*t);
    } else if ((arg.type == Tok::kName || arg.type == Tok::kString || arg.type == Tok::kInt ||
                arg.type == Tok::kFloat || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and") && !is_name("if") && !is_name("in") &&
               !is_name("is") && !is_name("not")) {
      t->args.push_back(parse_postfix(parse_primary()));
    }
    return t;
  }

  const std::vector<Token>& t_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(const std::vector<Token>& tokens) { return Parser(tokens).parse_template(); }

}  // namespace nlm::tok::jinja
