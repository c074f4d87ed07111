#pragma once
// Subcommands of the `nativelm` executable. Each lives in its own file and takes the arguments after
// its name; it returns the process exit code.
#include <span>
#include <string>
#include <string_view>

namespace nlm::cli {

struct Subcommand {
  std::string_view name;
  std::string_view summary;
  int (*run)(std::span<char*> args);
};

int run_serve(std::span<char*> args);
int run_pull(std::span<char*> args);
int run_list(std::span<char*> args);
int run_rm(std::span<char*> args);
int run_embed(std::span<char*> args);
int run_generate(std::span<char*> args);
// The embedded default model (models/stories260K): NLM_DEFAULT_MODEL_DIR, else beside the executable,
// else the source tree's models/ folder; "" when none is found.
std::string find_default_model();

// Small helpers for the hand-written argument parsers.
bool is_help(std::string_view arg);
// Matches "--name=value" or "--name value" at args[*i]; advances *i past a separate value.
bool take_option(std::span<char*> args, size_t* i, std::string_view name, std::string* value);

}  // namespace nlm::cli
