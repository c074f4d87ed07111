// WordPiece: greedy longest-match-first over each pre-token, "##" on continuation pieces.
#include "tokenizer/models.h"
#include "tokenizer/unicode.h"

namespace nlm::tok {

WordPieceModel::WordPieceModel(Vocab vocab, int32_t unk_id, std::string prefix, size_t max_chars)
    : vocab_(std::move(vocab)), unk_id_(unk_id), prefix_(std::move(prefix)), max_chars_(max_chars) {}

void WordPieceModel::tokenize(std::string_view word, Ids& out) const {
  if (word.empty()) return;
  if (count_chars(word) > max_chars_) {
    out.push_back(unk_id_);
    return;
  }
  const size_t before = out.size();
  std::string buf;
  size_t start = 0;
  while (start < word.size()) {
    size_t end = word.size();
    std::optional<int32_t> found;
    while (end > start) {
      std::optional<int32_t> id;
      if (start == 0) {
        id = vocab_.find(word.substr(0, end));
      } else {
        buf.assign(prefix_);
        buf.append(word.substr(start, end - start));
        id = vocab_.find(buf);
      }
      if (id) {
        found = id;
        break;
      }
      // Step back one whole character.
      do {
        --end;
      } while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
    }
    if (!found) {
      out.resize(before);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(*found);
    start = end;
  }
}

}  // namespace nlm::tok
