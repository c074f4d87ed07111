#pragma once
// Drives the real `nativelm` binary from tests: spawn with pipes, write lines, read lines with a
// deadline, send signals, collect the exit code.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nlm::testing {

std::string binary_path();  // NLM_BINARY env or the build's nativelm
std::string shared_dir();   // NLM_SHARED_DIR env or ../shared beside the source tree
std::string source_dir();

class Subprocess {
 public:
  // argv[0] is the program. `env` entries "K=V" are added to the environment.
  explicit Subprocess(std::vector<std::string> argv, std::vector<std::string> env = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  bool write(const std::string& data);  // raw bytes to stdin
  bool write_line(const std::string& line) { return write(line + "\n"); }
  bool send(const nlohmann::json& request) { return write_line(request.dump()); }
  void close_stdin();
  void close_stdout_for_test();  // the reader goes away: the child sees EPIPE
  // Next stdout line, or nullopt on EOF or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::optional<nlohmann::json> read_json(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void signal(int sig);
  // Waits for exit; returns the exit code (128+signal if killed), or -1 on timeout (then kills).
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string stderr_text();  // what it wrote to stderr so far (drained non-blockingly)
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string out_buf_, err_buf_;
  int exit_code_ = -1;
  bool exited_ = false;
};

// Runs `nativelm serve` with extra args.
std::vector<std::string> serve_argv(std::vector<std::string> extra = {});

// `expected` is a subset of `actual`: every key of an expected object must be present with a matching
// value; arrays must match element-wise; the string "$any" matches anything, "$number" any number,
// "$string" any string, "$array" any array, "$object" any object. On mismatch, *why explains.
bool json_matches(const nlohmann::json& expected, const nlohmann::json& actual, std::string* why);

// A JSON file's value; discarded (is_discarded()) when the file is missing or does not parse.
nlohmann::json read_json_file(const std::string& path);

}  // namespace nlm::testing
