// End-to-end encoder throughput: embeddings per second for 1, 10 and 100 chunks of ~128 tokens through
// one EncoderModel::embed call (+ mean pooling), for all-MiniLM-L6-v2- and all-mpnet-base-v2-shaped
// models, with the fraction of the machine's f32 FLOP ceiling reached.
//
//   embed_bench                                   random f32 weights of both real shapes (in memory)
//   NLM_EMBED_MODEL=/path/to/folder embed_bench   a real model folder instead (config.json + safetensors)
//   NLM_TOKEN_IDS=../shared/peers/data/token_ids.json   chunks from that file ([[ids], ...]) instead of
//                                                 random ids (each cut to 128 tokens)
//   NLM_FLOP_CEILING_GFLOPS=...                   override the ceiling (default: cores x MHz x FLOP/cycle)
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "models/registry.h"
#include "runtime/embed.h"

namespace nlm {
namespace {

// Tensors held in memory, for models built without files.
class MemorySource : public formats::TensorSource {
 public:
  void add(const std::string& name, std::vector<int64_t> shape, float mean, float stddev, std::mt19937& rng) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    auto& buf = bufs_[name];
    buf.resize(static_cast<size_t>(n));
    std::normal_distribution<float> dist(mean, stddev);
    for (auto& v : buf) v = dist(rng);
    core::TensorView t;
    t.data = buf.data();
    t.dtype = core::DType::kF32;
    t.ndim = static_cast<int>(shape.size());
    for (int i = 0; i < t.ndim; ++i) t.shape[i] = shape[i];
    t.row_bytes = t.cols() * 4;
    views_[name] = t;
  }
  core::Result<core::TensorView> tensor(std::string_view name) const override {
    auto it = views_.find(std::string(name));
    if (it == views_.end()) return core::error(core::ErrorCode::kModelLoadFailed, "no " + std::string(name));
    return it->second;
  }
  bool has(std::string_view name) const override { return views_.count(std::string(name)) != 0; }
  std::vector<std::string> names() const override { return {}; }
  std::string describe() const override { return "memory"; }

 private:
  std::map<std::string, std::vector<float>> bufs_;
  std::map<std::string, core::TensorView> views_;
};

std::shared_ptr<models::EncoderModel> random_model(bool mpnet) {
  const int64_t H = 768 / (mpnet ? 1 : 2), I = 4 * H, L = mpnet ? 12 : 6, V = mpnet ? 30527 : 30522;
  const int64_t P = mpnet ? 514 : 512, heads = 12;
  nlohmann::json cfg = {{"vocab_size", V}, {"hidden_size", H}, {"num_hidden_layers", L},
                        {"num_attention_heads", heads}, {"intermediate_size", I}, {"max_position_embeddings", P},
                        {"model_type", mpnet ? "mpnet" : "bert"}, {"pad_token_id", mpnet ? 1 : 0}};
  auto src = std::make_shared<MemorySource>();
  std::mt19937 rng(7);
  const float s = 1.0f / std::sqrt(static_cast<float>(H));
  src->add("embeddings.word_embeddings.weight", {V, H}, 0, s, rng);
  src->add("embeddings.position_embeddings.weight", {P, H}, 0, s, rng);
  if (!mpnet) src->add("embeddings.token_type_embeddings.weight", {2, H}, 0, s, rng);
  src->add("embeddings.LayerNorm.weight", {H}, 1, 0.1f, rng);
  src->add("embeddings.LayerNorm.bias", {H}, 0, 0.1f, rng);
  if (mpnet) src->add("encoder.relative_attention_bias.weight", {32, heads}, 0, 0.3f, rng);
  for (int64_t l = 0; l < L; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    const char* attn[] = {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"};
    const char* attn_mp[] = {"attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o"};
    for (int k = 0; k < 4; ++k) {
      const std::string m = p + (mpnet ? attn_mp[k] : attn[k]);
      src->add(m + ".weight", {H, H}, 0, s, rng);
      src->add(m + ".bias", {H}, 0, 0.1f, rng);
    }
    src->add(p + "intermediate.dense.weight", {I, H}, 0, s, rng);
    src->add(p + "intermediate.dense.bias", {I}, 0, 0.1f, rng);
    src->add(p + "output.dense.weight", {H, I}, 0, 0.5f * s, rng);
    src->add(p + "output.dense.bias", {H}, 0, 0.1f, rng);
    for (const char* n : {mpnet ? "attention.LayerNorm" : "attention.output.LayerNorm", "output.LayerNorm"}) {
      src->add(p + n + ".weight", {H}, 1, 0.1f, rng);
      src->add(p + n + ".bias", {H}, 0, 0.1f, rng);
    }
  }
  models::EncoderSource es{formats::ModelConfig::from_json(cfg, "bench"), src, mpnet};
  auto m = mpnet ? models::load_mpnet(es) : models::load_bert(es);
  if (!m.is_ok()) {
    std::fprintf(stderr, "%s\n", m.status().message().c_str());
    std::exit(1);
  }
  return m.value();
}

std::shared_ptr<models::EncoderModel> model_for(int kind) {
  static std::map<int, std::shared_ptr<models::EncoderModel>> cache;
  auto& m = cache[kind];
  if (m) return m;
  if (kind == 2) {
    auto r = models::load_encoder(std::getenv("NLM_EMBED_MODEL"));
    if (!r.is_ok()) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      std::exit(1);
    }
    m = r.value();
  } else {
    m = random_model(kind == 1);
  }
  return m;
}

std::vector<std::vector<int32_t>> chunks(int n, const models::EncoderInfo& info) {
  std::vector<std::vector<int32_t>> out;
  if (const char* path = std::getenv("NLM_TOKEN_IDS")) {
    std::ifstream in(path);
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_array()) {
      for (const auto& row : j) {
        if (static_cast<int>(out.size()) == n) break;
        std::vector<int32_t> ids;
        for (const auto& v : row) {
          if (ids.size() < 128) ids.push_back(static_cast<int32_t>(std::min<int64_t>(v.get<int64_t>(), info.vocab_size - 1)));
        }
        out.push_back(std::move(ids));
      }
    }
  }
  std::mt19937 rng(11);
  const auto hi = static_cast<int32_t>(info.vocab_size - 1);
  std::uniform_int_distribution<int32_t> id(std::min<int32_t>(1000, hi / 2), hi);  // skip special ids
  while (static_cast<int>(out.size()) < n) {
    std::vector<int32_t> ids(128);
    for (auto& v : ids) v = id(rng);
    out.push_back(std::move(ids));
  }
  return out;
}

double flop_ceiling() {
  if (const char* c = std::getenv("NLM_FLOP_CEILING_GFLOPS")) return std::atof(c) * 1e9;
  double mhz = 0;
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line)) {
    if (line.rfind("cpu MHz", 0) == 0) mhz = std::max(mhz, std::atof(line.substr(line.find(':') + 1).c_str()));
  }
  const auto& f = core::cpu_features();
  const double per_cycle = f.avx512f ? 64 : f.avx2 ? 32 : 8;  // 2 FMA pipes x lanes x 2
  return core::n_threads() * mhz * 1e6 * per_cycle;
}

void BM_Embed(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  auto model = model_for(kind);
  const auto& info = model->info();
  const auto seqs = chunks(n, info);
  std::vector<std::span<const int32_t>> spans;
  int64_t tokens = 0;
  double macs = 0;
  for (const auto& s : seqs) {
    spans.emplace_back(s);
    tokens += static_cast<int64_t>(s.size());
    macs += info.macs_per_token(static_cast<int64_t>(s.size())) * static_cast<double>(s.size());
  }
  std::vector<float> states(static_cast<size_t>(tokens * info.hidden_size));
  std::vector<float> pooled(static_cast<size_t>(info.hidden_size));
  // One untimed batch first: the 10- and 100-chunk rows run a single iteration, whose first touch of the
  // scratch buffers at a new batch size read 1.1–1.3 s for 10 bert-base chunks against ~0.78 s warm.
  model->embed(spans, states.data());
  for (auto _ : state) {
    model->embed(spans, states.data());
    int64_t off = 0;
    for (const auto& s : seqs) {
      runtime::pool_sequence(states.data() + off * info.hidden_size, static_cast<int64_t>(s.size()), info.hidden_size,
                             runtime::EmbedPooling::kMean, 0, pooled.data());
      off += static_cast<int64_t>(s.size());
    }
    benchmark::DoNotOptimize(pooled.data());
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["emb/s"] = benchmark::Counter(iters * n, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(iters * 2 * macs / 1e9, benchmark::Counter::kIsRate);
  state.counters["ms/batch"] = benchmark::Counter(iters / 1e3, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  const double ceiling = flop_ceiling();
  state.counters["ceiling%"] = benchmark::Counter(ceiling > 0 ? iters * 2 * macs / ceiling * 100 : 0,
                                                  benchmark::Counter::kIsRate);
  state.SetLabel(kind == 0 ? "MiniLM-L6 shape" : kind == 1 ? "mpnet-base shape" : std::getenv("NLM_EMBED_MODEL"));
}

void args(benchmark::internal::Benchmark* b) {
  const bool folder = std::getenv("NLM_EMBED_MODEL") != nullptr;
  for (int kind : folder ? std::vector<int>{2} : std::vector<int>{0, 1}) {
    for (int n : {1, 10, 100}) b->Args({kind, n});
  }
  b->ArgNames({"model", "chunks"})->Unit(benchmark::kMillisecond)->UseRealTime();
}
BENCHMARK(BM_Embed)->Apply(args);

}  // namespace
}  // namespace nlm

BENCHMARK_MAIN();
