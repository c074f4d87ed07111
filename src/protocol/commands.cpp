#include "protocol/commands.h"

#include <array>

#include "runtime/engine.h"

namespace nlm::protocol {

// Handlers, one file each (cmd_*.cpp).
core::Result<Json> cmd_ping(CommandContext& ctx);
core::Result<Json> cmd_status(CommandContext& ctx);
core::Result<Json> cmd_shutdown(CommandContext& ctx);
core::Result<Json> cmd_cancel(CommandContext& ctx);
core::Result<Json> cmd_pull(CommandContext& ctx);
core::Result<Json> cmd_models(CommandContext& ctx);
core::Result<Json> cmd_delete(CommandContext& ctx);
core::Result<Json> cmd_sleep(CommandContext& ctx);
core::Result<Json> cmd_tokenize(CommandContext& ctx);
core::Result<Json> cmd_detokenize(CommandContext& ctx);
core::Result<Json> cmd_embed(CommandContext& ctx);
core::Result<Json> cmd_generate(CommandContext& ctx);
core::Result<Json> cmd_logits(CommandContext& ctx);
core::Result<Json> cmd_chat(CommandContext& ctx);
core::Result<Json> cmd_apply_template(CommandContext& ctx);

namespace {
constexpr std::array kCommands = {
    CommandSpec{"ping", cmd_ping, true},
    CommandSpec{"status", cmd_status, true},
    CommandSpec{"shutdown", cmd_shutdown, true},
    CommandSpec{"cancel", cmd_cancel, true},
    CommandSpec{"pull", cmd_pull, false},
    CommandSpec{"models", cmd_models, false},
    CommandSpec{"delete", cmd_delete, false},
    CommandSpec{"sleep", cmd_sleep, false, true},
    CommandSpec{"tokenize", cmd_tokenize, false},
    CommandSpec{"detokenize", cmd_detokenize, false},
    CommandSpec{"embed", cmd_embed, false},
    CommandSpec{"generate", cmd_generate, false},
    CommandSpec{"logits", cmd_logits, false},
    CommandSpec{"chat", cmd_chat, false},
    CommandSpec{"apply_template", cmd_apply_template, false},
};
}  // namespace

std::span<const CommandSpec> command_table() { return kCommands; }

core::Result<runtime::ResolvedModel> CommandContext::resolve_model(const std::string& ref) {
  return engine.resolve(ref, [this](const Json& event) { emit(event); });
}

const CommandSpec* find_command(std::string_view name) {
  for (const CommandSpec& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace nlm::protocol
