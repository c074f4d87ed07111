// sentence_bert_config.json "do_lower_case": sentence-transformers lowercases the text (prompt included)
// with Python's str.lower() before tokenizing. The lowercasing is checked against str.lower() outputs of
// CPython 3.11 (full mapping: İ -> i + U+0307; the Final_Sigma context), and end to end on a tiny BERT
// whose tokenizer does not lowercase: with the flag, "HELLO World ΣΑΣ" embeds as the ids of
// "hello world σας"; without it, the capitals are [UNK].
#include <filesystem>

#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "models/encoder_test_util.h"
#include "runtime/embed.h"
#include "runtime/tiny_bert.h"

namespace nlm::runtime {
namespace {
namespace fs = std::filesystem;
using testing::TinyBert;

TEST(LowerLikePython, MatchesCPython) {
  // (input, str.lower()) from CPython 3.11.
  const std::pair<const char*, const char*> cases[] = {
      {"HELLO World", "hello world"},
      {"\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2"},          // ΟΔΟΣ -> οδος (final sigma)
      {"\u03a3\u0391\u03a3.", "\u03c3\u03b1\u03c2."},                      // ΣΑΣ. -> σας.
      {"\u03a3", "\u03c3"},                                                // alone: not final
      {"\u0391\u03a3'\u0392", "\u03b1\u03c3'\u03b2"},                      // ' is case-ignorable: Β follows
      {"\u0391\u03a3\u00ad\u0392", "\u03b1\u03c3\u00ad\u03b2"},            // so is the soft hyphen (Cf)
      {"\u0391\u03a31", "\u03b1\u03c21"},                                  // a digit ends the word
      {"\u03a3\u03a3", "\u03c3\u03c2"},
      {"A\u0301\u03a3", "a\u0301\u03c2"},                                  // combining mark skipped
      {"\u24b6\u03a3", "\u24d0\u03c2"},                                    // Ⓐ is cased
      {"\u00aa\u03a3", "\u00aa\u03c2"},                                    // ª is cased (Other_Lowercase)
      {"\uab5c\u03a3", "\uab5c\u03c3"},                                    // ꭜ: cased but case-ignorable
      {"\u0130stanbul", "i\u0307stanbul"},                                 // İ -> i + combining dot
      {"\u1e9e STRASSE", "\u00df strasse"},                                // ẞ -> ß (no folding to ss)
      {"\u01c5 \u01c4A", "\u01c6 \u01c6a"},                                // titlecase digraphs
      {"\u216b", "\u217b"},                                                // Roman numeral Ⅻ
      {"\u00c0\u00c9\u00ce \u00d5\u00dc \u0178", "\u00e0\u00e9\u00ee \u00f5\u00fc \u00ff"},
      {"\u13da\u13a2\u13b5", "\uabaa\uab72\uab85"},                        // Cherokee
      {"", ""},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(lower_like_python(in), want) << in;
}

class DoLowerCase : public ::testing::Test {
 protected:
  std::shared_ptr<Embedder> load(bool do_lower_case) {
    testing::TinyBertOptions o;
    o.tokenizer_lowercase = false;
    o.sentence_transformers = true;
    o.do_lower_case = do_lower_case;
    const std::string d = dir_.path() + (do_lower_case ? "/lower" : "/cased");
    fs::create_directories(d);
    EXPECT_TRUE(TinyBert(o).write_folder(d));
    auto e = load_embedder(d);
    EXPECT_TRUE(e.is_ok()) << e.status().message();
    return e.is_ok() ? e.value() : nullptr;
  }
  static std::vector<float> run(const Embedder& e, const std::string& text, const EmbedOptions& o = none()) {
    std::vector<std::string> texts = {text};
    auto r = embed_texts(e, &texts, nullptr, o);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return r.is_ok() ? r->vectors[0] : std::vector<float>{};
  }
  static std::vector<float> run_ids(const Embedder& e, std::vector<int32_t> ids) {
    std::vector<std::vector<int32_t>> lists = {std::move(ids)};
    auto r = embed_texts(e, nullptr, &lists, none());
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return r.is_ok() ? r->vectors[0] : std::vector<float>{};
  }
  static EmbedOptions none() {
    EmbedOptions o;
    o.pooling = EmbedPooling::kNone;
    return o;
  }
  testing::TempDir dir_;
};

TEST_F(DoLowerCase, LowercasesTextAndPromptBeforeTokenizing) {
  auto lower = load(true);
  auto cased = load(false);
  ASSERT_TRUE(lower && cased);
  EXPECT_TRUE(lower->st.do_lower_case);
  EXPECT_FALSE(cased->st.do_lower_case);
  // hello world σας
  const std::vector<int32_t> want = {TinyBert::kCls, 18, 19, 29, TinyBert::kSep};
  const auto expected = run_ids(*lower, want);
  const auto got = run(*lower, "HELLO World \u03a3\u0391\u03a3");
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_EQ(testing::max_abs_diff(got.data(), expected.data(), got.size()), 0.0f);

  EmbedOptions prompt = none();
  prompt.prompt = "HELLO ";
  const auto with_prompt = run(*lower, "World \u03a3\u0391\u03a3", prompt);
  ASSERT_EQ(with_prompt.size(), expected.size());
  EXPECT_EQ(testing::max_abs_diff(with_prompt.data(), expected.data(), expected.size()), 0.0f);

  // Without the flag the tokenizer sees the capitals: HELLO, World and ΣΑΣ are unknown words.
  auto ids = cased->tokenizer->encode("HELLO World \u03a3\u0391\u03a3", true);
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{TinyBert::kCls, TinyBert::kUnk, TinyBert::kUnk, TinyBert::kUnk, TinyBert::kSep}));
  const auto unlowered = run(*cased, "HELLO World \u03a3\u0391\u03a3");
  const auto unk = run_ids(*cased, *ids);
  ASSERT_EQ(unlowered.size(), unk.size());
  EXPECT_EQ(testing::max_abs_diff(unlowered.data(), unk.data(), unk.size()), 0.0f);
  // Lowercase input is unaffected by the flag.
  const auto plain = run(*cased, "hello world \u03c3\u03b1\u03c2");
  ASSERT_EQ(plain.size(), expected.size());
  EXPECT_EQ(testing::max_abs_diff(plain.data(), expected.data(), expected.size()), 0.0f);
}

}  // namespace
}  // namespace nlm::runtime
