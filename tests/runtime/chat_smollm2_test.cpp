// `chat` with SmolLM2's real tokenizer and chat template (tests/data/tokenizers/SmolLM2-135M-Instruct)
// on a random-weight SmolLM2-shaped Llama written here, through the real binary (`nativelm serve`):
// streams token events and stops at <|im_end|> (issue #7).
//
// How the weights make <|im_end|> reachable (d = hidden size 64, V = 49152, k = kDim):
// - Every embedding row is +1 on dimension k and uniform noise of s.d. 0.02 elsewhere; the row of "\n"
//   (the last prompt token, after "<|im_start|>assistant") carries `newline_dim` on k instead. Layer
//   weights have s.d. 0.01, so the blocks add only ~0.01 per dimension to the residual stream h, whose
//   last position is h_k ≈ ±1, Σ_{j≠k} h_j² ≈ 63 · 0.02² + … ≈ 0.03. The final RMSNorm (weight 1) maps it
//   to x = sqrt(d) · h / |h|: x_k ≈ ±8 / sqrt(1.03) ≈ ±7.9, and Σ_{j≠k} x_j² = d − x_k² ≈ 2.
// - lm_head (untied) rows are noise of s.d. 0.02 with 0 on k, except the row of <|im_end|>, which is
//   alpha · e_k. Hence logit(<|im_end|>) = alpha · x_k and every other logit is ε with s.d.
//   0.02 · sqrt(2) ≈ 0.03, so at temperature 1 with no truncation
//     p(<|im_end|>) = e^(alpha·x_k) / (e^(alpha·x_k) + Σ_{v≠im_end} e^ε_v) ≈ e^(alpha·x_k) / (e^(alpha·x_k) + 49151).
// - Sampled model: alpha = 1.2, newline_dim = −1. After "\n", alpha · x_k ≈ −9.5: p ≈ e^−9.5 / 49151 ≈ 2e−9,
//   so the first token is never <|im_end|> (≥ 1 streamed token). After any other token, alpha · x_k ≈ +9.5:
//   p ≈ 13400 / (13400 + 49151) ≈ 0.21, so generation stops after ~5 tokens; P(no stop within 63 steps)
//   ≈ 0.79^63 ≈ 4e−7. ImEndProbabilityIsAsDesigned checks both probabilities with the `logits` command.
// - Greedy model: alpha = 2, newline_dim = +1: <|im_end|> leads every other logit by ~16 at the first step.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "formats/test_writers.h"
#include "support/subprocess.h"

namespace nlm::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kVocab = 49152, kHidden = 64, kLayers = 2, kHeads = 4, kKvHeads = 2, kInter = 128;
constexpr int64_t kHeadDim = kHidden / kHeads;
constexpr int32_t kEndOfText = 0, kImStart = 1, kImEnd = 2, kNewline = 198;  // ids in SmolLM2's vocabulary
constexpr int64_t kDim = 5;                                                  // the dimension k above
constexpr float kEmbedNoise = 0.02f, kLayerNoise = 0.01f, kHeadNoise = 0.02f;
constexpr int kMaxTokens = 64;

std::string smollm2_dir() { return source_dir() + "/tests/data/tokenizers/SmolLM2-135M-Instruct"; }

// Uniform noise with a given standard deviation from splitmix64 (same numbers on every platform).
class Noise {
 public:
  explicit Noise(uint64_t seed) : s_(seed) {}
  float operator()(float sd) {
    s_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = s_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const double u = static_cast<double>(z >> 11) * 0x1.0p-53;  // [0, 1)
    return static_cast<float>((2 * u - 1) * std::sqrt(3.0) * sd);
  }

 private:
  uint64_t s_;
};

struct Spec {
  float alpha;                    // lm_head row of <|im_end|> = alpha · e_k
  float newline_dim;              // embedding of "\n" on dimension k (every other row: +1)
  int32_t eos_token_id;           // config.json (SmolLM2: 2 = <|im_end|>)
  bool generation_config;         // SmolLM2's generation_config.json (bos 1, eos 2, pad 2)
  std::string tokenizer_eos;      // tokenizer_config.json "eos_token" (SmolLM2: <|im_end|>)
};

void write_weights(const std::string& path, const Spec& spec) {
  Noise noise(20241126);
  auto matrix = [&](int64_t rows, int64_t cols, float sd) {
    std::vector<float> m(static_cast<size_t>(rows * cols));
    for (float& x : m) x = noise(sd);
    return m;
  };
  SafetensorsWriter w;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v) {
    w.add(name, "F32", std::move(shape), raw_bytes(v));
  };
  std::vector<float> embed = matrix(kVocab, kHidden, kEmbedNoise);  // [vocab, hidden]
  for (int64_t v = 0; v < kVocab; ++v) embed[static_cast<size_t>(v * kHidden + kDim)] = 1.f;
  embed[static_cast<size_t>(kNewline * kHidden + kDim)] = spec.newline_dim;
  std::vector<float> head = matrix(kVocab, kHidden, kHeadNoise);  // [vocab, hidden]
  for (int64_t v = 0; v < kVocab; ++v) head[static_cast<size_t>(v * kHidden + kDim)] = 0.f;
  for (int64_t j = 0; j < kHidden; ++j) head[static_cast<size_t>(kImEnd * kHidden + j)] = j == kDim ? spec.alpha : 0.f;
  add("model.embed_tokens.weight", {kVocab, kHidden}, embed);
  add("lm_head.weight", {kVocab, kHidden}, head);
  const std::vector<float> ones(static_cast<size_t>(kHidden), 1.f);
  add("model.norm.weight", {kHidden}, ones);
  const int64_t qd = kHeads * kHeadDim, kvd = kKvHeads * kHeadDim;
  for (int64_t il = 0; il < kLayers; ++il) {
    const std::string p = "model.layers." + std::to_string(il) + ".";
    add(p + "input_layernorm.weight", {kHidden}, ones);
    add(p + "post_attention_layernorm.weight", {kHidden}, ones);
    add(p + "self_attn.q_proj.weight", {qd, kHidden}, matrix(qd, kHidden, kLayerNoise));
    add(p + "self_attn.k_proj.weight", {kvd, kHidden}, matrix(kvd, kHidden, kLayerNoise));
    add(p + "self_attn.v_proj.weight", {kvd, kHidden}, matrix(kvd, kHidden, kLayerNoise));
    add(p + "self_attn.o_proj.weight", {kHidden, qd}, matrix(kHidden, qd, kLayerNoise));
    add(p + "mlp.gate_proj.weight", {kInter, kHidden}, matrix(kInter, kHidden, kLayerNoise));
    add(p + "mlp.up_proj.weight", {kInter, kHidden}, matrix(kInter, kHidden, kLayerNoise));
    add(p + "mlp.down_proj.weight", {kHidden, kInter}, matrix(kHidden, kInter, kLayerNoise));
  }
  ASSERT_TRUE(w.write(path));
}

// A Hugging Face folder: SmolLM2-135M-Instruct's config.json with the sizes made tiny (and the head
// untied), the real tokenizer files, the weights above.
void write_model(const std::string& dir, const Spec& spec) {
  ASSERT_TRUE(fs::create_directories(dir));
  const json config = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", kVocab},
                       {"hidden_size", kHidden}, {"intermediate_size", kInter}, {"num_hidden_layers", kLayers},
                       {"num_attention_heads", kHeads}, {"num_key_value_heads", kKvHeads}, {"hidden_act", "silu"},
                       {"max_position_embeddings", 8192}, {"rms_norm_eps", 1e-5}, {"rope_theta", 100000.0},
                       {"rope_scaling", nullptr}, {"attention_bias", false}, {"bos_token_id", kImStart},
                       {"eos_token_id", spec.eos_token_id}, {"pad_token_id", kImEnd},
                       {"tie_word_embeddings", false}, {"torch_dtype", "float32"}};
  ASSERT_TRUE(write_file(dir + "/config.json", config.dump(2)));
  if (spec.generation_config) {
    const json g = {{"bos_token_id", kImStart}, {"eos_token_id", kImEnd}, {"pad_token_id", kImEnd}};
    ASSERT_TRUE(write_file(dir + "/generation_config.json", g.dump(2)));
  }
  fs::copy_file(smollm2_dir() + "/tokenizer.json", dir + "/tokenizer.json");
  std::ifstream in(smollm2_dir() + "/tokenizer_config.json");
  ASSERT_TRUE(in);
  json tc = json::parse(in);
  tc["eos_token"] = spec.tokenizer_eos;
  ASSERT_TRUE(write_file(dir + "/tokenizer_config.json", tc.dump(2)));
  write_weights(dir + "/model.safetensors", spec);
}

class ChatSmolLM2 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<TempDir>();
    ASSERT_FALSE(tmp_->path().empty());
    write_model(sampled(), {1.2f, -1.f, kImEnd, true, "<|im_end|>"});
    write_model(greedy(), {2.f, 1.f, kImEnd, true, "<|im_end|>"});
    // Same weights; <|endoftext|> is the only EOS of config.json and tokenizer_config.json, so only the
    // template's end-of-turn marker can stop `chat` at <|im_end|>.
    write_model(template_stop(), {1.2f, -1.f, kEndOfText, false, "<|endoftext|>"});
    // One server for the suite: each process loads SmolLM2's tokenizer.json (3.5 MB) once per folder.
    server_ = std::make_unique<Subprocess>(serve_argv());
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }
  static void TearDownTestSuite() {
    server_.reset();
    tmp_.reset();
  }
  static std::string sampled() { return tmp_->file("sampled"); }
  static std::string greedy() { return tmp_->file("greedy"); }
  static std::string template_stop() { return tmp_->file("template_stop"); }

  static inline std::unique_ptr<TempDir> tmp_;
  static inline std::unique_ptr<Subprocess> server_;
};

const json kMessages = {{{"role", "system"}, {"content", "You are a terse assistant."}},
                        {{"role", "user"}, {"content", "Say hi to the test, please."}}};
// SmolLM2's template (tokenizer_config.json "chat_template") rendered by hand, generation prompt added.
const std::string kRendered =
    "<|im_start|>system\nYou are a terse assistant.<|im_end|>\n"
    "<|im_start|>user\nSay hi to the test, please.<|im_end|>\n"
    "<|im_start|>assistant\n";

json sampling(int seed) { return {{"temperature", 1}, {"top_k", 0}, {"top_p", 1}, {"min_p", 0}, {"seed", seed}}; }

json request(const char* command, const json& id, const std::string& model, json fields) {
  json r = {{"command", command}, {"id", id}, {"model", model}};
  r.update(fields);
  return r;
}

struct Answer {
  std::vector<json> events;
  json final;
};

// The lines of request `id` up to its final line; nothing else is in flight, so every line is its.
Answer answer(Subprocess& p, const json& id) {
  Answer a;
  for (;;) {
    auto line = p.read_json(std::chrono::seconds(120));
    if (!line) {
      ADD_FAILURE() << "no final line for " << id << "; stderr: " << p.stderr_text()
                    << "; exit code " << p.wait(std::chrono::seconds(5));
      return a;
    }
    EXPECT_EQ(line->value("id", json()), id) << line->dump().substr(0, 300);
    if (line->contains("event")) {
      a.events.push_back(*line);
      continue;
    }
    EXPECT_EQ((*line)["success"], true) << line->dump().substr(0, 300);
    a.final = std::move(*line);
    return a;
  }
}

// The prompt ids `chat` uses for kMessages: the render tokenized without added special tokens.
std::vector<int32_t> prompt_ids(Subprocess& p, const std::string& model) {
  p.send(request("tokenize", "tok", model, {{"text", kRendered}, {"add_special_tokens", false}}));
  Answer a = answer(p, "tok");
  if (!a.final.contains("tokens")) return {};
  return a.final["tokens"].get<std::vector<int32_t>>();
}

// Softmax probability of `id` in the last logits row of `tokens` (temperature 1).
double p_token(Subprocess& p, const std::string& model, const std::vector<int32_t>& tokens, int32_t id) {
  p.send(request("logits", "lg", model, {{"tokens", tokens}, {"last_only", true}}));
  Answer a = answer(p, "lg");
  if (!a.final.contains("logits")) return -1;
  const auto row = a.final["logits"][0].get<std::vector<double>>();
  if (row.size() != static_cast<size_t>(kVocab)) return -1;
  const double mx = *std::max_element(row.begin(), row.end());
  double z = 0;
  for (double v : row) z += std::exp(v - mx);
  return std::exp(row[static_cast<size_t>(id)] - mx) / z;
}

TEST_F(ChatSmolLM2, ApplyTemplateAndTokenizeMatchSmolLM2) {
  Subprocess& p = *server_;
  p.send(request("apply_template", "at", sampled(), {{"messages", kMessages}, {"add_generation_prompt", true}}));
  Answer a = answer(p, "at");
  EXPECT_EQ(a.final["prompt"], kRendered);
  EXPECT_NE(std::find(a.final["stop"].begin(), a.final["stop"].end(), "<|im_end|>"), a.final["stop"].end());
  // No system message: the template supplies SmolLM2's own.
  p.send(request("apply_template", "at2", sampled(),
                 {{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"add_generation_prompt", true}}));
  a = answer(p, "at2");
  EXPECT_EQ(a.final["prompt"],
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");

  const std::vector<int32_t> ids = prompt_ids(p, sampled());
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), kImStart), 3);  // the markers are single added tokens
  EXPECT_EQ(std::count(ids.begin(), ids.end(), kImEnd), 2);
  EXPECT_EQ(ids.front(), kImStart);
  EXPECT_EQ(ids.back(), kNewline);  // the weights rely on it (see the top of the file)
}

// The construction above holds: <|im_end|> is out of reach right after the prompt, ~0.2 after a token.
TEST_F(ChatSmolLM2, ImEndProbabilityIsAsDesigned) {
  Subprocess& p = *server_;
  std::vector<int32_t> ids = prompt_ids(p, sampled());
  ASSERT_FALSE(ids.empty());
  EXPECT_LT(p_token(p, sampled(), ids, kImEnd), 1e-6);
  for (int32_t next : {4000, 33000}) {
    ids.push_back(next);
    const double pr = p_token(p, sampled(), ids, kImEnd);
    EXPECT_GT(pr, 0.1) << "after token " << next;
    EXPECT_LT(pr, 0.35) << "after token " << next;
  }
}

TEST_F(ChatSmolLM2, SampledChatStreamsAndStopsAtImEnd) {
  Subprocess& p = *server_;
  const std::vector<int32_t> ids = prompt_ids(p, sampled());
  ASSERT_FALSE(ids.empty());
  json fields = sampling(7);
  fields.update({{"messages", kMessages}, {"stream", true}, {"max_tokens", kMaxTokens}});
  p.send(request("chat", "c1", sampled(), fields));
  const Answer a = answer(p, "c1");
  const json& f = a.final;
  ASSERT_TRUE(f.contains("tokens")) << f.dump().substr(0, 300);
  EXPECT_EQ(f["done"], true);
  EXPECT_EQ(f["finish_reason"], "stop");
  const auto tokens = f["tokens"].get<std::vector<int32_t>>();
  EXPECT_GE(tokens.size(), 1u);
  EXPECT_LT(f["usage"]["completion_tokens"].get<int>(), kMaxTokens);
  EXPECT_EQ(f["usage"]["completion_tokens"], tokens.size());
  EXPECT_EQ(f["usage"]["prompt_tokens"], ids.size());
  EXPECT_EQ(std::count(tokens.begin(), tokens.end(), kImEnd), 0);

  ASSERT_GE(a.events.size(), 1u);
  std::string streamed;
  std::vector<int32_t> streamed_ids;
  for (const json& e : a.events) {
    EXPECT_EQ(e["event"], "token");
    streamed += e["text"].get<std::string>();
    if (e.contains("token")) streamed_ids.push_back(e["token"].get<int32_t>());
  }
  const std::string text = f["text"];
  EXPECT_EQ(streamed, text);
  EXPECT_EQ(streamed_ids, tokens);
  EXPECT_EQ(text.find("<|im_end|>"), std::string::npos);
  EXPECT_EQ(f["message"], json({{"role", "assistant"}, {"content", text}}));

  // The same draw without EOS handling: the chat's tokens, then <|im_end|> exactly where chat stopped.
  fields = sampling(7);
  fields.update({{"prompt_tokens", ids}, {"max_tokens", tokens.size() + 1}, {"ignore_eos", true}});
  p.send(request("generate", "g1", sampled(), fields));
  const Answer g = answer(p, "g1");
  std::vector<int32_t> want = tokens;
  want.push_back(kImEnd);
  EXPECT_EQ(g.final["tokens"], want);
}

// With <|endoftext|> as the model's only EOS, `chat` still stops at <|im_end|> (the template's
// end-of-turn marker) where `generate` on the same prompt and seed goes on.
TEST_F(ChatSmolLM2, TemplateEndOfTurnStopsChat) {
  Subprocess& p = *server_;
  const std::vector<int32_t> ids = prompt_ids(p, sampled());  // the same tokenizer files
  ASSERT_FALSE(ids.empty());
  json fields = sampling(7);
  fields.update({{"messages", kMessages}, {"max_tokens", kMaxTokens}});
  p.send(request("chat", "c2", template_stop(), fields));
  const Answer c = answer(p, "c2");
  ASSERT_TRUE(c.final.contains("tokens"));
  EXPECT_EQ(c.final["finish_reason"], "stop");
  const auto tokens = c.final["tokens"].get<std::vector<int32_t>>();
  EXPECT_LT(tokens.size(), static_cast<size_t>(kMaxTokens));
  EXPECT_EQ(c.final["message"]["content"].get<std::string>().find("<|im_end|>"), std::string::npos);

  fields = sampling(7);
  fields.update({{"prompt_tokens", ids}, {"max_tokens", tokens.size() + 1}});
  p.send(request("generate", "g2", template_stop(), fields));
  const Answer g = answer(p, "g2");
  std::vector<int32_t> want = tokens;
  want.push_back(kImEnd);
  EXPECT_EQ(g.final["tokens"], want);
  EXPECT_EQ(g.final["finish_reason"], "length");
}

TEST_F(ChatSmolLM2, GreedyStopsAtImEndFirst) {
  Subprocess& p = *server_;
  p.send(request("chat", "c3", greedy(),
                 {{"messages", kMessages}, {"stream", true}, {"temperature", 0}, {"max_tokens", kMaxTokens}}));
  const Answer a = answer(p, "c3");
  EXPECT_TRUE(a.events.empty());
  EXPECT_EQ(a.final["finish_reason"], "stop");
  EXPECT_EQ(a.final["text"], "");
  EXPECT_EQ(a.final["tokens"], json::array());
  EXPECT_EQ(a.final["usage"]["completion_tokens"], 0);
  EXPECT_EQ(a.final["message"], json({{"role", "assistant"}, {"content", ""}}));
}

}  // namespace
}  // namespace nlm::testing
