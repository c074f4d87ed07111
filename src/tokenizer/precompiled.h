#pragma once
// SentencePiece's precompiled character map (the "Precompiled" normalizer of XLM-R-style tokenizers):
// a Darts double-array trie over UTF-8 byte strings whose values index a table of replacement strings.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace nlm::tok {

class PrecompiledCharsmap {
 public:
  static core::Result<std::shared_ptr<const PrecompiledCharsmap>> from_base64(const std::string& b64);
  static core::Result<std::shared_ptr<const PrecompiledCharsmap>> from_bytes(std::string_view blob);
  // As the tokenizers library does it: grapheme by grapheme, the whole grapheme (when under 6 bytes)
  // then each of its characters are looked up; what has no entry is kept.
  std::string normalize(std::string_view s) const;

 private:
  // The replacement for the shortest key that prefixes `chunk`, or nullptr.
  const char* transform(std::string_view chunk) const;
  std::vector<uint32_t> units_;
  std::string normalized_;
};

}  // namespace nlm::tok
