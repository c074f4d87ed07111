#include "hub/settings.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <string_view>

namespace nlm::hub {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool env_true(const char* name) {
  std::string v = env(name);
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

int env_int(const char* name, int fallback, int min, int max) {
  const std::string v = env(name);
  if (v.empty()) return fallback;
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (*end != '\0' || n < min || n > max) return fallback;
  return static_cast<int>(n);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

std::string home_dir() {
  std::string h = env("HOME");
  return h.empty() ? std::string("/tmp") : h;
}

std::string hf_home() {
  std::string h = env("HF_HOME");
  if (!h.empty()) return h;
  std::string xdg = env("XDG_CACHE_HOME");
  if (xdg.empty()) xdg = home_dir() + "/.cache";
  return xdg + "/huggingface";
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::string line;
  std::getline(in, line);
  return trim(line);
}

}  // namespace

HubSettings settings_from_env() {
  HubSettings s;
  std::string endpoint = env("HF_ENDPOINT");
  if (!endpoint.empty()) {
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    s.endpoint = endpoint;
  }
  s.token = trim(env("HF_TOKEN"));
  if (s.token.empty()) s.token = trim(env("HUGGING_FACE_HUB_TOKEN"));
  if (s.token.empty()) {
    std::string path = env("HF_TOKEN_PATH");
    if (path.empty()) path = hf_home() + "/token";
    s.token = read_token_file(path);
  }
  s.cache_dir = env("HF_HUB_CACHE");
  if (s.cache_dir.empty()) s.cache_dir = env("HUGGINGFACE_HUB_CACHE");
  if (s.cache_dir.empty()) s.cache_dir = hf_home() + "/hub";
  s.offline = env_true("HF_HUB_OFFLINE") || env_true("TRANSFORMERS_OFFLINE");
  for (const char* name : {"NLM_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"}) {
    if (s.ca_bundle.empty()) s.ca_bundle = env(name);
  }
  const bool https = std::string_view(s.endpoint).substr(0, 8) == "https://";
  if (https && env("https_proxy").empty()) s.proxy = env("HTTPS_PROXY");
  if (!https && env("http_proxy").empty()) s.proxy = env("HTTP_PROXY");
  s.parallel = env_int("NLM_HUB_PARALLEL", s.parallel, 1, 64);
  s.retry_base_ms = env_int("NLM_HUB_RETRY_BASE_MS", s.retry_base_ms, 0, 60000);
  return s;
}

std::string ollama_models_dir() {
  std::string d = env("OLLAMA_MODELS");
  if (!d.empty()) return d;
  return home_dir() + "/.ollama/models";
}

}  // namespace nlm::hub
