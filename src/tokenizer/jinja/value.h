#pragma once
// Runtime values of the Jinja interpreter, modelled on the Python objects Jinja2 sees when
// transformers renders a chat template: None, bool, int, float, str, list/tuple, dict (insertion
// ordered), callables (globals, methods, macros), namespace objects and Undefined.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace nlm::tok::jinja {

class Value;
using ValueList = std::vector<Value>;

// Insertion-ordered string-keyed map (Python dicts keep insertion order; chat data keys are strings).
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(const std::string& key, Value v);
};

// Arguments of a call: positional values and keyword arguments in the order written.
struct CallArgs {
  ValueList pos;
  std::vector<std::pair<std::string, Value>> kw;
  const Value* kwarg(std::string_view name) const;
};

class Interp;
using NativeFn = std::function<Value(Interp&, CallArgs&)>;

struct Callable {
  std::string name;
  NativeFn fn;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

  Value() = default;  // Undefined
  static Value none() { Value v; v.kind_ = Kind::kNone; return v; }
  static Value undefined(std::string name = {}) { Value v; v.s_ = std::make_shared<std::string>(std::move(name)); return v; }
  explicit Value(bool b) : kind_(Kind::kBool), i_(b ? 1 : 0) {}
  explicit Value(int64_t i) : kind_(Kind::kInt), i_(i) {}
  explicit Value(int i) : kind_(Kind::kInt), i_(i) {}
  explicit Value(double f) : kind_(Kind::kFloat), f_(f) {}
  explicit Value(std::string s) : kind_(Kind::kString), s_(std::make_shared<std::string>(std::move(s))) {}
  explicit Value(const char* s) : Value(std::string(s)) {}
  static Value list(ValueList items = {}, bool tuple = false);
  // What Jinja's lazy filters (map, select, unique, batch, …) return: iterable once materialized here,
  // but like a Python generator it has no len(), no indexing, is always true and is not JSON.
  static Value iterator(ValueList items);
  // A markupsafe.Markup string (from |safe or |escape): `+` with a plain string HTML-escapes the other side.
  static Value markup(std::string s);
  static Value dict(Dict d = {}, bool is_namespace = false);
  static Value function(std::string name, NativeFn fn);
  static Value from_json(const nlohmann::json& j);
  static Value from_json(const nlohmann::ordered_json& j);  // keeps the object key order

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt || kind_ == Kind::kBool; }  // Python: bool is an int
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_callable() const { return kind_ == Kind::kCallable; }
  bool is_tuple() const { return kind_ == Kind::kList && tuple_; }
  bool is_namespace() const { return kind_ == Kind::kDict && tuple_; }
  bool is_iterator() const { return kind_ == Kind::kList && iter_; }
  bool is_markup() const { return kind_ == Kind::kString && tuple_; }

  bool as_bool() const { return i_ != 0; }
  int64_t as_int() const { return kind_ == Kind::kFloat ? static_cast<int64_t>(f_) : i_; }
  double as_float() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(i_); }
  const std::string& str() const { return *s_; }
  const std::string& undefined_name() const;
  ValueList& items() const { return *list_; }
  Dict& dict_ref() const { return *dict_; }
  const Callable& callable() const { return *fn_; }

  bool truthy() const;
  // Python str(): what {{ value }} prints. Undefined prints nothing.
  std::string to_str() const;
  // Python repr(): strings quoted, as inside a printed list or dict.
  std::string repr() const;
  std::string type_name() const;  // Python's type name, for error messages
  // Python ==, with 1 == 1.0 == True.
  bool equals(const Value& other) const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool tuple_ = false;  // list: a tuple; dict: a namespace(); string: Markup
  bool iter_ = false;   // list: a lazy iterator (generator)
  int64_t i_ = 0;
  double f_ = 0;
  std::shared_ptr<std::string> s_;  // string, or the Undefined's name
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Callable> fn_;
};

// Python repr(float): shortest round-trip digits, "1.0", "1e-05", "inf", "nan".
std::string float_repr(double f);
// Python repr(str).
std::string string_repr(std::string_view s);

// UTF-8 code point helpers: Python indexes strings by code point.
std::u32string to_u32(std::string_view s);
std::string from_u32(std::u32string_view s);
size_t utf8_length(std::string_view s);

}  // namespace nlm::tok::jinja
