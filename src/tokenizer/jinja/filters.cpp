// Jinja's builtin filters, with Jinja2 3.1 semantics.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "tokenizer/jinja/interp.h"
#include "tokenizer/jinja/text.h"

namespace nlm::tok::jinja {
namespace {

using FilterFn = Value (*)(Interp&, const Value&, CallArgs&);

// Argument `i` by position or by keyword, else `dflt`.
Value arg(const CallArgs& a, size_t i, const char* name, Value dflt = Value()) {
  if (i < a.pos.size()) return a.pos[i];
  if (const Value* v = a.kwarg(name)) return *v;
  return dflt;
}

Value attr_path(Interp& in, const Value& obj, const Value& attribute) {
  if (attribute.is_int()) return in.getitem(obj, attribute);
  Value cur = obj;
  const std::string& path = attribute.str();
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = digits ? in.getitem(cur, Value(static_cast<int64_t>(std::atoll(part.c_str())))) : in.getitem(cur, Value(part));
    if (dot == std::string::npos || cur.is_undefined()) return cur;
    start = dot + 1;
  }
}

Value f_length(Interp&, const Value& v, CallArgs&) {
  if (v.is_string()) return Value(static_cast<int64_t>(utf8_length(v.str())));
  if (v.is_iterator()) fail("object of type 'generator' has no len()");
  if (v.is_list()) return Value(static_cast<int64_t>(v.items().size()));
  if (v.is_dict()) return Value(static_cast<int64_t>(v.dict_ref().items.size()));
  if (v.is_undefined()) return Value(0);
  fail("object of type '" + v.type_name() + "' has no len()");
}

Value f_first(Interp&, const Value& v, CallArgs&) {
  ValueList items = iterate(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value f_last(Interp&, const Value& v, CallArgs&) {
  ValueList items = iterate(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value f_join(Interp& in, const Value& v, CallArgs& a) {
  const std::string sep = arg(a, 0, "d", Value("")).to_str();
  const Value attribute = arg(a, 1, "attribute");
  std::string out;
  bool first = true;
  for (const Value& item : iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += (attribute.is_undefined() || attribute.is_none() ? item : attr_path(in, item, attribute)).to_str();
    in.check_size(out.size());
  }
  return Value(std::move(out));
}

Value f_default(Interp&, const Value& v, CallArgs& a) {
  const bool boolean = arg(a, 1, "boolean", Value(false)).truthy();
  if (v.is_undefined() || (boolean && !v.truthy())) return arg(a, 0, "default_value", Value(""));
  return v;
}

Value f_tojson(Interp& in, const Value& v, CallArgs& a) {
  // transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
  JsonStyle st;
  st.ensure_ascii = arg(a, 0, "ensure_ascii", Value(false)).truthy();
  const Value indent = arg(a, 1, "indent", Value::none());
  if (indent.is_int()) st.indent = static_cast<int>(indent.as_int());
  const Value seps = arg(a, 2, "separators", Value::none());
  if (seps.is_list() && seps.items().size() == 2) {
    st.item_sep = seps.items()[0].to_str();
    st.key_sep = seps.items()[1].to_str();
  }
  st.sort_keys = arg(a, 3, "sort_keys", Value(false)).truthy();
  std::string s = to_json(v, st);
  in.check_size(s.size());
  return Value(std::move(s));
}

Value f_string(Interp&, const Value& v, CallArgs&) { return v.is_string() ? v : Value(v.to_str()); }

Value f_int(Interp&, const Value& v, CallArgs& a) {
  const Value dflt = arg(a, 0, "default", Value(0));
  if (v.is_int()) return Value(v.as_int());
  if (v.is_float()) return Value(static_cast<int64_t>(v.as_float()));
  if (v.is_string()) {
    const std::string s = strip(v.str(), " \t\n\r\f\v");
    const int64_t base = arg(a, 1, "base", Value(10)).as_int();
    char* end = nullptr;
    const long long i = std::strtoll(s.c_str(), &end, static_cast<int>(base));
    if (!s.empty() && end && *end == '\0') return Value(static_cast<int64_t>(i));
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0' && std::isfinite(d)) return Value(static_cast<int64_t>(d));
  }
  return dflt;
}

Value f_float(Interp&, const Value& v, CallArgs& a) {
  const Value dflt = arg(a, 0, "default", Value(0.0));
  if (v.is_number()) return Value(v.as_float());
  if (v.is_string()) {
    const std::string s = strip(v.str(), " \t\n\r\f\v");
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') return Value(d);
  }
  return dflt;
}

Value f_list(Interp&, const Value& v, CallArgs&) { return Value::list(iterate(v)); }

Value f_items(Interp&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::list();
  if (!v.is_dict()) fail("can only get item pairs from a mapping");
  ValueList out;
  for (const auto& [k, val] : v.dict_ref().items) out.push_back(Value::list({Value(k), val}, true));
  return Value::iterator(std::move(out));
}

Value f_dictsort(Interp&, const Value& v, CallArgs& a) {
  if (!v.is_dict()) fail("dictsort expects a mapping");
  const bool case_sensitive = arg(a, 0, "case_sensitive", Value(false)).truthy();
  const std::string by = arg(a, 1, "by", Value("key")).to_str();
  const bool reverse = arg(a, 2, "reverse", Value(false)).truthy();
  ValueList out;
  for (const auto& [k, val] : v.dict_ref().items) out.push_back(Value::list({Value(k), val}, true));
  const size_t idx = by == "value" ? 1 : 0;
  std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
    const int c = compare_values(x.items()[idx], y.items()[idx], !case_sensitive);
    return reverse ? c > 0 : c < 0;
  });
  return Value::list(std::move(out));
}

// select / reject / selectattr / rejectattr share this.
Value select_impl(Interp& in, const Value& v, CallArgs& a, bool by_attr, bool keep) {
  const size_t first = by_attr ? 1 : 0;
  Value attribute = by_attr ? arg(a, 0, "attribute") : Value();
  std::string test_name;
  CallArgs test_args;
  if (a.pos.size() > first) {
    test_name = a.pos[first].to_str();
    test_args.pos.assign(a.pos.begin() + static_cast<long>(first) + 1, a.pos.end());
  }
  ValueList out;
  if (!v.truthy()) return Value::iterator({});  // Jinja: `if value:` before iterating
  for (const Value& item : iterate(v)) {
    in.tick();
    const Value subject = by_attr ? attr_path(in, item, attribute) : item;
    CallArgs targs = test_args;
    const bool r = test_name.empty() ? subject.truthy() : in.test(test_name, subject, targs);
    if (r == keep) out.push_back(item);
  }
  return Value::iterator(std::move(out));
}
Value f_select(Interp& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, false, true); }
Value f_reject(Interp& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, false, false); }
Value f_selectattr(Interp& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, true, true); }
Value f_rejectattr(Interp& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, true, false); }

Value f_map(Interp& in, const Value& v, CallArgs& a) {
  ValueList out;
  if (!v.truthy()) return Value::iterator({});
  if (const Value* attribute = a.kwarg("attribute")) {
    const Value* dflt = a.kwarg("default");
    for (const Value& item : iterate(v)) {
      in.tick();
      Value r = attr_path(in, item, *attribute);
      out.push_back(r.is_undefined() && dflt ? *dflt : r);
    }
    return Value::iterator(std::move(out));
  }
  if (a.pos.empty()) return Value::iterator(iterate(v));
  const std::string name = a.pos[0].to_str();
  CallArgs rest;
  rest.pos.assign(a.pos.begin() + 1, a.pos.end());
  rest.kw = a.kw;
  for (const Value& item : iterate(v)) {
    CallArgs args = rest;
    out.push_back(in.filter(name, item, args));
  }
  return Value::iterator(std::move(out));
}

Value f_unique(Interp& in, const Value& v, CallArgs& a) {
  const bool case_sensitive = arg(a, 0, "case_sensitive", Value(false)).truthy();
  const Value attribute = arg(a, 1, "attribute", Value::none());
  ValueList out, keys;
  for (const Value& item : iterate(v)) {
    Value key = attribute.is_none() ? item : attr_path(in, item, attribute);
    if (!case_sensitive && key.is_string()) key = Value(to_lower(key.str()));
    bool seen = false;
    for (const Value& k : keys) seen = seen || k.equals(key);
    in.tick(keys.size() + 1);
    if (!seen) {
      keys.push_back(key);
      out.push_back(item);
    }
  }
  return Value::iterator(std::move(out));
}

Value f_reverse(Interp&, const Value& v, CallArgs&) {
  if (v.is_string()) {
    std::u32string s = to_u32(v.str());
    std::reverse(s.begin(), s.end());
    return Value(from_u32(s));
  }
  ValueList items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::iterator(std::move(items));
}

Value f_sort(Interp& in, const Value& v, CallArgs& a) {
  const bool reverse = arg(a, 0, "reverse", Value(false)).truthy();
  const bool case_sensitive = arg(a, 1, "case_sensitive", Value(false)).truthy();
  const Value attribute = arg(a, 2, "attribute", Value::none());
  ValueList items = iterate(v);
  ValueList keys;
  for (const Value& item : items) keys.push_back(attribute.is_none() ? item : attr_path(in, item, attribute));
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  in.tick(items.size());
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const int c = compare_values(keys[x], keys[y], !case_sensitive);
    return reverse ? c > 0 : c < 0;
  });
  ValueList out;
  for (size_t i : order) out.push_back(items[i]);
  return Value::list(std::move(out));
}

Value f_round(Interp&, const Value& v, CallArgs& a) {
  const int64_t precision = arg(a, 0, "precision", Value(0)).as_int();
  const std::string method = arg(a, 1, "method", Value("common")).to_str();
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_float() * scale;
  double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::round(x);
  return Value(r / scale);
}

Value f_abs(Interp&, const Value& v, CallArgs&) {
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  if (v.is_int()) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  fail("bad operand type for abs(): '" + v.type_name() + "'");
}

Value f_indent(Interp& in, const Value& v, CallArgs& a) {
  const Value width = arg(a, 0, "width", Value(4));
  const bool first = arg(a, 1, "first", Value(false)).truthy();
  const bool blank = arg(a, 2, "blank", Value(false)).truthy();
  const std::string pad = width.is_string() ? width.str() : std::string(static_cast<size_t>(std::max<int64_t>(0, width.as_int())), ' ');
  std::string s = v.to_str();
  std::string out;
  size_t start = 0;
  bool first_line = true;
  for (;;) {
    const size_t nl = s.find('\n', start);
    const std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    const bool indent = first_line ? first : (blank || !strip(line, " \t\r\f\v").empty());
    if (indent) out += pad;
    out += line;
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
    first_line = false;
  }
  in.check_size(out.size());
  return Value(std::move(out));
}

Value f_escape(Interp&, const Value& v, CallArgs&) { return v.is_markup() ? v : Value::markup(html_escape(v.to_str())); }
Value f_forceescape(Interp&, const Value& v, CallArgs&) { return Value::markup(html_escape(v.to_str())); }

Value f_wordcount(Interp&, const Value& v, CallArgs&) {
  int64_t n = 0;
  bool in_word = false;
  for (char c : v.to_str()) {
    const bool w = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (static_cast<unsigned char>(c) & 0x80);
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value(n);
}

Value f_batch(Interp& in, const Value& v, CallArgs& a) {
  const int64_t n = arg(a, 0, "linecount").as_int();
  if (n <= 0) fail("batch size must be positive");
  const Value fill = arg(a, 1, "fill_with", Value::none());
  ValueList out, cur;
  for (const Value& item : iterate(v)) {
    cur.push_back(item);
    if (static_cast<int64_t>(cur.size()) == n) {
      out.push_back(Value::list(std::move(cur)));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    if (!fill.is_none()) {
      while (static_cast<int64_t>(cur.size()) < n) cur.push_back(fill);
    }
    out.push_back(Value::list(std::move(cur)));
  }
  in.tick(out.size());
  return Value::iterator(std::move(out));
}

Value f_sum(Interp& in, const Value& v, CallArgs& a) {
  const Value attribute = arg(a, 0, "attribute", Value::none());
  Value total = arg(a, 1, "start", Value(0));
  for (const Value& item : iterate(v)) total = binary_op(in, "+", total, attribute.is_none() ? item : attr_path(in, item, attribute));
  return total;
}

Value minmax(Interp& in, const Value& v, CallArgs& a, bool want_max) {
  const bool case_sensitive = arg(a, 0, "case_sensitive", Value(false)).truthy();
  const Value attribute = arg(a, 1, "attribute", Value::none());
  ValueList items = iterate(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    const Value x = attribute.is_none() ? items[i] : attr_path(in, items[i], attribute);
    const Value y = attribute.is_none() ? items[best] : attr_path(in, items[best], attribute);
    const int c = compare_values(x, y, !case_sensitive);
    if (want_max ? c > 0 : c < 0) best = i;
  }
  return items[best];
}
Value f_min(Interp& in, const Value& v, CallArgs& a) { return minmax(in, v, a, false); }
Value f_max(Interp& in, const Value& v, CallArgs& a) { return minmax(in, v, a, true); }

Value f_trim(Interp& in, const Value& v, CallArgs& a) {
  const Value chars = arg(a, 0, "chars", Value::none());
  return Value(strip(v.to_str(), chars.is_none() ? kWhitespace : chars.str()));
}
Value f_upper(Interp&, const Value& v, CallArgs&) { return Value(to_upper(v.to_str())); }
Value f_lower(Interp&, const Value& v, CallArgs&) { return Value(to_lower(v.to_str())); }
Value f_capitalize(Interp&, const Value& v, CallArgs&) { return Value(capitalize(v.to_str())); }
Value f_title(Interp&, const Value& v, CallArgs&) { return Value(title_filter(v.to_str())); }
Value f_safe(Interp&, const Value& v, CallArgs&) { return v.is_markup() ? v : Value::markup(v.to_str()); }
Value f_replace(Interp& in, const Value& v, CallArgs& a) {
  const Value count = arg(a, 2, "count", Value::none());
  std::string out = replace_all(v.to_str(), arg(a, 0, "old").to_str(), arg(a, 1, "new").to_str(), count.is_none() ? -1 : count.as_int());
  in.check_size(out.size());
  return Value(std::move(out));
}
Value f_center(Interp&, const Value& v, CallArgs& a) {
  const std::string s = v.to_str();
  const int64_t width = arg(a, 0, "width", Value(80)).as_int();
  const int64_t len = static_cast<int64_t>(utf8_length(s));
  if (width <= len) return Value(s);
  const int64_t total = width - len, left = total / 2 + (total & width & 1);
  return Value(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(total - left), ' '));
}

const std::unordered_map<std::string, FilterFn>& filter_table() {
  static const std::unordered_map<std::string, FilterFn> kTable = {
      {"length", f_length}, {"count", f_length}, {"first", f_first}, {"last", f_last}, {"join", f_join},
      {"default", f_default}, {"d", f_default}, {"tojson", f_tojson}, {"string", f_string}, {"int", f_int},
      {"float", f_float}, {"list", f_list}, {"items", f_items}, {"dictsort", f_dictsort}, {"select", f_select},
      {"reject", f_reject}, {"selectattr", f_selectattr}, {"rejectattr", f_rejectattr}, {"map", f_map},
      {"unique", f_unique}, {"reverse", f_reverse}, {"sort", f_sort}, {"round", f_round}, {"abs", f_abs},
      {"indent", f_indent}, {"escape", f_escape}, {"e", f_escape}, {"forceescape", f_forceescape},
      {"wordcount", f_wordcount}, {"batch", f_batch}, {"sum", f_sum}, {"min", f_min}, {"max", f_max},
      {"trim", f_trim}, {"upper", f_upper}, {"lower", f_lower}, {"capitalize", f_capitalize},
      {"title", f_title}, {"safe", f_safe}, {"replace", f_replace}, {"center", f_center},
  };
  return kTable;
}

}  // namespace

Value apply_filter(Interp& in, const std::string& name, const Value& input, CallArgs& args) {
  const auto& table = filter_table();
  auto it = table.find(name);
  if (it == table.end()) fail("no filter named '" + name + "'", in.line(), in.col());
  // Jinja's Undefined fails in most filters; the ones that accept it handle it themselves.
  static const char* const kUndefinedOk[] = {"default", "d", "length", "count", "list", "items", "string", "join",
                                             "first", "last", "select", "reject", "selectattr", "rejectattr",
                                             "map", "unique", "sort", "reverse", "int", "float", "safe",
                                             "escape", "e", "trim", "upper", "lower", "capitalize", "title",
                                             "indent", "wordcount", "replace", "center", "batch", "sum",
                                             "min", "max"};
  if (input.is_undefined()) {
    bool ok = false;
    for (const char* n : kUndefinedOk) ok = ok || name == n;
    if (!ok) undefined_error(input);
  }
  return it->second(in, input, args);
}

}  // namespace nlm::tok::jinja
