#pragma once
// Reads newline-terminated lines from a file descriptor with bounded memory: a line longer than the
// limit is skipped to its end and reported as overlong instead of being buffered. poll()s a second
// descriptor so a signal can wake the reader.
#include <cstddef>
#include <string>

namespace nlm::protocol {

class LineReader {
 public:
  enum class Event { kLine, kOverlong, kEof, kWoken };

  LineReader(int fd, int wake_fd, size_t max_line_bytes);
  // Blocks until a line, an overlong line, end of input, or a wake-up. For kLine, *line holds the line
  // without its '\n' (and without a trailing '\r'); for kOverlong, *overlong_bytes is at least the
  // number of bytes seen before the reader gave up buffering.
  Event next(std::string* line, size_t* overlong_bytes);

 private:
  bool fill();  // false on EOF / error / wake

  int fd_;
  int wake_fd_;
  size_t max_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  bool woken_ = false;
};

}  // namespace nlm::protocol
