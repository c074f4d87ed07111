#include "tokenizer/regex.h"

#include "tokenizer/unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace nlm::tok {
namespace {

// White_Space, as Oniguruma's and Rust's \s (PCRE2's UCP \s adds U+180E and lacks nothing else).
constexpr std::string_view kSpaceClass =
    "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

// Match data is per thread: a Regex is shared by every request that uses the tokenizer.
struct MatchData {
  pcre2_match_data* md = pcre2_match_data_create(2, nullptr);
  ~MatchData() { pcre2_match_data_free(md); }
};

}  // namespace

std::string adapt_pattern(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char n = p[i + 1];
      if (n == 's') {
        if (in_class) {
          out += kSpaceClass;
        } else {
          out += "[";
          out += kSpaceClass;
          out += "]";
        }
      } else if (n == 'S' && !in_class) {
        out += "[^";
        out += kSpaceClass;
        out += "]";
      } else {
        out.push_back(c);
        out.push_back(n);
      }
      ++i;
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out.push_back(c);
      if (i + 1 < p.size() && p[i + 1] == '^') out.push_back(p[++i]);
      if (i + 1 < p.size() && p[i + 1] == ']') out.push_back(p[++i]);  // a literal ] first in a class
      continue;
    }
    if (c == '[' && in_class && i + 1 < p.size() && p[i + 1] == ':') {  // POSIX class [:alpha:]
      const size_t end = p.find(":]", i + 2);
      if (end != std::string_view::npos) {
        out.append(p.substr(i, end + 2 - i));
        i = end + 1;
        continue;
      }
    }
    if (c == ']' && in_class) in_class = false;
    out.push_back(c);
  }
  return out;
}

std::string regex_quote(std::string_view literal) {
  std::string out = "\\Q";
  size_t start = 0;
  for (size_t pos; (pos = literal.find("\\E", start)) != std::string_view::npos; start = pos + 2) {
    out.append(literal.substr(start, pos - start));
    out += "\\E\\\\E\\Q";
  }
  out.append(literal.substr(start));
  out += "\\E";
  return out;
}

core::Result<std::shared_ptr<const Regex>> Regex::compile(const std::string& pattern) {
  const std::string adapted = adapt_pattern(pattern);
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(adapted.data()), adapted.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &err_off, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof(buf));
    return core::error(core::ErrorCode::kModelLoadFailed,
                       "[tokenizer] regex '" + pattern + "' does not compile at offset " + std::to_string(err_off) +
                           ": " + reinterpret_cast<const char*>(buf));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
  std::shared_ptr<Regex> re(new Regex());
  re->code_ = code;
  return std::shared_ptr<const Regex>(std::move(re));
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  thread_local MatchData data;
  auto* code = static_cast<pcre2_code*>(code_);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos <= text.size()) {
    // The text was validated as UTF-8 once at the entry of encode().
    const int rc = pcre2_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, data.md, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.md);
    const size_t b = ov[0], e = ov[1];
    if (e > b) {
      out.emplace_back(b, e);
      pos = e;
    } else {  // an empty match: step over one character
      if (b >= text.size()) break;
      pos = b + utf8_len(static_cast<unsigned char>(text[b]));
    }
  }
}

}  // namespace nlm::tok
