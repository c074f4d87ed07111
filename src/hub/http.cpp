#include "hub/http.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <thread>

#include <curl/curl.h>

#include "core/log.h"

namespace nlm::hub {
namespace {

constexpr size_t kMaxHeaderBytes = 64 << 10;
constexpr size_t kMaxErrorBody = 64 << 10;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  HttpResponse* resp = nullptr;
  size_t header_bytes = 0;
  size_t max_body = 0;
  const BodySink* sink = nullptr;
  bool aborted_by_sink = false;
  bool body_too_large = false;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  t->header_bytes += len;
  if (t->header_bytes > kMaxHeaderBytes) return 0;
  std::string_view line(data, len);
  if (line.substr(0, 5) == "HTTP/") {  // a new response (after a redirect): start over
    t->resp->headers.clear();
    return len;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string key(line.substr(0, colon));
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  t->resp->headers[key] = std::string(value);
  return len;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  long status = 0;
  // The status of the response the body belongs to is the one most recently parsed.
  if (t->sink) {
    status = t->resp->status;
    if (status >= 200 && status < 300) {
      if (!(*t->sink)(status, std::string_view(data, len))) {
        t->aborted_by_sink = true;
        return 0;
      }
      return len;
    }
    if (t->resp->body.size() + len > kMaxErrorBody) return len;  // drop the rest of an error page
  } else if (t->resp->body.size() + len > t->max_body) {
    t->body_too_large = true;
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

// Keeps resp->status current so on_body knows whether a body is the payload or an error page.
size_t on_header_status(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") {
    const size_t sp = line.find(' ');
    if (sp != std::string_view::npos) t->resp->status = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
  }
  return on_header(data, size, n, user);
}

bool retryable_curl(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return true;
    default:
      return false;
  }
}

}  // namespace

HttpClient::HttpClient(const HubSettings& settings) : settings_(settings) { global_init(); }

namespace {

struct Request {
  std::string url;
  bool head = false;
  bool follow = true;
  uint64_t offset = 0;
  size_t max_body = 0;
  const BodySink* sink = nullptr;
};

HttpResponse perform(const HubSettings& s, const Request& r) {
  HttpResponse resp;
  CURL* curl = curl_easy_init();
  if (!curl) {
    resp.error = "curl_easy_init failed";
    return resp;
  }
  Transfer t{&resp, 0, r.max_body, r.sink, false, false};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  const std::string auth = "Authorization: Bearer " + s.token;
  if (!s.token.empty()) headers = curl_slist_append(headers, auth.c_str());
  headers = curl_slist_append(headers, "Accept-Encoding: identity");
  const std::string range = "Range: bytes=" + std::to_string(r.offset) + "-";
  if (r.offset > 0) headers = curl_slist_append(headers, range.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "nativelm/0.1 (huggingface_hub compatible)");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, r.follow ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, s.connect_timeout_s);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, s.stall_timeout_s);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header_status);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  if (r.head) curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!s.ca_bundle.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, s.ca_bundle.c_str());
  if (!s.proxy.empty()) curl_easy_setopt(curl, CURLOPT_PROXY, s.proxy.c_str());
  log_debug("[hub] %s %s%s", r.head ? "HEAD" : "GET", r.url.c_str(),
            r.offset > 0 ? (" from byte " + std::to_string(r.offset)).c_str() : "");
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  resp.status = status;
  if (code != CURLE_OK) {
    if (t.aborted_by_sink) {
      resp.error = "aborted";
    } else if (t.body_too_large) {
      resp.error = "response body larger than " + std::to_string(r.max_body) + " bytes";
    } else {
      resp.error = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(code));
      resp.retryable = retryable_curl(code);
    }
  } else if (status >= 500 || status == 429 || status == 408) {
    resp.retryable = true;
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return resp;
}

}  // namespace

HttpResponse HttpClient::get(const std::string& url, size_t max_body) const {
  Request r;
  r.url = url;
  r.max_body = max_body;
  return perform(settings_, r);
}

HttpResponse HttpClient::head(const std::string& url, bool follow) const {
  Request r;
  r.url = url;
  r.head = true;
  r.follow = follow;
  return perform(settings_, r);
}

HttpResponse HttpClient::get_stream(const std::string& url, uint64_t offset, const BodySink& sink) const {
  Request r;
  r.url = url;
  r.offset = offset;
  r.sink = &sink;
  return perform(settings_, r);
}

}  // namespace nlm::hub


namespace nlm::hub {

void backoff_sleep(const HubSettings& s, int attempt) {
  const int64_t ms = static_cast<int64_t>(s.retry_base_ms) << std::min(attempt, 6);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

HttpResponse with_retries(const HubSettings& s, const std::function<HttpResponse()>& attempt) {
  HttpResponse r;
  for (int i = 0; i < std::max(1, s.max_attempts); ++i) {
    if (i > 0) {
      log_warn("[hub] retrying after: %s", r.error.empty() ? ("HTTP " + std::to_string(r.status)).c_str() : r.error.c_str());
      backoff_sleep(s, i - 1);
    }
    r = attempt();
    if (!r.retryable) break;
  }
  return r;
}

}  // namespace nlm::hub
