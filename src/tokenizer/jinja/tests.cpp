// Jinja's builtin tests (`x is defined`, `x is divisibleby 3`, …), with Jinja2 3.1 semantics.
#include <unordered_map>

#include "tokenizer/jinja/interp.h"
#include "tokenizer/jinja/text.h"

namespace nlm::tok::jinja {
namespace {

using TestFn = bool (*)(Interp&, const Value&, CallArgs&);

const Value& need_arg(Interp& in, const CallArgs& a, const char* test) {
  if (a.pos.empty()) fail(std::string("test '") + test + "' needs an argument", in.line(), in.col());
  return a.pos[0];
}

bool t_defined(Interp&, const Value& v, CallArgs&) { return !v.is_undefined(); }
bool t_undefined(Interp&, const Value& v, CallArgs&) { return v.is_undefined(); }
bool t_none(Interp&, const Value& v, CallArgs&) { return v.is_none(); }
bool t_string(Interp&, const Value& v, CallArgs&) { return v.is_string(); }
bool t_mapping(Interp&, const Value& v, CallArgs&) { return v.is_dict() && !v.is_namespace(); }
bool t_iterable(Interp&, const Value& v, CallArgs&) { return v.is_list() || v.is_string() || (v.is_dict() && !v.is_namespace()); }
bool t_number(Interp&, const Value& v, CallArgs&) { return v.is_number(); }
bool t_integer(Interp&, const Value& v, CallArgs&) { return v.kind() == Value::Kind::kInt; }
bool t_float(Interp&, const Value& v, CallArgs&) { return v.is_float(); }
bool t_boolean(Interp&, const Value& v, CallArgs&) { return v.is_bool(); }
bool t_true(Interp&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }
bool t_false(Interp&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool t_callable(Interp&, const Value& v, CallArgs&) { return v.is_callable(); }
bool t_eq(Interp& in, const Value& v, CallArgs& a) { return v.equals(need_arg(in, a, "eq")); }
bool t_ne(Interp& in, const Value& v, CallArgs& a) { return !v.equals(need_arg(in, a, "ne")); }
bool t_lt(Interp& in, const Value& v, CallArgs& a) { return compare_values(v, need_arg(in, a, "lt")) < 0; }
bool t_le(Interp& in, const Value& v, CallArgs& a) { return compare_values(v, need_arg(in, a, "le")) <= 0; }
bool t_gt(Interp& in, const Value& v, CallArgs& a) { return compare_values(v, need_arg(in, a, "gt")) > 0; }
bool t_ge(Interp& in, const Value& v, CallArgs& a) { return compare_values(v, need_arg(in, a, "ge")) >= 0; }
bool t_in(Interp& in, const Value& v, CallArgs& a) { return contains(need_arg(in, a, "in"), v); }
bool t_lower(Interp&, const Value& v, CallArgs&) { return v.is_string() && to_lower(v.str()) == v.str(); }
bool t_upper(Interp&, const Value& v, CallArgs&) { return v.is_string() && to_upper(v.str()) == v.str(); }
bool t_escaped(Interp&, const Value&, CallArgs&) { return false; }

bool t_sequence(Interp&, const Value& v, CallArgs&) { return v.is_list() || v.is_string() || (v.is_dict() && !v.is_namespace()); }

bool t_sameas(Interp& in, const Value& v, CallArgs& a) {
  const Value& o = need_arg(in, a, "sameas");
  if (v.kind() != o.kind()) return false;
  if (v.is_none() || v.is_bool()) return v.equals(o);
  if (v.is_list()) return &v.items() == &o.items();
  if (v.is_dict()) return &v.dict_ref() == &o.dict_ref();
  return v.equals(o) && (v.is_int() ? v.as_int() >= -5 && v.as_int() <= 256 : false);
}

int64_t need_int(Interp& in, const Value& v, const char* test) {
  if (v.is_undefined()) undefined_error(v);
  if (!v.is_int()) fail(std::string("test '") + test + "' expects an integer, got " + v.type_name(), in.line(), in.col());
  return v.as_int();
}
bool t_odd(Interp& in, const Value& v, CallArgs&) { return (need_int(in, v, "odd") % 2) != 0; }
bool t_even(Interp& in, const Value& v, CallArgs&) { return (need_int(in, v, "even") % 2) == 0; }
bool t_divisibleby(Interp& in, const Value& v, CallArgs& a) {
  const int64_t d = need_int(in, need_arg(in, a, "divisibleby"), "divisibleby");
  if (d == 0) fail("integer division or modulo by zero", in.line(), in.col());
  return need_int(in, v, "divisibleby") % d == 0;
}

const std::unordered_map<std::string, TestFn>& test_table() {
  static const std::unordered_map<std::string, TestFn> kTable = {
      {"defined", t_defined}, {"undefined", t_undefined}, {"none", t_none}, {"string", t_string},
      {"mapping", t_mapping}, {"iterable", t_iterable}, {"sequence", t_sequence}, {"number", t_number},
      {"integer", t_integer}, {"float", t_float}, {"boolean", t_boolean}, {"true", t_true},
      {"false", t_false}, {"callable", t_callable}, {"equalto", t_eq}, {"eq", t_eq}, {"==", t_eq},
      {"ne", t_ne}, {"!=", t_ne}, {"lt", t_lt}, {"lessthan", t_lt}, {"<", t_lt}, {"le", t_le},
      {"<=", t_le}, {"gt", t_gt}, {"greaterthan", t_gt}, {">", t_gt}, {"ge", t_ge}, {">=", t_ge},
      {"in", t_in}, {"odd", t_odd}, {"even", t_even}, {"divisibleby", t_divisibleby},
      {"sameas", t_sameas}, {"lower", t_lower}, {"upper", t_upper}, {"escaped", t_escaped},
  };
  return kTable;
}

}  // namespace

bool apply_test(Interp& in, const std::string& name, const Value& subject, CallArgs& args) {
  const auto& table = test_table();
  auto it = table.find(name);
  if (it == table.end()) fail("no test named '" + name + "'", in.line(), in.col());
  return it->second(in, subject, args);
}

}  // namespace nlm::tok::jinja
