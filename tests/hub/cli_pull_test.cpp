// The real binary against tests/hub/fake_hub.py: `nativelm pull` killed mid-file and resumed, the token
// kept out of logs, the protocol's pull / models / delete, `list` and `rm`.
#include <csignal>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "hub/hash.h"
#include "fake_hub.h"

namespace nlm::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kRepo = "test-org/tiny-bert";

class HubCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(hub_.ok()) << "fake_hub.py did not start";
    const fs::path bert = fs::path(shared_dir()) / "fixtures" / "bert";
    hub_.copy_file(kRepo, "config.json", bert / "config.json");
    hub_.copy_file(kRepo, "model.safetensors", bert / "model.safetensors");
    hub_.add_file(kRepo, "pytorch_model.bin", std::string(1000, 'p'));
  }

  std::vector<std::string> env(std::vector<std::string> extra = {}) const {
    std::vector<std::string> e = {"HF_ENDPOINT=" + hub_.endpoint(), "HF_HUB_CACHE=" + cache_.path(),
                                  "HF_HOME=" + cache_.path() + "/home", "NLM_HUB_RETRY_BASE_MS=10",
                                  "OLLAMA_MODELS=" + cache_.path() + "/ollama", "HF_TOKEN="};
    e.insert(e.end(), extra.begin(), extra.end());
    return e;
  }
  fs::path repo_cache() const { return fs::path(cache_.path()) / "models--test-org--tiny-bert"; }
  std::string weights() const { return read_file(fs::path(hub_.repo_dir(kRepo)) / "model.safetensors"); }

  // Runs `nativelm <args>` to completion; returns the exit code, fills stdout / stderr.
  int run(std::vector<std::string> args, std::string* out, std::string* err, std::vector<std::string> extra_env = {}) {
    args.insert(args.begin(), binary_path());
    Subprocess p(args, env(extra_env));
    std::string o;
    while (auto line = p.read_line(std::chrono::seconds(60))) o += *line + "\n";
    const int code = p.wait(std::chrono::seconds(60));
    if (out) *out = o;
    if (err) *err = p.stderr_text();
    return code;
  }

  FakeHub hub_;
  TempDir cache_;
};

TEST_F(HubCli, KilledMidFileResumesWithoutRefetching) {
  const std::string key = std::string(kRepo) + "/model.safetensors";
  constexpr int64_t kCut = 300000;
  hub_.control({{"stall", {{key, kCut}}}});
  {
    Subprocess p({binary_path(), "pull", kRepo}, env());
    const fs::path part = repo_cache() / "blobs" / (hub::sha256_hex(weights()) + ".incomplete");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::error_code ec;
    while (!(fs::exists(part, ec) && static_cast<int64_t>(fs::file_size(part, ec)) == kCut) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(static_cast<int64_t>(fs::file_size(part, ec)), kCut) << p.stderr_text();
    p.signal(SIGKILL);
    EXPECT_EQ(p.wait(), 128 + SIGKILL);
  }
  EXPECT_FALSE(fs::exists(repo_cache() / "snapshots")) << "a half-downloaded model must not be loadable";
  EXPECT_FALSE(fs::exists(repo_cache() / "refs"));
  hub_.reset();
  std::string out, err;
  ASSERT_EQ(run({"pull", kRepo}, &out, &err), 0) << err;
  const std::string snapshot = out.substr(0, out.find('\n'));
  EXPECT_EQ(read_file(fs::path(snapshot) / "model.safetensors"), weights());
  EXPECT_EQ(hub_.body_bytes(key), static_cast<int64_t>(weights().size()) - kCut);
  EXPECT_NE(err.find("resuming"), std::string::npos) << err;
}

TEST_F(HubCli, TokenNeverAppearsInLogs) {
  const std::string token = "hf_SECRETtoken1234567890";
  hub_.control({{"token", {{kRepo, "hf_other"}}}});
  std::string out, err;
  EXPECT_EQ(run({"pull", kRepo, "--log-level", "debug"}, &out, &err, {"HF_TOKEN=" + token}), 1);
  EXPECT_NE(err.find("401"), std::string::npos) << err;
  EXPECT_EQ(err.find(token), std::string::npos) << err;
  hub_.control({{"token", {{kRepo, token}}}});
  EXPECT_EQ(run({"pull", kRepo, "--log-level", "debug"}, &out, &err, {"HF_TOKEN=" + token}), 0) << err;
  EXPECT_NE(err.find("[hub] GET"), std::string::npos) << "debug logging was on: " << err;
  EXPECT_EQ(err.find(token), std::string::npos) << err;
  EXPECT_EQ(out.find(token), std::string::npos) << out;
}

TEST_F(HubCli, PlainProgressLinesWhenNotATerminal) {
  std::string out, err;
  ASSERT_EQ(run({"pull", std::string(kRepo) + "@main"}, &out, &err), 0) << err;
  EXPECT_NE(err.find("downloading model.safetensors"), std::string::npos) << err;
  EXPECT_NE(err.find("done config.json"), std::string::npos) << err;
  EXPECT_EQ(err.find('\r'), std::string::npos);
  EXPECT_EQ(run({"pull", "../etc/passwd"}, &out, &err), 2);
  EXPECT_EQ(run({"pull", "test-org/absent"}, &out, &err), 1);
  EXPECT_NE(err.find("404"), std::string::npos) << err;
}

TEST_F(HubCli, ProtocolPullModelsDelete) {
  Subprocess p(serve_argv(), env());
  ASSERT_TRUE(p.send({{"command", "pull"}, {"id", 1}, {"model", kRepo}, {"revision", "main"}}));
  std::set<std::string> finished;
  json final_line;
  for (;;) {
    auto line = p.read_json(std::chrono::seconds(60));
    ASSERT_TRUE(line) << p.stderr_text();
    ASSERT_EQ((*line)["id"], 1) << line->dump();
    if (line->contains("event")) {
      EXPECT_EQ((*line)["event"], "progress");
      std::string why;
      EXPECT_TRUE(json_matches({{"file", "$string"}, {"completed", "$number"}, {"total", "$number"}}, *line, &why)) << why;
      if ((*line)["completed"] == (*line)["total"]) finished.insert((*line)["file"].get<std::string>());
      continue;
    }
    final_line = *line;
    break;
  }
  ASSERT_EQ(final_line["success"], true) << final_line.dump();
  EXPECT_EQ(finished, (std::set<std::string>{"config.json", "model.safetensors"}));
  const std::string commit = hub_.commit_of(kRepo);
  EXPECT_EQ(final_line["commit"], commit);
  EXPECT_EQ(final_line["path"], (repo_cache() / "snapshots" / commit).string());
  EXPECT_EQ(final_line["files"].size(), 2u);
  EXPECT_EQ(final_line["downloaded_bytes"].get<int64_t>(),
            static_cast<int64_t>(weights().size() + read_file(fs::path(hub_.repo_dir(kRepo)) / "config.json").size()));

  ASSERT_TRUE(p.send({{"command", "models"}, {"id", 2}}));
  auto models = p.read_json();
  ASSERT_TRUE(models);
  ASSERT_EQ((*models)["models"].size(), 1u) << models->dump();
  std::string why;
  EXPECT_TRUE(json_matches({{"id", kRepo}, {"revision", "main"}, {"commit", commit}, {"files", 2}, {"loaded", false},
                            {"size", static_cast<int64_t>(weights().size() + 583)}},
                           (*models)["models"][0], &why))
      << why;

  // The pulled id loads and embeds exactly as the original folder does.
  const json tokens = {101, 345, 678, 12, 904, 56, 222, 102};
  ASSERT_TRUE(p.send({{"command", "embed"}, {"id", "e1"}, {"model", kRepo}, {"tokens", tokens}}));
  auto by_id = p.read_json();
  ASSERT_TRUE(by_id);
  ASSERT_EQ((*by_id)["success"], true) << by_id->dump();
  const std::string fixture = (fs::path(shared_dir()) / "fixtures" / "bert").string();
  ASSERT_TRUE(p.send({{"command", "embed"}, {"id", "e2"}, {"model", fixture}, {"tokens", tokens}}));
  auto by_path = p.read_json();
  ASSERT_TRUE(by_path);
  ASSERT_EQ((*by_path)["success"], true) << by_path->dump();
  EXPECT_FALSE((*by_id)["embeddings"].empty());
  EXPECT_EQ((*by_id)["embeddings"], (*by_path)["embeddings"]);
  ASSERT_TRUE(p.send({{"command", "models"}, {"id", 2}}));
  models = p.read_json();
  ASSERT_TRUE(models);
  EXPECT_EQ((*models)["models"][0]["loaded"], true) << models->dump();

  ASSERT_TRUE(p.send({{"command", "pull"}, {"id", 3}, {"model", "../../x"}}));
  auto bad = p.read_json();
  ASSERT_TRUE(bad);
  EXPECT_EQ((*bad)["code"], "invalid_request") << bad->dump();

  ASSERT_TRUE(p.send({{"command", "delete"}, {"id", 4}, {"model", kRepo}}));
  auto del = p.read_json();
  ASSERT_TRUE(del);
  EXPECT_EQ((*del)["success"], true) << del->dump();
  EXPECT_FALSE(fs::exists(repo_cache()));
  ASSERT_TRUE(p.send({{"command", "delete"}, {"id", 5}, {"model", kRepo}}));
  del = p.read_json();
  ASSERT_TRUE(del);
  EXPECT_EQ((*del)["code"], "model_not_found") << del->dump();
  ASSERT_TRUE(p.send({{"command", "models"}, {"id", 6}}));
  models = p.read_json();
  ASSERT_TRUE(models);
  EXPECT_TRUE((*models)["models"].empty()) << models->dump();
  p.close_stdin();
  EXPECT_EQ(p.wait(), 0);
  EXPECT_EQ(p.stderr_text().find("HF_TOKEN="), std::string::npos);
}

TEST_F(HubCli, ServeResolvesMissingIdsOnlyWithAllowDownload) {
  const json embed = {{"command", "embed"}, {"id", 1}, {"model", kRepo}, {"tokens", {101, 7, 102}}};
  {
    Subprocess p(serve_argv(), env());
    ASSERT_TRUE(p.send(embed));
    auto r = p.read_json();
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["code"], "model_not_found") << r->dump();
    EXPECT_NE((*r)["error"].get<std::string>().find("nativelm pull test-org/tiny-bert"), std::string::npos) << r->dump();
  }
  EXPECT_EQ(hub_.body_bytes(std::string(kRepo) + "/model.safetensors"), 0);
  Subprocess p(serve_argv({"--allow-download"}), env());
  ASSERT_TRUE(p.send(embed));
  std::optional<json> r;
  while ((r = p.read_json(std::chrono::seconds(60))) && r->contains("event")) EXPECT_EQ((*r)["event"], "progress");
  ASSERT_TRUE(r) << p.stderr_text();
  EXPECT_EQ((*r)["success"], true) << r->dump();
  EXPECT_TRUE(fs::exists(repo_cache() / "refs" / "main"));
}

TEST_F(HubCli, ListAndRm) {
  std::string out, err;
  ASSERT_EQ(run({"pull", kRepo}, &out, &err), 0) << err;
  ASSERT_EQ(run({"list"}, &out, &err), 0) << err;
  EXPECT_NE(out.find(kRepo), std::string::npos) << out;
  EXPECT_NE(out.find(hub_.commit_of(kRepo).substr(0, 12)), std::string::npos) << out;
  ASSERT_EQ(run({"rm", kRepo}, &out, &err), 0) << err;
  EXPECT_FALSE(fs::exists(repo_cache()));
  EXPECT_EQ(run({"rm", kRepo}, &out, &err), 1);
  ASSERT_EQ(run({"list"}, &out, &err), 0);
  EXPECT_EQ(out.find(kRepo), std::string::npos) << out;
  // Offline, nothing cached: a clear error, no network.
  EXPECT_EQ(run({"pull", kRepo}, &out, &err, {"HF_HUB_OFFLINE=1"}), 1);
  EXPECT_NE(err.find("HF_HUB_OFFLINE"), std::string::npos) << err;
}

}  // namespace
}  // namespace nlm::testing
