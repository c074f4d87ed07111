#pragma once
// Where the store talks to and writes to, read from the same environment variables huggingface_hub
// reads, so that both tools share one cache: HF_ENDPOINT, HF_TOKEN (or the token file that
// `huggingface-cli login` writes), HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE. Proxies (http_proxy,
// https_proxy, no_proxy, all_proxy) are honoured by libcurl itself; HTTPS_PROXY / HTTP_PROXY in capitals
// are picked up here as well. A custom CA bundle comes from NLM_CA_BUNDLE, REQUESTS_CA_BUNDLE,
// CURL_CA_BUNDLE or SSL_CERT_FILE.
#include <string>

namespace nlm::hub {

struct HubSettings {
  std::string endpoint = "https://huggingface.co";  // no trailing slash
  std::string token;      // bearer token; never logged, never put in an error message
  std::string cache_dir;  // the hub cache: models--org--name folders live here
  bool offline = false;   // HF_HUB_OFFLINE: never touch the network
  std::string ca_bundle;  // PEM file of trusted CAs ("" = system default)
  std::string proxy;      // from HTTPS_PROXY / HTTP_PROXY when libcurl would not read them
  int parallel = 4;       // files downloaded at once
  int max_attempts = 6;   // per file, on dropped connections and 5xx
  int retry_base_ms = 500;  // first backoff; doubles each attempt
  long connect_timeout_s = 30;
  long stall_timeout_s = 60;  // abort a transfer that moves no byte for this long
};

// Reads the environment (NLM_HUB_PARALLEL and NLM_HUB_RETRY_BASE_MS tune the downloader).
HubSettings settings_from_env();

// The Ollama model store: OLLAMA_MODELS, or ~/.ollama/models.
std::string ollama_models_dir();

}  // namespace nlm::hub
