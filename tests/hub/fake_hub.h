#pragma once
// Starts tests/hub/fake_hub.py (a local stand-in for huggingface.co) on a free 127.0.0.1 port with its
// own temporary folders, and talks to its control endpoints.
#include <curl/curl.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace nlm::testing {

inline std::string find_python() {
  for (const char* p : {"/usr/bin/python3", "/usr/local/bin/python3"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return "python3";
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::filesystem::path& p, const std::string& data) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

class FakeHub {
 public:
  FakeHub() {
    repos_ = (std::filesystem::path(dir_.path()) / "repos").string();
    std::filesystem::create_directories(repos_);
    proc_ = std::make_unique<Subprocess>(
        std::vector<std::string>{find_python(), source_dir() + "/tests/hub/fake_hub.py", repos_});
    auto line = proc_->read_line(std::chrono::seconds(20));
    if (line && line->rfind("PORT ", 0) == 0) endpoint_ = "http://127.0.0.1:" + line->substr(5);
  }

  bool ok() const { return !endpoint_.empty(); }
  const std::string& endpoint() const { return endpoint_; }
  std::string repo_dir(const std::string& repo) const { return repos_ + "/" + repo; }
  void add_file(const std::string& repo, const std::string& path, const std::string& data) const {
    write_file(std::filesystem::path(repo_dir(repo)) / path, data);
  }
  void copy_file(const std::string& repo, const std::string& path, const std::filesystem::path& from) const {
    add_file(repo, path, read_file(from));
  }

  nlohmann::json control(const nlohmann::json& body) const { return post("/_control", body); }
  void reset() const { post("/_reset", nlohmann::json::object()); }
  nlohmann::json stats() const { return request("/_stats", nullptr); }
  int64_t body_bytes(const std::string& key) const {
    auto s = stats();
    return s["body_bytes"].contains(key) ? s["body_bytes"][key].get<int64_t>() : 0;
  }
  std::string commit_of(const std::string& repo) const {
    return request("/api/models/" + repo + "/revision/main", nullptr).value("sha", "");
  }

 private:
  nlohmann::json post(const std::string& path, const nlohmann::json& body) const {
    const std::string text = body.dump();
    return request(path, &text);
  }

  static size_t collect(char* data, size_t size, size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
  }

  nlohmann::json request(const std::string& path, const std::string* post_body) const {
    std::string out;
    CURL* curl = curl_easy_init();
    const std::string url = endpoint_ + path;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    if (post_body) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body->c_str());
    curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    return nlohmann::json::parse(out, nullptr, false);
  }

  TempDir dir_;
  std::string repos_;
  std::unique_ptr<Subprocess> proc_;
  std::string endpoint_;
};

}  // namespace nlm::testing
