// Tokenization throughput (MB/s of UTF-8 input, single thread) for WordPiece (all-MiniLM-L6-v2) and
// byte-level BPE (Qwen2.5, Llama-3.2), next to transformers.js on the same documents in the same run
// (tests/tokenizer/js/bench.mjs; skipped when node or its node_modules are missing).
// Documents: tests/tokenizer/data/hard_corpus.json and the shared vocab-vector inputs, joined into
// ~2 KB documents, repeated to ~1 MB.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
  if (const char* e = std::getenv("NLM_SOURCE_DIR")) return e;
  // bench binaries live in <build>/bench; the tree is usually the build folder's parent.
  return fs::exists("tests/tokenizer/data/hard_corpus.json") ? fs::path(".") : fs::path("..");
}
fs::path shared_dir() {
  if (const char* e = std::getenv("NLM_SHARED_DIR")) return e;
  return source_dir() / ".." / "shared";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> make_docs() {
  std::vector<std::string> pieces;
  const auto corpus = nlohmann::json::parse(slurp(source_dir() / "tests/tokenizer/data/hard_corpus.json"), nullptr, false);
  if (corpus.is_array()) {
    for (const auto& t : corpus) pieces.push_back(t.get<std::string>());
  }
  for (const char* extra : {"data/vocab-vectors/ggml-vocab-llama-spm.gguf.inp", "data/tokenizers/all-MiniLM-L6-v2/README.md",
                            "data/MANIFEST.md"}) {
    pieces.push_back(slurp(shared_dir() / extra));
  }
  std::string all;
  for (const auto& p : pieces) all += p + "\n";
  std::vector<std::string> docs;
  size_t total = 0;
  while (total < (1u << 20) && !all.empty()) {
    for (size_t pos = 0; pos < all.size();) {
      size_t end = std::min(all.size(), pos + 2048);
      while (end < all.size() && (static_cast<unsigned char>(all[end]) & 0xC0) == 0x80) ++end;  // whole characters
      docs.push_back(all.substr(pos, end - pos));
      total += end - pos;
      pos = end;
    }
  }
  return docs;
}

const std::vector<std::string>& docs() {
  static const std::vector<std::string> d = make_docs();
  return d;
}

struct Case {
  const char* label;
  const char* folder;  // under shared/data/tokenizers
};
constexpr Case kCases[] = {{"WordPiece (all-MiniLM-L6-v2)", "all-MiniLM-L6-v2"},
                           {"byte-level BPE (Qwen2.5)", "Qwen2.5-0.5B-Instruct"},
                           {"byte-level BPE (Llama-3.2)", "Llama-3.2"}};

void bm_encode(benchmark::State& state, const Case& c) {
  auto tk = nlm::tok::load_tokenizer((shared_dir() / "data/tokenizers" / c.folder).string());
  if (!tk.is_ok()) {
    state.SkipWithError(tk.status().message().c_str());
    return;
  }
  size_t bytes = 0, tokens = 0;
  for (auto _ : state) {
    for (const auto& d : docs()) {
      auto ids = (*tk)->encode(d, false);
      tokens += ids->size();
      bytes += d.size();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["tokens"] = static_cast<double>(tokens) / static_cast<double>(state.iterations());
}

// Runs the transformers.js timing and prints its MB/s per case.
void run_transformers_js() {
  const fs::path js = source_dir() / "tests/tokenizer/js";
  if (!fs::exists(js / "node_modules/@huggingface/transformers") || std::system("node --version >/dev/null 2>&1") != 0) {
    std::printf("transformers.js: skipped (run `npm ci` in tests/tokenizer/js)\n");
    return;
  }
  const fs::path docs_path = fs::temp_directory_path() / "nlm_tok_bench_docs.json";
  std::ofstream(docs_path) << nlohmann::json(docs()).dump();
  std::string cmd = "node '" + (js / "bench.mjs").string() + "' '" + (shared_dir() / "data/tokenizers").string() + "' '" +
                    docs_path.string() + "'";
  for (const Case& c : kCases) cmd += std::string(" ") + c.folder;
  std::printf("\n%-32s %12s\n", "transformers.js", "MB/s");
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return;
  char line[4096];
  while (std::fgets(line, sizeof(line), p)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object()) std::printf("%-32s %12.2f\n", j.value("name", "").c_str(), j.value("mb_per_s", 0.0));
  }
  pclose(p);
  fs::remove(docs_path);
}

}  // namespace

int main(int argc, char** argv) {
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark(c.label, [&c](benchmark::State& s) { bm_encode(s, c); })
        ->Unit(benchmark::kMillisecond)
        ->MinTime(1.0)
        ->UseRealTime();  // wall time, as transformers.js is timed
  }
  benchmark::Initialize(&argc, argv);
  std::printf("documents: %zu, %.2f MB\n", docs().size(),
              [] {
                size_t n = 0;
                for (const auto& d : docs()) n += d.size();
                return static_cast<double>(n) / 1e6;
              }());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  run_transformers_js();
  return 0;
}
