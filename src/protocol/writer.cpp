#include "protocol/writer.h"

#include <cerrno>
#include <unistd.h>

namespace nlm::protocol {

std::string dump_json(const nlohmann::json& obj) {
  return obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void LineWriter::write(const nlohmann::json& obj) { write_raw_line(dump_json(obj)); }

void LineWriter::write_raw_line(const std::string& line) {
  std::string buf;
  buf.reserve(line.size() + 1);
  buf.append(line);
  buf.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  if (broken_.load()) return;
  const char* p = buf.data();
  size_t left = buf.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      broken_.store(true);  // EPIPE and friends: the client is gone
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace nlm::protocol
