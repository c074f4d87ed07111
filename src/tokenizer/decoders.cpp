// Decoders: WordPiece, ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, BPEDecoder, Sequence.
// Each rewrites the list of token strings; the tokenizer joins what is left.
#include <functional>

#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "core/utf8.h"
#include "tokenizer/unicode.h"

namespace nlm::tok {
namespace {

using core::ErrorCode;
using Tokens = std::vector<std::string>;

class FnDecoder final : public Decoder {
 public:
  explicit FnDecoder(std::function<void(Tokens&)> fn) : fn_(std::move(fn)) {}
  void decode_chain(Tokens& t) const override { fn_(t); }

 private:
  std::function<void(Tokens&)> fn_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  void decode_chain(Tokens& t) const override {
    for (const auto& p : parts_) p->decode_chain(t);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

void wordpiece_cleanup(std::string& s) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},   {" ?", "?"},    {" !", "!"},   {" ,", ","},   {" ' ", "'"},     {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) replace_all(s, from, to);
}

void wordpiece_decode(Tokens& t, const std::string& prefix, bool cleanup) {
  for (size_t i = 0; i < t.size(); ++i) {
    if (i != 0) {
      if (t[i].compare(0, prefix.size(), prefix) == 0) {
        t[i].erase(0, prefix.size());
      } else {
        t[i] = " " + t[i];
      }
    }
    if (cleanup) wordpiece_cleanup(t[i]);
  }
}

void byte_level_decode(Tokens& t) {
  std::string bytes;
  for (const std::string& tok : t) {
    const size_t mark = bytes.size();
    bool ok = true;
    for (size_t i = 0; i < tok.size() && ok;) {
      const int b = unicode_to_byte(next_cp(tok, i));
      if (b < 0) {
        ok = false;
      } else {
        bytes.push_back(static_cast<char>(b));
      }
    }
    if (!ok) {
      bytes.resize(mark);
      bytes += tok;
    }
  }
  t.assign(1, utf8_lossy(bytes));
}

int byte_token_value(const std::string& s) {
  if (s.size() != 6 || s.compare(0, 3, "<0x") != 0 || s[5] != '>') return -1;
  int v = 0;
  for (int k = 3; k < 5; ++k) {
    const char c = s[k];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

void byte_fallback_decode(Tokens& t) {
  Tokens out;
  std::string pending;
  size_t n_pending = 0;
  auto flush = [&]() {
    if (n_pending == 0) return;
    if (core::valid_utf8(pending)) {
      out.push_back(pending);
    } else {
      std::string r;
      for (size_t k = 0; k < n_pending; ++k) r += "\xEF\xBF\xBD";
      out.push_back(r);
    }
    pending.clear();
    n_pending = 0;
  };
  for (std::string& tok : t) {
    const int b = byte_token_value(tok);
    if (b >= 0) {
      pending.push_back(static_cast<char>(b));
      ++n_pending;
      continue;
    }
    flush();
    out.push_back(std::move(tok));
  }
  flush();
  t = std::move(out);
}

void strip_decode(Tokens& t, char32_t content, size_t start, size_t stop) {
  std::string c;
  append_utf8(c, content);
  for (std::string& tok : t) {
    for (size_t k = 0; k < start && tok.compare(0, c.size(), c) == 0; ++k) tok.erase(0, c.size());
    for (size_t k = 0; k < stop && tok.size() >= c.size() && tok.compare(tok.size() - c.size(), c.size(), c) == 0; ++k) {
      tok.erase(tok.size() - c.size());
    }
  }
}

core::Result<std::unique_ptr<Decoder>> make_replace(const Json& j) {
  const Json& pat = j.at("pattern");
  const std::string content = j.value("content", "");
  if (pat.contains("String")) {
    const std::string from = pat.at("String").get<std::string>();
    return std::unique_ptr<Decoder>(new FnDecoder([from, content](Tokens& t) {
      for (auto& s : t) replace_all(s, from, content);
    }));
  }
  if (!pat.contains("Regex")) return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] Replace decoder pattern");
  NLM_ASSIGN_OR_RETURN(auto re, Regex::compile(pat.at("Regex").get<std::string>()));
  return std::unique_ptr<Decoder>(new FnDecoder([re, content](Tokens& t) {
    std::vector<std::pair<size_t, size_t>> m;
    for (auto& s : t) {
      m.clear();
      re->find_all(s, m);
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
  }));
}

core::Result<std::unique_ptr<Decoder>> make_metaspace(const Json& j) {
  const std::string rep = j.value("replacement", "\xE2\x96\x81");
  bool strip_first = true;
  if (j.contains("prepend_scheme") && j.at("prepend_scheme").is_string()) {
    strip_first = j.at("prepend_scheme").get<std::string>() != "never";
  } else if (j.contains("add_prefix_space")) {
    strip_first = j.at("add_prefix_space").get<bool>();
  }
  return std::unique_ptr<Decoder>(new FnDecoder([rep, strip_first](Tokens& t) {
    for (size_t i = 0; i < t.size(); ++i) replace_all(t[i], rep, i == 0 && strip_first ? "" : " ");
  }));
}

core::Result<std::unique_ptr<Decoder>> make_typed(const Json& j, const std::string& type) {
  using P = std::unique_ptr<Decoder>;
  if (type == "WordPiece") return make_wordpiece_decoder(j.value("prefix", "##"), j.value("cleanup", true));
  if (type == "ByteLevel") return make_byte_level_decoder();
  if (type == "Metaspace") return make_metaspace(j);
  if (type == "ByteFallback") return P(new FnDecoder(byte_fallback_decode));
  if (type == "Fuse") {
    return P(new FnDecoder([](Tokens& t) {
      std::string all;
      for (auto& s : t) all += s;
      t.assign(1, std::move(all));
    }));
  }
  if (type == "Strip") {
    const std::string content = j.value("content", " ");
    size_t i = 0;
    const char32_t c = content.empty() ? U' ' : next_cp(content, i);
    const size_t start = j.value("start", size_t{0}), stop = j.value("stop", size_t{0});
    return P(new FnDecoder([c, start, stop](Tokens& t) { strip_decode(t, c, start, stop); }));
  }
  if (type == "Replace") return make_replace(j);
  if (type == "BPEDecoder") {
    const std::string suffix = j.value("suffix", "</w>");
    return P(new FnDecoder([suffix](Tokens& t) {
      for (size_t i = 0; i < t.size(); ++i) replace_all(t[i], suffix, i + 1 == t.size() ? "" : " ");
    }));
  }
  if (type == "Sequence") {
    std::vector<P> parts;
    for (const auto& d : j.at("decoders")) {
      NLM_ASSIGN_OR_RETURN(auto p, make_decoder(d));
      if (p) parts.push_back(std::move(p));
    }
    return P(new SequenceDecoder(std::move(parts)));
  }
  return core::error(ErrorCode::kUnsupported, "[tokenizer] decoder type '" + type + "' is not supported");
}

}  // namespace

core::Result<std::unique_ptr<Decoder>> make_decoder(const Json& j) {
  if (j.is_null()) return std::unique_ptr<Decoder>();
  try {
    return make_typed(j, j.at("type").get<std::string>());
  } catch (const Json::exception& e) {
    return core::error(ErrorCode::kModelLoadFailed,
                       std::string("[tokenizer] bad decoder (") + e.what() + "): " + json_error_context(j));
  }
}

std::unique_ptr<Decoder> make_byte_level_decoder() { return std::make_unique<FnDecoder>(byte_level_decode); }

std::unique_ptr<Decoder> make_wordpiece_decoder(const std::string& prefix, bool cleanup) {
  return std::make_unique<FnDecoder>([prefix, cleanup](Tokens& t) { wordpiece_decode(t, prefix, cleanup); });
}

std::unique_ptr<Decoder> make_spm_decoder(bool strip_leading_space) {
  return std::make_unique<FnDecoder>([strip_leading_space](Tokens& t) {
    for (auto& s : t) replace_all(s, "\xE2\x96\x81", " ");
    byte_fallback_decode(t);
    std::string all;
    for (auto& s : t) all += s;
    if (strip_leading_space && !all.empty() && all[0] == ' ') all.erase(0, 1);
    t.assign(1, std::move(all));
  });
}

}  // namespace nlm::tok
