// The Precompiled normalizer and Unigram on real SentencePiece models (tests/tokenizer/spm/): two
// Unigram models trained by SentencePiece 0.1.97 (nmt_nfkc, as XLM-R; nfkc_cf with byte fallback),
// converted to tokenizer.json as Hugging Face transformers' converters do. The expected values in
// spm/expected.json were made by spm/make_fixture.py with the Hugging Face tokenizers library (its Rust
// core, npm `tokenizers`), the reference for nativelm; SentencePiece's own ids are there too and agree
// except where the two libraries differ by design (spm/README.md lists each kind of case).
#include <filesystem>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>

#include "support/subprocess.h"
#include "tokenizer/components.h"
#include "tokenizer/precompiled.h"

namespace nlm::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path spm_dir() { return fs::path(source_dir()) / "tests" / "tokenizer" / "spm"; }

const json& expected() {
  static const json j = read_json_file(spm_dir() / "expected.json");
  return j;
}

// Printable form of a case for failure messages.
std::string show(const json& text) { return text.dump(-1, ' ', true); }

TEST(PrecompiledSpm, FixtureIsComplete) {
  const json& e = expected();
  ASSERT_TRUE(e.is_object()) << "cannot read " << spm_dir() / "expected.json";
  ASSERT_GE(e["cases"].size(), 100u);
  ASSERT_EQ(e["models"].size(), 2u);
  for (const auto& [name, m] : e["models"].items()) {
    for (const char* key : {"hf_with", "hf_without", "hf_precompiled", "hf_normalized", "hf_decoded", "spm_ids"}) {
      EXPECT_EQ(m[key].size(), e["cases"].size()) << name << " " << key;
    }
  }
}

// The charsmap alone, straight through PrecompiledCharsmap, and the whole normalizer of the
// tokenizer.json (Sequence: Precompiled, Replace / Strip), against the library's normalize_str.
TEST(PrecompiledSpm, NormalizersEqualTokenizersLibrary) {
  const json& e = expected();
  ASSERT_TRUE(e.is_object());
  const json& cases = e["cases"];
  int n_checked = 0;
  for (const auto& [name, m] : e["models"].items()) {
    const json tj = read_json_file(spm_dir() / name / "tokenizer.json");
    ASSERT_TRUE(tj.is_object()) << name;
    const json& norm = tj["normalizer"];
    ASSERT_EQ(norm["normalizers"][0]["type"], "Precompiled");
    auto map = tok::PrecompiledCharsmap::from_base64(norm["normalizers"][0]["precompiled_charsmap"].get<std::string>());
    ASSERT_TRUE(map.is_ok()) << map.status().message();
    auto whole = tok::make_normalizer(norm);
    ASSERT_TRUE(whole.is_ok()) << whole.status().message();
    for (size_t k = 0; k < cases.size(); ++k) {
      const std::string text = cases[k].get<std::string>();
      EXPECT_EQ((*map)->normalize(text), m["hf_precompiled"][k].get<std::string>())
          << name << " Precompiled, case #" << k << " " << show(cases[k]);
      std::string s = text;
      (*whole)->normalize(s);
      EXPECT_EQ(s, m["hf_normalized"][k].get<std::string>())
          << name << " normalizer, case #" << k << " " << show(cases[k]);
      n_checked += 2;
    }
  }
  EXPECT_GT(n_checked, 0);
}

// Corrupt charsmaps are errors, never crashes or reads out of bounds.
TEST(PrecompiledSpm, CorruptCharsmapIsAnErrorOrHarmless) {
  const json tj = read_json_file(spm_dir() / "xlmr_nmt_nfkc" / "tokenizer.json");
  ASSERT_TRUE(tj.is_object());
  const std::string b64 = tj["normalizer"]["normalizers"][0]["precompiled_charsmap"].get<std::string>();
  EXPECT_FALSE(tok::PrecompiledCharsmap::from_base64("").is_ok());
  EXPECT_FALSE(tok::PrecompiledCharsmap::from_base64("AAAA").is_ok());       // trie size 0
  EXPECT_FALSE(tok::PrecompiledCharsmap::from_base64("/////w==").is_ok());   // trie size past the end
  EXPECT_FALSE(tok::PrecompiledCharsmap::from_base64("not base64!").is_ok());
  // Cut anywhere: loads or fails, and normalizing stays in bounds (ASan checks the reads).
  for (size_t cut : {size_t{8}, size_t{1000}, b64.size() / 2, b64.size() - 8}) {
    auto map = tok::PrecompiledCharsmap::from_base64(b64.substr(0, cut));
    if (map.is_ok()) (*map)->normalize("ｈｅｌｌｏ ﬁ ① e\xCC\x81 \xE2\x80\x8B x");
  }
}

// tokenize through `nativelm serve`, with and without special tokens, for every case and model.
TEST(PrecompiledSpm, TokenizeThroughServe) {
  const json& e = expected();
  ASSERT_TRUE(e.is_object());
  const json& cases = e["cases"];
  Subprocess p(serve_argv());
  for (const auto& [name, m] : e["models"].items()) {
    const std::string model = (spm_dir() / name).string();
    int n_equal = 0, n_spm = 0;
    for (size_t k = 0; k < cases.size(); ++k) {
      for (const bool special : {true, false}) {
        ASSERT_TRUE(p.send(
            {{"command", "tokenize"}, {"model", model}, {"text", cases[k]}, {"add_special_tokens", special}}));
        auto got = p.read_json(std::chrono::seconds(60));
        ASSERT_TRUE(got.has_value()) << "no answer; stderr: " << p.stderr_text();
        ASSERT_EQ((*got)["success"], true) << got->dump();
        const json& want = m[special ? "hf_with" : "hf_without"][k];
        if ((*got)["tokens"] != want || (*got)["count"] != want.size()) {
          ADD_FAILURE() << name << " (" << (special ? "with" : "without") << " special tokens) case #" << k << " "
                        << show(cases[k]) << "\n  nativelm:   " << (*got)["tokens"].dump()
                        << "\n  tokenizers: " << want.dump() << "\n  spm:        " << m["spm_ids"][k].dump();
          continue;
        }
        ++n_equal;
        if (!special && (*got)["tokens"] == m["spm_ids"][k]) ++n_spm;
      }
    }
    std::cerr << "[" << name << ": " << n_equal << "/" << 2 * cases.size() << " encodings equal to tokenizers; "
              << n_spm << "/" << cases.size() << " (without special tokens) also equal to SentencePiece]\n";
  }
  p.close_stdin();
  EXPECT_EQ(p.wait(), 0);
}

// detokenize through `nativelm serve`: the library's decode of its own ids (special tokens kept and
// skipped) and of SentencePiece's ids; where SentencePiece's decode gives the same text (it renders
// <unk> as " ⁇ ", the library as "<unk>"), nativelm's equals SentencePiece's too.
TEST(PrecompiledSpm, DetokenizeThroughServe) {
  const json& e = expected();
  ASSERT_TRUE(e.is_object());
  const json& cases = e["cases"];
  Subprocess p(serve_argv());
  auto detok = [&](const std::string& model, const json& ids, bool skip) -> std::string {
    if (!p.send({{"command", "detokenize"}, {"model", model}, {"tokens", ids}, {"skip_special_tokens", skip}})) {
      return "<send failed>";
    }
    auto got = p.read_json(std::chrono::seconds(60));
    if (!got || (*got)["success"] != true) return "<error " + (got ? got->dump() : p.stderr_text()) + ">";
    return (*got)["text"].get<std::string>();
  };
  for (const auto& [name, m] : e["models"].items()) {
    const std::string model = (spm_dir() / name).string();
    int n_spm = 0;
    for (size_t k = 0; k < cases.size(); ++k) {
      const std::string where = name + " case #" + std::to_string(k) + " " + show(cases[k]);
      EXPECT_EQ(detok(model, m["hf_with"][k], false), m["hf_decoded"][k].get<std::string>()) << where;
      EXPECT_EQ(detok(model, m["hf_with"][k], true), m["hf_decoded_skip"][k].get<std::string>()) << where;
      const std::string spm_ids = detok(model, m["spm_ids"][k], false);
      EXPECT_EQ(spm_ids, m["hf_decoded_spm"][k].get<std::string>()) << where << " (SentencePiece's ids)";
      if (m["spm_decoded"][k] == m["hf_decoded_spm"][k]) {
        EXPECT_EQ(spm_ids, m["spm_decoded"][k].get<std::string>()) << where;
        ++n_spm;
      }
    }
    std::cerr << "[" << name << ": decode of SentencePiece's ids equal to SentencePiece's decode on " << n_spm << "/"
              << cases.size() << " (the others differ by design: <unk> rendered as \" ⁇ \", leading spaces)]\n";
  }
  p.close_stdin();
  EXPECT_EQ(p.wait(), 0);
}

}  // namespace
}  // namespace nlm::testing
