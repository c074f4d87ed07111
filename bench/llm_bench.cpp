// LLM prefill / decode throughput.
//
//   llm_bench                                   the three built-in shapes with random F16 weights
//   llm_bench --model PATH [--model PATH2 ...]  real models (HF folder or GGUF), as `generate` loads them
//   options: --shapes smollm2-135m,smollm2-360m,tinyllama-1.1b  --prompt 512  --gen 128
//            --dtype f16|q8_0|q4_0|q4_1|q5_0|q2_K|q3_K|q4_K|q5_K|q6_K|a4_32  the built-in shapes' matrix dtype
//            (quantized from random F16-range values; norms stay F16)
//
// Prefill: one forward over a `--prompt`-token prompt (batches of 512), after an untimed one-token forward
// (the weights' first touch: page faults of a mapped file). Decode: `--gen` single-token
// forwards after it, greedy. Decode is memory bound: every token reads all weights once (plus the KV
// cache), so the table also shows decode as a fraction of the machine's measured read bandwidth.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/f16.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "models/decoder_model.h"
#include "runtime/decoder_loader.h"
#include "runtime/kv_cache.h"
#include "runtime/sampler.h"
#include "read_streams.h"

namespace {
using namespace nlm;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// In-memory tensors under HF names: matrices random (N(0, 0.02)-ish) in the chosen dtype (F16, or an
// int dtype quantized from them), norms F16 ones.
class RandomSource : public formats::TensorSource {
 public:
  explicit RandomSource(core::DType matrix_dtype) : dtype_(matrix_dtype) {}
  void add(const std::string& name, std::vector<int64_t> shape, bool ones, std::mt19937& rng) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    const core::DType t = ones ? core::DType::kF16 : dtype_;
    const int64_t cols = shape.back(), rows = n / cols, rb = core::dtype_row_bytes(t, cols);
    auto buf = std::make_shared<core::AlignedBuffer<char>>(static_cast<size_t>(rows * rb));
    std::vector<float> table(4096);
    std::normal_distribution<float> nd(0.f, 0.02f);
    for (auto& v : table) v = nd(rng);
    uint32_t x = rng();
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : row) {
        x = x * 1664525u + 1013904223u;
        v = ones ? 1.f : table[x >> 20];
      }
      kernels::quantize_row(row.data(), t, cols, buf->data() + r * rb);
    }
    core::TensorView v(buf->data(), t, {});
    v.ndim = 0;
    for (int64_t d : shape) v.shape[static_cast<size_t>(v.ndim++)] = d;
    v.row_bytes = rb;
    tensors_[name] = {v, buf};
  }
  core::Result<core::TensorView> tensor(std::string_view name) const override {
    auto it = tensors_.find(std::string(name));
    if (it == tensors_.end()) return core::error(core::ErrorCode::kModelLoadFailed, "missing " + std::string(name));
    return it->second.first;
  }
  bool has(std::string_view name) const override { return tensors_.count(std::string(name)) > 0; }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& [k, v] : tensors_) out.push_back(k);
    return out;
  }
  std::string describe() const override { return "random weights"; }

 private:
  core::DType dtype_;
  std::map<std::string, std::pair<core::TensorView, std::shared_ptr<core::AlignedBuffer<char>>>> tensors_;
};

struct Shape {
  const char* name;
  int64_t hidden, inter, layers, heads, kv_heads, vocab;
  bool tied;
};

constexpr Shape kShapes[] = {
    {"smollm2-135m", 576, 1536, 30, 9, 3, 49152, true},
    {"smollm2-360m", 960, 2560, 32, 15, 5, 49152, true},
    {"tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000, false},
};

core::Result<std::unique_ptr<models::DecoderModel>> random_model(const Shape& s, core::DType dtype) {
  std::mt19937 rng(42);
  auto src = std::make_shared<RandomSource>(dtype);
  const int64_t hd = s.hidden / s.heads;
  src->add("model.embed_tokens.weight", {s.vocab, s.hidden}, false, rng);
  src->add("model.norm.weight", {s.hidden}, true, rng);
  if (!s.tied) src->add("lm_head.weight", {s.vocab, s.hidden}, false, rng);
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    src->add(p + "input_layernorm.weight", {s.hidden}, true, rng);
    src->add(p + "post_attention_layernorm.weight", {s.hidden}, true, rng);
    src->add(p + "self_attn.q_proj.weight", {s.heads * hd, s.hidden}, false, rng);
    src->add(p + "self_attn.k_proj.weight", {s.kv_heads * hd, s.hidden}, false, rng);
    src->add(p + "self_attn.v_proj.weight", {s.kv_heads * hd, s.hidden}, false, rng);
    src->add(p + "self_attn.o_proj.weight", {s.hidden, s.heads * hd}, false, rng);
    src->add(p + "mlp.gate_proj.weight", {s.inter, s.hidden}, false, rng);
    src->add(p + "mlp.up_proj.weight", {s.inter, s.hidden}, false, rng);
    src->add(p + "mlp.down_proj.weight", {s.hidden, s.inter}, false, rng);
  }
  models::DecoderSource ds;
  ds.config = {{"model_type", "llama"},         {"hidden_size", s.hidden},      {"intermediate_size", s.inter},
               {"num_hidden_layers", s.layers}, {"num_attention_heads", s.heads}, {"num_key_value_heads", s.kv_heads},
               {"vocab_size", s.vocab},         {"tie_word_embeddings", s.tied}, {"max_position_embeddings", 2048},
               {"rms_norm_eps", 1e-5},          {"rope_theta", 10000.0}};
  ds.weights = src;
  return models::load_llama(ds);
}

// Read bandwidth of the machine (GB/s): every thread sums its share of a 512 MiB buffer, each task's
// range as two streams in step, with kernels_bench's ceiling/read_bw sum (bench/read_streams.h). Best of 3.
double read_bandwidth_gbs() {
  const int64_t n = int64_t{512} << 20, chunks = 256, chunk = n / chunks;
  core::AlignedBuffer<char> buf(static_cast<size_t>(n));
  std::memset(buf.data(), 1, static_cast<size_t>(n));
  std::vector<int64_t> sums(static_cast<size_t>(chunks));
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = Clock::now();
    core::parallel_for(chunks, [&](int64_t c, int) {
      sums[static_cast<size_t>(c)] = bench::sum_streams<2>(buf.data() + c * chunk, chunk);
    });
    best = std::max(best, static_cast<double>(n) / seconds_since(t0) / 1e9);
  }
  return best;
}

void run(const std::string& name, const models::DecoderModel& m, int64_t n_prompt, int64_t n_gen, double bw_gbs) {
  const auto& info = m.info();
  runtime::KvCache kv(info, n_prompt + n_gen);
  std::vector<int32_t> prompt(static_cast<size_t>(n_prompt));
  for (size_t i = 0; i < prompt.size(); ++i) {
    prompt[i] = static_cast<int32_t>((i * 7919 + 1) % static_cast<size_t>(info.vocab_size));
  }
  std::vector<float> logits(static_cast<size_t>(info.vocab_size));
  {  // One token first, so that the weights' first touch (page faults of the mapped file) is not timed.
    runtime::KvCache warm(info, 1);
    if (!m.forward(std::span(prompt).first(1), warm.state(), warm.scratch(), false, logits.data()).is_ok()) return;
  }
  auto t0 = Clock::now();
  for (int64_t i = 0; i < n_prompt; i += 512) {
    const auto n = std::min<int64_t>(512, n_prompt - i);
    auto st = m.forward(std::span(prompt).subspan(static_cast<size_t>(i), static_cast<size_t>(n)), kv.state(),
                        kv.scratch(), false, logits.data());
    if (!st.is_ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), st.message().c_str());
      return;
    }
  }
  const double prefill_s = seconds_since(t0);
  t0 = Clock::now();
  for (int64_t i = 0; i < n_gen; ++i) {
    const int32_t tok[1] = {runtime::argmax(logits)};
    if (!m.forward(tok, kv.state(), kv.scratch(), false, logits.data()).is_ok()) return;
  }
  const double decode_s = seconds_since(t0);
  const double decode_tps = static_cast<double>(n_gen) / decode_s;
  // Bytes per decoded token: the weights, plus on average half of the KV cache.
  const double kv_bytes = static_cast<double>(runtime::kv_cache_bytes(info, n_prompt + n_gen / 2));
  const double bytes_per_token = static_cast<double>(info.weight_bytes) + kv_bytes;
  const double limit_tps = bw_gbs * 1e9 / bytes_per_token;
  std::printf("%-16s %6s %9.1f MB %8.1f %10.1f %9.2f %10.1f %8.0f%%\n", name.c_str(), info.weight_dtype.c_str(),
              static_cast<double>(info.weight_bytes) / 1e6, static_cast<double>(n_prompt) / prefill_s, decode_tps,
              bytes_per_token * decode_tps / 1e9, limit_tps, 100.0 * decode_tps / limit_tps);
  std::fflush(stdout);
}

bool parse_dtype(const std::string& name, core::DType* out) {
  using core::DType;
  for (DType t : {DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ2_K, DType::kQ3_K,
                  DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kA4_32}) {
    if (name == core::dtype_info(t).name) {
      *out = t;
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  std::string shapes = "smollm2-135m,smollm2-360m,tinyllama-1.1b";
  int64_t n_prompt = 512, n_gen = 128;
  core::DType dtype = core::DType::kF16;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--model" && has_value) paths.push_back(argv[++i]);
    else if (a == "--shapes" && has_value) shapes = argv[++i];
    else if (a == "--prompt" && has_value) n_prompt = std::max(1L, std::atol(argv[++i]));
    else if (a == "--gen" && has_value) n_gen = std::max(1L, std::atol(argv[++i]));
    else if (a == "--dtype" && has_value && parse_dtype(argv[i + 1], &dtype)) ++i;
    else {
      std::fprintf(stderr, "usage: llm_bench [--model PATH]... [--shapes a,b] [--prompt N] [--gen N] [--dtype T]\n");
      return 2;
    }
  }
  const double bw = read_bandwidth_gbs();
  std::printf("threads %d, measured read bandwidth %.1f GB/s; prompt %ld tokens, decode %ld tokens\n\n",
              core::n_threads(), bw, static_cast<long>(n_prompt), static_cast<long>(n_gen));
  std::printf("%-16s %6s %12s %8s %10s %9s %10s %9s\n", "model", "dtype", "weights", "prefill", "decode", "decode",
              "bw-limit", "of limit");
  std::printf("%-16s %6s %12s %8s %10s %9s %10s %9s\n", "", "", "", "tok/s", "tok/s", "GB/s", "tok/s", "");
  if (!paths.empty()) {
    for (const std::string& p : paths) {
      auto d = runtime::load_decoder(p);
      if (!d.is_ok()) {
        std::fprintf(stderr, "%s: %s\n", p.c_str(), d.status().message().c_str());
        continue;
      }
      run(p.substr(p.find_last_of('/') + 1), *(*d)->model, n_prompt, n_gen, bw);
    }
    return 0;
  }
  for (const Shape& s : kShapes) {
    if (shapes.find(s.name) == std::string::npos) continue;
    auto m = random_model(s, dtype);
    if (!m.is_ok()) {
      std::fprintf(stderr, "%s: %s\n", s.name, m.status().message().c_str());
      continue;
    }
    run(s.name, **m, n_prompt, n_gen, bw);
  }
  return 0;
}
