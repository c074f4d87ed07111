// A request naming a Hub id that is not cached, with `serve --allow-download`, against
// tests/hub/fake_hub.py through the real binary. `embed`: the pull's progress events (the request's id,
// "model", per file "completed" / "total", ending at the file's size) come before the final line, every
// file the engine uses is reported, the vectors equal those of the same files loaded from a local path,
// and a second request (now cached) has no events; a repository holding only a GGUF file embeds the same
// way. `generate` (and with it `chat`, which loads through the same call) streams the same events.
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "hub/fake_hub.h"
#include "models/encoder_test_util.h"
#include "runtime/tiny_bert.h"

namespace nlm::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class FirstUseDownload : public ::testing::Test {
 protected:
  std::vector<std::string> env() const {
    return {"HF_ENDPOINT=" + hub_.endpoint(), "HF_HUB_CACHE=" + cache_.path(), "HF_HOME=" + cache_.path() + "/home",
            "NLM_HUB_RETRY_BASE_MS=10", "HF_TOKEN=", "HF_HUB_OFFLINE="};
  }
  // Files of a fake-Hub repository and their sizes.
  std::map<std::string, int64_t> repo_files(const std::string& repo) const {
    std::map<std::string, int64_t> out;
    const fs::path root = hub_.repo_dir(repo);
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) out[fs::relative(e.path(), root).generic_string()] = static_cast<int64_t>(e.file_size());
    }
    return out;
  }
  // Sends `req` and returns {events, final line}.
  std::pair<std::vector<json>, json> ask(Subprocess& p, json req) {
    if (!req.contains("command")) req["command"] = "embed";
    EXPECT_TRUE(p.send(req));
    std::vector<json> events;
    while (auto line = p.read_json(std::chrono::seconds(60))) {
      if (!line->contains("event")) return {events, *line};
      events.push_back(*line);
    }
    ADD_FAILURE() << "no final line; stderr: " << p.stderr_text();
    return {events, json::object()};
  }
  // Every event is a progress event about this request and model; each file's last one is complete.
  void check_events(const std::vector<json>& events, const json& id, const std::string& model,
                    const std::map<std::string, int64_t>& files) {
    std::map<std::string, json> last;
    for (const json& e : events) {
      EXPECT_EQ(e["id"], id) << e.dump();
      EXPECT_EQ(e["event"], "progress") << e.dump();
      EXPECT_EQ(e["model"], model) << e.dump();
      ASSERT_TRUE(e["file"].is_string() && e["completed"].is_number_integer() && e["total"].is_number_integer())
          << e.dump();
      EXPECT_LE(e["completed"].get<int64_t>(), e["total"].get<int64_t>()) << e.dump();
      last[e["file"].get<std::string>()] = e;
    }
    ASSERT_EQ(last.size(), files.size());
    for (const auto& [file, size] : files) {
      ASSERT_TRUE(last.count(file)) << file;
      EXPECT_EQ(last[file]["completed"], size) << file;
      EXPECT_EQ(last[file]["total"], size) << file;
    }
  }
  static void expect_same(const json& a, const json& b) {
    ASSERT_TRUE(a.is_array() && b.is_array() && a.size() == b.size() && !a.empty());
    const auto x = a.get<std::vector<float>>(), y = b.get<std::vector<float>>();
    EXPECT_EQ(max_abs_diff(x.data(), y.data(), x.size()), 0.0f);
  }

  FakeHub hub_;
  TempDir cache_, local_;
};

TEST_F(FirstUseDownload, FirstUseStreamsPullProgress) {
  ASSERT_TRUE(hub_.ok()) << "fake_hub.py did not start";
  TinyBertOptions o;
  o.sentence_transformers = true;
  TinyBert bert(o);
  const std::string repo = "test-org/tiny-st", local = local_.path() + "/st";
  fs::create_directories(hub_.repo_dir(repo));
  fs::create_directories(local);
  ASSERT_TRUE(bert.write_folder(hub_.repo_dir(repo)));
  ASSERT_TRUE(bert.write_folder(local));
  hub_.add_file(repo, "pytorch_model.bin", std::string(100, 'p'));  // never fetched
  auto files = repo_files(repo);
  files.erase("pytorch_model.bin");
  ASSERT_EQ(files.size(), 6u);  // config, weights, tokenizer, modules, pooling, sentence_bert_config

  Subprocess p(serve_argv({"--allow-download"}), env());
  auto [events, r] = ask(p, {{"id", "first"}, {"model", repo}, {"text", "hello world"}});
  ASSERT_EQ(r["success"], true) << r.dump();
  EXPECT_EQ(r["id"], "first");
  EXPECT_EQ(r["model"], repo);
  check_events(events, "first", repo, files);
  auto [local_events, want] = ask(p, {{"id", 2}, {"model", local}, {"text", "hello world"}});
  ASSERT_EQ(want["success"], true) << want.dump();
  EXPECT_TRUE(local_events.empty());
  expect_same(r["embeddings"], want["embeddings"]);

  auto [again, r2] = ask(p, {{"id", 3}, {"model", repo}, {"text", "hello world"}});  // cached now
  ASSERT_EQ(r2["success"], true) << r2.dump();
  EXPECT_TRUE(again.empty());
  expect_same(r2["embeddings"], want["embeddings"]);
  EXPECT_EQ(hub_.body_bytes(repo + "/pytorch_model.bin"), 0);
}

TEST_F(FirstUseDownload, GgufOnlyRepository) {
  ASSERT_TRUE(hub_.ok()) << "fake_hub.py did not start";
  TinyBert bert({});
  const std::string repo = "test-org/tiny-gguf", local = local_.path() + "/tiny.gguf";
  fs::create_directories(hub_.repo_dir(repo));
  ASSERT_TRUE(bert.write_gguf(hub_.repo_dir(repo) + "/tiny-f32.gguf"));
  ASSERT_TRUE(bert.write_gguf(local));
  hub_.add_file(repo, "README.md", "# tiny\n");

  Subprocess p(serve_argv({"--allow-download"}), env());
  auto [events, r] = ask(p, {{"id", 7}, {"model", repo}, {"texts", {"hello world", "the lazy dog"}}});
  ASSERT_EQ(r["success"], true) << r.dump();
  check_events(events, 7, repo, {{"tiny-f32.gguf", static_cast<int64_t>(fs::file_size(local))}});
  EXPECT_EQ(r["pooling"], "mean");
  EXPECT_EQ(r["normalized"], true);
  auto [local_events, want] = ask(p, {{"id", 8}, {"model", local}, {"texts", {"hello world", "the lazy dog"}}});
  ASSERT_EQ(want["success"], true) << want.dump();
  EXPECT_TRUE(local_events.empty());
  for (size_t i = 0; i < 2; ++i) expect_same(r["embeddings"][i], want["embeddings"][i]);
}

TEST_F(FirstUseDownload, GenerateStreamsPullProgressToo) {
  ASSERT_TRUE(hub_.ok()) << "fake_hub.py did not start";
  const std::string repo = "test-org/stories", gguf = source_dir() + "/models/stories260K/stories260K.gguf";
  fs::create_directories(hub_.repo_dir(repo));
  fs::copy_file(gguf, hub_.repo_dir(repo) + "/stories260K.gguf");
  const json gen = {{"command", "generate"}, {"prompt", "Once upon a time"}, {"max_tokens", 12}, {"temperature", 0}};

  Subprocess p(serve_argv({"--allow-download"}), env());
  json first = gen;
  first["id"] = "g1";
  first["model"] = repo;
  auto [events, r] = ask(p, first);
  ASSERT_EQ(r["success"], true) << r.dump();
  check_events(events, "g1", repo, {{"stories260K.gguf", static_cast<int64_t>(fs::file_size(gguf))}});
  json local = gen;
  local["id"] = "g2";
  local["model"] = gguf;
  auto [local_events, want] = ask(p, local);
  ASSERT_EQ(want["success"], true) << want.dump();
  EXPECT_TRUE(local_events.empty());
  EXPECT_EQ(r["tokens"], want["tokens"]);
  EXPECT_EQ(r["text"], want["text"]);
}

}  // namespace
}  // namespace nlm::testing
