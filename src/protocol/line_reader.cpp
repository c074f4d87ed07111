#include "protocol/line_reader.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>

namespace nlm::protocol {

LineReader::LineReader(int fd, int wake_fd, size_t max_line_bytes)
    : fd_(fd), wake_fd_(wake_fd), max_(max_line_bytes) {}

bool LineReader::fill() {
  if (eof_ || woken_) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int nfds = wake_fd_ >= 0 ? 2 : 1;
    int r = ::poll(fds, nfds, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      eof_ = true;
      return false;
    }
    if (nfds == 2 && (fds[1].revents & POLLIN)) {
      woken_ = true;
      return false;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) break;
  }
  char chunk[1 << 16];
  ssize_t n;
  do {
    n = ::read(fd_, chunk, sizeof(chunk));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buf_.append(chunk, static_cast<size_t>(n));
  return true;
}

LineReader::Event LineReader::next(std::string* line, size_t* overlong_bytes) {
  size_t scanned = pos_;
  for (;;) {
    size_t nl = buf_.find('\n', scanned);
    if (nl != std::string::npos) {
      size_t len = nl - pos_;
      if (len > max_) {  // can happen when one read() brought a long line whole
        *overlong_bytes = len;
        pos_ = nl + 1;
        return Event::kOverlong;
      }
      line->assign(buf_, pos_, len);
      if (!line->empty() && line->back() == '\r') line->pop_back();
      pos_ = nl + 1;
      return Event::kLine;
    }
    if (buf_.size() - pos_ > max_) {
      // Too long: drop what we have and skip to the end of this line without buffering it.
      size_t skipped = buf_.size() - pos_;
      buf_.clear();
      pos_ = 0;
      for (;;) {
        if (!fill()) {
          *overlong_bytes = skipped;
          return Event::kOverlong;
        }
        size_t at = buf_.find('\n');
        if (at != std::string::npos) {
          skipped += at;
          pos_ = at + 1;
          *overlong_bytes = skipped;
          return Event::kOverlong;
        }
        skipped += buf_.size();
        buf_.clear();
      }
    }
    scanned = buf_.size();
    size_t before = pos_;
    if (!fill()) {
      if (woken_) return Event::kWoken;
      // EOF: a last line without '\n' still counts.
      if (buf_.size() > pos_) {
        line->assign(buf_, pos_, std::string::npos);
        if (!line->empty() && line->back() == '\r') line->pop_back();
        pos_ = buf_.size();
        return Event::kLine;
      }
      return Event::kEof;
    }
    scanned -= before;  // fill() moved the unread bytes to the front of buf_
  }
}

}  // namespace nlm::protocol
