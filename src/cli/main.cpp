// nativelm: local embeddings and LLM generation over JSON lines (docs/protocol.md).
#include <array>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "cli/cli.h"
#include "core/version.h"

namespace nlm::cli {
namespace {

constexpr std::array kSubcommands = {
    Subcommand{"serve", "serve the JSON-lines protocol on stdin/stdout", run_serve},
    Subcommand{"pull", "download a Hugging Face model into the local cache", run_pull},
    Subcommand{"list", "list the models in the local caches (Hugging Face, Ollama)", run_list},
    Subcommand{"rm", "remove a model from the Hugging Face cache", run_rm},
    Subcommand{"embed", "embed texts with a model folder and print JSON", run_embed},
    Subcommand{"generate", "generate text from a prompt and stream it to stdout", run_generate},
};

void print_help() {
  std::printf(
      "nativelm %s — local embeddings and LLM generation for desktop apps\n\n"
      "Usage: nativelm <command> [options]\n\nCommands:\n",
      core::kVersion);
  for (const auto& s : kSubcommands) std::printf("  %-10s %.*s\n", std::string(s.name).c_str(), static_cast<int>(s.summary.size()), s.summary.data());
  std::printf(
      "\nOptions:\n"
      "  --version  print the version and exit\n"
      "  --help     print this help and exit\n\n"
      "Run 'nativelm <command> --help' for the options of a command.\n");
}

}  // namespace

bool is_help(std::string_view arg) { return arg == "--help" || arg == "-h"; }

bool take_option(std::span<char*> args, size_t* i, std::string_view name, std::string* value) {
  std::string_view a = args[*i];
  if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=') {
    *value = std::string(a.substr(name.size() + 1));
    return true;
  }
  if (a == name && *i + 1 < args.size()) {
    *value = args[++*i];
    return true;
  }
  return false;
}

}  // namespace nlm::cli

int main(int argc, char** argv) {
  using namespace nlm::cli;
  if (argc < 2) {
    print_help();
    return 2;
  }
  std::string_view first = argv[1];
  if (first == "--version" || first == "-V" || first == "version") {
    std::printf("nativelm %s\n", nlm::core::kVersion);
    return 0;
  }
  if (is_help(first) || first == "help") {
    print_help();
    return 0;
  }
  for (const auto& s : kSubcommands) {
    if (s.name == first) return s.run(std::span<char*>(argv + 2, static_cast<size_t>(argc - 2)));
  }
  std::fprintf(stderr, "nativelm: unknown command '%s' (see 'nativelm --help')\n", argv[1]);
  return 2;
}
