// embed: text, texts or token ids -> embeddings (docs/protocol.md, "embed"). The work is in
// runtime/embed_json.cpp, shared with `nativelm embed`; a Hub id pulled on first use streams the pull's
// progress events before the final line.
#include "protocol/commands.h"
#include "runtime/embed_json.h"

namespace nlm::protocol {

core::Result<Json> cmd_embed(CommandContext& ctx) {
  return runtime::embed_request(
      ctx.engine, ctx.request, [&ctx] { return ctx.cancel.requested(); },
      [&ctx](const Json& event) { ctx.emit(event); });
}

}  // namespace nlm::protocol
