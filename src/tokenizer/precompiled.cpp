#include "tokenizer/precompiled.h"

#include <cstring>

#include <utf8proc.h>

#include "tokenizer/unicode.h"

namespace nlm::tok {
namespace {

core::Status bad(const std::string& why) {
  return core::error(core::ErrorCode::kModelLoadFailed, "[tokenizer] precompiled_charsmap: " + why);
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Darts unit fields.
bool has_leaf(uint32_t u) { return ((u >> 8) & 1) != 0; }
uint32_t unit_value(uint32_t u) { return u & 0x7FFFFFFFu; }
uint32_t unit_label(uint32_t u) { return u & (0x80000000u | 0xFFu); }
uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

}  // namespace

core::Result<std::shared_ptr<const PrecompiledCharsmap>> PrecompiledCharsmap::from_base64(const std::string& b64) {
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : b64) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    const int v = b64_value(c);
    if (v < 0) return bad("invalid base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return from_bytes(bytes);
}

core::Result<std::shared_ptr<const PrecompiledCharsmap>> PrecompiledCharsmap::from_bytes(std::string_view blob) {
  if (blob.size() < 4) return bad("too short");
  uint32_t trie_size = 0;
  std::memcpy(&trie_size, blob.data(), 4);
  if (trie_size % 4 != 0 || trie_size > blob.size() - 4 || trie_size == 0) return bad("bad trie size");
  auto map = std::make_shared<PrecompiledCharsmap>();
  map->units_.resize(trie_size / 4);
  std::memcpy(map->units_.data(), blob.data() + 4, trie_size);
  map->normalized_.assign(blob.substr(4 + trie_size));
  return std::shared_ptr<const PrecompiledCharsmap>(std::move(map));
}

const char* PrecompiledCharsmap::transform(std::string_view chunk) const {
  const size_t n_units = units_.size();
  size_t node = unit_offset(units_[0]);
  for (unsigned char c : chunk) {
    node ^= c;
    if (node >= n_units) return nullptr;
    const uint32_t u = units_[node];
    if (unit_label(u) != c) return nullptr;
    node ^= unit_offset(u);
    if (node >= n_units) return nullptr;
    if (has_leaf(u)) {
      const uint32_t index = unit_value(units_[node]);
      if (index >= normalized_.size()) return nullptr;
      return normalized_.c_str() + index;  // the table's strings are NUL-terminated
    }
  }
  return nullptr;
}

std::string PrecompiledCharsmap::normalize(std::string_view s) const {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  utf8proc_int32_t state = 0;
  while (i < s.size()) {
    // One extended grapheme cluster [i, end).
    size_t end = i;
    char32_t prev = next_cp(s, end);
    while (end < s.size()) {
      size_t j = end;
      const char32_t c = next_cp(s, j);
      if (utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(prev), static_cast<utf8proc_int32_t>(c),
                                           &state)) {
        break;
      }
      prev = c;
      end = j;
    }
    state = 0;
    const std::string_view g = s.substr(i, end - i);
    const char* norm = g.size() < 6 ? transform(g) : nullptr;
    if (norm != nullptr) {
      out += norm;
    } else {
      for (size_t k = 0; k < g.size();) {
        const size_t start = k;
        next_cp(g, k);
        const std::string_view part = g.substr(start, k - start);
        const char* pn = transform(part);
        if (pn != nullptr) {
          out += pn;
        } else {
          out.append(part);
        }
      }
    }
    i = end;
  }
  return out;
}

}  // namespace nlm::tok
