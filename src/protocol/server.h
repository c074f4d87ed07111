#pragma once
// `nativelm serve`: the stdin reader → dispatcher → single stdout writer (STYLE.md §1).
// Cheap commands are answered on the reader thread at once; the rest run on a bounded set of workers,
// so a slow request never delays `ping`. End of input, `shutdown` and SIGTERM end the loop after what is
// in flight has been answered (SIGTERM cancels it first).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/commands.h"
#include "protocol/writer.h"

namespace nlm::protocol {

class Server {
 public:
  Server(ServerOptions options, runtime::Engine& engine, int in_fd, int out_fd);
  ~Server();

  // Serves until end of input, `shutdown` or SIGTERM/SIGINT; returns the process exit code.
  int run();

  // For handlers.
  void request_shutdown() { shutdown_.store(true); }
  bool cancel(const Json& target);  // true when a request with that id was in flight or queued
  const ServerOptions& options() const { return options_; }
  double uptime_s() const;
  int requests_in_flight() const;  // running + queued
  int requests_queued() const;
  LineWriter& writer() { return writer_; }

 private:
  struct Job {
    Json request;
    std::string raw_line;
    Json id;  // null when absent
    bool has_id = false;
    const CommandSpec* spec = nullptr;
    std::shared_ptr<CancelFlag> cancel;
  };

  void handle_line(const std::string& line);
  void run_job(Job& job);
  void worker_loop();
  void write_error(const Json* id, const core::Status& status);
  void cancel_everything();
  void install_signal_handlers();

  ServerOptions options_;
  runtime::Engine& engine_;
  int in_fd_;
  LineWriter writer_;
  std::chrono::steady_clock::time_point start_;

  mutable std::mutex mu_;  // const readers (status counts) lock it too
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::multimap<std::string, std::shared_ptr<CancelFlag>> live_;  // id (dumped) → flag
  int running_ = 0;
  bool closing_ = false;
  std::atomic<bool> shutdown_{false};
  std::vector<std::thread> workers_;
};

}  // namespace nlm::protocol
