#include "tokenizer/jinja/interp.h"

#include <algorithm>
#include <cmath>

namespace nlm::tok::jinja {
namespace {
using EK = Expr::Kind;
using SK = Stmt::Kind;

// The entry of a for loop's `loop` object that makes it callable (a dunder name: transformers' sandboxed
// Jinja2 refuses such attributes, so real templates never read it).
constexpr const char* kLoopCall = "__call__";

int64_t norm_index(int64_t i, size_t n) { return i < 0 ? i + static_cast<int64_t>(n) : i; }

// Python slice semantics over n elements: the selected indices.
std::vector<size_t> slice_indices(size_t n, const Value& start, const Value& stop, const Value& step) {
  const int64_t len = static_cast<int64_t>(n);
  const int64_t st = step.is_none() || step.is_undefined() ? 1 : step.as_int();
  if (st == 0) fail("slice step cannot be zero");
  auto clamp = [&](const Value& v, int64_t dflt) -> int64_t {
    if (v.is_none() || v.is_undefined()) return dflt;
    int64_t i = v.as_int();
    if (i < 0) i += len;
    if (st > 0) return std::clamp<int64_t>(i, 0, len);
    return std::clamp<int64_t>(i, -1, len - 1);
  };
  const int64_t b = clamp(start, st > 0 ? 0 : len - 1);
  const int64_t e = clamp(stop, st > 0 ? len : -1);
  std::vector<size_t> out;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) out.push_back(static_cast<size_t>(i));
  return out;
}

}  // namespace

Interp::Interp(const RenderLimits& limits, std::shared_ptr<Frame> globals) : limits_(limits) {
  frame_ = std::make_shared<Frame>();
  frame_->parent = std::move(globals);
}

void Interp::tick(uint64_t n) {
  steps_ += n;
  if (steps_ > limits_.max_steps) fail("template exceeded its evaluation budget (" + std::to_string(limits_.max_steps) + " steps)", line_, col_);
}

void Interp::check_size(size_t bytes) const {
  if (bytes > limits_.max_output_bytes) fail("template output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes", line_, col_);
}

void Interp::append(std::string& out, const std::string& text) {
  check_size(out.size() + text.size());
  out += text;
}

std::string Interp::render(const Body& body) {
  std::string out;
  exec(body, out);
  return out;
}

Interp::Flow Interp::exec(const Body& body, std::string& out) {
  for (const StmtPtr& s : body) {
    const Flow f = exec_stmt(*s, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interp::Flow Interp::exec_stmt(const Stmt& s, std::string& out) {
  tick();
  at(s);
  switch (s.kind) {
    case SK::kText: append(out, s.text); break;
    case SK::kOutput: {
      const Value v = eval(*s.expr);
      append(out, v.to_str());
      break;
    }
    case SK::kIf: return exec_if(s, out);
    case SK::kFor: return exec_for(s, out);
    case SK::kSet:
    case SK::kSetBlock: exec_set(s, out); break;
    case SK::kMacro: frame_->vars.set(s.name, make_macro(s, frame_)); break;
    case SK::kCallBlock: exec_call_block(s, out); break;
    case SK::kFilterBlock: {
      std::string inner;
      const Flow f = exec(s.body, inner);
      // Rebuild the chain with the block text as its innermost input.
      std::vector<const Expr*> chain;
      for (const Expr* e = s.expr.get(); e; e = e->args.empty() ? nullptr : e->args[0].get()) chain.push_back(e);
      Value v(std::move(inner));
      for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        CallArgs args = eval_args(**it, 1);
        v = filter((*it)->name, v, args);
      }
      append(out, v.to_str());
      return f;
    }
    case SK::kBreak: return Flow::kBreak;
    case SK::kContinue: return Flow::kContinue;
    case SK::kGeneration: return exec(s.body, out);
  }
  return Flow::kNormal;
}

Interp::Flow Interp::exec_if(const Stmt& s, std::string& out) {
  for (const auto& [cond, body] : s.branches) {
    if (!cond || eval(*cond).truthy()) return exec(body, out);
  }
  return Flow::kNormal;
}

Interp::Flow Interp::exec_for(const Stmt& s, std::string& out) { return run_loop(s, eval(*s.expr), frame_, 0, out); }

// What `loop(items)` calls: the body of the recursive loop `s` over items, one level deeper, in the scope
// the loop statement ran in (not the calling iteration's); rendered to a string.
Value Interp::recurse_loop(const Stmt& s, const std::weak_ptr<Frame>& scope, int depth0, CallArgs& args) {
  if (args.pos.size() != 1 || !args.kw.empty()) {
    fail("loop() takes exactly one argument (an iterable), " + std::to_string(args.pos.size() + args.kw.size()) + " given", line_, col_);
  }
  auto frame = scope.lock();
  if (!frame) fail("loop() called outside its for loop", line_, col_);
  if (++depth_ > limits_.max_call_depth) fail("maximum recursion depth exceeded in a recursive loop", line_, col_);
  struct Restore {
    int& depth;
    ~Restore() { --depth; }
  } restore{depth_};
  std::string inner;
  run_loop(s, args.pos[0], frame, depth0 + 1, inner);
  return Value(std::move(inner));
}

// The `loop` object of iteration i of `items` at recursion level depth0.
Value Interp::loop_object(const Stmt& s, const ValueList& items, size_t i, int depth0) {
  const size_t n = items.size();
  Dict loop;
  loop.items.reserve(13);
  const auto ii = static_cast<int64_t>(i), nn = static_cast<int64_t>(n);
  loop.items.emplace_back("index", Value(ii + 1));
  loop.items.emplace_back("index0", Value(ii));
  loop.items.emplace_back("revindex", Value(nn - ii));
  loop.items.emplace_back("revindex0", Value(nn - ii - 1));
  loop.items.emplace_back("first", Value(i == 0));
  loop.items.emplace_back("last", Value(i + 1 == n));
  loop.items.emplace_back("length", Value(nn));
  loop.items.emplace_back("depth", Value(depth0 + 1));
  loop.items.emplace_back("depth0", Value(depth0));
  if (i > 0) loop.items.emplace_back("previtem", items[i - 1]);
  if (i + 1 < n) loop.items.emplace_back("nextitem", items[i + 1]);
  loop.items.emplace_back("cycle", Value::function("loop.cycle", [i](Interp&, CallArgs& a) {
                            if (a.pos.empty()) fail("no items for cycling given");
                            return a.pos[i % a.pos.size()];
                          }));
  // Calling the loop object (Interp::call looks this entry up).
  const Stmt* stmt = &s;
  std::weak_ptr<Frame> scope = frame_->parent;
  loop.items.emplace_back(kLoopCall, Value::function("loop", [stmt, scope, depth0](Interp& in, CallArgs& a) {
                            if (!stmt->recursive) fail("The loop must have the 'recursive' marker to be called recursively.", in.line(), in.col());
                            return in.recurse_loop(*stmt, scope, depth0, a);
                          }));
  return Value::dict(std::move(loop), true);
}

// One pass of the for loop `s` over `seq` in a new frame under `scope`; depth0 > 0 inside loop(…).
Interp::Flow Interp::run_loop(const Stmt& s, const Value& seq, std::shared_ptr<Frame> scope, int depth0,
                              std::string& out) {
  if (seq.is_none() || seq.is_number() || seq.is_callable()) fail(std::string("'").append(seq.type_name()) + "' object is not iterable", s.line, s.col);
  ValueList all = iterate(seq);
  auto outer = frame_;
  frame_ = std::make_shared<Frame>();
  frame_->parent = std::move(scope);  // by value: the caller's `scope` may be frame_ itself
  struct Restore {
    Interp* self;
    std::shared_ptr<Frame> saved;
    ~Restore() { self->frame_ = saved; }
  } restore{this, outer};
  ValueList items;
  if (s.cond) {
    for (Value& v : all) {
      tick();
      assign(*s.target, v);
      if (eval(*s.cond).truthy()) items.push_back(std::move(v));
    }
  } else {
    items = std::move(all);
  }
  const size_t n = items.size();
  for (size_t i = 0; i < n; ++i) {
    tick();
    frame_->vars = Dict();
    assign(*s.target, items[i]);
    frame_->vars.set("loop", loop_object(s, items, i, depth0));
    const Flow f = exec(s.body, out);
    if (f == Flow::kBreak) break;
  }
  if (n == 0) {
    frame_->vars = Dict();
    return exec(s.else_body, out);
  }
  return Flow::kNormal;
}

void Interp::exec_set(const Stmt& s, std::string& out) {
  Value v;
  if (s.kind == SK::kSet) {
    v = eval(*s.expr);
  } else {
    std::string inner;
    exec(s.body, inner);
    v = Value(std::move(inner));
    if (s.expr) {
      std::vector<const Expr*> chain;
      for (const Expr* e = s.expr.get(); e; e = e->args.empty() ? nullptr : e->args[0].get()) chain.push_back(e);
      for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        CallArgs args = eval_args(**it, 1);
        v = filter((*it)->name, v, args);
      }
    }
  }
  assign(*s.target, v);
}

void Interp::assign(const Expr& target, const Value& v) {
  if (target.kind == EK::kName) {
    frame_->vars.set(target.name, v);
  } else if (target.kind == EK::kGetAttr) {
    const Value obj = eval(*target.args[0]);
    if (!obj.is_namespace()) fail("cannot assign attribute on non-namespace object", target.line, target.col);
    obj.dict_ref().set(target.name, v);
  } else if (target.kind == EK::kTuple) {
    ValueList items = iterate(v);
    if (items.size() != target.args.size()) {
      fail(items.size() > target.args.size() ? "too many values to unpack (expected " + std::to_string(target.args.size()) + ")"
                                             : "not enough values to unpack (expected " + std::to_string(target.args.size()) + ", got " + std::to_string(items.size()) + ")",
           target.line, target.col);
    }
    for (size_t i = 0; i < items.size(); ++i) assign(*target.args[i], items[i]);
  } else {
    fail("cannot assign to this expression", target.line, target.col);
  }
}

Value Interp::lookup(const std::string& name) const {
  for (const Frame* f = frame_.get(); f; f = f->parent.get()) {
    if (const Value* v = f->vars.find(name)) return *v;
  }
  return Value::undefined("'" + name + "' is undefined");
}

Value Interp::make_macro(const Stmt& s, std::shared_ptr<Frame> defining) {
  // The macro lives in the frame it closes over: a weak reference keeps that from being a cycle.
  const Stmt* stmt = &s;
  std::weak_ptr<Frame> scope = defining;
  return Value::function(s.name, [stmt, scope](Interp& in, CallArgs& args) {
    auto frame = scope.lock();
    if (!frame) fail("macro '" + stmt->name + "' called outside the scope that defined it", in.line(), in.col());
    const Value* caller = args.kwarg("caller");
    return in.call_macro(*stmt, frame, args, caller ? *caller : Value());
  });
}

Value Interp::call_macro(const Stmt& s, const std::shared_ptr<Frame>& defining, CallArgs& args, const Value& caller) {
  if (++depth_ > limits_.max_call_depth) fail("maximum macro recursion depth exceeded", line_, col_);
  auto saved = frame_;
  frame_ = std::make_shared<Frame>();
  frame_->parent = defining;
  struct Restore {
    Interp* self;
    std::shared_ptr<Frame> saved;
    ~Restore() { self->frame_ = saved; --self->depth_; }
  } restore{this, saved};
  if (args.pos.size() > s.params.size()) fail("macro '" + s.name + "' takes not more than " + std::to_string(s.params.size()) + " argument(s)", line_, col_);
  ValueList varargs;
  for (size_t i = 0; i < s.params.size(); ++i) {
    const Value* kw = args.kwarg(s.params[i]);
    if (i < args.pos.size()) {
      frame_->vars.set(s.params[i], args.pos[i]);
    } else if (kw) {
      frame_->vars.set(s.params[i], *kw);
    } else if (s.defaults[i]) {
      frame_->vars.set(s.params[i], eval(*s.defaults[i]));
    } else {
      frame_->vars.set(s.params[i], Value::undefined("'" + s.params[i] + "' is undefined"));
    }
  }
  Dict kwargs;
  for (const auto& [k, v] : args.kw) {
    if (k == "caller") continue;
    if (std::find(s.params.begin(), s.params.end(), k) == s.params.end()) kwargs.set(k, v);
  }
  if (!kwargs.items.empty()) fail("macro '" + s.name + "' takes no keyword argument '" + kwargs.items[0].first + "'", line_, col_);
  frame_->vars.set("varargs", Value::list(std::move(varargs)));
  frame_->vars.set("kwargs", Value::dict());
  if (!caller.is_undefined()) frame_->vars.set("caller", caller);
  std::string out;
  exec(s.body, out);
  return Value(std::move(out));
}

void Interp::exec_call_block(const Stmt& s, std::string& out) {
  // caller() renders the block body with its own parameters, in the scope of the {% call %}.
  const Stmt* stmt = &s;
  std::weak_ptr<Frame> scope = frame_;
  Value caller = Value::function("caller", [stmt, scope](Interp& in, CallArgs& args) {
    auto frame = scope.lock();
    if (!frame) fail("caller() used outside its {% call %} block", in.line(), in.col());
    return in.call_macro(*stmt, frame, args, Value());
  });
  const Expr& call_expr = *s.expr;
  Value fn = eval(*call_expr.args[0]);
  CallArgs args = eval_args(call_expr, 1);
  args.kw.emplace_back("caller", caller);
  append(out, call(fn, args, "macro").to_str());
}

CallArgs Interp::eval_args(const Expr& e, size_t first) {
  CallArgs args;
  for (size_t i = first; i < e.args.size(); ++i) args.pos.push_back(eval(*e.args[i]));
  for (const auto& [k, v] : e.kwargs) args.kw.emplace_back(k, eval(*v));
  return args;
}

Value Interp::call(const Value& fn, CallArgs& args, const std::string& what) {
  if (fn.is_undefined()) undefined_error(fn);
  if (fn.is_namespace()) {  // a for loop's `loop`
    if (const Value* f = fn.dict_ref().find(kLoopCall); f && f->is_callable()) return call(*f, args, what);
  }
  if (!fn.is_callable()) fail(std::string("'").append(fn.type_name()) + "' object is not callable", line_, col_);
  tick();
  return fn.callable().fn(*this, args);
}

Value Interp::filter(const std::string& name, const Value& input, CallArgs& args) {
  tick();
  return apply_filter(*this, name, input, args);
}

bool Interp::test(const std::string& name, const Value& subject, CallArgs& args) {
  tick();
  return apply_test(*this, name, subject, args);
}

Value Interp::getattr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.is_dict()) {
    Value m;
    if (!obj.is_namespace() && get_method(*this, obj, name, &m)) return m;
    if (const Value* v = obj.dict_ref().find(name)) return *v;
    return Value::undefined(std::string("'").append(obj.type_name()) + " object' has no attribute '" + name + "'");
  }
  Value m;
  if (get_method(*this, obj, name, &m)) return m;
  return Value::undefined(std::string("'").append(obj.type_name()) + " object' has no attribute '" + name + "'");
}

Value Interp::getitem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.is_dict()) {
    if (key.is_string()) {
      if (const Value* v = obj.dict_ref().find(key.str())) return *v;
      return getattr(obj, key.str());
    }
    if (const Value* v = obj.dict_ref().find(key.to_str()); v && key.is_number()) return *v;
    return Value::undefined("'dict object' has no attribute " + key.repr());
  }
  if (obj.is_iterator()) return Value::undefined("'generator' object is not subscriptable");
  if ((obj.is_list() || obj.is_string()) && key.is_int()) {
    if (obj.is_list()) {
      const int64_t i = norm_index(key.as_int(), obj.items().size());
      if (i >= 0 && i < static_cast<int64_t>(obj.items().size())) return obj.items()[static_cast<size_t>(i)];
    } else {
      const std::u32string s = to_u32(obj.str());
      const int64_t i = norm_index(key.as_int(), s.size());
      if (i >= 0 && i < static_cast<int64_t>(s.size())) return Value(from_u32(s.substr(static_cast<size_t>(i), 1)));
    }
    return Value::undefined(obj.type_name() + " object has no element " + key.to_str());
  }
  if (key.is_string()) return getattr(obj, key.str());
  return Value::undefined(std::string("'").append(obj.type_name()) + " object' has no attribute " + key.repr());
}

Value Interp::eval_slice(const Expr& e) {
  const Value obj = eval(*e.args[0]);
  Value parts[3];
  for (int i = 0; i < 3; ++i) parts[i] = e.args[1 + i] ? eval(*e.args[1 + i]) : Value::none();
  at(e);
  for (const Value& p : parts) {
    if (!p.is_none() && !p.is_int()) fail("slice indices must be integers or None", e.line, e.col);
  }
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.is_string()) {
    const std::u32string s = to_u32(obj.str());
    std::u32string out;
    for (size_t i : slice_indices(s.size(), parts[0], parts[1], parts[2])) out.push_back(s[i]);
    return Value(from_u32(out));
  }
  if (obj.is_list() && !obj.is_iterator()) {
    ValueList out;
    for (size_t i : slice_indices(obj.items().size(), parts[0], parts[1], parts[2])) out.push_back(obj.items()[i]);
    return Value::list(std::move(out), obj.is_tuple());
  }
  std::string msg = obj.type_name();
  msg.insert(0, 1, '\'');
  msg += "' object is not subscriptable";
  return Value::undefined(std::move(msg));
}

Value Interp::eval_call(const Expr& e) {
  const Expr& callee = *e.args[0];
  Value fn = eval(callee);
  CallArgs args = eval_args(e, 1);
  at(e);
  std::string what = callee.kind == EK::kName ? callee.name : callee.kind == EK::kGetAttr ? callee.name : "object";
  if (fn.is_undefined() && callee.kind == EK::kName) fail("'" + callee.name + "' is undefined", e.line, e.col);
  return call(fn, args, what);
}

Value Interp::eval_compare(const Expr& e) {
  Value left = eval(*e.args[0]);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.args[i + 1]);
    at(e);
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") r = left.equals(right);
    else if (op == "!=") r = !left.equals(right);
    else if (op == "in") r = contains(right, left);
    else if (op == "not in") r = !contains(right, left);
    else {
      const int c = compare_values(left, right);
      r = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
    }
    if (!r) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Value Interp::eval_binary(const Expr& e) {
  const std::string& op = e.name;
  if (op == "and") {
    Value a = eval(*e.args[0]);
    return a.truthy() ? eval(*e.args[1]) : a;
  }
  if (op == "or") {
    Value a = eval(*e.args[0]);
    return a.truthy() ? a : eval(*e.args[1]);
  }
  Value a = eval(*e.args[0]);
  Value b = eval(*e.args[1]);
  at(e);
  return binary_op(*this, op, a, b);
}

Value Interp::eval(const Expr& e) {
  switch (e.kind) {
    case EK::kLiteral: return e.value;
    case EK::kName: return lookup(e.name);
    case EK::kList:
    case EK::kTuple: {
      ValueList items;
      for (const auto& a : e.args) items.push_back(eval(*a));
      return Value::list(std::move(items), e.kind == EK::kTuple);
    }
    case EK::kDict: {
      Dict d;
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value k = eval(*e.args[i]);
        d.set(k.to_str(), eval(*e.args[i + 1]));
      }
      return Value::dict(std::move(d));
    }
    case EK::kGetAttr: {
      Value obj = eval(*e.args[0]);
      at(e);
      return getattr(obj, e.name);
    }
    case EK::kGetItem: {
      Value obj = eval(*e.args[0]);
      Value key = eval(*e.args[1]);
      at(e);
      return getitem(obj, key);
    }
    case EK::kSlice: return eval_slice(e);
    case EK::kCall: return eval_call(e);
    case EK::kFilter: {
      Value input = eval(*e.args[0]);
      CallArgs args = eval_args(e, 1);
      at(e);
      return filter(e.name, input, args);
    }
    case EK::kTest: {
      Value subject;
      // `x is defined` must not fail on an undefined x's own lookup; names resolve to Undefined.
      subject = eval(*e.args[0]);
      CallArgs args = eval_args(e, 1);
      at(e);
      const bool r = test(e.name, subject, args);
      return Value(e.negated ? !r : r);
    }
    case EK::kUnary: {
      Value v = eval(*e.args[0]);
      at(e);
      if (e.name == "not") return Value(!v.truthy());
      if (v.is_undefined()) undefined_error(v);
      if (!v.is_number()) fail("bad operand type for unary " + e.name + ": '" + v.type_name() + "'", e.line, e.col);
      if (e.name == "+") return v.is_float() ? v : Value(v.as_int());
      return v.is_float() ? Value(-v.as_float()) : Value(-v.as_int());
    }
    case EK::kBinary: return eval_binary(e);
    case EK::kCompare: return eval_compare(e);
    case EK::kCondExpr: {
      if (eval(*e.args[0]).truthy()) return eval(*e.args[1]);
      if (e.args[2]) return eval(*e.args[2]);
      return Value::undefined("the inline if-expression on line " + std::to_string(e.line) + " evaluated to false and no else section was defined.");
    }
  }
  return Value();
}

}  // namespace nlm::tok::jinja
