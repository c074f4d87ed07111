// GGUF decoders with F16 / BF16 / F32 tensors: the llama fixture written as a GGUF file the way
// llama.cpp's converter lays it out (GGUF names, q/k rows permuted for interleaved RoPE, metadata under
// llama.*), loaded through load_decoder, compared with the transformers reference logits.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/f16.h"
#include "formats/safetensors.h"
#include "kernels/kernels.h"
#include "runtime/decoder_loader.h"
#include "runtime/generate.h"
#include "support/subprocess.h"

namespace nlm::testing {
namespace {

class GgufWriter {
 public:
  void kv_u32(const std::string& k, uint32_t v) { key(k, 4), put(v), ++n_kv_; }
  void kv_f32(const std::string& k, float v) { key(k, 6), put(v), ++n_kv_; }
  void kv_str(const std::string& k, const std::string& v) { key(k, 8), str(kv_, v), ++n_kv_; }
  // data: row-major [rows, cols] (rows = 1 for vectors), stored as f32 / f16 (1) / bf16 (30), or quantized
  // by kernels::quantize_row as q5_0 (6) / q5_1 (7). decoded_twin: a quantized type is written as the f32
  // values its blocks decode to instead (the same weights, multiplied in f32).
  void tensor(const std::string& name, std::vector<float> data, int64_t rows, int64_t cols, uint32_t type) {
    if (type == 6 || type == 7) {
      const core::DType t = type == 6 ? core::DType::kQ5_0 : core::DType::kQ5_1;
      std::string blocks(static_cast<size_t>(rows * core::dtype_row_bytes(t, cols)), '\0');
      kernels::quantize_row(data.data(), t, rows * cols, blocks.data());
      if (decoded_twin) {
        kernels::dequantize_row(blocks.data(), t, rows * cols, data.data());
        type = 0;
      } else {
        raw_tensor(name, rows, cols, type, blocks);
        return;
      }
    }
    std::string bytes;
    for (float f : data) {
      if (type == 0) raw(bytes, &f, 4);
      const uint16_t h = type == 1 ? core::f32_to_f16(f) : core::f32_to_bf16(f);
      if (type != 0) raw(bytes, &h, 2);
    }
    raw_tensor(name, rows, cols, type, bytes);
  }
  bool decoded_twin = false;

  void raw_tensor(const std::string& name, int64_t rows, int64_t cols, uint32_t type, const std::string& bytes) {
    str(info_, name);
    const uint32_t nd = rows == 1 ? 1 : 2;
    raw(info_, &nd, 4);
    const uint64_t ne[2] = {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)};
    raw(info_, ne, 8 * nd);
    raw(info_, &type, 4);
    while (data_.size() % 32) data_.push_back(0);
    const uint64_t off = data_.size();
    raw(info_, &off, 8);
    data_ += bytes;
    ++n_tensors_;
  }
  void write(const std::string& path) {
    std::string out = "GGUF";
    const uint32_t version = 3;
    raw(out, &version, 4);
    raw(out, &n_tensors_, 8);
    raw(out, &n_kv_, 8);
    out += kv_ + info_;
    while (out.size() % 32) out.push_back(0);
    out += data_;
    std::ofstream(path, std::ios::binary) << out;
  }

 private:
  static void raw(std::string& s, const void* p, size_t n) { s.append(static_cast<const char*>(p), n); }
  static void str(std::string& s, const std::string& v) {
    const uint64_t n = v.size();
    raw(s, &n, 8);
    s += v;
  }
  void key(const std::string& k, uint32_t type) {
    str(kv_, k);
    raw(kv_, &type, 4);
  }
  template <typename T>
  void put(T v) { raw(kv_, &v, sizeof(T)); }
  std::string kv_, info_, data_;
  uint64_t n_kv_ = 0, n_tensors_ = 0;
};

std::vector<float> read(const formats::SafetensorsFile& f, const std::string& name) {
  auto t = f.tensor(name);
  EXPECT_TRUE(t.is_ok()) << name;
  if (!t.is_ok()) return {};
  return std::vector<float>(t->as<const float>(), t->as<const float>() + t->numel());
}

// HF rotate_half rows -> llama.cpp's interleaved rows: GGUF row 2i + j of a head = HF row j·hd/2 + i.
std::vector<float> permute_rows(const std::vector<float>& w, int64_t heads, int64_t hd, int64_t cols) {
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < hd / 2; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t dst = h * hd + 2 * i + j, src = h * hd + j * hd / 2 + i;
        std::memcpy(&out[static_cast<size_t>(dst * cols)], &w[static_cast<size_t>(src * cols)], cols * sizeof(float));
      }
    }
  }
  return out;
}

std::string write_llama_gguf(uint32_t type, bool decoded_twin = false) {
  const std::string dir = shared_dir() + "/fixtures/llama";
  auto st = formats::SafetensorsFile::open(dir + "/model.safetensors");
  EXPECT_TRUE(st.is_ok());
  const auto& f = **st;
  GgufWriter g;
  g.decoded_twin = decoded_twin;
  g.kv_str("general.architecture", "llama");
  g.kv_u32("llama.context_length", 128);
  g.kv_u32("llama.embedding_length", 64);
  g.kv_u32("llama.feed_forward_length", 160);
  g.kv_u32("llama.block_count", 2);
  g.kv_u32("llama.attention.head_count", 4);
  g.kv_u32("llama.attention.head_count_kv", 2);
  g.kv_u32("llama.rope.dimension_count", 16);
  g.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  g.kv_f32("llama.rope.freq_base", 10000.f);
  g.kv_u32("tokenizer.ggml.bos_token_id", 1);
  g.kv_u32("tokenizer.ggml.eos_token_id", 2);
  g.tensor("token_embd.weight", read(f, "model.embed_tokens.weight"), 1000, 64, type);
  g.tensor("output_norm.weight", read(f, "model.norm.weight"), 1, 64, 0);
  g.tensor("output.weight", read(f, "lm_head.weight"), 1000, 64, type);
  for (int l = 0; l < 2; ++l) {
    const std::string hf = "model.layers." + std::to_string(l) + ".", gg = "blk." + std::to_string(l) + ".";
    g.tensor(gg + "attn_norm.weight", read(f, hf + "input_layernorm.weight"), 1, 64, 0);
    g.tensor(gg + "ffn_norm.weight", read(f, hf + "post_attention_layernorm.weight"), 1, 64, 0);
    g.tensor(gg + "attn_q.weight", permute_rows(read(f, hf + "self_attn.q_proj.weight"), 4, 16, 64), 64, 64, type);
    g.tensor(gg + "attn_k.weight", permute_rows(read(f, hf + "self_attn.k_proj.weight"), 2, 16, 64), 32, 64, type);
    g.tensor(gg + "attn_v.weight", read(f, hf + "self_attn.v_proj.weight"), 32, 64, type);
    g.tensor(gg + "attn_output.weight", read(f, hf + "self_attn.o_proj.weight"), 64, 64, type);
    g.tensor(gg + "ffn_gate.weight", read(f, hf + "mlp.gate_proj.weight"), 160, 64, type);
    g.tensor(gg + "ffn_up.weight", read(f, hf + "mlp.up_proj.weight"), 160, 64, type);
    g.tensor(gg + "ffn_down.weight", read(f, hf + "mlp.down_proj.weight"), 64, 160, type);
  }
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("nlm_llama_" + std::to_string(type) + (decoded_twin ? "_twin_" : "_") +
                             std::to_string(::getpid()) + ".gguf"))
                               .string();
  g.write(path);
  return path;
}

void check_against_reference(uint32_t type, double tol) {
  const std::string path = write_llama_gguf(type);
  auto d = runtime::load_decoder(path);
  ASSERT_TRUE(d.is_ok()) << d.status().message();
  auto ref = formats::SafetensorsFile::open(shared_dir() + "/fixtures/llama/reference.safetensors");
  ASSERT_TRUE(ref.is_ok());
  const auto want = read(**ref, "prompt.logits");
  auto ids = (*ref)->tensor("prompt.input_ids");
  std::vector<int32_t> prompt(ids->as<const int64_t>(), ids->as<const int64_t>() + ids->numel());
  auto got = runtime::compute_logits(*(*d)->model, prompt, false);
  ASSERT_TRUE(got.is_ok()) << got.status().message();
  double err = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
    const double d = std::fabs(static_cast<double>((*got)[i]) - want[i]);
    err = std::isnan(err) || d <= err ? err : d;  // a NaN stays (std::max would drop it)
  }
  EXPECT_LT(err / scale, tol) << "type " << type << " max abs err " << err;
  EXPECT_EQ((*d)->eos_token_ids, std::vector<int32_t>{2});
  std::filesystem::remove(path);
}

TEST(DecoderGguf, F32MatchesReference) { check_against_reference(0, 1e-4); }
// f16 / bf16 weights round each weight by 2^-11 / 2^-8 relative: the logits move by about that much.
TEST(DecoderGguf, F16MatchesReference) { check_against_reference(1, 2e-3); }
TEST(DecoderGguf, Bf16MatchesReference) { check_against_reference(30, 2e-2); }

// q5_0 / q5_1 matrices (ggml types 6 / 7; the fixture's K of 64 and 160 rule out q5_K) against the same
// file with every matrix decoded to f32: the quantized kernels multiply int8 activations, which moves the
// logits by about 2.7 % of their scale on this fixture (tests/models/mlx_models_test.cpp), not more.
TEST(DecoderGguf, Q5MatchesItsDecodedTwin) {
  auto ref = formats::SafetensorsFile::open(shared_dir() + "/fixtures/llama/reference.safetensors");
  ASSERT_TRUE(ref.is_ok());
  auto ids = (*ref)->tensor("prompt.input_ids");
  const std::vector<int32_t> prompt(ids->as<const int64_t>(), ids->as<const int64_t>() + ids->numel());
  for (uint32_t type : {6u, 7u}) {
    SCOPED_TRACE(type);
    const std::string qpath = write_llama_gguf(type), tpath = write_llama_gguf(type, /*decoded_twin=*/true);
    auto q = runtime::load_decoder(qpath);
    auto twin = runtime::load_decoder(tpath);
    ASSERT_TRUE(q.is_ok() && twin.is_ok()) << q.status().message() << " / " << twin.status().message();
    auto got = runtime::compute_logits(*(*q)->model, prompt, false);
    auto want = runtime::compute_logits(*(*twin)->model, prompt, false);
    ASSERT_TRUE(got.is_ok() && want.is_ok());
    double err = 0, scale = 0;
    for (size_t i = 0; i < want->size(); ++i) {
      scale = std::max(scale, std::fabs(static_cast<double>((*want)[i])));
      const double d = std::fabs(static_cast<double>((*got)[i]) - (*want)[i]);
      err = std::isnan(err) || d <= err ? err : d;  // a NaN stays (std::max would drop it)
    }
    EXPECT_LT(err / scale, 4e-2) << "max abs err " << err;
    std::filesystem::remove(qpath);
    std::filesystem::remove(tpath);
  }
}

}  // namespace
}  // namespace nlm::testing
