// Pre-tokenizers: BertPreTokenizer, Whitespace, WhitespaceSplit, ByteLevel, Metaspace, Split, Digits,
// Punctuation, Sequence. Each turns the list of pieces into a finer one.
#include <functional>

#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace nlm::tok {
namespace {

using core::ErrorCode;
using Spans = std::vector<std::pair<size_t, size_t>>;  // [begin, end) byte ranges

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Splits every piece by the matches `find` reports, with the tokenizers library's delimiter behaviors.
void split_pieces(std::vector<PreToken>& pieces, const std::function<void(std::string_view, Spans&)>& find,
                  Behavior behavior, bool invert) {
  std::vector<PreToken> out;
  out.reserve(pieces.size() * 2);
  Spans matches;
  std::vector<std::pair<std::pair<size_t, size_t>, bool>> parts;  // range, is a delimiter
  for (PreToken& p : pieces) {
    const std::string& s = p.text;
    matches.clear();
    parts.clear();
    find(s, matches);
    size_t prev = 0;
    for (auto [b, e] : matches) {
      if (b > prev) parts.push_back({{prev, b}, invert});
      parts.push_back({{b, e}, !invert});
      prev = e;
    }
    if (prev < s.size()) parts.push_back({{prev, s.size()}, invert});
    // Apply the behavior: a list of output ranges.
    Spans ranges;
    bool prev_delim = false;
    for (size_t k = 0; k < parts.size(); ++k) {
      const auto [r, delim] = parts[k];
      switch (behavior) {
        case Behavior::kRemoved:
          if (!delim) ranges.push_back(r);
          break;
        case Behavior::kIsolated:
          ranges.push_back(r);
          break;
        case Behavior::kMergedWithPrevious:
          if (delim && !ranges.empty() && !prev_delim) {
            ranges.back().second = r.second;
          } else {
            ranges.push_back(r);
          }
          break;
        case Behavior::kMergedWithNext:
          if (!delim && !ranges.empty() && prev_delim) {
            ranges.back().second = r.second;
          } else {
            ranges.push_back(r);
          }
          break;
        case Behavior::kContiguous:
          if (delim && prev_delim && !ranges.empty()) {
            ranges.back().second = r.second;
          } else {
            ranges.push_back(r);
          }
          break;
      }
      prev_delim = delim;
    }
    for (auto [b, e] : ranges) {
      if (e > b) out.push_back(PreToken{s.substr(b, e - b), p.at_start && b == 0});
    }
  }
  pieces = std::move(out);
}

// Matches made of runs of characters that satisfy `pred` (each character alone when `single`).
std::function<void(std::string_view, Spans&)> char_class_finder(bool (*pred)(char32_t), bool single) {
  return [pred, single](std::string_view s, Spans& out) {
    size_t i = 0;
    while (i < s.size()) {
      const size_t start = i;
      const char32_t c = next_cp(s, i);
      if (!pred(c)) continue;
      if (!single) {
        while (i < s.size()) {
          size_t j = i;
          if (!pred(next_cp(s, j))) break;
          i = j;
        }
      }
      out.emplace_back(start, i);
    }
  };
}

class FnPreTokenizer final : public PreTokenizer {
 public:
  explicit FnPreTokenizer(std::function<void(std::vector<PreToken>&)> fn) : fn_(std::move(fn)) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override { fn_(pieces); }

 private:
  std::function<void(std::vector<PreToken>&)> fn_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

bool is_numeric_pred(char32_t c) { return is_numeric(c); }
bool is_ws_pred(char32_t c) { return is_whitespace(c); }
bool is_punct_pred(char32_t c) { return is_bert_punctuation(c); }
bool is_word_pred(char32_t c) { return is_word_char(c); }
bool is_other_nonspace_pred(char32_t c) { return !is_word_char(c) && !is_whitespace(c); }

void bert_pre_tokenize(std::vector<PreToken>& pieces) {
  split_pieces(pieces, char_class_finder(is_ws_pred, false), Behavior::kRemoved, false);
  split_pieces(pieces, char_class_finder(is_punct_pred, true), Behavior::kIsolated, false);
}

void whitespace_pre_tokenize(std::vector<PreToken>& pieces) {  // \w+|[^\w\s]+
  split_pieces(pieces, char_class_finder(is_ws_pred, false), Behavior::kRemoved, false);
  split_pieces(pieces, char_class_finder(is_word_pred, false), Behavior::kIsolated, false);
  // A run of [^\w\s] is already isolated between word runs.
  (void)is_other_nonspace_pred;
}

void byte_level_map(std::vector<PreToken>& pieces) {
  for (PreToken& p : pieces) {
    std::string out;
    out.reserve(p.text.size() * 2);
    for (unsigned char b : p.text) out += byte_to_unicode(b);
    p.text = std::move(out);
  }
}

constexpr const char* kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

core::Result<std::unique_ptr<PreTokenizer>> make_byte_level(const Json& j) {
  const bool prefix = j.value("add_prefix_space", true);
  const bool use_regex = j.value("use_regex", true);
  std::shared_ptr<const Regex> re;
  if (use_regex) {
    NLM_ASSIGN_OR_RETURN(re, Regex::compile(kGpt2Regex));
  }
  return std::unique_ptr<PreTokenizer>(new FnPreTokenizer([prefix, re](std::vector<PreToken>& pieces) {
    if (prefix) {
      for (PreToken& p : pieces) {
        if (p.text.empty() || p.text[0] != ' ') p.text.insert(0, " ");
      }
    }
    if (re) {
      split_pieces(
          pieces, [&re](std::string_view s, Spans& out) { re->find_all(s, out); }, Behavior::kIsolated, false);
    }
    byte_level_map(pieces);
  }));
}

core::Result<std::unique_ptr<PreTokenizer>> make_metaspace(const Json& j) {
  std::string rep = j.value("replacement", "\xE2\x96\x81");
  std::string scheme = "always";
  if (j.contains("prepend_scheme") && j.at("prepend_scheme").is_string()) {
    scheme = j.at("prepend_scheme").get<std::string>();
  } else if (j.contains("add_prefix_space")) {
    scheme = j.at("add_prefix_space").get<bool>() ? "always" : "never";
  }
  const bool split = j.value("split", true);
  if (scheme != "always" && scheme != "first" && scheme != "never") {
    return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] Metaspace prepend_scheme '" + scheme + "'");
  }
  return std::unique_ptr<PreTokenizer>(new FnPreTokenizer([rep, scheme, split](std::vector<PreToken>& pieces) {
    for (PreToken& p : pieces) {
      replace_all(p.text, " ", rep);
      const bool starts = p.text.compare(0, rep.size(), rep) == 0;
      if (!starts && (scheme == "always" || (scheme == "first" && p.at_start))) p.text.insert(0, rep);
    }
    if (split) {
      split_pieces(
          pieces,
          [&rep](std::string_view s, Spans& out) {
            for (size_t pos = s.find(rep); pos != std::string_view::npos; pos = s.find(rep, pos + rep.size())) {
              out.emplace_back(pos, pos + rep.size());
            }
          },
          Behavior::kMergedWithNext, false);
    }
  }));
}

core::Result<Behavior> parse_behavior(const Json& j) {
  const std::string b = j.value("behavior", "Isolated");
  if (b == "Removed") return Behavior::kRemoved;
  if (b == "Isolated") return Behavior::kIsolated;
  if (b == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::kMergedWithNext;
  if (b == "Contiguous") return Behavior::kContiguous;
  return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] unknown split behavior '" + b + "'");
}

core::Result<std::unique_ptr<PreTokenizer>> make_split(const Json& j) {
  NLM_ASSIGN_OR_RETURN(Behavior behavior, parse_behavior(j));
  const bool invert = j.value("invert", false);
  const Json& pat = j.at("pattern");
  std::shared_ptr<const Regex> re;
  if (pat.contains("Regex")) {
    NLM_ASSIGN_OR_RETURN(re, Regex::compile(pat.at("Regex").get<std::string>()));
  } else if (pat.contains("String")) {
    NLM_ASSIGN_OR_RETURN(re, Regex::compile(regex_quote(pat.at("String").get<std::string>())));
  } else {
    return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] Split needs a Regex or String pattern");
  }
  return std::unique_ptr<PreTokenizer>(new FnPreTokenizer([re, behavior, invert](std::vector<PreToken>& pieces) {
    split_pieces(
        pieces, [&re](std::string_view s, Spans& out) { re->find_all(s, out); }, behavior, invert);
  }));
}

core::Result<std::unique_ptr<PreTokenizer>> make_typed(const Json& j, const std::string& type) {
  using P = std::unique_ptr<PreTokenizer>;
  if (type == "BertPreTokenizer") return P(new FnPreTokenizer(bert_pre_tokenize));
  if (type == "Whitespace") return P(new FnPreTokenizer(whitespace_pre_tokenize));
  if (type == "WhitespaceSplit") {
    return P(new FnPreTokenizer([](std::vector<PreToken>& p) {
      split_pieces(p, char_class_finder(is_ws_pred, false), Behavior::kRemoved, false);
    }));
  }
  if (type == "ByteLevel") return make_byte_level(j);
  if (type == "Metaspace") return make_metaspace(j);
  if (type == "Split") return make_split(j);
  if (type == "Digits") {
    const bool single = j.value("individual_digits", false);
    return P(new FnPreTokenizer([single](std::vector<PreToken>& p) {
      split_pieces(p, char_class_finder(is_numeric_pred, single), Behavior::kIsolated, false);
    }));
  }
  if (type == "Punctuation") {
    NLM_ASSIGN_OR_RETURN(Behavior behavior, parse_behavior(j));
    return P(new FnPreTokenizer([behavior](std::vector<PreToken>& p) {
      split_pieces(p, char_class_finder(is_punct_pred, true), behavior, false);
    }));
  }
  if (type == "Sequence") {
    std::vector<P> parts;
    for (const auto& n : j.at("pretokenizers")) {
      NLM_ASSIGN_OR_RETURN(auto p, make_pre_tokenizer(n));
      if (p) parts.push_back(std::move(p));
    }
    return P(new SequencePreTokenizer(std::move(parts)));
  }
  return core::error(ErrorCode::kUnsupported, "[tokenizer] pre-tokenizer type '" + type + "' is not supported");
}

}  // namespace

core::Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const Json& j) {
  if (j.is_null()) return std::unique_ptr<PreTokenizer>();
  if (!j.is_object() || !j.contains("type")) {
    return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] pre-tokenizer without a type: " + json_error_context(j));
  }
  try {
    return make_typed(j, j.at("type").get<std::string>());
  } catch (const Json::exception& e) {
    return core::error(ErrorCode::kModelLoadFailed,
                       std::string("[tokenizer] bad pre-tokenizer (") + e.what() + "): " + json_error_context(j));
  }
}

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() { return std::make_unique<FnPreTokenizer>(bert_pre_tokenize); }

core::Result<std::unique_ptr<PreTokenizer>> make_byte_level_pre_tokenizer(const std::string& regex) {
  std::vector<std::unique_ptr<PreTokenizer>> parts;
  NLM_ASSIGN_OR_RETURN(auto split, make_split(Json{{"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}}));
  parts.push_back(std::move(split));
  NLM_ASSIGN_OR_RETURN(auto bl, make_byte_level(Json{{"add_prefix_space", false}, {"use_regex", false}}));
  parts.push_back(std::move(bl));
  return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(parts)));
}

std::string gpt2_regex() { return kGpt2Regex; }

}  // namespace nlm::tok
