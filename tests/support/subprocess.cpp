#include "support/subprocess.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nlm::testing {

std::string binary_path() {
  if (const char* p = std::getenv("NLM_BINARY")) return p;
  return NLM_BINARY_DEFAULT;
}
std::string shared_dir() {
  if (const char* p = std::getenv("NLM_SHARED_DIR")) return p;
  return NLM_SHARED_DIR_DEFAULT;
}
std::string source_dir() { return NLM_SOURCE_DIR; }

std::vector<std::string> serve_argv(std::vector<std::string> extra) {
  std::vector<std::string> argv = {binary_path(), "serve"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

Subprocess::Subprocess(std::vector<std::string> argv, std::vector<std::string> env) {
  int in[2], out[2], err[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0 || ::pipe(err) != 0) return;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
    for (const auto& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "exec %s failed: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  ::fcntl(err_, F_SETFL, O_NONBLOCK);
  std::signal(SIGPIPE, SIG_IGN);
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  for (int fd : {in_, out_, err_}) {
    if (fd >= 0) ::close(fd);
  }
}

bool Subprocess::write(const std::string& data) {
  if (in_ < 0) return false;
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(in_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

void Subprocess::close_stdin() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

void Subprocess::close_stdout_for_test() {
  if (out_ >= 0) ::close(out_);
  out_ = -1;
}

std::optional<std::string> Subprocess::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t nl = out_buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = out_buf_.substr(0, nl);
      out_buf_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || out_ < 0) return std::nullopt;
    pollfd p{out_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    char buf[65536];
    ssize_t n = ::read(out_, buf, sizeof(buf));
    if (n <= 0) return std::nullopt;
    out_buf_.append(buf, static_cast<size_t>(n));
  }
}

std::optional<nlohmann::json> Subprocess::read_json(std::chrono::milliseconds timeout) {
  auto line = read_line(timeout);
  if (!line) return std::nullopt;
  auto j = nlohmann::json::parse(*line, nullptr, false);
  if (j.is_discarded()) return nlohmann::json("<not json: " + *line + ">");
  return j;
}

void Subprocess::signal(int sig) {
  if (pid_ > 0 && !exited_) ::kill(pid_, sig);
}

int Subprocess::wait(std::chrono::milliseconds timeout) {
  if (exited_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      exited_ = true;
      exit_code_ = -1;
      return -1;
    }
    ::usleep(5000);
  }
}

std::string Subprocess::stderr_text() {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(err_, buf, sizeof(buf));
    if (n <= 0) break;
    err_buf_.append(buf, static_cast<size_t>(n));
  }
  return err_buf_;
}

bool json_matches(const nlohmann::json& expected, const nlohmann::json& actual, std::string* why) {
  using nlohmann::json;
  if (expected.is_string()) {
    const std::string& s = expected.get_ref<const std::string&>();
    if (s == "$any") return true;
    if (s == "$number" && actual.is_number()) return true;
    if (s == "$string" && actual.is_string()) return true;
    if (s == "$array" && actual.is_array()) return true;
    if (s == "$object" && actual.is_object()) return true;
  }
  if (expected.is_object()) {
    if (!actual.is_object()) {
      *why = "expected an object, got " + actual.dump();
      return false;
    }
    for (auto& [k, v] : expected.items()) {
      auto it = actual.find(k);
      if (it == actual.end()) {
        *why = "missing key '" + k + "' in " + actual.dump();
        return false;
      }
      if (!json_matches(v, *it, why)) {
        *why = "at '" + k + "': " + *why;
        return false;
      }
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size()) {
      *why = "expected " + expected.dump() + ", got " + actual.dump();
      return false;
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      if (!json_matches(expected[i], actual[i], why)) {
        *why = "at [" + std::to_string(i) + "]: " + *why;
        return false;
      }
    }
    return true;
  }
  if (expected.is_number() && actual.is_number()) {
    if (expected.get<double>() == actual.get<double>()) return true;
  } else if (expected == actual) {
    return true;
  }
  *why = "expected " + expected.dump() + ", got " + actual.dump();
  return false;
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, false);
}

}  // namespace nlm::testing
