// Unigram: the most probable segmentation (Viterbi over the piece log-probabilities); characters no
// piece covers become <unk> (scored below every piece), or their bytes with byte_fallback.
#include <algorithm>
#include <cstdio>
#include <limits>

#include "tokenizer/models.h"
#include "tokenizer/unicode.h"

namespace nlm::tok {

core::Result<std::unique_ptr<UnigramModel>> UnigramModel::create(std::vector<std::pair<std::string, double>> pieces,
                                                                 std::optional<int32_t> unk_id, bool byte_fallback) {
  auto m = std::unique_ptr<UnigramModel>(new UnigramModel());
  double min_score = std::numeric_limits<double>::max();
  m->vocab_.reserve(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    NLM_RETURN_IF_ERROR(m->vocab_.add(pieces[i].first, static_cast<int32_t>(i)));
    m->scores_.push_back(pieces[i].second);
    min_score = std::min(min_score, pieces[i].second);
    m->max_piece_bytes_ = std::max(m->max_piece_bytes_, pieces[i].first.size());
  }
  if (unk_id && (*unk_id < 0 || static_cast<size_t>(*unk_id) >= pieces.size())) {
    return core::error(core::ErrorCode::kModelLoadFailed, "[tokenizer] Unigram unk_id out of range");
  }
  m->unk_id_ = unk_id;
  m->unk_score_ = (pieces.empty() ? 0.0 : min_score) - 10.0;
  m->byte_fallback_ = byte_fallback;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    m->byte_ids_[b] = m->vocab_.find(name).value_or(-1);
  }
  return m;
}

void UnigramModel::tokenize(std::string_view word, Ids& out) const {
  if (word.empty()) return;
  if (cache_.get(word, out)) return;
  const size_t n = word.size();
  struct Node {
    double score = -std::numeric_limits<double>::infinity();
    size_t from = 0;
    int32_t id = -1;  // -1: the unknown character ending here
  };
  std::vector<Node> best(n + 1);
  best[0].score = 0;
  for (size_t i = 0; i < n;) {
    const size_t char_len = std::min(utf8_len(static_cast<unsigned char>(word[i])), n - i);
    if (best[i].score == -std::numeric_limits<double>::infinity()) {
      i += char_len;
      continue;
    }
    bool single_char = false;
    const size_t max_len = std::min(max_piece_bytes_, n - i);
    for (size_t len = 1; len <= max_len; ++len) {
      if (i + len < n && (static_cast<unsigned char>(word[i + len]) & 0xC0) == 0x80) continue;
      const auto id = vocab_.find(word.substr(i, len));
      if (!id) continue;
      if (len == char_len) single_char = true;
      const double s = best[i].score + scores_[*id];
      if (s > best[i + len].score) best[i + len] = Node{s, i, *id};
    }
    if (!single_char) {
      const double s = best[i].score + unk_score_;
      if (s > best[i + char_len].score) best[i + char_len] = Node{s, i, -1};
    }
    i += char_len;
  }
  // Back-track, then emit. As the tokenizers library does (fuse_unk), a run of unknowns — characters
  // no piece covers, and matches of the unk piece itself — is one token: the piece its text spells if
  // there is one (so a lone "<unk>" in the text stays <unk>), else its bytes with byte_fallback, else <unk>.
  std::vector<std::pair<size_t, int32_t>> path;  // (start, id)
  for (size_t pos = n; pos > 0; pos = best[pos].from) path.emplace_back(best[pos].from, best[pos].id);
  std::reverse(path.begin(), path.end());
  const auto is_unk = [&](int32_t id) { return id < 0 || (unk_id_ && id == *unk_id_); };
  Ids ids;
  for (size_t k = 0; k < path.size();) {
    if (!is_unk(path[k].second)) {
      ids.push_back(path[k++].second);
      continue;
    }
    size_t e = k + 1;
    while (e < path.size() && is_unk(path[e].second)) ++e;
    const std::string_view run = word.substr(path[k].first, (e < path.size() ? path[e].first : n) - path[k].first);
    k = e;
    if (const auto id = vocab_.find(run)) {
      ids.push_back(*id);
      continue;
    }
    bool all_bytes = byte_fallback_;
    for (size_t b = 0; all_bytes && b < run.size(); ++b) all_bytes = byte_ids_[static_cast<unsigned char>(run[b])] >= 0;
    if (all_bytes) {
      for (unsigned char c : run) ids.push_back(byte_ids_[c]);
    } else if (unk_id_) {
      ids.push_back(*unk_id_);
    }
  }
  cache_.put(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace nlm::tok
