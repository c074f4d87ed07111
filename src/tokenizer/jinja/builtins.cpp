// Globals a chat template can call (as transformers defines them) and the tojson encoder.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "tokenizer/jinja/interp.h"

namespace nlm::tok::jinja {
namespace {

void json_string_ascii(std::string& out, unsigned char c);

void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out.push_back('"');
  if (ensure_ascii) {
    for (char32_t cp : to_u32(s)) {
      if (cp < 0x80) {
        json_string_ascii(out, static_cast<unsigned char>(cp));
      } else if (cp < 0x10000) {
        char b[8];
        std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(cp));
        out += b;
      } else {
        const char32_t v = cp - 0x10000;
        char b[16];
        std::snprintf(b, sizeof b, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)), static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
        out += b;
      }
    }
    out.push_back('"');
    return;
  }
  for (unsigned char c : s) json_string_ascii(out, c);
  out.push_back('"');
}

void json_string_ascii(std::string& out, unsigned char c) {
  {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
}

void json_value(std::string& out, const Value& v, const JsonStyle& st, int level) {
  const int indent = st.indent;
  auto newline = [&](int lvl) {
    if (indent < 0) return;
    out.push_back('\n');
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(lvl), ' ');
  };
  const std::string& item_sep = *st.item_sep;
  switch (v.kind()) {
    case Value::Kind::kNone: out += "null"; return;
    case Value::Kind::kBool: out += v.as_bool() ? "true" : "false"; return;
    case Value::Kind::kInt: out += std::to_string(v.as_int()); return;
    case Value::Kind::kFloat: {
      const double f = v.as_float();
      out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity") : float_repr(f);
      return;
    }
    case Value::Kind::kString: json_string(out, v.str(), st.ensure_ascii); return;
    case Value::Kind::kList: {
      if (v.is_iterator()) break;
      if (v.items().empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i) out += item_sep;
        newline(level + 1);
        json_value(out, v.items()[i], st, level + 1);
      }
      newline(level);
      out.push_back(']');
      return;
    }
    case Value::Kind::kDict: {
      if (v.is_namespace()) break;
      if (v.dict_ref().items.empty()) {
        out += "{}";
        return;
      }
      out.push_back('{');
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& kv : v.dict_ref().items) entries.push_back(&kv);
      if (st.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
      }
      bool first = true;
      for (const auto* kv : entries) {
        if (!first) out += item_sep;
        first = false;
        newline(level + 1);
        json_string(out, kv->first, st.ensure_ascii);
        out += *st.key_sep;
        json_value(out, kv->second, st, level + 1);
      }
      newline(level);
      out.push_back('}');
      return;
    }
    default: break;
  }
  fail("Object of type " + v.type_name() + " is not JSON serializable");
}

Value g_raise_exception(Interp& in, CallArgs& a) {
  const std::string msg = a.pos.empty() ? std::string("raise_exception called") : a.pos[0].to_str();
  throw JinjaError{msg, in.line(), in.col(), true};
}

Value g_range(Interp& in, CallArgs& a) {
  for (const Value& v : a.pos) {
    if (!v.is_int()) fail("range() arguments must be integers, not " + v.type_name(), in.line(), in.col());
  }
  if (a.pos.empty() || a.pos.size() > 3) fail("range expected 1 to 3 arguments", in.line(), in.col());
  int64_t start = 0, stop, step = 1;
  if (a.pos.size() == 1) {
    stop = a.pos[0].as_int();
  } else {
    start = a.pos[0].as_int();
    stop = a.pos[1].as_int();
    if (a.pos.size() == 3) step = a.pos[2].as_int();
  }
  if (step == 0) fail("range() arg 3 must not be zero", in.line(), in.col());
  const double n = std::ceil((static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step));
  if (n > static_cast<double>(in.limits().max_sequence)) fail("range too big", in.line(), in.col());
  ValueList out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.emplace_back(i);
  in.tick(out.size());
  return Value::list(std::move(out));
}

Dict kwargs_dict(Interp& in, const CallArgs& a) {
  Dict d;
  for (const Value& p : a.pos) {
    if (!p.is_dict()) fail("dictionary update sequence element is not a mapping", in.line(), in.col());
    for (const auto& [k, v] : p.dict_ref().items) d.set(k, v);
  }
  for (const auto& [k, v] : a.kw) d.set(k, v);
  return d;
}

}  // namespace

std::string to_json(const Value& v, const JsonStyle& style) {
  JsonStyle st = style;
  if (!st.item_sep) st.item_sep = st.indent < 0 ? ", " : ",";
  if (!st.key_sep) st.key_sep = ": ";
  std::string out;
  json_value(out, v, st, 0);
  return out;
}

std::shared_ptr<Frame> make_globals(int64_t now_unix) {
  auto g = std::make_shared<Frame>();
  g->vars.set("raise_exception", Value::function("raise_exception", g_raise_exception));
  g->vars.set("range", Value::function("range", g_range));
  g->vars.set("namespace", Value::function("namespace", [](Interp& in, CallArgs& a) {
    return Value::dict(kwargs_dict(in, a), true);
  }));
  g->vars.set("dict", Value::function("dict", [](Interp& in, CallArgs& a) { return Value::dict(kwargs_dict(in, a)); }));
  g->vars.set("strftime_now", Value::function("strftime_now", [now_unix](Interp& in, CallArgs& a) {
    if (a.pos.empty() || !a.pos[0].is_string()) fail("strftime_now expects a format string", in.line(), in.col());
    const std::time_t t = now_unix >= 0 ? static_cast<std::time_t>(now_unix) : std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[512];
    const size_t n = std::strftime(buf, sizeof buf, a.pos[0].str().c_str(), &tm);
    return Value(std::string(buf, n));
  }));
  return g;
}

}  // namespace nlm::tok::jinja
