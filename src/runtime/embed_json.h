#pragma once
// The `embed` request / response in JSON (docs/protocol.md, "embed"), shared by the protocol handler
// (protocol/cmd_embed.cpp) and the CLI (cli/cmd_embed.cpp).
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "runtime/embed.h"
#include "runtime/engine.h"

namespace nlm::runtime {

// Resolves and loads the model (cached by the engine), embeds, and returns the response body:
// {"embeddings", "dimensions", "model", "tokens", "truncated", "pooling", "normalized"}. A Hub id pulled on
// first use (--allow-download) reports the download through `progress` (the pull's progress events, with
// "model") before this returns.
core::Result<nlohmann::json> embed_request(Engine& engine, const nlohmann::json& request,
                                           const CancelFn& cancelled = nullptr, const ProgressFn& progress = nullptr);

// A float as the JSON number with the shortest text that reads back as the same float32.
nlohmann::json compact_float(float v);
// Standard base64 (RFC 4648, with padding) of raw bytes.
std::string base64_encode(const void* data, size_t n);

}  // namespace nlm::runtime
