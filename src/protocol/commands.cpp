#include "protocol/commands.h"

#include <array>

namespace nlm::protocol {

// Handlers, one file each (cmd_*.cpp).
core::Result<Json> cmd_ping(CommandContext& ctx);
core::Result<Json> cmd_status(CommandContext& ctx);
core::Result<Json> cmd_shutdown(CommandContext& ctx);
core::Result<Json> cmd_cancel(CommandContext& ctx);
core::Result<Json> cmd_sleep(CommandContext& ctx);

namespace {
constexpr std::array kCommands = {
    CommandSpec{"ping", cmd_ping, true},
    CommandSpec{"status", cmd_status, true},
    CommandSpec{"shutdown", cmd_shutdown, true},
    CommandSpec{"cancel", cmd_cancel, true},
    CommandSpec{"sleep", cmd_sleep, false, true},
};
}  // namespace

std::span<const CommandSpec> command_table() { return kCommands; }

const CommandSpec* find_command(std::string_view name) {
  for (const CommandSpec& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace nlm::protocol
