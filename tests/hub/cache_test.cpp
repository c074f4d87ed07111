// The huggingface_hub cache layout as Python writes it, and the Ollama store: read, listed, resolved.
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "hub/cache.h"
#include "hub/hash.h"
#include "hub/ollama.h"
#include "hub/pull.h"
#include "hub/settings.h"
#include "runtime/engine.h"
#include "fake_hub.h"

namespace nlm::hub {
namespace {
namespace fs = std::filesystem;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";
constexpr const char* kOld = "89abcdef0123456789abcdef0123456789abcdef";

// Writes models--org--name the way huggingface_hub does: blobs named by sha256, relative symlinks.
void python_style_snapshot(const fs::path& cache, const std::string& commit,
                           const std::vector<std::pair<std::string, std::string>>& files) {
  const fs::path repo = cache / "models--org--name";
  for (const auto& [path, data] : files) {
    const std::string sha = sha256_hex(data);
    write_file(repo / "blobs" / sha, data);
    const fs::path link = repo / "snapshots" / commit / path;
    fs::create_directories(link.parent_path());
    std::string up = "../../";
    for (char c : path) up += c == '/' ? "../" : "";
    fs::create_symlink(up + "blobs/" + sha, link);
  }
}

class EnvVar {
 public:
  EnvVar(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~EnvVar() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(HubCache, ReadsTheLayoutPythonWrites) {
  TempDir tmp;
  const fs::path cache = tmp.path();
  python_style_snapshot(cache, kCommit, {{"config.json", "{\"a\":1}"}, {"1_Pooling/config.json", "{}"}, {"model.safetensors", std::string(1000, 'w')}});
  python_style_snapshot(cache, kOld, {{"config.json", "{\"a\":0}"}});
  write_file(cache / "models--org--name" / "refs" / "main", kCommit);  // no newline, as Python writes it
  write_file(cache / "models--org--name" / "refs" / "v1", std::string(kOld) + "\n");
  HubCache c(cache.string());
  auto snap = c.find_snapshot("org/name", "main");
  ASSERT_TRUE(snap);
  EXPECT_EQ(*snap, (cache / "models--org--name" / "snapshots" / kCommit).string());
  EXPECT_EQ(read_file(fs::path(*snap) / "1_Pooling/config.json"), "{}");
  EXPECT_EQ(c.find_snapshot("org/name", "v1"), c.snapshot_dir("org/name", kOld));
  EXPECT_EQ(c.find_snapshot("org/name", kOld), c.snapshot_dir("org/name", kOld));
  EXPECT_FALSE(c.find_snapshot("org/name", "v2"));
  EXPECT_FALSE(c.find_snapshot("org/other", "main"));
  auto all = c.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].commit, kCommit);
  EXPECT_EQ(all[0].refs, std::vector<std::string>{"main"});
  EXPECT_EQ(all[0].files.size(), 3u);
  EXPECT_EQ(all[0].size, 7 + 2 + 1000);
  EXPECT_EQ(all[1].refs, std::vector<std::string>{"v1"});

  // The engine resolves the id through the cache, and an offline pull serves it.
  EnvVar env("HF_HUB_CACHE", cache.string());
  runtime::Engine engine(runtime::EngineOptions{});
  auto r = engine.resolve("org/name");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->path, *snap);
  r = engine.resolve("org/name@v1");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->path, c.snapshot_dir("org/name", kOld));
  HubSettings s = settings_from_env();
  s.offline = true;
  s.endpoint = "http://127.0.0.1:1";  // nothing listens there
  auto pulled = pull(s, RepoRef{"org/name", "main"}, {});
  ASSERT_TRUE(pulled.is_ok()) << pulled.status().message();
  EXPECT_EQ(pulled->commit, kCommit);
  EXPECT_EQ(pulled->files.size(), 3u);
  auto missing = pull(s, RepoRef{"org/absent", "main"}, {});
  EXPECT_EQ(missing.status().code(), core::ErrorCode::kModelNotFound);
  EXPECT_NE(missing.status().message().find("HF_HUB_OFFLINE"), std::string::npos);
}

TEST(HubCache, MissingModelNamesThePullCommand) {
  TempDir tmp;
  EnvVar env("HF_HUB_CACHE", tmp.path());
  runtime::Engine engine(runtime::EngineOptions{});
  auto r = engine.resolve("org/absent@v2");
  EXPECT_EQ(r.status().code(), core::ErrorCode::kModelNotFound);
  EXPECT_NE(r.status().message().find("nativelm pull org/absent@v2"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("--allow-download"), std::string::npos);
  // Paths keep working; non-references stay "not found".
  EXPECT_TRUE(engine.resolve(tmp.path()).is_ok());
  EXPECT_EQ(engine.resolve("no such thing").status().code(), core::ErrorCode::kModelNotFound);
}

TEST(HubCache, SymlinksLeavingTheRepoAreNotServed) {
  TempDir tmp;
  const fs::path cache = tmp.path();
  python_style_snapshot(cache, kCommit, {{"config.json", "{}"}});
  write_file(cache / "secret.txt", "secret");
  const fs::path snap = cache / "models--org--name" / "snapshots" / kCommit;
  fs::create_symlink("../../../secret.txt", snap / "tokenizer.json");
  write_file(cache / "models--org--name" / "refs" / "main", kCommit);
  HubCache c(cache.string());
  EXPECT_FALSE(c.find_snapshot("org/name", "main"));
  EXPECT_FALSE(c.has_file("org/name", kCommit, "tokenizer.json"));
  EXPECT_TRUE(c.has_file("org/name", kCommit, "config.json"));
  fs::remove(snap / "tokenizer.json");
  fs::create_symlink("/etc/hostname", snap / "tokenizer.json");
  EXPECT_FALSE(c.find_snapshot("org/name", "main"));
  fs::remove(snap / "tokenizer.json");
  EXPECT_TRUE(c.find_snapshot("org/name", "main"));
  // A ref that is not a commit hash names nothing.
  write_file(cache / "models--org--name" / "refs" / "main", "../../../../etc");
  EXPECT_FALSE(c.find_snapshot("org/name", "main"));
}

TEST(HubCache, RemoveOneRevisionKeepsSharedBlobs) {
  TempDir tmp;
  const fs::path cache = tmp.path();
  python_style_snapshot(cache, kCommit, {{"config.json", "{\"shared\":1}"}, {"model.safetensors", "new"}});
  python_style_snapshot(cache, kOld, {{"config.json", "{\"shared\":1}"}, {"model.safetensors", "old"}});
  HubCache c(cache.string());
  ASSERT_TRUE(c.write_ref("org/name", "main", kCommit).is_ok());
  ASSERT_TRUE(c.write_ref("org/name", "v1", kOld).is_ok());
  EXPECT_EQ(read_file(cache / "models--org--name" / "refs" / "main"), kCommit);
  auto removed = c.remove("org/name", "v1");
  ASSERT_TRUE(removed.is_ok()) << removed.status().message();
  EXPECT_EQ(*removed, std::vector<std::string>{c.snapshot_dir("org/name", kOld)});
  EXPECT_FALSE(fs::exists(c.blob_path("org/name", sha256_hex("old"))));
  EXPECT_TRUE(fs::exists(c.blob_path("org/name", sha256_hex("new"))));
  EXPECT_TRUE(fs::exists(c.blob_path("org/name", sha256_hex("{\"shared\":1}"))));
  EXPECT_TRUE(c.find_snapshot("org/name", "main"));
  EXPECT_FALSE(c.find_snapshot("org/name", "v1"));
  removed = c.remove("org/name", "");
  ASSERT_TRUE(removed.is_ok());
  EXPECT_FALSE(fs::exists(c.repo_dir("org/name")));
  EXPECT_EQ(c.remove("org/name", "").status().code(), core::ErrorCode::kModelNotFound);
}

void ollama_model(const fs::path& dir, const std::string& rel_manifest, const std::string& gguf) {
  const std::string sha = sha256_hex(gguf);
  write_file(dir / "blobs" / ("sha256-" + sha), gguf);
  write_file(dir / "blobs" / ("sha256-" + sha256_hex("{}")), "{}");
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
      {"config", {{"mediaType", "application/vnd.docker.container.image.v1+json"}, {"digest", "sha256:" + sha256_hex("{}")}}},
      {"layers",
       {{{"mediaType", "application/vnd.ollama.image.template"}, {"digest", "sha256:" + sha256_hex("{}")}, {"size", 2}},
        {{"mediaType", "application/vnd.ollama.image.model"}, {"digest", "sha256:" + sha}, {"size", gguf.size()}}}}};
  write_file(dir / "manifests" / rel_manifest, manifest.dump());
}

TEST(HubOllama, ListsAndResolvesTheStore) {
  TempDir tmp;
  const fs::path dir = tmp.path();
  ollama_model(dir, "registry.ollama.ai/library/tiny/latest", "GGUF-tiny");
  ollama_model(dir, "registry.ollama.ai/someone/small/q4_0", "GGUF-small");
  write_file(dir / "manifests/registry.ollama.ai/library/broken/latest", "{not json");
  auto all = list_ollama_models(dir.string());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].ref, "ollama:someone/small:q4_0");
  EXPECT_EQ(all[1].ref, "ollama:tiny:latest");
  EXPECT_EQ(read_file(all[1].blob_path), "GGUF-tiny");
  EXPECT_EQ(all[1].size, 9);
  auto r = resolve_ollama(dir.string(), "tiny");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->blob_path, all[1].blob_path);
  EXPECT_TRUE(resolve_ollama(dir.string(), "tiny:latest").is_ok());
  EXPECT_TRUE(resolve_ollama(dir.string(), "registry.ollama.ai/library/tiny:latest").is_ok());
  EXPECT_EQ(resolve_ollama(dir.string(), "someone/small:q4_0")->blob_path, all[0].blob_path);
  EXPECT_EQ(resolve_ollama(dir.string(), "tiny:7b").status().code(), core::ErrorCode::kModelNotFound);
  EXPECT_EQ(resolve_ollama(dir.string(), "../../etc:passwd").status().code(), core::ErrorCode::kInvalidRequest);
  EXPECT_FALSE(resolve_ollama(dir.string(), "broken").is_ok());
  fs::remove(all[0].blob_path);
  EXPECT_EQ(resolve_ollama(dir.string(), "someone/small:q4_0").status().code(), core::ErrorCode::kModelNotFound);

  EnvVar env("OLLAMA_MODELS", dir.string());
  runtime::Engine engine(runtime::EngineOptions{});
  auto e = engine.resolve("ollama:tiny:latest");
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  EXPECT_EQ(e->path, all[1].blob_path);
  EXPECT_EQ(engine.resolve("ollama:nothing").status().code(), core::ErrorCode::kModelNotFound);
}

}  // namespace
}  // namespace nlm::hub
