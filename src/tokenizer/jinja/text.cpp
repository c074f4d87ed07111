#include "tokenizer/jinja/text.h"

#include <utf8proc.h>

#include "tokenizer/jinja/value.h"

namespace nlm::tok::jinja {
namespace {

bool is_space_cp(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

bool is_cased_letter(char32_t c) {
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}

char32_t upper(char32_t c) { return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c))); }
char32_t lower(char32_t c) { return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))); }

}  // namespace

std::string strip(std::string_view s, std::string_view chars, bool left, bool right) {
  const std::u32string u = to_u32(s);
  const std::u32string set = to_u32(chars);
  const bool ws = chars == kWhitespace;
  auto in_set = [&](char32_t c) { return ws ? is_space_cp(c) : set.find(c) != std::u32string::npos; };
  size_t b = 0, e = u.size();
  if (left) {
    while (b < e && in_set(u[b])) ++b;
  }
  if (right) {
    while (e > b && in_set(u[e - 1])) --e;
  }
  return from_u32(std::u32string_view(u).substr(b, e - b));
}

std::string to_upper(std::string_view s) {
  std::u32string u = to_u32(s);
  for (char32_t& c : u) c = upper(c);
  return from_u32(u);
}

std::string to_lower(std::string_view s) {
  std::u32string u = to_u32(s);
  for (char32_t& c : u) c = lower(c);
  return from_u32(u);
}

std::string capitalize(std::string_view s) {
  std::u32string u = to_u32(s);
  for (size_t i = 0; i < u.size(); ++i) u[i] = i == 0 ? upper(u[i]) : lower(u[i]);
  return from_u32(u);
}

std::string title_case(std::string_view s) {
  std::u32string u = to_u32(s);
  bool prev_cased = false;
  for (char32_t& c : u) {
    const bool cased = is_cased_letter(c);
    c = cased ? (prev_cased ? lower(c) : upper(c)) : c;
    prev_cased = cased;
  }
  return from_u32(u);
}

std::string title_filter(std::string_view s) {
  std::u32string u = to_u32(s);
  bool word_start = true;
  for (char32_t& c : u) {
    const bool sep = is_space_cp(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) {
      word_start = true;
      continue;
    }
    c = word_start ? upper(c) : lower(c);
    word_start = false;
  }
  return from_u32(u);
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to, int64_t count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` between every character (and at both ends).
    const std::u32string u = to_u32(s);
    int64_t n = 0;
    for (size_t i = 0; i <= u.size(); ++i) {
      if (count < 0 || n < count) {
        out += to;
        ++n;
      }
      if (i < u.size()) out += from_u32(std::u32string_view(&u[i], 1));
    }
    return out;
  }
  size_t pos = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out += s.substr(pos, hit - pos);
    out += to;
    pos = hit + from.size();
    ++n;
  }
  out += s.substr(pos);
  return out;
}

std::vector<std::string> split(std::string_view s, std::string_view sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep.empty()) {
    const std::u32string u = to_u32(s);
    size_t i = 0;
    while (i < u.size()) {
      while (i < u.size() && is_space_cp(u[i])) ++i;
      if (i >= u.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        size_t e = u.size();
        while (e > i && is_space_cp(u[e - 1])) --e;
        out.push_back(from_u32(std::u32string_view(u).substr(i, e - i)));
        break;
      }
      size_t j = i;
      while (j < u.size() && !is_space_cp(u[j])) ++j;
      out.push_back(from_u32(std::u32string_view(u).substr(i, j - i)));
      i = j;
    }
    return out;
  }
  size_t pos = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    const size_t hit = s.find(sep, pos);
    if (hit == std::string_view::npos) break;
    out.emplace_back(s.substr(pos, hit - pos));
    pos = hit + sep.size();
  }
  out.emplace_back(s.substr(pos));
  return out;
}

std::vector<std::string> rsplit(std::string_view s, std::string_view sep, int64_t maxsplit) {
  if (maxsplit < 0 || sep.empty()) return split(s, sep, maxsplit);
  std::vector<std::string> out;
  size_t end = s.size();
  while (static_cast<int64_t>(out.size()) < maxsplit) {
    const size_t hit = end >= sep.size() ? s.rfind(sep, end - sep.size()) : std::string_view::npos;
    if (hit == std::string_view::npos) break;
    out.emplace_back(s.substr(hit + sep.size(), end - hit - sep.size()));
    end = hit;
  }
  out.emplace_back(s.substr(0, end));
  return std::vector<std::string>(out.rbegin(), out.rend());
}

}  // namespace nlm::tok::jinja
