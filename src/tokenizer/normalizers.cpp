// Normalizers: BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase, StripAccents, Replace, Prepend, Strip,
// Precompiled, Sequence.
#include <functional>

#include "tokenizer/components.h"
#include "tokenizer/precompiled.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace nlm::tok {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  size_t start = 0;
  for (size_t pos; (pos = s.find(from, start)) != std::string::npos; start = pos + from.size()) {
    out.append(s, start, pos - start);
    out.append(to);
  }
  if (start == 0) return;
  out.append(s, start, std::string::npos);
  s = std::move(out);
}

std::string json_error_context(const Json& j) {
  std::string d = j.dump();
  if (d.size() > 120) d = d.substr(0, 120) + "…";
  return d;
}

namespace {

using core::ErrorCode;

core::Status bad(const Json& j, const std::string& why) {
  return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] " + why + ": " + json_error_context(j));
}

void strip_accents(std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const char32_t c = next_cp(s, i);
    if (!is_mark_nonspacing(c)) out.append(s, start, i - start);
  }
  s = std::move(out);
}

class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean, bool chinese, bool strip, bool lower)
      : clean_(clean), chinese_(chinese), strip_(strip), lower_(lower) {}
  void normalize(std::string& s) const override {
    if (clean_ || chinese_) {
      std::string out;
      out.reserve(s.size() + 8);
      for (size_t i = 0; i < s.size();) {
        const size_t start = i;
        const char32_t c = next_cp(s, i);
        if (clean_) {
          if (c == 0 || c == 0xFFFD || (c != '\t' && c != '\n' && c != '\r' && is_other(c))) continue;
          if (is_whitespace(c)) {
            out.push_back(' ');
            continue;
          }
        }
        if (chinese_ && is_cjk(c)) {
          out.push_back(' ');
          out.append(s, start, i - start);
          out.push_back(' ');
          continue;
        }
        out.append(s, start, i - start);
      }
      s = std::move(out);
    }
    if (strip_) {
      s = tok::normalize(s, NormForm::kNFD);
      strip_accents(s);
    }
    if (lower_) s = to_lower(s);
  }

 private:
  bool clean_, chinese_, strip_, lower_;
};

class FnNormalizer final : public Normalizer {
 public:
  explicit FnNormalizer(std::function<void(std::string&)> fn) : fn_(std::move(fn)) {}
  void normalize(std::string& s) const override { fn_(s); }

 private:
  std::function<void(std::string&)> fn_;
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& s) const override {
    for (const auto& p : parts_) p->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

// Replace with a regex pattern: every match becomes `content`.
void regex_replace(const Regex& re, std::string& s, const std::string& content) {
  std::vector<std::pair<size_t, size_t>> m;
  re.find_all(s, m);
  if (m.empty()) return;
  std::string out;
  size_t prev = 0;
  for (auto [b, e] : m) {
    out.append(s, prev, b - prev);
    out += content;
    prev = e;
  }
  out.append(s, prev, std::string::npos);
  s = std::move(out);
}

void strip_whitespace(std::string& s, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e) {
      size_t i = b;
      if (!is_whitespace(next_cp(s, i))) break;
      b = i;
    }
  }
  if (right) {
    while (e > b) {
      size_t start = e - 1;
      while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
      size_t i = start;
      if (!is_whitespace(next_cp(s, i))) break;
      e = start;
    }
  }
  s = s.substr(b, e - b);
}

core::Result<std::unique_ptr<Normalizer>> make_replace(const Json& j) {
  const auto& pat = j.at("pattern");
  const std::string content = j.value("content", "");
  if (pat.contains("String")) {
    std::string from = pat.at("String").get<std::string>();
    return std::unique_ptr<Normalizer>(
        new FnNormalizer([from, content](std::string& s) { replace_all(s, from, content); }));
  }
  if (pat.contains("Regex")) {
    NLM_ASSIGN_OR_RETURN(auto re, Regex::compile(pat.at("Regex").get<std::string>()));
    return std::unique_ptr<Normalizer>(
        new FnNormalizer([re, content](std::string& s) { regex_replace(*re, s, content); }));
  }
  return bad(j, "Replace needs a String or Regex pattern");
}

core::Result<std::unique_ptr<Normalizer>> make_normalizer_typed(const Json& j, const std::string& type) {
  using P = std::unique_ptr<Normalizer>;
  if (type == "BertNormalizer") {
    const bool lower = j.value("lowercase", true);
    const auto& sa = j.contains("strip_accents") ? j.at("strip_accents") : Json();
    const bool strip = sa.is_boolean() ? sa.get<bool>() : lower;
    return P(new BertNormalizer(j.value("clean_text", true), j.value("handle_chinese_chars", true), strip, lower));
  }
  if (type == "NFC") return P(new FnNormalizer([](std::string& s) { s = normalize(s, NormForm::kNFC); }));
  if (type == "NFD") return P(new FnNormalizer([](std::string& s) { s = normalize(s, NormForm::kNFD); }));
  if (type == "NFKC") return P(new FnNormalizer([](std::string& s) { s = normalize(s, NormForm::kNFKC); }));
  if (type == "NFKD") return P(new FnNormalizer([](std::string& s) { s = normalize(s, NormForm::kNFKD); }));
  if (type == "Lowercase") return P(new FnNormalizer([](std::string& s) { s = to_lower(s); }));
  if (type == "StripAccents") return P(new FnNormalizer(strip_accents));
  if (type == "Replace") return make_replace(j);
  if (type == "Prepend") {
    const std::string pre = j.at("prepend").get<std::string>();
    return P(new FnNormalizer([pre](std::string& s) {
      if (!s.empty()) s.insert(0, pre);
    }));
  }
  if (type == "Strip") {
    const bool l = j.value("strip_left", true), r = j.value("strip_right", true);
    return P(new FnNormalizer([l, r](std::string& s) { strip_whitespace(s, l, r); }));
  }
  if (type == "Precompiled") {
    const auto& cm = j.at("precompiled_charsmap");
    if (cm.is_null()) return P(new FnNormalizer([](std::string&) {}));
    NLM_ASSIGN_OR_RETURN(auto map, PrecompiledCharsmap::from_base64(cm.get<std::string>()));
    return P(new FnNormalizer([map](std::string& s) { s = map->normalize(s); }));
  }
  if (type == "Sequence") {
    std::vector<P> parts;
    for (const auto& n : j.at("normalizers")) {
      NLM_ASSIGN_OR_RETURN(auto p, make_normalizer(n));
      if (p) parts.push_back(std::move(p));
    }
    return P(new SequenceNormalizer(std::move(parts)));
  }
  return core::error(ErrorCode::kUnsupported, "[tokenizer] normalizer type '" + type + "' is not supported");
}

}  // namespace

core::Result<std::unique_ptr<Normalizer>> make_normalizer(const Json& j) {
  if (j.is_null()) return std::unique_ptr<Normalizer>();
  if (!j.is_object() || !j.contains("type")) return bad(j, "normalizer without a type");
  try {
    return make_normalizer_typed(j, j.at("type").get<std::string>());
  } catch (const Json::exception& e) {
    return bad(j, std::string("bad normalizer (") + e.what() + ")");
  }
}

std::unique_ptr<Normalizer> make_bert_normalizer(bool lowercase) {
  return std::make_unique<BertNormalizer>(true, true, lowercase, lowercase);
}

std::unique_ptr<Normalizer> make_spm_normalizer(bool add_space_prefix) {
  return std::make_unique<FnNormalizer>([add_space_prefix](std::string& s) {
    if (s.empty()) return;
    replace_all(s, " ", "\xE2\x96\x81");
    if (add_space_prefix) s.insert(0, "\xE2\x96\x81");
  });
}

}  // namespace nlm::tok
