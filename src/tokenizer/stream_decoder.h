#pragma once
// Incremental detokenization for streaming generation: feed ids one at a time, get text pieces. A piece
// never ends inside a UTF-8 character (bytes from <0xXX> / byte-level tokens wait for the rest), and
// SentencePiece's leading spaces come out right (a word-initial "▁" becomes a space except at the very
// start) — the concatenation of every piece, flush() included, equals decode() of all the ids.
//
//   tok::StreamDecoder sd(tokenizer, /*skip_special_tokens=*/true);
//   for (int32_t id : generated) { NLM_ASSIGN_OR_RETURN(std::string piece, sd.step(id)); emit(piece); }
//   NLM_ASSIGN_OR_RETURN(std::string rest, sd.flush());
#include <memory>
#include <span>
#include <string>

#include "tokenizer/tokenizer.h"

namespace nlm::tok {

class StreamDecoder {
 public:
  explicit StreamDecoder(std::shared_ptr<const Tokenizer> tokenizer, bool skip_special_tokens = false);

  // The new text that `id` completes ("" while a character or word is still incomplete).
  core::Result<std::string> step(int32_t id);
  // Continues after `context` (e.g. a prompt's ids) without emitting it: the first id then decodes as a
  // continuation, so a word-initial space it carries is kept, as it is mid-text.
  core::Status prime(std::span<const int32_t> context);
  // Whatever is still held back (an incomplete character at the end comes out as U+FFFD).
  core::Result<std::string> flush();
  void reset();

 private:
  std::shared_ptr<const Tokenizer> tk_;
  bool skip_special_;
  Ids ids_;              // the window: context ids, then ids not yet emitted
  std::string prefix_;   // decode(window's context ids)
  size_t prefix_index_ = 0;
};

}  // namespace nlm::tok
