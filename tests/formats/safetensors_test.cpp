#include "formats/safetensors.h"

#include <gtest/gtest.h>

#include "core/f16.h"
#include "support/temp_dir.h"
#include "formats/test_writers.h"
#include "support/subprocess.h"

namespace nlm::formats {
namespace {
using core::DType;
using core::ErrorCode;
using testing::SafetensorsWriter;
using testing::TempDir;
using testing::raw_bytes;

SafetensorsWriter small_model() {
  SafetensorsWriter w;
  w.add("w", "F32", {2, 3}, raw_bytes(std::vector<float>{1, 2, 3, 4, 5, 6}));
  w.add("h", "F16", {3}, raw_bytes(std::vector<uint16_t>{core::f32_to_f16(0.5f), core::f32_to_f16(-2), 0}));
  w.add("b", "BF16", {1, 2}, raw_bytes(std::vector<uint16_t>{core::f32_to_bf16(1.5f), core::f32_to_bf16(3)}));
  w.add("ids", "I64", {2}, raw_bytes(std::vector<int64_t>{7, -9}));
  w.add("u", "U8", {4}, std::string("\x01\x02\x03\xff", 4));
  w.add("u32", "U32", {1, 2}, raw_bytes(std::vector<uint32_t>{0x87654321u, 7}));  // MLX packed values
  w.add("s", "F32", {}, raw_bytes(std::vector<float>{42}));
  w.metadata("format", "pt");
  return w;
}

TEST(Safetensors, ReadsEveryDtypeInPlace) {
  TempDir dir;
  ASSERT_TRUE(small_model().write(dir.file("m.safetensors")));
  auto f = SafetensorsFile::open(dir.file("m.safetensors"));
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
  auto w = (*f)->tensor("w");
  ASSERT_TRUE(w.is_ok());
  EXPECT_EQ(w->dtype, DType::kF32);
  EXPECT_EQ(w->ndim, 2);
  EXPECT_EQ(w->shape[0], 2);
  EXPECT_EQ(w->shape[1], 3);
  EXPECT_EQ(w->row_bytes, 12);
  EXPECT_EQ(w->row<float>(1)[2], 6.0f);
  auto h = (*f)->tensor("h");
  ASSERT_TRUE(h.is_ok());
  EXPECT_EQ(h->dtype, DType::kF16);
  EXPECT_EQ(core::f16_to_f32(h->as<uint16_t>()[1]), -2.0f);
  auto b = (*f)->tensor("b");
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->dtype, DType::kBF16);
  EXPECT_EQ(core::bf16_to_f32(b->as<uint16_t>()[0]), 1.5f);
  auto ids = (*f)->tensor("ids");
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(ids->as<int64_t>()[1], -9);
  auto u = (*f)->tensor("u");
  ASSERT_TRUE(u.is_ok());
  EXPECT_EQ((*f)->find("u")->dtype, "U8");
  EXPECT_EQ(u->as<uint8_t>()[3], 0xff);
  auto u32 = (*f)->tensor("u32");
  ASSERT_TRUE(u32.is_ok());
  EXPECT_EQ(u32->dtype, DType::kI32);
  EXPECT_EQ(u32->as<uint32_t>()[0], 0x87654321u);
  auto s = (*f)->tensor("s");
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->ndim, 0);
  EXPECT_EQ(s->numel(), 1);
  EXPECT_EQ(*s->as<float>(), 42.0f);
  auto missing = (*f)->tensor("nope");
  EXPECT_EQ(missing.status().code(), ErrorCode::kModelLoadFailed);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
}

TEST(Safetensors, EveryTruncationFailsCleanly) {
  TempDir dir;
  const std::string bytes = small_model().serialize();
  for (size_t n = 0; n < bytes.size(); ++n) {
    ASSERT_TRUE(testing::write_file(dir.file("t.safetensors"), bytes.substr(0, n)));
    auto f = SafetensorsFile::open(dir.file("t.safetensors"));
    ASSERT_FALSE(f.is_ok()) << "prefix of " << n << " bytes opened";
    EXPECT_EQ(f.status().code(), ErrorCode::kModelLoadFailed);
    EXPECT_NE(f.status().message().find("t.safetensors"), std::string::npos) << f.status().message();
  }
}

struct Corruption {
  const char* what;
  void (*edit)(nlohmann::json& h);
  const char* expect_in_message;
};

TEST(Safetensors, CorruptHeadersNameTheTensor) {
  const Corruption cases[] = {
      {"unknown dtype", [](nlohmann::json& h) { h["w"]["dtype"] = "F99"; }, "'w'"},
      {"shape/size mismatch", [](nlohmann::json& h) { h["w"]["shape"] = {3, 3}; }, "'w'"},
      {"negative dim", [](nlohmann::json& h) { h["w"]["shape"] = {-2, 3}; }, "'w'"},
      {"offsets past the end", [](nlohmann::json& h) { h["s"]["data_offsets"] = {1000, 1004}; }, "'s'"},
      {"begin after end", [](nlohmann::json& h) { h["w"]["data_offsets"] = {24, 0}; }, "'w'"},
      {"overlap", [](nlohmann::json& h) { h["h"]["data_offsets"] = {20, 26}; }, "overlap"},
      {"entry not object", [](nlohmann::json& h) { h["w"] = 5; }, "'w'"},
      {"missing offsets", [](nlohmann::json& h) { h["ids"].erase("data_offsets"); }, "'ids'"},
      {"huge dim", [](nlohmann::json& h) { h["w"]["shape"] = {uint64_t{1} << 62, 4}; }, "'w'"},
  };
  TempDir dir;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    SafetensorsWriter w = small_model();
    nlohmann::json h = w.header();
    c.edit(h);
    ASSERT_TRUE(testing::write_file(dir.file("c.safetensors"), w.serialize(h)));
    auto f = SafetensorsFile::open(dir.file("c.safetensors"));
    ASSERT_FALSE(f.is_ok());
    EXPECT_EQ(f.status().code(), ErrorCode::kModelLoadFailed);
    EXPECT_NE(f.status().message().find(c.expect_in_message), std::string::npos) << f.status().message();
  }
}

TEST(Safetensors, GarbageHeaderAndLength) {
  TempDir dir;
  std::string bytes = small_model().serialize();
  std::string not_json = bytes;
  not_json[8] = '[';
  not_json[9] = '}';
  ASSERT_TRUE(testing::write_file(dir.file("a.safetensors"), not_json));
  EXPECT_FALSE(SafetensorsFile::open(dir.file("a.safetensors")).is_ok());
  std::string huge = bytes;
  const uint64_t n = ~uint64_t{0} - 3;
  std::memcpy(huge.data(), &n, 8);
  ASSERT_TRUE(testing::write_file(dir.file("b.safetensors"), huge));
  EXPECT_FALSE(SafetensorsFile::open(dir.file("b.safetensors")).is_ok());
  EXPECT_FALSE(SafetensorsFile::open(dir.file("does-not-exist.safetensors")).is_ok());
}

TEST(Safetensors, ShardedFolderThroughTheIndex) {
  TempDir dir;
  SafetensorsWriter a, b;
  a.add("x.weight", "F32", {2}, raw_bytes(std::vector<float>{1, 2}));
  b.add("y.weight", "F32", {1}, raw_bytes(std::vector<float>{3}));
  ASSERT_TRUE(a.write(dir.file("model-00001-of-00002.safetensors")));
  ASSERT_TRUE(b.write(dir.file("model-00002-of-00002.safetensors")));
  nlohmann::json index = {{"metadata", {{"total_size", 12}}},
                          {"weight_map",
                           {{"x.weight", "model-00001-of-00002.safetensors"},
                            {"y.weight", "model-00002-of-00002.safetensors"}}}};
  ASSERT_TRUE(testing::write_file(dir.file("model.safetensors.index.json"), index.dump()));
  auto m = SafetensorsModel::open(dir.path());
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ((*m)->files().size(), 2u);
  auto y = (*m)->tensor("y.weight");
  ASSERT_TRUE(y.is_ok());
  EXPECT_EQ(y->as<float>()[0], 3.0f);
  EXPECT_EQ((*m)->names().size(), 2u);

  index["weight_map"]["z.weight"] = "model-00002-of-00002.safetensors";  // listed but absent
  ASSERT_TRUE(testing::write_file(dir.file("model.safetensors.index.json"), index.dump()));
  auto bad = SafetensorsModel::open(dir.path());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("z.weight"), std::string::npos);

  index["weight_map"].erase("z.weight");
  index["weight_map"]["y.weight"] = "missing.safetensors";
  ASSERT_TRUE(testing::write_file(dir.file("model.safetensors.index.json"), index.dump()));
  EXPECT_EQ(SafetensorsModel::open(dir.path()).status().code(), ErrorCode::kModelLoadFailed);
}

TEST(Safetensors, PickleCheckpointIsRefused) {
  TempDir dir;
  ASSERT_TRUE(testing::write_file(dir.file("pytorch_model.bin"), "not really a pickle"));
  auto m = SafetensorsModel::open(dir.path());
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kModelLoadFailed);
  EXPECT_NE(m.status().message().find("pickle"), std::string::npos);
}

TEST(Safetensors, ReadsTheHuggingFaceFixtures) {
  const std::string root = testing::shared_dir() + "/fixtures/";
  for (const char* arch : {"bert", "mpnet", "xlm_roberta"}) {
    SCOPED_TRACE(arch);
    auto m = SafetensorsModel::open(root + arch);
    ASSERT_TRUE(m.is_ok()) << m.status().message();
    auto emb = (*m)->tensor("embeddings.word_embeddings.weight");
    ASSERT_TRUE(emb.is_ok()) << emb.status().message();
    EXPECT_EQ(emb->dtype, DType::kF32);
    EXPECT_EQ(emb->shape[0], 1000);
    EXPECT_EQ(emb->shape[1], 64);
  }
  auto ref = SafetensorsFile::open(root + "bert/reference.safetensors");
  ASSERT_TRUE(ref.is_ok()) << ref.status().message();
  auto ids = (*ref)->tensor("a.input_ids");
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(ids->dtype, DType::kI64);
  ASSERT_EQ(ids->numel(), 8);
  const int64_t want[] = {101, 345, 678, 12, 904, 56, 222, 102};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(ids->as<int64_t>()[i], want[i]);
  auto hs = (*ref)->tensor("a.hidden_states");
  ASSERT_TRUE(hs.is_ok());
  EXPECT_EQ(hs->ndim, 4);
  EXPECT_EQ(hs->shape[0], 3);
}

}  // namespace
}  // namespace nlm::formats
