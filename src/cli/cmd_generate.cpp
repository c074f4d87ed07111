// `nativelm generate [--model M] [options] "prompt"`: streams the continuation to stdout. Also finds the
// embedded default model for `serve` and `generate`.
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/decoder_loader.h"
#include "runtime/engine.h"
#include "runtime/generate.h"
#include "tokenizer/stream_decoder.h"

namespace nlm::cli {
namespace {
namespace fs = std::filesystem;

constexpr const char* kDefaultModel = "stories260K/stories260K.gguf";

// `dir` may be the models/ folder itself or the default model's own folder.
std::string default_model_in(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / kDefaultModel, ec)) return (dir / kDefaultModel).string();
  return dir.string();
}

void print_generate_help() {
  std::printf(
      "Usage: nativelm generate [options] \"prompt\"\n\n"
      "Generates a continuation of the prompt and streams it to stdout.\n\n"
      "Options:\n"
      "  --model M          a model folder, .gguf file or Hub id (default: the embedded stories260K)\n"
      "  --max-tokens N     new tokens at most (default: 256, or what the context leaves)\n"
      "  --temperature T    0 = greedy (default: the model's generation_config, else 0.8)\n"
      "  --top-k K, --top-p P, --min-p P, --repeat-penalty R, --seed S\n"
      "  --stop TEXT        a stop string (may be repeated)\n"
      "  --help             print this help\n");
}

bool parse_num(const std::string& s, double* out) {
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && *end == '\0';
}

}  // namespace

std::string find_default_model() {
  if (const char* env = std::getenv("NLM_DEFAULT_MODEL_DIR"); env && *env) return default_model_in(env);
  std::error_code ec;
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) {
    const fs::path exe_dir = fs::path(std::string(buf, static_cast<size_t>(n))).parent_path();
    for (const fs::path& dir : {exe_dir / ".." / "models", exe_dir / "models"}) {
      if (fs::exists(dir / kDefaultModel, ec)) return fs::weakly_canonical(dir / kDefaultModel, ec).string();
    }
  }
  const fs::path source_models = fs::path(__FILE__).parent_path() / ".." / ".." / "models";  // baked at build time
  if (fs::exists(source_models / kDefaultModel, ec)) return fs::weakly_canonical(source_models / kDefaultModel, ec).string();
  return {};
}

int run_generate(std::span<char*> args) {
  std::string model, prompt, value;
  bool have_prompt = false;
  runtime::GenerateOptions o;
  o.sampling.temperature = -1;  // unset: the model's defaults
  static constexpr std::string_view kNumeric[] = {"--max-tokens", "--temperature", "--top-k", "--top-p",
                                                 "--min-p", "--repeat-penalty", "--seed"};
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (is_help(a)) {
      print_generate_help();
      return 0;
    }
    if (take_option(args, &i, "--model", &value)) {
      model = value;
      continue;
    }
    if (take_option(args, &i, "--stop", &value)) {
      o.stop.push_back(value);
      continue;
    }
    bool matched = false;
    for (std::string_view name : kNumeric) {
      if (matched || !take_option(args, &i, name, &value)) continue;
      matched = true;
      double x = 0;
      if (!parse_num(value, &x)) {
        std::fprintf(stderr, "nativelm generate: bad value '%s' for %s\n", value.c_str(), std::string(name).c_str());
        return 2;
      }
      if (name == "--max-tokens") o.max_tokens = static_cast<int64_t>(x);
      else if (name == "--temperature") o.sampling.temperature = static_cast<float>(x);
      else if (name == "--top-k") o.sampling.top_k = static_cast<int>(x);
      else if (name == "--top-p") o.sampling.top_p = static_cast<float>(x);
      else if (name == "--min-p") o.sampling.min_p = static_cast<float>(x);
      else if (name == "--repeat-penalty") o.sampling.repeat_penalty = static_cast<float>(x);
      else o.sampling.seed = static_cast<uint64_t>(x);
    }
    if (matched) continue;
    if (!have_prompt && a.rfind("--", 0) != 0) {
      prompt = std::string(a);
      have_prompt = true;
      continue;
    }
    std::fprintf(stderr, "nativelm generate: bad argument '%s' (see 'nativelm generate --help')\n", args[i]);
    return 2;
  }
  runtime::EngineOptions eo;
  eo.default_model_dir = find_default_model();
  runtime::Engine engine(eo);
  auto resolved = engine.resolve(model);
  auto loaded = resolved.is_ok() ? runtime::load_decoder(resolved->path) : resolved.status();
  if (!loaded.is_ok()) {
    std::fprintf(stderr, "nativelm generate: %s\n", loaded.status().message().c_str());
    return 1;
  }
  const runtime::LoadedDecoder& d = **loaded;
  auto ids = d.encode_prompt(prompt);
  if (!ids.is_ok()) {
    std::fprintf(stderr, "nativelm generate: %s\n", ids.status().message().c_str());
    return 1;
  }
  if (o.sampling.temperature < 0) o.sampling.temperature = d.generation_config.value("do_sample", true) ? 0.8f : 0.f;
  o.eos_token_ids = d.eos_token_ids;
  tok::StreamDecoder text(d.tokenizer, /*skip_special_tokens=*/true);
  if (auto st = text.prime(*ids); !st.is_ok()) {
    std::fprintf(stderr, "nativelm generate: %s\n", st.message().c_str());
    return 1;
  }
  runtime::GenerateHooks hooks;
  hooks.detokenize = [&](int32_t t) { return text.step(t).value_or(std::string()); };
  hooks.detokenize_flush = [&] { return text.flush().value_or(std::string()); };
  hooks.on_token = [](int32_t, const std::string& piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  };
  auto r = runtime::generate(*d.model, *ids, o, hooks);
  std::printf("\n");
  if (!r.is_ok()) {
    std::fprintf(stderr, "nativelm generate: %s\n", r.status().message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace nlm::cli
