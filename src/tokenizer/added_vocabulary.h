#pragma once
// Finds added tokens in text: leftmost-longest matches, with the lstrip / rstrip / single_word rules of
// the tokenizers library.
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace nlm::tok {

struct Segment {
  size_t begin = 0, end = 0;  // byte range in the searched text
  int32_t id = -1;            // the added token, or -1 for ordinary text
};

class AddedVocabulary {
 public:
  // `patterns[k]` is what to search for to find tokens[k] (the normalized content for normalized ones).
  AddedVocabulary(std::vector<AddedToken> tokens, std::vector<std::string> patterns);
  bool empty() const { return tokens_.empty(); }
  // Splits `text` into ordinary segments and added tokens (empty ordinary segments are dropped).
  void split(std::string_view text, std::vector<Segment>& out) const;

 private:
  std::vector<AddedToken> tokens_;
  std::vector<std::string> patterns_;
  std::vector<std::vector<size_t>> by_first_byte_;  // 256 lists of token indices, longest pattern first
};

}  // namespace nlm::tok
