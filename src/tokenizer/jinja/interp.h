#pragma once
// The tree-walking evaluator. One Interp renders one template once; it is not shared between threads.
// Work is bounded (RenderLimits): output bytes, evaluation steps, call depth, sequence sizes.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/value.h"

namespace nlm::tok::jinja {

struct RenderLimits {
  size_t max_output_bytes = 64u << 20;   // rendered text and any single string built on the way
  uint64_t max_steps = 2'000'000;        // statements + loop iterations + calls + filter elements
  int max_call_depth = 200;              // nested macro calls
  size_t max_sequence = 4'000'000;       // elements of a list built by range(), *, batch…
};

struct Frame {
  std::shared_ptr<Frame> parent;
  Dict vars;
};

class Interp {
 public:
  Interp(const RenderLimits& limits, std::shared_ptr<Frame> globals);

  std::string render(const Body& body);

  Value eval(const Expr& e);
  // Calls anything callable; `what` names it in errors.
  Value call(const Value& fn, CallArgs& args, const std::string& what);
  Value filter(const std::string& name, const Value& input, CallArgs& args);
  bool test(const std::string& name, const Value& subject, CallArgs& args);
  Value getattr(const Value& obj, const std::string& name);
  Value getitem(const Value& obj, const Value& key);

  // Budget accounting; throws once exceeded.
  void tick(uint64_t n = 1);
  void check_size(size_t bytes) const;
  const RenderLimits& limits() const { return limits_; }

  // The source position being evaluated (for errors raised by builtins).
  int line() const { return line_; }
  int col() const { return col_; }

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  Flow exec(const Body& body, std::string& out);
  Flow exec_stmt(const Stmt& s, std::string& out);
  Flow exec_if(const Stmt& s, std::string& out);
  Flow exec_for(const Stmt& s, std::string& out);
  Flow run_loop(const Stmt& s, const Value& seq, std::shared_ptr<Frame> scope, int depth0, std::string& out);
  Value loop_object(const Stmt& s, const ValueList& items, size_t i, int depth0);
  Value recurse_loop(const Stmt& s, const std::weak_ptr<Frame>& scope, int depth0, CallArgs& args);
  void exec_set(const Stmt& s, std::string& out);
  void exec_call_block(const Stmt& s, std::string& out);
  Value make_macro(const Stmt& s, std::shared_ptr<Frame> defining);
  Value call_macro(const Stmt& s, const std::shared_ptr<Frame>& defining, CallArgs& args, const Value& caller);
  void assign(const Expr& target, const Value& v);
  Value lookup(const std::string& name) const;
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Value eval_call(const Expr& e);
  Value eval_slice(const Expr& e);
  CallArgs eval_args(const Expr& e, size_t first);
  void append(std::string& out, const std::string& text);
  void at(const Expr& e) { line_ = e.line; col_ = e.col; }
  void at(const Stmt& s) { line_ = s.line; col_ = s.col; }

  RenderLimits limits_;
  std::shared_ptr<Frame> frame_;
  uint64_t steps_ = 0;
  int depth_ = 0;
  int line_ = 0;
  int col_ = 0;
};

// Operators and Python semantics shared by the evaluator and the builtins (operators.cpp).
Value binary_op(Interp& in, const std::string& op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);
// Python ordering: -1, 0, 1; throws for unorderable types. `fold_case`: strings compared lower-cased.
int compare_values(const Value& a, const Value& b, bool fold_case = false);
// Iterating a value as a Python for loop does (dict → keys, string → characters, Undefined → nothing).
ValueList iterate(const Value& v);
[[noreturn]] void undefined_error(const Value& u);
std::string html_escape(const std::string& s);  // markupsafe.escape

// Builtins (builtins.cpp, filters.cpp, methods.cpp).
Value apply_filter(Interp& in, const std::string& name, const Value& input, CallArgs& args);
bool apply_test(Interp& in, const std::string& name, const Value& subject, CallArgs& args);
// Whether a str/dict/list value has a Python attribute `name` (a method); *out receives it bound, or an
// Undefined that fails when called for the mutating methods the immutable sandbox forbids.
bool get_method(Interp& in, const Value& obj, const std::string& name, Value* out);
// Python json.dumps(v, ensure_ascii=False, indent=indent, separators=…, sort_keys=…) (indent < 0:
// none). Empty separators take json.dumps' defaults (", " or "," with an indent, and ": ").
struct JsonStyle {
  int indent = -1;
  std::optional<std::string> item_sep;
  std::optional<std::string> key_sep;
  bool sort_keys = false;
  bool ensure_ascii = false;
};
std::string to_json(const Value& v, const JsonStyle& style = {});
// raise_exception, range, namespace, dict, strftime_now as a global frame. strftime_now formats
// `now_unix` (seconds since the epoch, local time) or, when negative, the current time.
std::shared_ptr<Frame> make_globals(int64_t now_unix);

}  // namespace nlm::tok::jinja
