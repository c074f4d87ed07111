#include "protocol/server.h"

#include <csignal>
#include <fcntl.h>
#include <unistd.h>

#include "core/log.h"
#include "core/utf8.h"
#include "protocol/line_reader.h"

namespace nlm::protocol {
namespace {
using core::ErrorCode;

int g_wake_pipe[2] = {-1, -1};
std::atomic<int> g_signal{0};

extern "C" void on_terminate_signal(int sig) {
  g_signal.store(sig);
  if (g_wake_pipe[1] >= 0) {
    char c = 1;
    [[maybe_unused]] ssize_t n = ::write(g_wake_pipe[1], &c, 1);
  }
}

std::string id_key(const Json& id) { return dump_json(id); }
}  // namespace

Server::Server(ServerOptions options, runtime::Engine& engine, int in_fd, int out_fd)
    : options_(options), engine_(engine), in_fd_(in_fd), writer_(out_fd),
      start_(std::chrono::steady_clock::now()) {}

Server::~Server() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

double Server::uptime_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

int Server::requests_in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_ + static_cast<int>(queue_.size());
}

int Server::requests_queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size());
}

void Server::install_signal_handlers() {
  if (g_wake_pipe[0] < 0) {
    if (::pipe(g_wake_pipe) == 0) {
      ::fcntl(g_wake_pipe[0], F_SETFD, FD_CLOEXEC);
      ::fcntl(g_wake_pipe[1], F_SETFD, FD_CLOEXEC);
      ::fcntl(g_wake_pipe[1], F_SETFL, O_NONBLOCK);
    }
  }
  struct sigaction sa {};
  sa.sa_handler = on_terminate_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout shows as EPIPE in the writer
}

void Server::write_error(const Json* id, const core::Status& status) {
  Json out = Json::object();
  if (id) out["id"] = *id;
  out["success"] = false;
  out["error"] = status.message();
  out["code"] = std::string(core::error_code_name(status.code()));
  writer_.write(out);
}

bool Server::cancel(const Json& target) {
  std::lock_guard<std::mutex> lock(mu_);
  auto range = live_.equal_range(id_key(target));
  bool found = false;
  for (auto it = range.first; it != range.second; ++it) {
    it->second->request();
    found = true;
  }
  return found;
}

void Server::cancel_everything() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, flag] : live_) flag->request();
}

void Server::run_job(Job& job) {
  const Json* id = job.has_id ? &job.id : nullptr;
  if (job.cancel->requested()) {
    write_error(id, core::error(ErrorCode::kCancelled, "request cancelled before it started"));
    return;
  }
  CommandContext ctx{job.request, id,
                     [this, id](Json event) {
                       Json line = Json::object();
                       if (id) line["id"] = *id;
                       for (auto& [k, v] : event.items()) line[k] = std::move(v);
                       writer_.write(line);
                     },
                     *job.cancel, *this, engine_, job.raw_line};
  core::Result<Json> result = core::error(ErrorCode::kInternal, "[protocol] handler produced nothing");
  try {
    result = job.spec->fn(ctx);
  } catch (const std::bad_alloc&) {
    result = core::error(ErrorCode::kInternal, "[protocol] out of memory while serving the request");
  } catch (const std::exception& e) {
    result = core::error(ErrorCode::kInternal, std::string("[protocol] internal error: ") + e.what());
  } catch (...) {
    result = core::error(ErrorCode::kInternal, "[protocol] internal error");
  }
  if (!result.is_ok()) {
    write_error(id, result.status());
    return;
  }
  Json out = Json::object();
  if (id) out["id"] = *id;
  out["success"] = true;
  if (result->is_object()) {
    for (auto& [k, v] : result->items()) out[k] = std::move(v);
  }
  writer_.write(out);
}

void Server::worker_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    run_job(job);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
      if (job.has_id) {
        auto range = live_.equal_range(id_key(job.id));
        for (auto it = range.first; it != range.second; ++it) {
          if (it->second == job.cancel) {
            live_.erase(it);
            break;
          }
        }
      }
    }
    cv_.notify_all();
  }
}

void Server::handle_line(const std::string& line) {
  size_t first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos) return;  // empty lines are ignored
  size_t bad = 0;
  if (!core::valid_utf8(line, &bad)) {
    write_error(nullptr, core::error(ErrorCode::kInvalidJson,
                                     "[protocol] the line is not valid UTF-8 (byte " + std::to_string(bad) + ")"));
    return;
  }
  Json request = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    // Find the parser's own message for the client.
    std::string why = "malformed JSON";
    try {
      Json ignored = Json::parse(line);
      (void)ignored;
    } catch (const Json::parse_error& e) {
      why = e.what();
    }
    write_error(nullptr, core::error(ErrorCode::kInvalidJson, "[protocol] " + why));
    return;
  }
  Job job;
  auto id_it = request.is_object() ? request.find("id") : request.end();
  if (request.is_object() && id_it != request.end()) {
    job.id = *id_it;
    job.has_id = true;
  }
  const Json* id = job.has_id ? &job.id : nullptr;
  if (!request.is_object()) {
    write_error(nullptr, core::error(ErrorCode::kInvalidRequest, "[protocol] a request must be a JSON object"));
    return;
  }
  auto cmd_it = request.find("command");
  if (cmd_it == request.end()) {
    write_error(id, core::error(ErrorCode::kInvalidRequest, "[protocol] missing field 'command'"));
    return;
  }
  if (!cmd_it->is_string()) {
    write_error(id, core::error(ErrorCode::kInvalidRequest, "[protocol] field 'command' must be a string"));
    return;
  }
  const std::string name = cmd_it->get<std::string>();
  job.spec = find_command(name);
  if (job.spec && job.spec->debug_only && !options_.debug_commands) job.spec = nullptr;
  if (!job.spec) {
    write_error(id, core::error(ErrorCode::kUnknownCommand, "[protocol] unknown command '" + name + "'"));
    return;
  }
  job.request = std::move(request);
  job.raw_line = line;
  job.cancel = std::make_shared<CancelFlag>();
  if (job.spec->on_reader_thread) {
    run_job(job);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (static_cast<int>(queue_.size()) >= options_.max_queued) {
      write_error(id, core::error(ErrorCode::kOverloaded,
                                  "[protocol] too many requests queued (limit " +
                                      std::to_string(options_.max_queued) + "); retry later"));
      return;
    }
    if (job.has_id) live_.emplace(id_key(job.id), job.cancel);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

int Server::run() {
  install_signal_handlers();
  const int n_workers = std::max(1, options_.max_concurrent);
  for (int i = 0; i < n_workers; ++i) workers_.emplace_back([this] { worker_loop(); });

  LineReader reader(in_fd_, g_wake_pipe[0], options_.max_line_bytes);
  std::string line;
  while (!shutdown_.load() && !writer_.broken()) {
    size_t overlong = 0;
    LineReader::Event ev = reader.next(&line, &overlong);
    if (ev == LineReader::Event::kEof) break;
    if (ev == LineReader::Event::kWoken) {
      log_info("[serve] signal %d: cancelling requests in flight and exiting", g_signal.load());
      cancel_everything();
      break;
    }
    if (ev == LineReader::Event::kOverlong) {
      write_error(nullptr, core::error(ErrorCode::kInvalidRequest,
                                       "[protocol] request line of at least " + std::to_string(overlong) +
                                           " bytes exceeds the limit of " + std::to_string(options_.max_line_bytes) +
                                           " bytes"));
      continue;
    }
    handle_line(line);
  }
  // Drain: answer what is queued or running, then stop the workers.
  {
    std::unique_lock<std::mutex> lock(mu_);
    bool cancelled = false;
    while (!(queue_.empty() && running_ == 0)) {
      cv_.wait_for(lock, std::chrono::milliseconds(50));
      if (!cancelled && g_signal.load() != 0) {  // SIGTERM while draining: cancel what is left
        for (auto& [key, flag] : live_) flag->request();
        cancelled = true;
      }
    }
    closing_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  return 0;
}

}  // namespace nlm::protocol
