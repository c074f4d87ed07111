#pragma once
// A small HTTP client over libcurl for the Hub API: buffered GET/HEAD with bounded bodies and a
// streaming GET with Range for file bodies. Redirects are followed within http(s) only; the bearer
// token goes in an Authorization header that libcurl drops when a redirect leaves the host.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"
#include "hub/settings.h"

namespace nlm::hub {

struct HttpResponse {
  long status = 0;                             // 0 when the transfer failed before a status line
  std::map<std::string, std::string> headers;  // of the last response; keys lowercased
  std::string body;
  std::string error;       // transport failure (connection refused, reset, timeout…); "" when none
  bool retryable = false;  // the failure is worth retrying (dropped connection, timeout, 5xx, 429)

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Returns false to abort the transfer (cancel, disk error, size bound).
using BodySink = std::function<bool(long status, std::string_view chunk)>;

class HttpClient {
 public:
  explicit HttpClient(const HubSettings& settings);

  // Buffered GET; a body longer than max_body fails the request.
  HttpResponse get(const std::string& url, size_t max_body) const;
  // HEAD; with follow=false the headers of the first response (e.g. a 302 with X-Linked-Etag).
  HttpResponse head(const std::string& url, bool follow) const;
  // GET streaming the body into `sink`, asking for bytes from `offset` on (Range) when offset > 0.
  // Only 2xx bodies reach the sink; error bodies are kept (bounded) in the response.
  HttpResponse get_stream(const std::string& url, uint64_t offset, const BodySink& sink) const;

 private:
  const HubSettings& settings_;
};

}  // namespace nlm::hub

namespace nlm::hub {

// Runs `attempt` until it returns a response that is not retryable, or max_attempts is reached,
// sleeping retry_base_ms * 2^n between tries.
HttpResponse with_retries(const HubSettings& s, const std::function<HttpResponse()>& attempt);
void backoff_sleep(const HubSettings& s, int attempt);

}  // namespace nlm::hub
