#include "tokenizer/jinja/lexer.h"

#include <cctype>
#include <cstring>

#include "tokenizer/unicode.h"

namespace nlm::tok::jinja {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

void rstrip_all(std::string& s) {
  while (!s.empty() && is_ws(s.back())) s.pop_back();
}

// lstrip_blocks: drop spaces/tabs between the last line start and the tag, when nothing else is there.
void lstrip_line(std::string& s, bool text_starts_line) {
  const size_t nl = s.rfind('\n');
  const size_t from = nl == std::string::npos ? 0 : nl + 1;
  if (nl == std::string::npos && !text_starts_line) return;
  for (size_t i = from; i < s.size(); ++i) {
    if (s[i] != ' ' && s[i] != '\t') return;
  }
  s.resize(from);
}


class Lexer {
 public:
  Lexer(std::string_view src, const LexOptions& o) : src_(src), opt_(o) {}

  std::vector<Token> run() {
    bool strip_leading = false;
    while (pos_ < src_.size()) {
      const size_t tag = find_tag(pos_);
      std::string text(src_.substr(pos_, tag - pos_));
      const bool starts_line = pos_ == 0 || src_[pos_ - 1] == '\n';
      const int text_line = line_, text_col = col_;
      if (strip_leading) {
        size_t k = 0;
        while (k < text.size() && is_ws(text[k])) ++k;
        text.erase(0, k);
        strip_leading = false;
      }
      advance_to(tag);
      if (tag == src_.size()) {
        push_text(std::move(text), text_line, text_col);
        break;
      }
      const char kind = src_[tag + 1];
      const char ctl = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (ctl == '-') {
        rstrip_all(text);
      } else if (ctl != '+' && kind != '{' && opt_.lstrip_blocks) {
        lstrip_line(text, starts_line);
      }
      push_text(std::move(text), text_line, text_col);
      strip_leading = lex_tag(kind, ctl);
    }
    out_.push_back(Token{Tok::kEof, "", line_, col_});
    return std::move(out_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  void advance_to(size_t to) {
    for (; pos_ < to; ++pos_) {
      if (src_[pos_] == '\n') {
        ++line_;
        col_ = 1;
      } else {
        ++col_;
      }
    }
  }

  void push_text(std::string text, int line, int col) {
    if (!text.empty()) out_.push_back(Token{Tok::kText, std::move(text), line, col});
  }

  // After a block or comment end: trim_blocks drops one newline; '-' strips all following whitespace.
  bool finish_tag(size_t end_pos, char ctl, bool block_like) {
    advance_to(end_pos);
    if (ctl == '-') return true;
    if (ctl != '+' && block_like && opt_.trim_blocks && pos_ < src_.size() && src_[pos_] == '\n') advance_to(pos_ + 1);
    return false;
  }

  // Returns whether the text after the tag has its leading whitespace stripped.
  bool lex_tag(char kind, char ctl) {
    const int tag_line = line_, tag_col = col_;
    size_t p = pos_ + 2 + ((ctl == '-' || ctl == '+') ? 1 : 0);
    if (kind == '#') {
      const size_t end = src_.find("#}", p);
      if (end == std::string_view::npos) fail("unterminated comment", tag_line, tag_col);
      const char ectl = end > p && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
      return finish_tag(end + 2, ectl, true);
    }
    out_.push_back(Token{kind == '{' ? Tok::kVarBegin : Tok::kBlockBegin, "", tag_line, tag_col});
    advance_to(p);
    const size_t first = out_.size();
    char ectl = '\0';
    int depth = 0;
    for (;;) {
      while (pos_ < src_.size() && is_ws(src_[pos_])) advance_to(pos_ + 1);
      if (pos_ >= src_.size()) fail(kind == '{' ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'", tag_line, tag_col);
      const char close = kind == '{' ? '}' : '%';
      if (depth == 0) {
        size_t q = pos_;
        char c = '\0';
        if ((src_[q] == '-' || src_[q] == '+') && q + 1 < src_.size() && src_[q + 1] == close) c = src_[q++];
        if (src_[q] == close && q + 1 < src_.size() && src_[q + 1] == '}' && (kind != '{' || c != '+')) {
          ectl = c;
          out_.push_back(Token{kind == '{' ? Tok::kVarEnd : Tok::kBlockEnd, "", line_, col_});
          const bool strip = finish_tag(q + 2, ectl, kind == '%');
          if (kind == '%' && out_.size() == first + 2 && out_[first].type == Tok::kName && out_[first].text == "raw") {
            return lex_raw(strip, tag_line, tag_col);
          }
          return strip;
        }
      }
      lex_token(depth);
    }
  }

  bool lex_raw(bool strip_leading, int tag_line, int tag_col) {
    out_.resize(out_.size() - 3);  // drop {% raw %}
    size_t search = pos_;
    for (;;) {
      const size_t open = src_.find("{%", search);
      if (open == std::string_view::npos) fail("missing {% endraw %}", tag_line, tag_col);
      size_t q = open + 2;
      const char ctl = q < src_.size() ? src_[q] : '\0';
      if (ctl == '-' || ctl == '+') ++q;
      while (q < src_.size() && is_ws(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) {
        search = open + 2;
        continue;
      }
      q += 6;
      while (q < src_.size() && is_ws(src_[q])) ++q;
      char ectl = '\0';
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) ectl = src_[q++];
      if (src_.compare(q, 2, "%}") != 0) fail("malformed endraw tag", tag_line, tag_col);
      std::string text(src_.substr(pos_, open - pos_));
      if (strip_leading) {
        size_t k = 0;
        while (k < text.size() && is_ws(text[k])) ++k;
        text.erase(0, k);
      }
      if (ctl == '-') rstrip_all(text);
      else if (ctl != '+' && opt_.lstrip_blocks) lstrip_line(text, false);
      const int l = line_, c = col_;
      push_text(std::move(text), l, c);
      return finish_tag(q + 2, ectl, true);
    }
  }

  void lex_token(int& depth) {
    const int l = line_, c = col_;
    const char ch = src_[pos_];
    if (std::isalpha(static_cast<unsigned char>(ch)) || ch == '_') {
      size_t e = pos_;
      while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
      out_.push_back(Token{Tok::kName, std::string(src_.substr(pos_, e - pos_)), l, c});
      advance_to(e);
      return;
    }
    if (std::isdigit(static_cast<unsigned char>(ch))) {
      lex_number(l, c);
      return;
    }
    if (ch == '\'' || ch == '"') {
      lex_string(ch, l, c);
      return;
    }
    static const char* const kTwo[] = {"**", "//", "==", "!=", "<=", ">="};
    for (const char* op : kTwo) {
      if (src_.compare(pos_, 2, op) == 0) {
        out_.push_back(Token{Tok::kOp, op, l, c});
        advance_to(pos_ + 2);
        return;
      }
    }
    if (std::strchr("+-*/%~<>=()[]{},.:|;!", ch) == nullptr) {
      fail(std::string("unexpected character '") + ch + "'", l, c);
    }
    if (ch == '(' || ch == '[' || ch == '{') ++depth;
    if ((ch == ')' || ch == ']' || ch == '}') && depth > 0) --depth;
    out_.push_back(Token{Tok::kOp, std::string(1, ch), l, c});
    advance_to(pos_ + 1);
  }

  void lex_number(int l, int c) {
    size_t e = pos_;
    auto digits = [&] {
      while (e < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
    };
    digits();
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
      is_float = true;
      ++e;
      digits();
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t k = e + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && std::isdigit(static_cast<unsigned char>(src_[k]))) {
        is_float = true;
        e = k;
        digits();
      }
    }
    std::string text;
    for (size_t i = pos_; i < e; ++i) {
      if (src_[i] != '_') text.push_back(src_[i]);
    }
    out_.push_back(Token{is_float ? Tok::kFloat : Tok::kInt, text, l, c});
    advance_to(e);
  }

  static int hex_value(char h) {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  }

  // Python string literal escapes (Jinja decodes string literals the same way).
  void lex_string(char quote, int l, int c) {
    std::string out;
    size_t i = pos_ + 1;
    for (;;) {
      if (i >= src_.size()) fail("unterminated string literal", l, c);
      const char ch = src_[i];
      if (ch == quote) break;
      if (ch != '\\' || i + 1 >= src_.size()) {
        out.push_back(ch);
        ++i;
        continue;
      }
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case '0': out.push_back('\0'); break;
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'v': out.push_back('\v'); break;
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case '\n': break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          bool ok = i + n <= src_.size();
          for (size_t k = 0; ok && k < n; ++k) {
            const int h = hex_value(src_[i + k]);
            if (h < 0) ok = false;
            cp = cp * 16 + static_cast<uint32_t>(h < 0 ? 0 : h);
          }
          if (!ok || cp > 0x10FFFF) fail("invalid escape in string literal", l, c);
          tok::append_utf8(out, static_cast<char32_t>(cp));
          i += n;
          break;
        }
        default:
          out.push_back('\\');
          out.push_back(e);
      }
    }
    out_.push_back(Token{Tok::kString, std::move(out), l, c});
    advance_to(i + 1);
  }

  std::string_view src_;
  LexOptions opt_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
  std::vector<Token> out_;
};

}  // namespace

std::vector<Token> lex(std::string_view source, const LexOptions& options) {
  // Jinja drops one trailing newline of the template (keep_trailing_newline=False).
  if (!source.empty() && source.back() == '\n') {
    source.remove_suffix(1);
    if (!source.empty() && source.back() == '\r') source.remove_suffix(1);
  }
  return Lexer(source, options).run();
}

}  // namespace nlm::tok::jinja
