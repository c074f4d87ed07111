// Python methods templates call on values: str.strip(), dict.get(), … (what the immutable sandbox
// allows: the mutating list and dict methods exist but fail when called).
#include <algorithm>

#include "tokenizer/jinja/interp.h"
#include "tokenizer/jinja/text.h"

namespace nlm::tok::jinja {
namespace {

Value arg(const CallArgs& a, size_t i, const char* name, Value dflt = Value()) {
  if (i < a.pos.size()) return a.pos[i];
  if (const Value* v = a.kwarg(name)) return *v;
  return dflt;
}

Value str_list(const std::vector<std::string>& parts) {
  ValueList out;
  for (const std::string& p : parts) out.emplace_back(p);
  return Value::list(std::move(out));
}

// str.format with {} / {0} / {name} fields (format specs are ignored; {{ and }} are literal braces).
std::string format(const std::string& f, const CallArgs& a) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if ((c == '{' || c == '}') && i + 1 < f.size() && f[i + 1] == c) {
      out.push_back(c);
      ++i;
      continue;
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    const size_t close = f.find('}', i);
    if (close == std::string::npos) fail("Single '{' encountered in format string");
    std::string field = f.substr(i + 1, close - i - 1);
    const size_t colon = field.find_first_of(":!");
    if (colon != std::string::npos) field.resize(colon);
    Value v;
    if (field.empty()) {
      v = arg(a, auto_index++, "");
    } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
      v = arg(a, static_cast<size_t>(std::stoul(field)), "");
    } else if (const Value* kw = a.kwarg(field)) {
      v = *kw;
    }
    if (v.is_undefined()) fail("format field '{" + field + "}' has no argument");
    out += v.to_str();
    i = close;
  }
  return out;
}

bool starts_or_ends(const std::string& s, const Value& affix, bool start) {
  auto one = [&](const std::string& x) {
    if (x.size() > s.size()) return false;
    return start ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_tuple() || affix.is_list()) {
    for (const Value& v : affix.items()) {
      if (one(v.to_str())) return true;
    }
    return false;
  }
  if (!affix.is_string()) fail(std::string(start ? "startswith" : "endswith") + " first arg must be str or a tuple of str");
  return one(affix.str());
}

int64_t count_of(const std::string& s, const std::string& sub) {
  if (sub.empty()) return static_cast<int64_t>(utf8_length(s)) + 1;
  int64_t n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
  return n;
}

int64_t find_cp(const std::string& s, const std::string& sub, bool reverse) {
  const size_t p = reverse ? s.rfind(sub) : s.find(sub);
  if (p == std::string::npos) return -1;
  return static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, p)));
}

Value string_method(const std::string& s, const std::string& name, CallArgs& a) {
  auto chars = [&](size_t i) {
    const Value c = arg(a, i, "chars", Value::none());
    return c.is_none() ? std::string(kWhitespace) : c.to_str();
  };
  if (name == "strip") return Value(strip(s, chars(0)));
  if (name == "lstrip") return Value(strip(s, chars(0), true, false));
  if (name == "rstrip") return Value(strip(s, chars(0), false, true));
  if (name == "upper") return Value(to_upper(s));
  if (name == "lower") return Value(to_lower(s));
  if (name == "title") return Value(title_case(s));
  if (name == "capitalize") return Value(capitalize(s));
  if (name == "split" || name == "rsplit") {
    const Value sep = arg(a, 0, "sep", Value::none());
    const int64_t maxsplit = arg(a, 1, "maxsplit", Value(-1)).as_int();
    if (sep.is_string() && sep.str().empty()) fail("empty separator");
    const std::string sp = sep.is_none() ? "" : sep.to_str();
    return str_list(name == "split" ? split(s, sp, maxsplit) : rsplit(s, sp, maxsplit));
  }
  if (name == "splitlines") {
    std::vector<std::string> lines = split(s, "\n", -1);
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    for (std::string& l : lines) {
      if (!l.empty() && l.back() == '\r') l.pop_back();
    }
    return str_list(lines);
  }
  if (name == "startswith") return Value(starts_or_ends(s, arg(a, 0, "prefix"), true));
  if (name == "endswith") return Value(starts_or_ends(s, arg(a, 0, "suffix"), false));
  if (name == "replace") {
    const Value count = arg(a, 2, "count", Value(-1));
    return Value(replace_all(s, arg(a, 0, "old").to_str(), arg(a, 1, "new").to_str(), count.as_int()));
  }
  if (name == "find") return Value(find_cp(s, arg(a, 0, "sub").to_str(), false));
  if (name == "rfind") return Value(find_cp(s, arg(a, 0, "sub").to_str(), true));
  if (name == "count") return Value(count_of(s, arg(a, 0, "sub").to_str()));
  if (name == "format") return Value(format(s, a));
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const Value& v : iterate(arg(a, 0, "iterable"))) {
      if (!v.is_string()) fail("sequence item: expected str instance, " + v.type_name() + " found");
      if (!first) out += s;
      first = false;
      out += v.str();
    }
    return Value(std::move(out));
  }
  auto all_of = [&](auto pred) {
    const std::u32string u = to_u32(s);
    return Value(!u.empty() && std::all_of(u.begin(), u.end(), pred));
  };
  if (name == "isdigit") return all_of([](char32_t c) { return c >= '0' && c <= '9'; });
  if (name == "isspace") return all_of([](char32_t c) { return c == ' ' || (c >= 9 && c <= 13); });
  if (name == "isalpha") return all_of([](char32_t c) { return c > 127 || std::isalpha(static_cast<int>(c)); });
  if (name == "isalnum") return all_of([](char32_t c) { return c > 127 || std::isalnum(static_cast<int>(c)); });
  if (name == "islower") return Value(to_lower(s) == s && to_upper(s) != s);
  if (name == "isupper") return Value(to_upper(s) == s && to_lower(s) != s);
  fail("str has no method '" + name + "'");
}

Value dict_method(const Value& d, const std::string& name, CallArgs& a) {
  if (name == "get") {
    const Value key = arg(a, 0, "key");
    const Value* v = key.is_string() ? d.dict_ref().find(key.str()) : nullptr;
    return v ? *v : arg(a, 1, "default", Value::none());
  }
  ValueList out;
  for (const auto& [k, v] : d.dict_ref().items) {
    if (name == "keys") out.emplace_back(k);
    else if (name == "values") out.push_back(v);
    else out.push_back(Value::list({Value(k), v}, true));
  }
  return Value::list(std::move(out));
}

bool is_one_of(const std::string& name, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (name == n) return true;
  }
  return false;
}

Value unsafe(const Value& obj, const std::string& name) {
  return Value::undefined("access to attribute '" + name + "' of '" + obj.type_name() + "' object is unsafe.");
}

}  // namespace

bool get_method(Interp&, const Value& obj, const std::string& name, Value* out) {
  if (obj.is_string()) {
    if (!is_one_of(name, {"strip", "lstrip", "rstrip", "upper", "lower", "title", "capitalize", "split", "rsplit",
                          "splitlines", "startswith", "endswith", "replace", "find", "rfind", "count", "format",
                          "join", "isdigit", "isspace", "isalpha", "isalnum", "islower", "isupper"})) {
      return false;
    }
    const std::string s = obj.str();
    *out = Value::function("str." + name, [s, name](Interp&, CallArgs& a) { return string_method(s, name, a); });
    return true;
  }
  if (obj.is_dict() && !obj.is_namespace()) {
    if (is_one_of(name, {"get", "items", "keys", "values"})) {
      *out = Value::function("dict." + name, [obj, name](Interp&, CallArgs& a) { return dict_method(obj, name, a); });
      return true;
    }
    if (is_one_of(name, {"pop", "popitem", "update", "clear", "setdefault"})) {
      *out = unsafe(obj, name);
      return true;
    }
    return false;
  }
  if (obj.is_list() && !obj.is_tuple()) {
    if (is_one_of(name, {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"})) {
      *out = unsafe(obj, name);
      return true;
    }
  }
  if (obj.is_list() && name == "index") {
    *out = Value::function("list.index", [obj](Interp&, CallArgs& a) {
      const Value x = arg(a, 0, "value");
      for (size_t i = 0; i < obj.items().size(); ++i) {
        if (obj.items()[i].equals(x)) return Value(static_cast<int64_t>(i));
      }
      fail(x.repr() + " is not in list");
    });
    return true;
  }
  return false;
}

}  // namespace nlm::tok::jinja
