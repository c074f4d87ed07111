// llama.cpp's tokenizer test vectors (made with the Hugging Face tokenizers library): every input of
// ../shared/data/vocab-vectors must give exactly the listed ids (without BOS/EOS), from the GGUF
// vocabularies and from the tokenizer.json files of the same models.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "support/subprocess.h"
#include "tokenizer/tokenizer.h"

namespace nlm::tok {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_inputs(const std::string& s) {
  static const std::string kSep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t pos; (pos = s.find(kSep, start)) != std::string::npos; start = pos + kSep.size()) {
    out.push_back(s.substr(start, pos - start));
  }
  if (start < s.size()) out.push_back(s.substr(start));  // the file ends with a separator
  return out;
}

std::vector<Ids> read_outputs(const fs::path& p) {
  std::vector<Ids> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    Ids ids;
    for (int32_t v; ls >> v;) ids.push_back(v);
    out.push_back(std::move(ids));
  }
  return out;
}

struct Suite {
  const char* name;       // ggml-vocab-<name>.gguf.{inp,out}
  const char* tokenizer;  // relative to shared/data: a .gguf or a tokenizer folder
};

class VocabVectors : public ::testing::TestWithParam<Suite> {};

TEST_P(VocabVectors, AllCasesMatch) {
  const fs::path data = fs::path(testing::shared_dir()) / "data";
  const Suite s = GetParam();
  const fs::path base = data / "vocab-vectors" / (std::string("ggml-vocab-") + s.name + ".gguf");
  if (!fs::exists(base.string() + ".inp")) GTEST_SKIP() << "no vectors at " << base;
  auto tk = load_tokenizer((data / s.tokenizer).string());
  ASSERT_TRUE(tk.is_ok()) << tk.status().message();
  const auto inputs = split_inputs(slurp(base.string() + ".inp"));
  const auto outputs = read_outputs(base.string() + ".out");
  ASSERT_GE(outputs.size(), inputs.size());
  int failures = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    auto ids = (*tk)->encode(inputs[k], false);
    ASSERT_TRUE(ids.is_ok()) << ids.status().message();
    if (*ids != outputs[k]) {
      ++failures;
      std::ostringstream got;
      for (int32_t v : *ids) got << ' ' << v;
      std::ostringstream want;
      for (int32_t v : outputs[k]) want << ' ' << v;
      ADD_FAILURE() << s.name << " case " << k << " input '" << inputs[k] << "'\n  got: " << got.str()
                    << "\n want: " << want.str();
    }
  }
  EXPECT_EQ(failures, 0) << "of " << inputs.size() << " cases";
}

INSTANTIATE_TEST_SUITE_P(
    Shared, VocabVectors,
    ::testing::Values(Suite{"bert-bge", "vocab-vectors/ggml-vocab-bert-bge.gguf"},
                      Suite{"llama-spm", "vocab-vectors/ggml-vocab-llama-spm.gguf"},
                      Suite{"phi-3", "vocab-vectors/ggml-vocab-phi-3.gguf"},
                      Suite{"gpt-2", "vocab-vectors/ggml-vocab-gpt-2.gguf"},
                      Suite{"qwen2", "tokenizers/Qwen2.5-0.5B-Instruct"},
                      Suite{"deepseek-r1-qwen", "tokenizers/Qwen2.5-0.5B-Instruct"},
                      Suite{"llama-bpe", "tokenizers/Llama-3.2"}),
    [](const ::testing::TestParamInfo<Suite>& info) {
      std::string n = info.param.name;
      for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

}  // namespace
}  // namespace nlm::tok
