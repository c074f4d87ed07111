#pragma once
// UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
#include <cstddef>
#include <string_view>

namespace nlm::core {

// True when `s` is well-formed UTF-8. On failure, *bad_offset (if given) is the first bad byte.
bool valid_utf8(std::string_view s, size_t* bad_offset = nullptr);

}  // namespace nlm::core
