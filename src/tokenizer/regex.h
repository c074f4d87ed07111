#pragma once
// PCRE2 (UTF + UCP + JIT) for the Split pre-tokenizer's patterns. Patterns written for Oniguruma (what
// the Hugging Face tokenizers library compiles them with) are adjusted where the engines differ: `\s`
// is rewritten to Unicode White_Space exactly.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace nlm::tok {

class Regex {
 public:
  static core::Result<std::shared_ptr<const Regex>> compile(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Non-overlapping matches [begin, end) from left to right; empty matches are skipped.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code_8*
};

// The literal pattern as a PCRE2 pattern.
std::string regex_quote(std::string_view literal);
// Oniguruma → PCRE2 adjustments (exposed for tests).
std::string adapt_pattern(std::string_view pattern);

}  // namespace nlm::tok
