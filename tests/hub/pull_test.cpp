// hub::pull against tests/hub/fake_hub.py: layout, reuse, integrity, retries, HTTP errors, unsafe names.
#include <filesystem>
#include <set>
#include <sys/statvfs.h>

#include <gtest/gtest.h>

#include "hub/api.h"
#include "hub/cache.h"
#include "hub/hash.h"
#include "hub/pull.h"
#include "hub/settings.h"
#include "runtime/engine.h"
#include "fake_hub.h"

namespace nlm::hub {
namespace {
namespace fs = std::filesystem;
using testing::FakeHub;
using testing::read_file;
using testing::TempDir;

constexpr const char* kRepo = "test-org/tiny-bert";

std::string git_blob_sha1(const std::string& data) {
  Digest d(Digest::Kind::kGitSha1, data.size());
  d.update(data);
  return d.hex();
}

class HubPull : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(hub_.ok()) << "fake_hub.py did not start";
    const fs::path bert = fs::path(testing::shared_dir()) / "fixtures" / "bert";
    hub_.copy_file(kRepo, "config.json", bert / "config.json");
    hub_.copy_file(kRepo, "model.safetensors", bert / "model.safetensors");
    hub_.add_file(kRepo, "tokenizer.json", R"({"version":"1.0","model":{"type":"WordPiece"}})");
    hub_.add_file(kRepo, "modules.json", R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"}])");
    hub_.add_file(kRepo, "1_Pooling/config.json", R"({"pooling_mode_mean_tokens":true})");
    hub_.add_file(kRepo, "pytorch_model.bin", std::string(5000, 'p'));
    hub_.add_file(kRepo, "onnx/model.onnx", std::string(5000, 'o'));
    hub_.add_file(kRepo, "README.md", "# tiny");
    settings_.endpoint = hub_.endpoint();
    settings_.cache_dir = cache_.path();
    settings_.retry_base_ms = 10;
    settings_.connect_timeout_s = 5;
  }

  std::string source(const std::string& path) const { return read_file(fs::path(hub_.repo_dir(kRepo)) / path); }
  fs::path repo_cache() const { return fs::path(cache_.path()) / "models--test-org--tiny-bert"; }

  FakeHub hub_;
  TempDir cache_;
  HubSettings settings_;
};

TEST_F(HubPull, FullPullLandsInTheHfLayoutAndIsReused) {
  std::vector<PullProgress> events;
  PullOptions opts;
  opts.progress = [&](const PullProgress& p) { events.push_back(p); };
  auto r = pull(settings_, RepoRef{kRepo, "main"}, opts);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const std::string commit = hub_.commit_of(kRepo);
  ASSERT_EQ(commit.size(), 40u);
  EXPECT_EQ(r->commit, commit);
  EXPECT_EQ(r->snapshot_path, (repo_cache() / "snapshots" / commit).string());
  std::set<std::string> got;
  for (const auto& f : r->files) got.insert(f.path);
  EXPECT_EQ(got, (std::set<std::string>{"1_Pooling/config.json", "config.json", "model.safetensors", "modules.json",
                                        "tokenizer.json"}));
  // Nothing else was fetched.
  EXPECT_EQ(hub_.body_bytes(std::string(kRepo) + "/pytorch_model.bin"), 0);
  EXPECT_EQ(hub_.body_bytes(std::string(kRepo) + "/onnx/model.onnx"), 0);
  // Blobs named by ETag (sha256 for LFS, git sha1 otherwise), snapshot entries relative symlinks.
  const fs::path snap = r->snapshot_path;
  const std::string weights = source("model.safetensors");
  EXPECT_EQ(fs::read_symlink(snap / "model.safetensors").string(), "../../blobs/" + sha256_hex(weights));
  EXPECT_EQ(fs::read_symlink(snap / "config.json").string(), "../../blobs/" + git_blob_sha1(source("config.json")));
  EXPECT_EQ(fs::read_symlink(snap / "1_Pooling/config.json").string(),
            "../../../blobs/" + git_blob_sha1(source("1_Pooling/config.json")));
  for (const auto& path : got) EXPECT_EQ(read_file(snap / path), source(path)) << path;
  EXPECT_EQ(read_file(repo_cache() / "refs" / "main"), commit);
  EXPECT_EQ(r->downloaded_bytes, static_cast<int64_t>(weights.size() + source("config.json").size() +
                                                      source("tokenizer.json").size() + source("modules.json").size() +
                                                      source("1_Pooling/config.json").size()));
  // Progress: every file reaches completed == total.
  std::set<std::string> finished;
  for (const auto& e : events) {
    if (e.completed == e.total) finished.insert(e.file);
    EXPECT_LE(e.completed, e.total);
  }
  EXPECT_EQ(finished, got);
  // No temporary left behind.
  for (const auto& e : fs::recursive_directory_iterator(repo_cache())) {
    const std::string rel = fs::relative(e.path(), repo_cache()).string();
    EXPECT_EQ(rel.find("incomplete"), std::string::npos) << rel;
    EXPECT_EQ(rel.find("nlm-"), std::string::npos) << rel;
  }

  // A second pull transfers nothing.
  hub_.reset();
  auto again = pull(settings_, RepoRef{kRepo, "main"}, {});
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(again->downloaded_bytes, 0);
  EXPECT_TRUE(hub_.stats()["body_bytes"].empty()) << hub_.stats().dump();
  EXPECT_EQ(again->snapshot_path, r->snapshot_path);

  // The engine finds it; offline works from the cache.
  HubSettings offline = settings_;
  offline.offline = true;
  offline.endpoint = "http://127.0.0.1:1";
  auto off = pull(offline, RepoRef{kRepo, "main"}, {});
  ASSERT_TRUE(off.is_ok()) << off.status().message();
  EXPECT_EQ(off->snapshot_path, r->snapshot_path);
  EXPECT_EQ(HubCache(cache_.path()).find_snapshot(kRepo, commit), r->snapshot_path);
}

TEST_F(HubPull, WrongSha256IsRejectedAndNothingIsInstalled) {
  hub_.control({{"wrong_sha", {std::string(kRepo) + "/model.safetensors"}}});
  auto r = pull(settings_, RepoRef{kRepo, "main"}, {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), core::ErrorCode::kDownloadFailed);
  EXPECT_NE(r.status().message().find("checksum mismatch"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(repo_cache() / "snapshots"));
  EXPECT_FALSE(fs::exists(repo_cache() / "refs" / "main"));
  // The bad blob is gone, partial file included. Other files stopped by the failure may keep a resumable
  // .incomplete part, which is never part of a snapshot.
  const std::string bad = sha256_hex(source("model.safetensors") + "x");
  EXPECT_FALSE(fs::exists(repo_cache() / "blobs" / bad));
  EXPECT_FALSE(fs::exists(repo_cache() / "blobs" / (bad + ".incomplete")));
  for (const auto& e : fs::directory_iterator(repo_cache() / "blobs")) {
    EXPECT_NE(read_file(e.path()), source("model.safetensors")) << "unverified weights kept: " << e.path();
  }
  EXPECT_FALSE(HubCache(cache_.path()).find_snapshot(kRepo, "main"));
}

TEST_F(HubPull, WrongGitSha1IsRejectedToo) {
  hub_.control({{"wrong_sha", {std::string(kRepo) + "/config.json"}}});
  auto r = pull(settings_, RepoRef{kRepo, "main"}, {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("config.json"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(repo_cache() / "snapshots"));
}

TEST_F(HubPull, DroppedConnectionsAreRetriedWithRange) {
  const std::string key = std::string(kRepo) + "/model.safetensors";
  hub_.control({{"drop", {{key, {100000, 2}}}}});
  auto r = pull(settings_, RepoRef{kRepo, "main"}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(read_file(fs::path(r->snapshot_path) / "model.safetensors"), source("model.safetensors"));
  // Each retry resumed where the last one stopped: every byte crossed the wire once.
  EXPECT_EQ(hub_.body_bytes(key), static_cast<int64_t>(source("model.safetensors").size()));
}

TEST_F(HubPull, ConnectionThatKeepsDroppingWithoutProgressFails) {
  settings_.max_attempts = 3;
  hub_.control({{"drop", {{std::string(kRepo) + "/model.safetensors", {0, 100}}}}});
  auto r = pull(settings_, RepoRef{kRepo, "main"}, {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), core::ErrorCode::kDownloadFailed) << r.status().message();
  EXPECT_FALSE(fs::exists(repo_cache() / "snapshots"));
}

TEST_F(HubPull, HttpErrorsAreClear) {
  hub_.control({{"status", {{kRepo, 401}}}});
  auto r = pull(settings_, RepoRef{kRepo, "main"}, {});
  EXPECT_EQ(r.status().code(), core::ErrorCode::kUnauthorized);
  EXPECT_NE(r.status().message().find("401"), std::string::npos);
  EXPECT_NE(r.status().message().find("HF_TOKEN"), std::string::npos) << r.status().message();
  hub_.control({{"status", {{kRepo, 403}}}});
  r = pull(settings_, RepoRef{kRepo, "main"}, {});
  EXPECT_EQ(r.status().code(), core::ErrorCode::kUnauthorized);
  EXPECT_NE(r.status().message().find("403"), std::string::npos);
  EXPECT_NE(r.status().message().find("gated"), std::string::npos) << r.status().message();
  hub_.control({{"status", nlohmann::json::object()}});
  r = pull(settings_, RepoRef{"test-org/nothing-here", "main"}, {});
  EXPECT_EQ(r.status().code(), core::ErrorCode::kModelNotFound);
  EXPECT_NE(r.status().message().find("404"), std::string::npos) << r.status().message();
  r = pull(settings_, RepoRef{kRepo, "no-such-branch"}, {});
  EXPECT_EQ(r.status().code(), core::ErrorCode::kModelNotFound);
  HubSettings dead = settings_;
  dead.endpoint = "http://127.0.0.1:1";
  dead.max_attempts = 2;
  r = pull(dead, RepoRef{kRepo, "main"}, {});
  EXPECT_EQ(r.status().code(), core::ErrorCode::kDownloadFailed);
  EXPECT_FALSE(fs::exists(repo_cache() / "snapshots"));
}

TEST_F(HubPull, TokenIsSentAsBearer) {
  hub_.control({{"token", {{kRepo, "hf_right_token"}}}});
  settings_.token = "hf_wrong_token";
  auto r = pull(settings_, RepoRef{kRepo, "main"}, {});
  EXPECT_EQ(r.status().code(), core::ErrorCode::kUnauthorized);
  EXPECT_EQ(r.status().message().find("hf_wrong_token"), std::string::npos);
  settings_.token = "hf_right_token";
  r = pull(settings_, RepoRef{kRepo, "main"}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  bool seen = false;
  const auto stats = hub_.stats();
  for (const auto& a : stats["auth_seen"]) seen = seen || a.get<std::string>() == "Bearer hf_right_token";
  EXPECT_TRUE(seen) << stats.dump();
}

TEST_F(HubPull, UnsafeNamesInTheListingAreRefused) {
  hub_.control({{"extra", {{kRepo, {"../../x"}}}}});
  auto r = pull(settings_, RepoRef{kRepo, "main"}, {.include = {"*"}});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("'../../x'"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(fs::path(cache_.path()) / ".." / "x"));
  EXPECT_FALSE(fs::exists(repo_cache() / "snapshots"));
  hub_.control({{"extra", {{kRepo, {"/etc/passwd"}}}}});
  EXPECT_FALSE(pull(settings_, RepoRef{kRepo, "main"}, {}).is_ok());
}

TEST_F(HubPull, IncludeAndSingleGgufRepos) {
  auto r = pull(settings_, RepoRef{kRepo, "main"}, {.include = {"*.md"}});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->files.size(), 1u);
  EXPECT_EQ(r->files[0].path, "README.md");
  hub_.add_file("test-org/gguf-only", "model-Q4_0.gguf", "GGUF" + std::string(3000, 'g'));
  hub_.add_file("test-org/gguf-only", "README.md", "# gguf");
  r = pull(settings_, RepoRef{"test-org/gguf-only", "main"}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->files.size(), 1u);
  EXPECT_EQ(r->files[0].path, "model-Q4_0.gguf");
  hub_.add_file("test-org/gguf-only", "model-Q8_0.gguf", "GGUF" + std::string(3000, 'h'));
  r = pull(settings_, RepoRef{"test-org/gguf-only", "main"}, {});
  EXPECT_EQ(r.status().code(), core::ErrorCode::kInvalidRequest);
  EXPECT_NE(r.status().message().find("model-Q8_0.gguf"), std::string::npos);
}

TEST_F(HubPull, NotEnoughDiskSpaceIsRefusedBeforeDownloading) {
  struct statvfs st {};
  ASSERT_EQ(::statvfs(cache_.path().c_str(), &st), 0);
  const double free_bytes = static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize);
  if (free_bytes > 1.5 * static_cast<double>(kMaxFileBytes)) GTEST_SKIP() << "more than 1.5 TiB free";
  hub_.control({{"listed_size", {{std::string(kRepo) + "/model.safetensors", kMaxFileBytes}}}});
  auto r = pull(settings_, RepoRef{kRepo, "main"}, {});
  EXPECT_EQ(r.status().code(), core::ErrorCode::kIoError);
  EXPECT_NE(r.status().message().find("disk space"), std::string::npos) << r.status().message();
  EXPECT_TRUE(hub_.stats()["body_bytes"].empty());
  EXPECT_FALSE(fs::exists(repo_cache() / "snapshots"));
}

TEST_F(HubPull, PullingByCommitWritesNoRef) {
  const std::string commit = hub_.commit_of(kRepo);
  auto r = pull(settings_, RepoRef{kRepo, commit}, {});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(fs::exists(repo_cache() / "refs" / commit));
  EXPECT_EQ(HubCache(cache_.path()).find_snapshot(kRepo, commit), r->snapshot_path);
}

TEST_F(HubPull, CancelStopsThePull) {
  PullOptions opts;
  opts.cancelled = [] { return true; };
  auto r = pull(settings_, RepoRef{kRepo, "main"}, opts);
  EXPECT_EQ(r.status().code(), core::ErrorCode::kCancelled);
  EXPECT_FALSE(fs::exists(repo_cache() / "snapshots"));
}

TEST_F(HubPull, EngineDownloadsOnFirstUseWhenAllowed) {
  ::setenv("HF_HUB_CACHE", cache_.path().c_str(), 1);
  ::setenv("HF_ENDPOINT", hub_.endpoint().c_str(), 1);
  runtime::EngineOptions eo;
  eo.allow_download = true;
  runtime::Engine engine(eo);
  std::vector<nlohmann::json> events;
  auto r = engine.resolve(kRepo, [&](const nlohmann::json& e) { events.push_back(e); });
  ::unsetenv("HF_HUB_CACHE");
  ::unsetenv("HF_ENDPOINT");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->path, (repo_cache() / "snapshots" / hub_.commit_of(kRepo)).string());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["event"], "progress");
  EXPECT_TRUE(events.back().contains("file") && events.back().contains("completed") && events.back().contains("total"));
}

}  // namespace
}  // namespace nlm::hub
