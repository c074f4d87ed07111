// The encode / decode pipeline: added tokens → normalizer → pre-tokenizer → model → post-processor,
// and ids → tokens → decoder.
#include "tokenizer/tokenizer.h"

#include <algorithm>

#include "core/utf8.h"
#include "tokenizer/added_vocabulary.h"
#include "tokenizer/components.h"

namespace nlm::tok {

Tokenizer::Tokenizer(TokenizerParts parts) : parts_(std::move(parts)) {
  std::vector<AddedToken> raw, norm;
  std::vector<std::string> raw_pat, norm_pat;
  for (size_t k = 0; k < parts_.added_tokens.size(); ++k) {
    const AddedToken& t = parts_.added_tokens[k];
    added_by_id_[t.id] = k;
    id_bound_ = std::max(id_bound_, static_cast<size_t>(t.id) + 1);
    if (t.content.empty()) continue;
    if (t.normalized) {
      std::string p = t.content;
      if (parts_.normalizer) parts_.normalizer->normalize(p);
      norm.push_back(t);
      norm_pat.push_back(std::move(p));
    } else {
      raw.push_back(t);
      raw_pat.push_back(t.content);
    }
  }
  raw_added_ = std::make_unique<AddedVocabulary>(std::move(raw), std::move(raw_pat));
  normalized_added_ = std::make_unique<AddedVocabulary>(std::move(norm), std::move(norm_pat));
  if (parts_.model) {
    id_bound_ = std::max(id_bound_, parts_.model->id_bound());
  }
}

Tokenizer::~Tokenizer() = default;

void Tokenizer::encode_text(std::string_view raw, bool at_start, Ids& out) const {
  std::string norm(raw);
  if (parts_.normalizer) parts_.normalizer->normalize(norm);
  std::vector<Segment> segs;
  if (normalized_added_->empty()) {
    if (!norm.empty()) segs.push_back(Segment{0, norm.size(), -1});
  } else {
    normalized_added_->split(norm, segs);
  }
  std::vector<PreToken> pieces;
  for (const Segment& s : segs) {
    if (s.id >= 0) {
      out.push_back(s.id);
      continue;
    }
    pieces.clear();
    pieces.push_back(PreToken{norm.substr(s.begin, s.end - s.begin), at_start && s.begin == 0});
    if (parts_.pre_tokenizer) parts_.pre_tokenizer->pre_tokenize(pieces);
    for (const PreToken& p : pieces) parts_.model->tokenize(p.text, out);
  }
}

core::Result<Ids> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  size_t bad = 0;
  if (!core::valid_utf8(text, &bad)) {
    return core::error(core::ErrorCode::kInvalidRequest,
                       "[tokenizer] text is not valid UTF-8 (bad byte at offset " + std::to_string(bad) + ")");
  }
  Ids ids;
  ids.reserve(text.size() / 3 + 4);
  std::vector<Segment> segs;
  raw_added_->split(text, segs);
  for (const Segment& s : segs) {
    if (s.id >= 0) {
      ids.push_back(s.id);
    } else {
      encode_text(text.substr(s.begin, s.end - s.begin), s.begin == 0, ids);
    }
  }
  const bool specials = options.add_special_tokens && parts_.post_processor;
  if (options.max_length > 0) {
    const size_t extra = specials ? parts_.post_processor->added_tokens() : 0;
    const size_t budget = options.max_length > extra ? options.max_length - extra : 0;
    if (ids.size() > budget) {
      if (options.truncation_side == TruncationSide::kRight) {
        ids.resize(budget);
      } else {
        ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(budget));
      }
    }
  }
  if (specials) parts_.post_processor->process(ids);
  return ids;
}

core::Result<size_t> Tokenizer::count(std::string_view text, bool add_special_tokens) const {
  NLM_ASSIGN_OR_RETURN(Ids ids, encode(text, add_special_tokens));
  return ids.size();
}

core::Result<std::string> Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    auto it = added_by_id_.find(id);
    if (it != added_by_id_.end()) {
      const AddedToken& t = parts_.added_tokens[it->second];
      if (!(skip_special_tokens && t.special)) tokens.push_back(t.content);
      continue;
    }
    const std::string* s = parts_.model->id_to_token(id);
    if (s == nullptr) {
      return core::error(core::ErrorCode::kInvalidRequest, "[tokenizer] token id " + std::to_string(id) +
                                                               " is not in the vocabulary (size " +
                                                               std::to_string(id_bound_) + ")");
    }
    tokens.push_back(*s);
  }
  if (!parts_.decoder) {
    std::string out;
    for (size_t k = 0; k < tokens.size(); ++k) {
      if (k) out.push_back(' ');
      out += tokens[k];
    }
    return out;
  }
  parts_.decoder->decode_chain(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  for (const AddedToken& t : parts_.added_tokens) {
    if (t.content == token) return t.id;
  }
  return parts_.model->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  auto it = added_by_id_.find(id);
  if (it != added_by_id_.end()) return parts_.added_tokens[it->second].content;
  const std::string* s = parts_.model->id_to_token(id);
  if (s == nullptr) return std::nullopt;
  return *s;
}

size_t Tokenizer::vocab_size() const { return id_bound_; }

bool Tokenizer::is_special(int32_t id) const {
  auto it = added_by_id_.find(id);
  return it != added_by_id_.end() && parts_.added_tokens[it->second].special;
}

size_t Tokenizer::num_special_tokens_to_add() const {
  return parts_.post_processor ? parts_.post_processor->added_tokens() : 0;
}

}  // namespace nlm::tok
