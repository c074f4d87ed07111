#pragma once
// Unicode helpers for the tokenizer: UTF-8 walking, character classes with the exact definitions the
// Hugging Face tokenizers library uses (Rust's char methods), normalization forms via libutf8proc, and
// the GPT-2 byte-level alphabet.
#include <cstdint>
#include <string>
#include <string_view>

namespace nlm::tok {

// Decodes the code point at s[i] (s must be valid UTF-8) and advances i.
char32_t next_cp(std::string_view s, size_t& i);
// Length in bytes of the UTF-8 sequence that starts with byte `lead` (1 for stray bytes).
inline size_t utf8_len(unsigned char lead) {
  return lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
}
void append_utf8(std::string& out, char32_t cp);
size_t count_chars(std::string_view s);

// Rust char::is_whitespace (the White_Space property).
bool is_whitespace(char32_t c);
// Rust char::is_alphanumeric (Alphabetic or Numeric), approximated by the general categories L*, N*.
bool is_alphanumeric(char32_t c);
// Rust char::is_numeric (Nd, Nl, No).
bool is_numeric(char32_t c);
// The BERT definitions: ASCII punctuation or any P* category.
bool is_bert_punctuation(char32_t c);
// General category groups.
bool is_letter(char32_t c);
bool is_mark_nonspacing(char32_t c);  // Mn
bool is_other(char32_t c);            // Cc, Cf, Cs, Co (not Cn: the tokenizers library keeps unassigned)
bool is_cjk(char32_t c);              // BERT's "Chinese character" ranges
// Perl/Unicode \w (Alphabetic, M*, Nd, Pc, Join_Control), as the Whitespace pre-tokenizer's regex uses.
bool is_word_char(char32_t c);

// Rust char::to_lowercase applied per character (İ → i̇; no final-sigma context).
std::string to_lower(std::string_view s);

enum class NormForm { kNFC, kNFD, kNFKC, kNFKD };
// `s` must be valid UTF-8.
std::string normalize(std::string_view s, NormForm form);

// GPT-2's byte ↔ printable-character map (tokenizers' ByteLevel).
const std::string& byte_to_unicode(uint8_t b);  // UTF-8 of the printable stand-in of byte b
int unicode_to_byte(char32_t c);                 // -1 when c stands for no byte

// Rust's String::from_utf8_lossy: every maximal invalid subsequence becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

}  // namespace nlm::tok
