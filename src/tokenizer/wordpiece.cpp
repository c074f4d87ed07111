// WordPiece: greedy longest-match-first over each pre-token, "##" on continuation pieces.
#include "tokenizer/models.h"
#include "tokenizer/unicode.h"

namespace nlm::tok {

WordPieceModel::WordPieceModel(Vocab vocab, int32_t unk_id, std::string prefix, size_t max_chars)
    : vocab_(std::move(vocab)), unk_id_(unk_id), prefix_(std::move(prefix)), max_chars_(max_chars),
      max_token_bytes_(vocab_.max_token_bytes()) {}

void WordPieceModel::tokenize(std::string_view word, Ids& out) const {
  if (word.empty()) return;
  if (count_chars(word) > max_chars_) {
    out.push_back(unk_id_);
    return;
  }
  if (cache_.get(word, out)) return;
  const size_t before = out.size();
  std::string buf;
  size_t start = 0;
  while (start < word.size()) {
    // Candidates longer than the longest vocabulary entry cannot match: start below that length.
    const size_t room = start == 0 ? max_token_bytes_ : max_token_bytes_ - std::min(max_token_bytes_, prefix_.size());
    size_t end = word.size() - start > room ? start + room : word.size();
    while (end > start && end < word.size() && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
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
      break;
    }
    out.push_back(*found);
    start = end;
  }
  cache_.put(word, Ids(out.begin() + static_cast<std::ptrdiff_t>(before), out.end()));
}

}  // namespace nlm::tok
