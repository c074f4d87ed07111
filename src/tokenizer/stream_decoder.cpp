// The window algorithm of the tokenizers library's DecodeStream: decode the window with and without the
// newest ids and emit the difference once it no longer ends in U+FFFD; then slide the window so it keeps
// only the ids needed for context (decoders like Metaspace and WordPiece look at the previous token).
#include "tokenizer/stream_decoder.h"

namespace nlm::tok {
namespace {
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
bool ends_with_replacement(const std::string& s) {
  return s.size() >= kReplacement.size() && s.compare(s.size() - kReplacement.size(), kReplacement.size(), kReplacement) == 0;
}
}  // namespace

StreamDecoder::StreamDecoder(std::shared_ptr<const Tokenizer> tokenizer, bool skip_special_tokens)
    : tk_(std::move(tokenizer)), skip_special_(skip_special_tokens) {}

void StreamDecoder::reset() {
  ids_.clear();
  prefix_.clear();
  prefix_index_ = 0;
}

core::Result<std::string> StreamDecoder::step(int32_t id) {
  ids_.push_back(id);
  NLM_ASSIGN_OR_RETURN(std::string text, tk_->decode(ids_, skip_special_));
  if (text.size() <= prefix_.size() || ends_with_replacement(text)) return std::string();
  if (text.compare(0, prefix_.size(), prefix_) != 0) {
    // The context decodes differently with the new id (rare: a decoder that rewrites earlier text).
    // Emit nothing that contradicts what was sent: only what follows the common part.
    size_t common = 0;
    while (common < prefix_.size() && common < text.size() && prefix_[common] == text[common]) ++common;
    prefix_ = text.substr(0, common);
  }
  std::string piece = text.substr(prefix_.size());
  const size_t new_prefix_index = ids_.size() - prefix_index_;
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(prefix_index_));
  NLM_ASSIGN_OR_RETURN(prefix_, tk_->decode(ids_, skip_special_));
  prefix_index_ = new_prefix_index;
  return piece;
}

core::Status StreamDecoder::prime(std::span<const int32_t> context) {
  reset();
  if (context.empty()) return core::Status::ok();
  // The state step() leaves after emitting the context: the window holds its last id.
  ids_.assign(context.end() - 1, context.end());
  NLM_ASSIGN_OR_RETURN(prefix_, tk_->decode(ids_, skip_special_));
  prefix_index_ = 1;
  return core::Status::ok();
}

core::Result<std::string> StreamDecoder::flush() {
  NLM_ASSIGN_OR_RETURN(std::string text, tk_->decode(ids_, skip_special_));
  std::string rest = text.size() > prefix_.size() ? text.substr(prefix_.size()) : std::string();
  reset();
  return rest;
}

}  // namespace nlm::tok
