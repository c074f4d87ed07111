// Names from users and from the network (hub/names.h), the default file filter and the digests.
#include <gtest/gtest.h>

#include "hub/hash.h"
#include "hub/names.h"
#include "hub/pull.h"

namespace nlm::hub {
namespace {

TEST(HubNames, RepoRefsParse) {
  auto r = parse_repo_ref("sentence-transformers/all-MiniLM-L6-v2");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->repo_id, "sentence-transformers/all-MiniLM-L6-v2");
  EXPECT_EQ(r->revision, "main");
  r = parse_repo_ref("Org_1/name.v2@v1.0");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->revision, "v1.0");
  r = parse_repo_ref("org/name@refs/pr/1");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->revision, "refs/pr/1");
}

TEST(HubNames, BadRepoRefsAreRefused) {
  for (const char* bad : {"", "name", "/abs/path", "org/", "/name", "org/name/extra", "../x", "org/..", "org/a..b",
                          "org/na me", "or--g/name", "org/name@", "org/name@../../x", "org/name@/abs", "org\\x/name",
                          "./x", "-org/name"}) {
    EXPECT_FALSE(parse_repo_ref(bad).is_ok()) << bad;
    EXPECT_FALSE(looks_like_repo_ref(bad) && parse_repo_ref(bad).is_ok()) << bad;
  }
  EXPECT_EQ(parse_repo_ref("org/name@../x").status().code(), core::ErrorCode::kInvalidRequest);
}

TEST(HubNames, RepoPathsFromTheNetworkAreValidated) {
  for (const char* ok : {"config.json", "1_Pooling/config.json", "a/b/c.safetensors", "tok.model"}) {
    EXPECT_TRUE(validate_repo_path(ok).is_ok()) << ok;
  }
  for (const char* bad : {"", "../../x", "/etc/passwd", "a/../b", "a//b", "a/./b", "..", ".", "a/", "a\\b",
                          "c:/x", "a\nb"}) {
    auto st = validate_repo_path(bad);
    EXPECT_FALSE(st.is_ok()) << bad;
    EXPECT_EQ(st.code(), core::ErrorCode::kDownloadFailed);
  }
  EXPECT_FALSE(validate_repo_path(std::string(2000, 'a')).is_ok());
}

TEST(HubNames, EtagsAndFolders) {
  EXPECT_EQ(normalize_etag("W/\"abc\""), "abc");
  EXPECT_EQ(normalize_etag(" \"0123\" "), "0123");
  EXPECT_TRUE(is_valid_etag(std::string(64, 'a')));
  EXPECT_TRUE(is_valid_etag(std::string(40, '0')));
  EXPECT_FALSE(is_valid_etag(std::string(63, 'a')));
  EXPECT_FALSE(is_valid_etag("../../../../etc/passwd"));
  EXPECT_FALSE(is_valid_etag(std::string(64, 'A')));
  EXPECT_EQ(repo_folder_name("org/name"), "models--org--name");
  EXPECT_EQ(url_escape("refs/pr/1", false), "refs%2Fpr%2F1");
  EXPECT_EQ(url_escape("a b/c.json", true), "a%20b/c.json");
}

TEST(HubFilter, OnlyWhatTheEngineUses) {
  for (const char* want : {"config.json", "model.safetensors", "model-00001-of-00002.safetensors",
                           "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                           "special_tokens_map.json", "tokenizer.model", "modules.json", "sentence_bert_config.json",
                           "1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors",
                           "generation_config.json"}) {
    EXPECT_TRUE(wanted_by_engine(want)) << want;
  }
  for (const char* skip : {"pytorch_model.bin", "onnx/model.onnx", "onnx/config.json", "tf_model.h5",
                           "flax_model.msgpack", "rust_model.ot", "README.md", ".gitattributes", "model.gguf",
                           "openvino/openvino_model.xml", "training_args.bin", "optimizer.pt", "2_Dense/pytorch_model.bin",
                           "coreml/model.mlpackage/Manifest.json"}) {
    EXPECT_FALSE(wanted_by_engine(skip)) << skip;
  }
}

TEST(HubDigest, PublishedVectors) {
  // FIPS 180-2 test vector.
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // `printf 'hello\n' | git hash-object --stdin`
  Digest git(Digest::Kind::kGitSha1, 6);
  git.update("hel");
  git.update("lo\n");
  EXPECT_EQ(git.hex(), "ce013625030ba8dba906f756967f9e9ca394464a");
}

}  // namespace
}  // namespace nlm::hub
