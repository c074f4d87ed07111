// Decoders through the real binary (`nativelm serve`): fixture logits and greedy tokens, the
// stories260K reference, streaming, cancel, seeds, penalties and context limits.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "formats/safetensors.h"
#include "support/subprocess.h"

namespace nlm::testing {
namespace {
using nlohmann::json;

std::vector<std::string> serve_env() { return {"NLM_DEFAULT_MODEL_DIR=" + source_dir() + "/models"}; }

// Reads lines until the final line of request `id` (events of it are appended to *events).
std::optional<json> final_line(Subprocess& p, const json& id, std::vector<json>* events = nullptr) {
  for (;;) {
    auto line = p.read_json(std::chrono::seconds(60));
    if (!line) return std::nullopt;
    if (!line->contains("id") || (*line)["id"] != id) continue;
    if (line->contains("event")) {
      if (events) events->push_back(*line);
      continue;
    }
    return line;
  }
}

class FixtureThroughBinary : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureThroughBinary, LogitsAndGreedyTokens) {
  const std::string dir = shared_dir() + "/fixtures/" + GetParam();
  auto ref = formats::SafetensorsFile::open(dir + "/reference.safetensors");
  ASSERT_TRUE(ref.is_ok()) << ref.status().message();
  auto ids_of = [&](const char* name) {
    auto t = (*ref)->tensor(name);
    const auto* p = t->as<const int64_t>();
    return std::vector<int32_t>(p, p + t->numel());
  };
  const auto prompt = ids_of("prompt.input_ids");
  const auto seq = ids_of("generate.sequences");
  auto lt = (*ref)->tensor("prompt.logits");
  ASSERT_TRUE(lt.is_ok());
  const float* want = lt->as<const float>();

  Subprocess p(serve_argv(), serve_env());
  ASSERT_TRUE(p.send({{"command", "logits"}, {"id", 1}, {"model", dir}, {"tokens", prompt}}));
  auto got = final_line(p, 1);
  ASSERT_TRUE(got && (*got)["success"] == true) << (got ? got->dump().substr(0, 300) : p.stderr_text());
  const json& rows = (*got)["logits"];
  ASSERT_EQ(rows.size(), prompt.size());
  double scale = 0, err = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    ASSERT_EQ(rows[r].size(), 1000u);
    for (size_t v = 0; v < 1000; ++v) {
      const double ref_v = want[r * 1000 + v];
      scale = std::max(scale, std::fabs(ref_v));
      err = std::max(err, std::fabs(rows[r][v].get<double>() - ref_v));
    }
  }
  EXPECT_LT(err / scale, 1e-4) << "max abs err " << err << " scale " << scale;

  ASSERT_TRUE(p.send({{"command", "generate"}, {"id", 2}, {"model", dir}, {"prompt_tokens", prompt}, {"max_tokens", 16},
                      {"temperature", 0}}));
  got = final_line(p, 2);
  ASSERT_TRUE(got && (*got)["success"] == true) << (got ? got->dump() : p.stderr_text());
  EXPECT_EQ((*got)["tokens"].get<std::vector<int32_t>>(), std::vector<int32_t>(seq.begin() + 12, seq.end()));
  EXPECT_EQ((*got)["text"], "");  // fixtures have no tokenizer: ids only
  EXPECT_EQ((*got)["finish_reason"], "length");

  ASSERT_TRUE(p.send({{"command", "generate"}, {"id", 3}, {"model", dir}, {"prompt", "text needs a tokenizer"}}));
  got = final_line(p, 3);
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["code"], "invalid_request");
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureThroughBinary,
                         ::testing::Values("llama", "llama3_rope", "mistral", "mistral_sliding_window", "qwen2", "qwen3",
                                           "phi3", "phi3_longrope", "gemma", "gemma2"));

TEST(DefaultModelThroughBinary, Stories260KMatchesLlama2c) {
  std::ifstream in(shared_dir() + "/models/stories260K/expected.json");
  ASSERT_TRUE(in);
  const json expected = json::parse(in);
  Subprocess p(serve_argv(), serve_env());
  ASSERT_TRUE(p.send({{"command", "generate"}, {"id", "g"}, {"prompt", ""}, {"max_tokens", 200}, {"temperature", 0}}));
  auto got = final_line(p, "g");
  ASSERT_TRUE(got && (*got)["success"] == true) << (got ? got->dump() : p.stderr_text());
  EXPECT_EQ((*got)["text"], expected["expected_text"]);
  EXPECT_EQ((*got)["tokens"], expected["expected_token_ids_after_BOS"]);
}

TEST(DefaultModelThroughBinary, StreamEventsAddUpToTheFinalLine) {
  Subprocess p(serve_argv(), serve_env());
  ASSERT_TRUE(p.send({{"command", "generate"}, {"id", 5}, {"prompt", "Once upon"}, {"max_tokens", 40},
                      {"temperature", 0.9}, {"seed", 3}, {"stream", true}, {"stop", {"park"}}}));
  std::vector<json> events;
  auto got = final_line(p, 5, &events);
  ASSERT_TRUE(got && (*got)["success"] == true);
  std::string text;
  std::vector<int32_t> tokens;
  for (const json& e : events) {
    EXPECT_EQ(e["event"], "token");
    text += e["text"].get<std::string>();
    if (e.contains("token")) tokens.push_back(e["token"].get<int32_t>());
  }
  EXPECT_EQ(text, (*got)["text"]);
  EXPECT_EQ(tokens, (*got)["tokens"].get<std::vector<int32_t>>());
  EXPECT_EQ((*got)["text"].get<std::string>().find("park"), std::string::npos);
}

TEST(DefaultModelThroughBinary, SameSeedSameOutput) {
  Subprocess p(serve_argv(), serve_env());
  std::map<int, std::string> text;
  const int seeds[] = {11, 11, 12};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(p.send({{"command", "generate"}, {"id", i}, {"prompt", "Once upon a time"}, {"max_tokens", 40},
                        {"temperature", 1.0}, {"top_k", 0}, {"top_p", 1.0}, {"min_p", 0}, {"seed", seeds[i]}}));
    auto got = final_line(p, i);
    ASSERT_TRUE(got && (*got)["success"] == true);
    EXPECT_EQ((*got)["seed"], seeds[i]);
    text[i] = (*got)["text"];
  }
  EXPECT_EQ(text[0], text[1]);
  EXPECT_NE(text[0], text[2]);
}

// Greedy with presence / frequency / repeat penalties equals argmax of the logits command's rows
// after the penalties are applied here by hand.
TEST(DefaultModelThroughBinary, PenaltiesMatchHandAppliedLogits) {
  Subprocess p(serve_argv(), serve_env());
  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 432};
  const double presence = 0.7, frequency = 0.4, repeat = 1.3;
  const int window = 8;
  ASSERT_TRUE(p.send({{"command", "generate"}, {"id", "pen"}, {"prompt_tokens", prompt}, {"max_tokens", 10},
                      {"temperature", 0}, {"presence_penalty", presence}, {"frequency_penalty", frequency},
                      {"repeat_penalty", repeat}, {"penalty_last_n", window}}));
  auto got = final_line(p, "pen");
  ASSERT_TRUE(got && (*got)["success"] == true);
  const auto generated = (*got)["tokens"].get<std::vector<int32_t>>();
  ASSERT_EQ(generated.size(), 10u);
  std::vector<int32_t> ctx = prompt;
  for (size_t step = 0; step < generated.size(); ++step) {
    ASSERT_TRUE(p.send({{"command", "logits"}, {"id", "l"}, {"tokens", ctx}, {"last_only", true}}));
    auto l = final_line(p, "l");
    ASSERT_TRUE(l && (*l)["success"] == true);
    auto row = (*l)["logits"][0].get<std::vector<double>>();
    std::map<int32_t, int> counts;
    for (size_t i = ctx.size() - std::min<size_t>(ctx.size(), window); i < ctx.size(); ++i) ++counts[ctx[i]];
    for (auto [t, c] : counts) {
      double& v = row[static_cast<size_t>(t)];
      v = v > 0 ? v / repeat : v * repeat;
      v -= presence + frequency * c;
    }
    const auto best = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    EXPECT_EQ(generated[step], best) << "step " << step;
    ctx.push_back(generated[step]);
  }
}

TEST(DefaultModelThroughBinary, CancelStopsAtTheNextToken) {
  Subprocess p(serve_argv(), serve_env());
  ASSERT_TRUE(p.send({{"command", "generate"}, {"id", "long"}, {"prompt", ""}, {"max_tokens", 2000},
                      {"temperature", 0.8}, {"ignore_eos", true}, {"stream", true}}));
  auto first = p.read_json(std::chrono::seconds(60));
  ASSERT_TRUE(first && (*first)["event"] == "token") << (first ? first->dump() : p.stderr_text());
  ASSERT_TRUE(p.send({{"command", "cancel"}, {"id", "c"}, {"target", "long"}}));
  bool cancel_answered = false;
  std::optional<json> fin;
  while (!fin || !cancel_answered) {
    auto line = p.read_json(std::chrono::seconds(60));
    ASSERT_TRUE(line.has_value());
    if ((*line)["id"] == "c") {
      EXPECT_EQ((*line)["cancelled"], true);
      cancel_answered = true;
    } else if ((*line)["id"] == "long" && !line->contains("event")) {
      fin = line;
    }
  }
  EXPECT_EQ((*fin)["success"], true);
  EXPECT_EQ((*fin)["finish_reason"], "cancelled");
  EXPECT_LT((*fin)["usage"]["completion_tokens"].get<int>(), 2000);
  ASSERT_TRUE(p.send({{"command", "status"}, {"id", "st"}}));
  auto st = final_line(p, "st");
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)["kv_cache"]["bytes"], 0);  // freed
}

TEST(DefaultModelThroughBinary, PromptLongerThanTheContext) {
  Subprocess p(serve_argv(), serve_env());
  std::vector<int32_t> prompt(2048, 300);
  prompt[0] = 1;
  ASSERT_TRUE(p.send({{"command", "generate"}, {"id", 1}, {"prompt_tokens", prompt}, {"max_tokens", 1}}));
  auto got = final_line(p, 1);
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["code"], "input_too_long");
  EXPECT_NE((*got)["error"].get<std::string>().find("2048"), std::string::npos);
  prompt.push_back(5);
  ASSERT_TRUE(p.send({{"command", "logits"}, {"id", 2}, {"tokens", prompt}, {"last_only", true}}));
  got = final_line(p, 2);
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)["code"], "input_too_long");
}

}  // namespace
}  // namespace nlm::testing

namespace nlm::testing {
namespace {

// chat with the plain fallback equals generate on BOS + the message content + "\n".
TEST(DefaultModelThroughBinary, ChatPlainFallbackEqualsGenerate) {
  Subprocess p(serve_argv(), serve_env());
  ASSERT_TRUE(p.send({{"command", "tokenize"}, {"id", "t"}, {"text", "Once upon a time\n"}}));
  auto t = final_line(p, "t");
  ASSERT_TRUE(t && (*t)["success"] == true) << (t ? t->dump() : p.stderr_text());
  ASSERT_TRUE(p.send({{"command", "generate"}, {"id", "g"}, {"prompt_tokens", (*t)["tokens"]}, {"max_tokens", 12},
                      {"temperature", 0}}));
  auto g = final_line(p, "g");
  ASSERT_TRUE(p.send({{"command", "chat"}, {"id", "c"},
                      {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
                      {"max_tokens", 12}, {"temperature", 0}}));
  auto c = final_line(p, "c");
  ASSERT_TRUE(g && c && (*c)["success"] == true) << (c ? c->dump() : p.stderr_text());
  EXPECT_EQ((*c)["tokens"], (*g)["tokens"]);
  EXPECT_EQ((*c)["message"]["content"], (*g)["text"]);
  EXPECT_EQ((*c)["message"]["role"], "assistant");
}

}  // namespace
}  // namespace nlm::testing
