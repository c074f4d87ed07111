// Replays every tests/protocol/*.jsonl transcript against the real binary.
//
// Transcript lines (one JSON object each):
//   {"send": <object>}            the object, serialized, as one request line
//   {"send_raw": "<text>"}        the text as one line, byte for byte (malformed JSON and the like)
//   {"send_hex": "<hex>"}         raw bytes (no newline added), e.g. invalid UTF-8
//   {"expect": <pattern>}         the next output line matches (support/subprocess.h: json_matches)
//   {"expect_unordered": [p…]}   the next N lines match the N patterns in some order
//   {"close_stdin": true}         end of input
//   {"exit": <code>}              the process exits with this code
//   {"args": [...]} (first line)  extra `serve` arguments
//   {"comment": "…"}              ignored
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/subprocess.h"

namespace nlm::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::vector<fs::path> transcripts() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(source_dir()) / "tests" / "protocol")) {
    if (e.path().extension() == ".jsonl") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Replay : public ::testing::TestWithParam<fs::path> {};

TEST_P(Replay, Transcript) {
  std::ifstream in(GetParam());
  ASSERT_TRUE(in) << GetParam();
  std::vector<json> steps;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json step = json::parse(line, nullptr, false);
    ASSERT_FALSE(step.is_discarded()) << "bad transcript line: " << line;
    steps.push_back(step);
  }
  std::vector<std::string> extra;
  if (!steps.empty() && steps[0].contains("args")) {
    for (auto& a : steps[0]["args"]) extra.push_back(a.get<std::string>());
  }
  Subprocess p(serve_argv(extra), {"NLM_DEFAULT_MODEL_DIR=" + source_dir() + "/models"});
  int n = 0;
  for (const json& step : steps) {
    ++n;
    SCOPED_TRACE("step " + std::to_string(n) + ": " + step.dump().substr(0, 300));
    if (step.contains("send")) {
      ASSERT_TRUE(p.send(step["send"]));
    } else if (step.contains("send_raw")) {
      ASSERT_TRUE(p.write_line(step["send_raw"].get<std::string>()));
    } else if (step.contains("send_hex")) {
      ASSERT_TRUE(p.write(unhex(step["send_hex"].get<std::string>())));
    } else if (step.contains("expect")) {
      auto got = p.read_json();
      ASSERT_TRUE(got.has_value()) << "no output line; stderr: " << p.stderr_text();
      std::string why;
      EXPECT_TRUE(json_matches(step["expect"], *got, &why)) << why;
    } else if (step.contains("expect_unordered")) {
      std::vector<json> pending(step["expect_unordered"].begin(), step["expect_unordered"].end());
      while (!pending.empty()) {
        auto got = p.read_json();
        ASSERT_TRUE(got.has_value()) << "no output line; stderr: " << p.stderr_text();
        bool matched = false;
        for (size_t i = 0; i < pending.size() && !matched; ++i) {
          std::string why;
          if (json_matches(pending[i], *got, &why)) {
            pending.erase(pending.begin() + static_cast<long>(i));
            matched = true;
          }
        }
        ASSERT_TRUE(matched) << "unexpected line " << got->dump();
      }
    } else if (step.contains("close_stdin")) {
      p.close_stdin();
    } else if (step.contains("exit")) {
      EXPECT_EQ(p.wait(), step["exit"].get<int>());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Protocol, Replay, ::testing::ValuesIn(transcripts()),
                         [](const ::testing::TestParamInfo<fs::path>& info) {
                           std::string name = info.param.stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace nlm::testing
