#pragma once
// The single stdout writer: one JSON object per line, written whole and flushed, so lines about
// different requests may interleave but are never torn.
#include <atomic>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace nlm::protocol {

class LineWriter {
 public:
  explicit LineWriter(int fd) : fd_(fd) {}
  // Serializes `obj` (invalid UTF-8 in strings is replaced, never thrown) and writes it as one line.
  void write(const nlohmann::json& obj);
  void write_raw_line(const std::string& line);  // `line` must be one JSON object without '\n'
  bool broken() const { return broken_.load(); }   // the reader end went away (EPIPE)

 private:
  int fd_;
  std::mutex mu_;
  std::atomic<bool> broken_{false};
};

std::string dump_json(const nlohmann::json& obj);

}  // namespace nlm::protocol
