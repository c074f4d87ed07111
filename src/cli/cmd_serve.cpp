// `nativelm serve`: the JSON-lines protocol on stdin/stdout.
#include <cstdio>
#include <string>
#include <unistd.h>

#include "cli/cli.h"
#include "core/log.h"
#include "protocol/server.h"
#include "runtime/engine.h"

namespace nlm::cli {
namespace {

void print_serve_help() {
  std::printf(
      "Usage: nativelm serve [options]\n\n"
      "Reads one JSON request per line on stdin and writes one JSON object per line on stdout\n"
      "(docs/protocol.md). Logs go to stderr.\n\n"
      "Options:\n"
      "  --log-level LEVEL     debug | info | warn | error | off (default: warn)\n"
      "  --threads N           compute threads (default: every core)\n"
      "  --max-concurrent N    requests computed at once (default: 4)\n"
      "  --max-queued N        requests waiting before 'overloaded' (default: 256)\n"
      "  --max-line-bytes N    longest request line accepted (default: 67108864)\n"
      "  --allow-download      pull missing Hugging Face models on first use\n"
      "  --debug-commands      enable test-only commands (sleep)\n"
      "  --help                print this help\n");
}

bool parse_int(const std::string& s, long long min, long long max, long long* out) {
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

}  // namespace

int run_serve(std::span<char*> args) {
  protocol::ServerOptions opts;
  runtime::EngineOptions engine_opts;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string value;
    std::string_view a = args[i];
    long long n = 0;
    if (is_help(a)) {
      print_serve_help();
      return 0;
    } else if (take_option(args, &i, "--log-level", &value)) {
      core::LogLevel level;
      if (!core::parse_log_level(value, &level)) {
        std::fprintf(stderr, "nativelm serve: bad --log-level '%s'\n", value.c_str());
        return 2;
      }
      core::set_log_level(level);
    } else if (take_option(args, &i, "--threads", &value) && parse_int(value, 0, 1024, &n)) {
      opts.threads = engine_opts.threads = static_cast<int>(n);
    } else if (take_option(args, &i, "--max-concurrent", &value) && parse_int(value, 1, 1024, &n)) {
      opts.max_concurrent = static_cast<int>(n);
    } else if (take_option(args, &i, "--max-queued", &value) && parse_int(value, 1, 1 << 20, &n)) {
      opts.max_queued = static_cast<int>(n);
    } else if (take_option(args, &i, "--max-line-bytes", &value) && parse_int(value, 1024, 1LL << 32, &n)) {
      opts.max_line_bytes = static_cast<size_t>(n);
    } else if (a == "--debug-commands") {
      opts.debug_commands = true;
    } else if (a == "--allow-download") {
      opts.allow_download = engine_opts.allow_download = true;
    } else {
      std::fprintf(stderr, "nativelm serve: bad argument '%s' (see 'nativelm serve --help')\n", args[i]);
      return 2;
    }
  }
  engine_opts.default_model_dir = find_default_model();
  runtime::Engine engine(engine_opts);
  protocol::Server server(opts, engine, STDIN_FILENO, STDOUT_FILENO);
  log_info("[serve] ready");
  return server.run();
}

}  // namespace nlm::cli
