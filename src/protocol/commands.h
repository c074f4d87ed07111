#pragma once
// The command table: each protocol command is one handler function in its own file (cmd_*.cpp),
// listed explicitly in commands.cpp (no static self-registration, STYLE.md §7.6).
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "protocol/fields.h"

namespace nlm::runtime {
class Engine;
struct ResolvedModel;
}

namespace nlm::protocol {

struct ServerOptions {
  int max_concurrent = 4;               // requests computed at once (workers)
  int max_queued = 256;                 // requests waiting beyond that before `overloaded`
  size_t max_line_bytes = 64u << 20;    // longest request line accepted
  bool allow_download = false;          // pull missing Hub models on first use
  int threads = 0;                      // compute threads (0: all cores)
  bool debug_commands = false;          // enable test-only commands such as `sleep`
};

// Set by `cancel`, `shutdown`-with-cancel or SIGTERM; long handlers poll it between steps.
class CancelFlag {
 public:
  bool requested() const { return flag_.load(std::memory_order_relaxed); }
  void request() { flag_.store(true, std::memory_order_relaxed); }

 private:
  std::atomic<bool> flag_{false};
};

class Server;

// What a handler sees. `emit` writes an event line about this request (the id is added).
struct CommandContext {
  const Json& request;
  const Json* id;  // nullptr when the request carried none
  std::function<void(Json)> emit;
  const CancelFlag& cancel;
  Server& server;
  runtime::Engine& engine;
  std::string_view raw_line = {};  // the request line as sent

  // The request with every object's keys in the order the client wrote them (`request` is key-sorted).
  // Chat templates need this: tojson of tools and messages keeps the caller's key order.
  nlohmann::ordered_json ordered_request() const {
    auto j = nlohmann::ordered_json::parse(raw_line, nullptr, /*allow_exceptions=*/false);
    return j.is_discarded() ? nlohmann::ordered_json::parse(request.dump()) : j;
  }
  // Resolves a model reference; a Hub model pulled on first use (serve --allow-download) streams the
  // pull's progress events as this request's event lines.
  core::Result<runtime::ResolvedModel> resolve_model(const std::string& ref);
};

// A handler returns the body of its final line ("success":true and the id are added), or an error.
using CommandFn = core::Result<Json> (*)(CommandContext& ctx);

struct CommandSpec {
  std::string_view name;
  CommandFn fn;
  bool on_reader_thread;  // cheap and never blocking: answered at once, ahead of queued work
  bool debug_only = false;  // served only with `serve --debug-commands` (tests)
};

std::span<const CommandSpec> command_table();
const CommandSpec* find_command(std::string_view name);

}  // namespace nlm::protocol
