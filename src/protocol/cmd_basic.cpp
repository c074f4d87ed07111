// ping, status, shutdown, cancel: the commands answered on the reader thread.
#include <thread>

#include "core/cpu_features.h"
#include "core/process_stats.h"
#include "core/version.h"
#include "kernels/dispatch.h"
#include "protocol/commands.h"
#include "protocol/server.h"
#include "runtime/engine.h"
#include "runtime/kv_cache.h"

namespace nlm::protocol {

core::Result<Json> cmd_ping(CommandContext&) { return Json{{"message", "pong"}}; }

core::Result<Json> cmd_status(CommandContext& ctx) {
  const auto& cpu = core::cpu_features();
  const auto mem = core::memory_stats();
  Json out = Json::object();
  out["version"] = core::kVersion;
  out["uptime_s"] = ctx.server.uptime_s();
  out["cpu"] = {{"brand", cpu.brand}, {"cores", cpu.logical_cores}, {"features", cpu.names()}};
  out["kernel_isa"] = std::string(kernels::isa_name(kernels::active_isa()));
  out["memory"] = {{"rss_bytes", mem.rss_bytes}, {"peak_rss_bytes", mem.peak_rss_bytes}};
  out["requests_in_flight"] = ctx.server.requests_in_flight();  // running + queued
  out["requests_queued"] = ctx.server.requests_queued();
  out["models"] = ctx.engine.loaded_models_json();
  const auto kv = runtime::kv_cache_usage();  // KV caches of generations in flight
  out["kv_cache"] = {{"bytes", kv.bytes}, {"caches", kv.caches}, {"peak_bytes", kv.peak_bytes}};
  return out;
}

core::Result<Json> cmd_shutdown(CommandContext& ctx) {
  ctx.server.request_shutdown();
  return Json{{"message", "shutting down"}};
}

core::Result<Json> cmd_cancel(CommandContext& ctx) {
  auto it = ctx.request.find("target");
  if (it == ctx.request.end()) {
    return core::error(core::ErrorCode::kInvalidRequest, "[protocol] missing field 'target' (the id to cancel)");
  }
  const bool found = ctx.server.cancel(*it);
  return Json{{"target", *it}, {"cancelled", found}};
}

// Test-only (serve --debug-commands): occupies a worker for "ms" milliseconds, polling cancel.
core::Result<Json> cmd_sleep(CommandContext& ctx) {
  NLM_ASSIGN_OR_RETURN(auto ms, opt_int(ctx.request, "ms", 0, 600000));
  const int64_t total = ms.value_or(100);
  int64_t slept = 0;
  while (slept < total) {
    if (ctx.cancel.requested()) return core::error(core::ErrorCode::kCancelled, "[sleep] cancelled");
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(5, total - slept)));
    slept += 5;
  }
  return Json{{"slept_ms", total}};
}

}  // namespace nlm::protocol
