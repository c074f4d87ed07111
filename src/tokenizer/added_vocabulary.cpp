#include "tokenizer/added_vocabulary.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace nlm::tok {
namespace {

bool is_word_character(char32_t c) { return is_alphanumeric(c) || c == '_'; }

// The character that ends at byte `pos` (pos > 0).
char32_t cp_before(std::string_view s, size_t pos) {
  size_t start = pos - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return next_cp(s, start);
}

}  // namespace

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, std::vector<std::string> patterns)
    : tokens_(std::move(tokens)), patterns_(std::move(patterns)), by_first_byte_(256) {
  for (size_t k = 0; k < tokens_.size(); ++k) {
    if (patterns_[k].empty()) continue;
    by_first_byte_[static_cast<unsigned char>(patterns_[k][0])].push_back(k);
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(),
                     [&](size_t a, size_t b) { return patterns_[a].size() > patterns_[b].size(); });
  }
}

void AddedVocabulary::split(std::string_view text, std::vector<Segment>& out) const {
  size_t plain_start = 0;  // start of the pending ordinary text
  size_t i = 0;
  while (i < text.size()) {
    const auto& cands = by_first_byte_[static_cast<unsigned char>(text[i])];
    size_t hit = SIZE_MAX;
    for (size_t k : cands) {
      const std::string& p = patterns_[k];
      if (text.compare(i, p.size(), p) == 0) {
        hit = k;
        break;
      }
    }
    if (hit == SIZE_MAX) {
      ++i;
      continue;
    }
    const AddedToken& t = tokens_[hit];
    size_t start = i, stop = i + patterns_[hit].size();
    if (t.single_word) {
      const bool start_ok = start == 0 || !is_word_character(cp_before(text, start));
      size_t j = stop;
      const bool stop_ok = stop == text.size() || !is_word_character(next_cp(text, j));
      if (!start_ok || !stop_ok) {
        i = stop;  // a discarded match is not searched again
        continue;
      }
    }
    if (t.lstrip) {
      while (start > plain_start && is_whitespace(cp_before(text, start))) {
        do {
          --start;
        } while (start > plain_start && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80);
      }
    }
    if (t.rstrip) {
      while (stop < text.size()) {
        size_t j = stop;
        if (!is_whitespace(next_cp(text, j))) break;
        stop = j;
      }
    }
    if (start > plain_start) out.push_back(Segment{plain_start, start, -1});
    out.push_back(Segment{start, stop, t.id});
    plain_start = i = stop;
  }
  if (plain_start < text.size()) out.push_back(Segment{plain_start, text.size(), -1});
}

}  // namespace nlm::tok
