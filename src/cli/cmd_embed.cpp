// `nativelm embed --model M "text" …`: prints the same JSON body the protocol's `embed` answers.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "runtime/embed_json.h"
#include "runtime/engine.h"

namespace nlm::cli {
namespace {
void print_embed_help() {
  std::printf(
      "Usage: nativelm embed --model M [options] TEXT...\n\n"
      "Embeds each TEXT with the model folder M and prints one JSON object (as the protocol's 'embed').\n\n"
      "Options:\n"
      "  --model M          model folder (config.json + model.safetensors) or Hub id\n"
      "  --pooling P        mean | cls | max | last | none (default: the model's)\n"
      "  --normalize B      true | false (default: the model's)\n"
      "  --dimensions K     keep the first K dimensions (then re-normalize)\n"
      "  --prompt-name N    a prompt from config_sentence_transformers.json\n"
      "  --no-truncate      fail instead of cutting texts longer than the model's limit\n"
      "  --threads N        compute threads (default: all cores)\n"
      "  --log-level LEVEL  debug | info | warn | error | off (default: warn)\n");
}
}  // namespace

int run_embed(std::span<char*> args) {
  nlohmann::json req = {{"command", "embed"}};
  std::vector<std::string> texts;
  runtime::EngineOptions eo;
  std::string v;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (is_help(a)) {
      print_embed_help();
      return 0;
    } else if (take_option(args, &i, "--model", &v)) {
      req["model"] = v;
    } else if (take_option(args, &i, "--pooling", &v)) {
      req["pooling"] = v;
    } else if (take_option(args, &i, "--normalize", &v)) {
      req["normalize"] = v == "true" || v == "1";
    } else if (take_option(args, &i, "--dimensions", &v)) {
      req["dimensions"] = std::atoll(v.c_str());
    } else if (take_option(args, &i, "--prompt-name", &v)) {
      req["prompt_name"] = v;
    } else if (a == "--no-truncate") {
      req["truncate"] = false;
    } else if (take_option(args, &i, "--threads", &v)) {
      eo.threads = std::atoi(v.c_str());
    } else if (take_option(args, &i, "--log-level", &v)) {
      core::LogLevel level;
      if (!core::parse_log_level(v, &level)) {
        std::fprintf(stderr, "nativelm embed: bad --log-level '%s'\n", v.c_str());
        return 2;
      }
      core::set_log_level(level);
    } else if (a.size() > 1 && a[0] == '-' && a[1] == '-') {
      std::fprintf(stderr, "nativelm embed: unknown option '%s' (see --help)\n", args[i]);
      return 2;
    } else {
      texts.emplace_back(a);
    }
  }
  if (texts.empty()) {
    std::fprintf(stderr, "nativelm embed: no text given (see --help)\n");
    return 2;
  }
  if (texts.size() == 1) {
    req["text"] = texts[0];
  } else {
    req["texts"] = texts;
  }
  if (eo.threads > 0) core::set_threads(eo.threads);
  runtime::Engine engine(eo);
  auto out = runtime::embed_request(engine, req);
  if (!out.is_ok()) {
    nlohmann::json err = {{"success", false},
                          {"error", out.status().message()},
                          {"code", std::string(core::error_code_name(out.status().code()))}};
    std::printf("%s\n", err.dump().c_str());
    return 1;
  }
  nlohmann::json body = {{"success", true}};
  for (auto& [k, val] : out->items()) body[k] = val;
  std::printf("%s\n", body.dump().c_str());
  return 0;
}

}  // namespace nlm::cli
