// Differential test against transformers.js: every text of data/hard_corpus.json, tokenized with and
// without special tokens by `nativelm serve` (the real binary, the `tokenize` command), must give the ids
// @huggingface/transformers gives for the same tokenizer.json. The oracle runs live (js/oracle.mjs) when
// its node_modules are installed (`make test` installs them), or NLM_TOK_ORACLE names its output;
// otherwise the committed data/transformers_js_golden.json (made by the same script) is used.
// Where transformers.js departs from the Hugging Face tokenizers library (e.g. its Digits pre-tokenizer
// splits ASCII digits only, the Rust one every Unicode number), the library's own ids — from its Node
// binding, in the same oracle file — settle it: nativelm must then equal those, and the case is listed.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

#include "support/subprocess.h"

namespace nlm::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path tok_dir() { return fs::path(source_dir()) / "tests" / "tokenizer"; }

// The oracle's answers: live when possible.
json oracle(std::string* origin) {
  if (const char* env = std::getenv("NLM_TOK_ORACLE")) {
    *origin = std::string("NLM_TOK_ORACLE=") + env;
    return read_json_file(env);
  }
  const fs::path js = tok_dir() / "js";
  // The sanitizer run checks the same binary logic; it reuses the golden rather than run node again.
  if (std::getenv("NLM_SANITIZED") == nullptr && fs::exists(js / "node_modules" / "@huggingface" / "transformers") && std::system("node --version >/dev/null 2>&1") == 0) {
    const fs::path out = fs::temp_directory_path() / ("nlm_tok_oracle_" + std::to_string(getpid()) + ".json");
    const std::string cmd = "node '" + (js / "oracle.mjs").string() + "' '" + shared_dir() + "/data/tokenizers' '" +
                            (tok_dir() / "data" / "hard_corpus.json").string() + "' '" + out.string() + "'";
    if (std::system(cmd.c_str()) == 0) {
      json j = read_json_file(out);
      fs::remove(out);
      *origin = "live transformers.js";
      return j;
    }
  }
  *origin = "committed golden";
  return read_json_file(tok_dir() / "data" / "transformers_js_golden.json");
}

TEST(TransformersJsDiff, HardCorpusThroughServe) {
  const fs::path tokenizers = fs::path(shared_dir()) / "data" / "tokenizers";
  if (!fs::exists(tokenizers)) GTEST_SKIP() << "no " << tokenizers;
  const json corpus = read_json_file(tok_dir() / "data" / "hard_corpus.json");
  ASSERT_TRUE(corpus.is_array());
  std::string origin;
  const json expected = oracle(&origin);
  ASSERT_TRUE(expected.is_object()) << origin;
  std::cerr << "[oracle: " << origin << " " << expected["_meta"].dump() << "]\n";

  Subprocess p(serve_argv());
  int n_checked = 0, n_failed = 0, n_settled = 0;
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    if (it.key() == "_meta") continue;
    const std::string model = (tokenizers / it.key()).string();
    for (const char* mode : {"with", "without"}) {
      const json& want = it.value()[mode];
      ASSERT_EQ(want.size(), corpus.size()) << it.key();
      for (size_t k = 0; k < corpus.size(); ++k) {
        ASSERT_TRUE(p.send({{"command", "tokenize"}, {"model", model}, {"text", corpus[k]},
                            {"add_special_tokens", std::string(mode) == "with"}}));
        auto got = p.read_json(std::chrono::seconds(60));
        ASSERT_TRUE(got.has_value()) << "no answer; stderr: " << p.stderr_text();
        ASSERT_EQ((*got)["success"], true) << got->dump();
        ++n_checked;
        const json* hf = it.value().contains(std::string("hf_") + mode) ? &it.value()[std::string("hf_") + mode] : nullptr;
        if ((*got)["tokens"] != want[k] && hf && (*hf)[k] != want[k] && (*got)["tokens"] == (*hf)[k]) {
          ++n_settled;
          std::cerr << "[transformers.js departs from tokenizers; nativelm follows tokenizers: " << it.key() << " " << mode
                    << " #" << k << " " << corpus[k].dump() << "]\n";
          continue;
        }
        if ((*got)["tokens"] != want[k] || (*got)["count"] != want[k].size()) {
          ++n_failed;
          ADD_FAILURE() << it.key() << " (" << mode << " special tokens) text #" << k << " " << corpus[k].dump()
                        << "\n  nativelm:        " << (*got)["tokens"].dump() << "\n  transformers.js: " << want[k].dump();
        }
      }
    }
  }
  p.close_stdin();
  EXPECT_EQ(p.wait(), 0);
  EXPECT_GT(n_checked, 0);
  std::cerr << "[" << n_checked - n_failed - n_settled << "/" << n_checked << " encodings equal to transformers.js, "
            << n_settled << " equal to tokenizers where transformers.js departs from it]\n";
}

}  // namespace
}  // namespace nlm::testing
