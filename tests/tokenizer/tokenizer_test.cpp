// Unit tests of the pipeline pieces on small tokenizers written here, with expectations from the
// Hugging Face tokenizers documentation and hand computation; and properties over the real tokenizers:
// byte-level round trip, streaming = one-shot decode, truncation, invalid input.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/utf8.h"
#include "support/subprocess.h"
#include "tokenizer/regex.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace nlm::tok {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::shared_ptr<Tokenizer> from_json(const json& j) {
  auto r = tokenizer_from_json(j.dump());
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? r.value() : nullptr;
}

std::shared_ptr<Tokenizer> word_level(const std::vector<std::string>& words, const json& pre, const json& norm = nullptr) {
  json vocab = json::object();
  vocab["<unk>"] = 0;
  for (size_t k = 0; k < words.size(); ++k) vocab[words[k]] = static_cast<int>(k + 1);
  return from_json({{"model", {{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", "<unk>"}}},
                    {"pre_tokenizer", pre},
                    {"normalizer", norm}});
}

std::vector<std::string> as_tokens(const Tokenizer& tk, const std::string& text) {
  auto ids = tk.encode(text, false);
  EXPECT_TRUE(ids.is_ok()) << ids.status().message();
  std::vector<std::string> out;
  if (!ids.is_ok()) return out;
  for (int32_t id : *ids) out.push_back(tk.id_to_token(id).value_or("?"));
  return out;
}

using V = std::vector<std::string>;

TEST(SplitBehavior, DocumentedExamples) {
  // tokenizers' SplitDelimiterBehavior documentation: "the-final--countdown" split on "-".
  const V words = {"the", "final", "countdown", "-", "--", "the-", "final-", "-final", "-countdown"};
  const std::string text = "the-final--countdown";
  auto split = [&](const char* behavior) {
    return word_level(words, {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", false}});
  };
  EXPECT_EQ(as_tokens(*split("Removed"), text), (V{"the", "final", "countdown"}));
  EXPECT_EQ(as_tokens(*split("Isolated"), text), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(as_tokens(*split("MergedWithPrevious"), text), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(as_tokens(*split("MergedWithNext"), text), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(as_tokens(*split("Contiguous"), text), (V{"the", "-", "final", "--", "countdown"}));
}

TEST(SplitBehavior, InvertKeepsMatches) {
  auto tk = word_level({"Hey", "friend", "!"}, {{"type", "Split"}, {"pattern", {{"Regex", "\\w+|[^\\w\\s]+"}}},
                                                {"behavior", "Removed"}, {"invert", true}});
  EXPECT_EQ(as_tokens(*tk, "Hey friend!  "), (V{"Hey", "friend", "!"}));
}

TEST(PreTokenizers, DigitsWhitespacePunctuationBert) {
  auto digits = word_level({"Call", "123", "1", "2", "3", " please", "Call "}, {{"type", "Digits"}, {"individual_digits", false}});
  EXPECT_EQ(as_tokens(*digits, "Call 123 please"), (V{"Call ", "123", " please"}));
  auto single = word_level({"1", "2", "3", "a"}, {{"type", "Digits"}, {"individual_digits", true}});
  EXPECT_EQ(as_tokens(*single, "a123"), (V{"a", "1", "2", "3"}));
  auto ws = word_level({"Hey", "friend", "!", "!?!"}, {{"type", "Whitespace"}});
  EXPECT_EQ(as_tokens(*ws, "Hey friend!?! "), (V{"Hey", "friend", "!?!"}));
  auto wss = word_level({"Hey", "friend!"}, {{"type", "WhitespaceSplit"}});
  EXPECT_EQ(as_tokens(*wss, " Hey\tfriend!\n"), (V{"Hey", "friend!"}));
  auto bert = word_level({"Hey", "friend", "!", "你", "好"}, {{"type", "BertPreTokenizer"}},
                         {{"type", "BertNormalizer"}, {"lowercase", false}});
  EXPECT_EQ(as_tokens(*bert, "Hey friend!你好"), (V{"Hey", "friend", "!", "你", "好"}));
}

TEST(PreTokenizers, MetaspacePrependSchemes) {
  const V words = {"\xE2\x96\x81Hey", "\xE2\x96\x81" "friend", "Hey", "<s>"};
  auto make = [&](const char* scheme) {
    json j = {{"model", {{"type", "WordLevel"}, {"vocab", {{"<unk>", 0}}}, {"unk_token", "<unk>"}}},
              {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", scheme}, {"split", true}}},
              {"added_tokens", {{{"id", 10}, {"content", "<s>"}, {"special", true}, {"normalized", false}}}}};
    for (size_t k = 0; k < words.size(); ++k) j["model"]["vocab"][words[k]] = static_cast<int>(k + 1);
    return from_json(j);
  };
  EXPECT_EQ(as_tokens(*make("always"), "Hey friend"), (V{"\xE2\x96\x81Hey", "\xE2\x96\x81" "friend"}));
  EXPECT_EQ(as_tokens(*make("never"), "Hey friend"), (V{"Hey", "\xE2\x96\x81" "friend"}));
  EXPECT_EQ(as_tokens(*make("first"), "Hey friend"), (V{"\xE2\x96\x81Hey", "\xE2\x96\x81" "friend"}));
  // After an added token the text does not start the input: "first" adds no ▁, "always" does.
  EXPECT_EQ(as_tokens(*make("first"), "<s>Hey"), (V{"<s>", "Hey"}));
  EXPECT_EQ(as_tokens(*make("always"), "<s>Hey"), (V{"<s>", "\xE2\x96\x81Hey"}));
}

TEST(Normalizers, Basics) {
  auto check = [](const json& norm, const std::string& text, const std::string& want) {
    auto tk = word_level({want}, nullptr, norm);
    auto ids = tk->encode(text, false);
    ASSERT_TRUE(ids.is_ok());
    EXPECT_EQ(*ids, (Ids{1})) << norm.dump() << " on '" << text << "'";
  };
  check({{"type", "Lowercase"}}, "HeLLo İ", "hello i\xCC\x87");
  check({{"type", "NFD"}}, "\xC3\xA9", "e\xCC\x81");
  check({{"type", "NFC"}}, "e\xCC\x81", "\xC3\xA9");
  check({{"type", "NFKC"}}, "\xEF\xAC\x81", "fi");
  check({{"type", "Sequence"}, {"normalizers", {{{"type", "NFD"}}, {{"type", "StripAccents"}}}}}, "caf\xC3\xA9", "cafe");
  check({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "_"}}, "a b  c", "a_b__c");
  check({{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}}, "a \t\n b", "a b");
  check({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}, "hi", "\xE2\x96\x81hi");
  check({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, " \t hi \n", "hi");
  check({{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true}, {"strip_accents", nullptr},
         {"lowercase", true}},
        "H\xC3\xA9llo\x01\t", "hello ");
}

TEST(Unigram, ViterbiAndUnknowns) {
  // Hand-computed: "abc" → ab (-1.5) + c (-3) beats a + b + c (-6); "d" has no piece: <unk>, scored
  // min - 10; with byte_fallback its byte piece instead.
  json vocab = json::array({json::array({"<unk>", 0.0}), json::array({"a", -1.0}), json::array({"b", -2.0}),
                            json::array({"ab", -1.5}), json::array({"c", -3.0}), json::array({"<0x64>", -4.0})});
  auto tk = from_json({{"model", {{"type", "Unigram"}, {"vocab", vocab}, {"unk_id", 0}}}});
  EXPECT_EQ(*tk->encode("abc", false), (Ids{3, 4}));
  EXPECT_EQ(*tk->encode("abdd", false), (Ids{3, 0}));  // consecutive unknowns fuse
  auto fb = from_json({{"model", {{"type", "Unigram"}, {"vocab", vocab}, {"unk_id", 0}, {"byte_fallback", true}}}});
  EXPECT_EQ(*fb->encode("abd", false), (Ids{3, 5}));
}

TEST(Bpe, MergesAsStringsOrPairsAndByteFallback) {
  json vocab = {{"<unk>", 0}, {"a", 1}, {"b", 2}, {"ab", 3}, {"abb", 4}, {"<0xC3>", 5}, {"<0xA9>", 6}};
  for (const json& merges : {json::array({"a b", "ab b"}), json::array({json::array({"a", "b"}), json::array({"ab", "b"})})}) {
    auto tk = from_json({{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"byte_fallback", true},
                                    {"unk_token", "<unk>"}}},
                         {"decoder", {{"type", "Sequence"}, {"decoders", {{{"type", "ByteFallback"}}, {{"type", "Fuse"}}}}}}});
    EXPECT_EQ(*tk->encode("abba", false), (Ids{4, 1}));
    EXPECT_EQ(*tk->encode("a\xC3\xA9", false), (Ids{1, 5, 6}));
    EXPECT_EQ(*tk->decode(Ids{1, 5, 6}), "a\xC3\xA9");
    EXPECT_EQ(*tk->decode(Ids{1, 5}), "a\xEF\xBF\xBD");  // an incomplete byte sequence: one U+FFFD per byte
  }
}

TEST(Regex, WhitespaceIsUnicodeWhiteSpace) {
  auto re = Regex::compile("\\s+|[^\\s]+");
  ASSERT_TRUE(re.is_ok());
  std::vector<std::pair<size_t, size_t>> m;
  const std::string text = "a\xC2\x85" "b\xE1\xA0\x8E" "c";  // NEL is White_Space; U+180E is not
  (*re)->find_all(text, m);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[1], (std::pair<size_t, size_t>{1, 3}));
  EXPECT_EQ(m[2].first, 3u);
}

fs::path shared_tokenizer(const std::string& name) { return fs::path(testing::shared_dir()) / "data" / "tokenizers" / name; }

std::vector<std::string> hard_corpus() {
  std::ifstream in(fs::path(testing::source_dir()) / "tests/tokenizer/data/hard_corpus.json");
  return json::parse(in).get<std::vector<std::string>>();
}

std::shared_ptr<Tokenizer> load_or_skip(const fs::path& p) {
  if (!fs::exists(p)) return nullptr;
  auto r = load_tokenizer(p.string());
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? r.value() : nullptr;
}

TEST(ByteLevel, DecodeOfEncodeIsIdentity) {
  const fs::path gguf = fs::path(testing::shared_dir()) / "data/vocab-vectors/ggml-vocab-gpt-2.gguf";
  for (const fs::path& p : {shared_tokenizer("Llama-3.2"), shared_tokenizer("SmolLM2-135M-Instruct"), gguf}) {
    auto tk = load_or_skip(p);
    if (!tk) continue;
    for (const std::string& text : hard_corpus()) {
      auto ids = tk->encode(text, false);
      ASSERT_TRUE(ids.is_ok());
      EXPECT_EQ(*tk->decode(*ids), text) << p;
    }
  }
}

TEST(StreamDecoder, EqualsOneShotDecode) {
  const fs::path data = fs::path(testing::shared_dir()) / "data";
  for (const fs::path& p : {shared_tokenizer("Llama-3.2"), shared_tokenizer("all-MiniLM-L6-v2"),
                            data / "vocab-vectors/ggml-vocab-llama-spm.gguf", data / "vocab-vectors/ggml-vocab-bert-bge.gguf"}) {
    auto tk = load_or_skip(p);
    if (!tk) continue;
    for (bool skip : {false, true}) {
      for (const std::string& text : hard_corpus()) {
        auto ids = tk->encode(text, true);
        ASSERT_TRUE(ids.is_ok());
        StreamDecoder sd(tk, skip);
        std::string streamed;
        for (int32_t id : *ids) {
          auto piece = sd.step(id);
          ASSERT_TRUE(piece.is_ok());
          EXPECT_TRUE(core::valid_utf8(*piece)) << "half a character emitted for " << p;
          streamed += *piece;
        }
        streamed += *sd.flush();
        EXPECT_EQ(streamed, *tk->decode(*ids, skip)) << p << " text " << json(text).dump();
      }
    }
  }
}

TEST(StreamDecoder, SentencePieceSpacesAndSplitCharacters) {
  auto tk = load_or_skip(fs::path(testing::shared_dir()) / "data/vocab-vectors/ggml-vocab-llama-spm.gguf");
  if (!tk) GTEST_SKIP();
  // "Hello world" → ▁Hello ▁world: the first space is the prefix SentencePiece added, the second is real.
  StreamDecoder sd(tk);
  std::vector<std::string> got;
  const Ids ids = *tk->encode("Hello world 🦙", false);
  for (int32_t id : ids) got.push_back(*sd.step(id));
  got.push_back(*sd.flush());
  EXPECT_EQ(got.front(), "Hello");
  EXPECT_EQ(got[1], " world");
  std::string all;
  for (const auto& s : got) all += s;
  EXPECT_EQ(all, "Hello world 🦙");
  // 🦙 is four byte tokens: nothing comes out until the last one.
  const size_t n = got.size();
  EXPECT_EQ(got[n - 2], "\xF0\x9F\xA6\x99");
  EXPECT_EQ(got[n - 3], "");
}

// A reply streamed after a prompt: the decoder is primed with the prompt's ids, so the reply's first
// word keeps its space — the pieces are exactly what decoding prompt + reply adds to the prompt's text.
TEST(StreamDecoder, PrimedWithPromptContinuesIt) {
  const fs::path data = fs::path(testing::shared_dir()) / "data";
  for (const fs::path& p : {data / "vocab-vectors/ggml-vocab-llama-spm.gguf", shared_tokenizer("Llama-3.2")}) {
    auto tk = load_or_skip(p);
    if (!tk) continue;
    // The prompt is the first ids of the whole text, up to and including the one that ends "a".
    const Ids all = *tk->encode("Once upon a time there was 🦙 a llama", true);
    size_t cut = 1;
    while (cut < all.size() && tk->decode(Ids(all.begin(), all.begin() + static_cast<long>(cut)), true).value() != "Once upon a") ++cut;
    ASSERT_LT(cut, all.size()) << p;
    const Ids prompt(all.begin(), all.begin() + static_cast<long>(cut)), reply(all.begin() + static_cast<long>(cut), all.end());
    const std::string prompt_text = *tk->decode(prompt, true), all_text = *tk->decode(all, true);
    ASSERT_EQ(all_text.compare(0, prompt_text.size(), prompt_text), 0) << p;
    StreamDecoder sd(tk, /*skip_special_tokens=*/true);
    ASSERT_TRUE(sd.prime(prompt).is_ok());
    std::string streamed;
    std::vector<std::string> pieces;
    for (int32_t id : reply) pieces.push_back(*sd.step(id));
    pieces.push_back(*sd.flush());
    for (const auto& piece : pieces) streamed += piece;
    EXPECT_EQ(streamed, all_text.substr(prompt_text.size())) << p;
    EXPECT_EQ(streamed.substr(0, 5), " time") << p << ": the first word keeps its space";
    EXPECT_EQ(pieces.front(), " time") << p;
  }
}

TEST(Encode, TruncationKeepsSpecialTokens) {
  auto tk = load_or_skip(shared_tokenizer("all-MiniLM-L6-v2"));
  if (!tk) GTEST_SKIP();
  const Ids full = *tk->encode("one two three four five", true);  // [CLS] one two three four five [SEP]
  ASSERT_EQ(full.size(), 7u);
  EncodeOptions o;
  o.max_length = 4;
  EXPECT_EQ(*tk->encode("one two three four five", o), (Ids{full[0], full[1], full[2], full[6]}));
  o.truncation_side = TruncationSide::kLeft;
  EXPECT_EQ(*tk->encode("one two three four five", o), (Ids{full[0], full[4], full[5], full[6]}));
  o.add_special_tokens = false;
  EXPECT_EQ(*tk->encode("one two three four five", o), (Ids{full[2], full[3], full[4], full[5]}));
  EXPECT_EQ(*tk->count("one two three four five"), 7u);
}

TEST(Encode, InvalidUtf8IsAClearError) {
  auto tk = load_or_skip(shared_tokenizer("all-MiniLM-L6-v2"));
  if (!tk) GTEST_SKIP();
  for (const std::string& bad : {std::string("ab\xC3"), std::string("\xFF"), std::string("a\xED\xA0\x80z"),
                                std::string("\xC0\xAF")}) {
    auto r = tk->encode(bad);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), core::ErrorCode::kInvalidRequest);
    EXPECT_NE(r.status().message().find("UTF-8"), std::string::npos);
  }
  auto d = tk->decode(Ids{1u << 30});
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().code(), core::ErrorCode::kInvalidRequest);
}

TEST(Load, BadFilesAreErrorsNotCrashes) {
  EXPECT_EQ(load_tokenizer("/nonexistent/x").status().code(), core::ErrorCode::kModelNotFound);
  EXPECT_FALSE(tokenizer_from_json("{").is_ok());
  EXPECT_FALSE(tokenizer_from_json("[]").is_ok());
  EXPECT_FALSE(tokenizer_from_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})").is_ok());
  EXPECT_FALSE(tokenizer_from_json(R"({"model": {"type": "Nope"}})").is_ok());
  EXPECT_FALSE(tokenizer_from_json(R"({"model": {"type": "WordLevel", "vocab": {"a": 0}},
                                      "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("}}})")
                   .is_ok());
}

}  // namespace
}  // namespace nlm::tok
