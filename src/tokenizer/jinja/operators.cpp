// Python semantics of Jinja's operators: arithmetic, concatenation, membership, ordering, iteration.
#include <cmath>
#include <limits>

#include "tokenizer/jinja/interp.h"

namespace nlm::tok::jinja {
namespace {

[[noreturn]] void type_error(Interp& in, const std::string& op, const Value& a, const Value& b) {
  fail("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'", in.line(), in.col());
}

Value repeat(Interp& in, const Value& seq, int64_t n) {
  if (n <= 0) return seq.is_string() ? Value(std::string()) : Value::list({}, seq.is_tuple());
  if (seq.is_string()) {
    in.check_size(seq.str().size() * static_cast<size_t>(n));
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value(std::move(out));
  }
  if (seq.items().size() * static_cast<size_t>(n) > in.limits().max_sequence) fail("sequence too long", in.line(), in.col());
  ValueList out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return Value::list(std::move(out), seq.is_tuple());
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Value arithmetic(Interp& in, const std::string& op, const Value& a, const Value& b) {
  const bool ints = a.is_int() && b.is_int();
  if (op == "/") {
    if (b.as_float() == 0.0) fail("division by zero", in.line(), in.col());
    return Value(a.as_float() / b.as_float());
  }
  if (op == "//" || op == "%") {
    if (b.as_float() == 0.0) fail(ints ? "integer division or modulo by zero" : "float modulo", in.line(), in.col());
    if (ints) {
      const int64_t q = floor_div(a.as_int(), b.as_int());
      return op == "//" ? Value(q) : Value(a.as_int() - q * b.as_int());
    }
    const double q = std::floor(a.as_float() / b.as_float());
    return op == "//" ? Value(q) : Value(a.as_float() - q * b.as_float());
  }
  if (op == "**") {
    if (ints && b.as_int() >= 0) {
      const double p = std::pow(static_cast<double>(a.as_int()), static_cast<double>(b.as_int()));
      if (std::fabs(p) < 9.0e18) {
        int64_t r = 1;
        for (int64_t i = 0; i < b.as_int(); ++i) r *= a.as_int();
        return Value(r);
      }
      return Value(p);
    }
    return Value(std::pow(a.as_float(), b.as_float()));
  }
  if (ints) {
    int64_t r = 0;
    bool overflow = op == "+" ? __builtin_add_overflow(a.as_int(), b.as_int(), &r)
                    : op == "-" ? __builtin_sub_overflow(a.as_int(), b.as_int(), &r)
                                : __builtin_mul_overflow(a.as_int(), b.as_int(), &r);
    if (!overflow) return Value(r);
  }
  const double x = a.as_float(), y = b.as_float();
  return Value(op == "+" ? x + y : op == "-" ? x - y : x * y);
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

[[noreturn]] void undefined_error(const Value& u) {
  const std::string& name = u.undefined_name();
  fail(name.empty() ? "value is undefined" : name);
}

Value binary_op(Interp& in, const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    std::string s = a.to_str() + b.to_str();
    in.check_size(s.size());
    return Value(std::move(s));
  }
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  if (a.is_number() && b.is_number()) return arithmetic(in, op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string() && (a.is_markup() || b.is_markup())) {
      std::string s = (a.is_markup() ? a.str() : html_escape(a.str())) + (b.is_markup() ? b.str() : html_escape(b.str()));
      in.check_size(s.size());
      return Value::markup(std::move(s));
    }
    if (a.is_string() && b.is_string()) {
      in.check_size(a.str().size() + b.str().size());
      return Value(a.str() + b.str());
    }
    if (a.is_list() && b.is_list()) {
      ValueList out = a.items();
      out.insert(out.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(out), a.is_tuple());
    }
    if (a.is_string() || b.is_string()) {
      fail(a.is_string() ? "can only concatenate str (not \"" + b.type_name() + "\") to str"
                         : "unsupported operand type(s) for +: '" + a.type_name() + "' and 'str'",
           in.line(), in.col());
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && b.is_int()) return repeat(in, a, b.as_int());
    if ((b.is_string() || b.is_list()) && a.is_int()) return repeat(in, b, a.as_int());
  }
  if (op == "%" && a.is_string()) {
    // printf-style formatting with %s / %d only.
    ValueList args = b.is_tuple() ? b.items() : ValueList{b};
    std::string out;
    size_t k = 0;
    const std::string& f = a.str();
    for (size_t i = 0; i < f.size(); ++i) {
      if (f[i] != '%' || i + 1 >= f.size()) {
        out.push_back(f[i]);
        continue;
      }
      const char c = f[++i];
      if (c == '%') {
        out.push_back('%');
      } else if (c == 's' || c == 'd' || c == 'r') {
        if (k >= args.size()) fail("not enough arguments for format string", in.line(), in.col());
        const Value& v = args[k++];
        out += c == 'r' ? v.repr() : c == 'd' ? std::to_string(v.as_int()) : v.to_str();
      } else {
        fail(std::string("unsupported format character '") + c + "'", in.line(), in.col());
      }
    }
    return Value(std::move(out));
  }
  type_error(in, op, a, b);
}

bool contains(const Value& container, const Value& item) {
  if (container.is_undefined()) return false;  // Python iterates an Undefined as empty
  if (container.is_string()) {
    if (!item.is_string()) fail("'in <string>' requires string as left operand, not " + item.type_name());
    return container.str().find(item.str()) != std::string::npos;
  }
  if (container.is_list()) {
    for (const Value& v : container.items()) {
      if (v.equals(item)) return true;
    }
    return false;
  }
  if (container.is_dict()) {
    if (!item.is_string()) return false;
    return container.dict_ref().find(item.str()) != nullptr;
  }
  fail("argument of type '" + container.type_name() + "' is not iterable");
}

int compare_values(const Value& a, const Value& b, bool fold_case) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
    return a.as_float() < b.as_float() ? -1 : a.as_float() > b.as_float() ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    if (fold_case) {
      std::string x = a.str(), y = b.str();
      for (char& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (char& c : y) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return a.str() < b.str() ? -1 : a.str() > b.str() ? 1 : 0;
  }
  if (a.is_list() && b.is_list()) {
    const size_t n = std::min(a.items().size(), b.items().size());
    for (size_t i = 0; i < n; ++i) {
      if (!a.items()[i].equals(b.items()[i])) return compare_values(a.items()[i], b.items()[i], fold_case);
    }
    return a.items().size() < b.items().size() ? -1 : a.items().size() > b.items().size() ? 1 : 0;
  }
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  fail("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

ValueList iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return {};
    case Value::Kind::kList: return v.items();
    case Value::Kind::kDict: {
      ValueList keys;
      for (const auto& kv : v.dict_ref().items) keys.emplace_back(kv.first);
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      const std::u32string s = to_u32(v.str());
      for (char32_t c : s) chars.emplace_back(from_u32(std::u32string_view(&c, 1)));
      return chars;
    }
    default: fail(std::string("'").append(v.type_name()) + "' object is not iterable");
  }
}

}  // namespace nlm::tok::jinja
