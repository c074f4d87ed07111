#pragma once
// Python str operations over UTF-8 (case mapping through utf8proc).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nlm::tok::jinja {

inline constexpr std::string_view kWhitespace = " \t\n\r\f\v";

// str.strip / lstrip / rstrip with a set of characters (code points).
std::string strip(std::string_view s, std::string_view chars, bool left = true, bool right = true);
std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
std::string capitalize(std::string_view s);   // str.capitalize / |capitalize
std::string title_case(std::string_view s);   // str.title()
std::string title_filter(std::string_view s); // Jinja's |title (words split at whitespace, - ( { [ <)
// str.replace(old, new, count); count < 0: all.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to, int64_t count);
// str.split(sep, maxsplit): sep empty = split on whitespace runs.
std::vector<std::string> split(std::string_view s, std::string_view sep, int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, std::string_view sep, int64_t maxsplit);

}  // namespace nlm::tok::jinja
