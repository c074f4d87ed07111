// `nativelm pull ORG/NAME[@REVISION]`: download into the Hugging Face cache. Progress goes to stderr: a
// bar (bytes, rate, ETA) on a terminal, plain lines otherwise; the snapshot path goes to stdout.
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <unistd.h>

#include "cli/cli.h"
#include "core/log.h"
#include "hub/pull.h"
#include "hub/settings.h"

namespace nlm::cli {
namespace {
using Clock = std::chrono::steady_clock;

void print_pull_help() {
  std::printf(
      "Usage: nativelm pull ORG/NAME[@REVISION] [options]\n\n"
      "Downloads the files the engine uses (configs, tokenizer, safetensors, sentence-transformers modules)\n"
      "into the Hugging Face cache, shared with Python tools. Interrupted downloads resume.\n\n"
      "Options:\n"
      "  --revision REV     branch, tag or commit (default: main)\n"
      "  --include GLOB     download the files matching GLOB instead (repeatable), e.g. '*Q4_K_M.gguf'\n"
      "  --log-level LEVEL  debug | info | warn | error | off (default: warn)\n"
      "  --help             print this help\n\n"
      "Environment: HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, https_proxy, NLM_CA_BUNDLE.\n");
}

std::string human_bytes(double n) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (n >= 1000 && u < 4) {
    n /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", n, kUnits[u]);
  return buf;
}

class ProgressView {
 public:
  explicit ProgressView(bool tty) : tty_(tty), start_(Clock::now()) {}

  void update(const hub::PullProgress& p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, fresh] = files_.try_emplace(p.file, File{p.completed, p.completed, p.total});
    File& f = it->second;
    const bool finished_now = p.completed >= p.total && f.completed < f.total;
    f.completed = p.completed;
    f.total = p.total;
    if (!tty_) {
      if (fresh && p.completed < p.total) {
        std::fprintf(stderr, "downloading %s (%s)%s\n", p.file.c_str(), human_bytes(static_cast<double>(p.total)).c_str(),
                     p.completed > 0 ? (", resuming at " + human_bytes(static_cast<double>(p.completed))).c_str() : "");
      } else if (fresh || finished_now) {
        std::fprintf(stderr, "%s %s (%s)\n", fresh ? "cached" : "done", p.file.c_str(),
                     human_bytes(static_cast<double>(p.total)).c_str());
      }
      return;
    }
    const auto now = Clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(100) && !finished_now) return;
    last_draw_ = now;
    draw(now);
  }

  void finish() {
    std::lock_guard<std::mutex> lock(mu_);
    if (tty_ && !files_.empty()) {
      draw(Clock::now());
      std::fputc('\n', stderr);
    }
  }

 private:
  struct File {
    int64_t baseline;  // bytes already there when first seen (cache, resume)
    int64_t completed;
    int64_t total;
  };

  void draw(Clock::time_point now) {
    int64_t done = 0, total = 0, fetched = 0;
    for (const auto& [name, f] : files_) {
      done += f.completed;
      total += f.total;
      fetched += f.completed - f.baseline;
    }
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0.05 ? static_cast<double>(fetched) / secs : 0;
    const double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    constexpr int kWidth = 30;
    std::string bar(kWidth, ' ');
    for (int i = 0; i < static_cast<int>(frac * kWidth); ++i) bar[static_cast<size_t>(i)] = '#';
    std::string eta = "--:--";
    if (rate > 0 && done < total) {
      const auto left = static_cast<long>(static_cast<double>(total - done) / rate);
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%ld:%02ld", left / 60, left % 60);
      eta = buf;
    }
    std::fprintf(stderr, "\r[%s] %3d%%  %s / %s  %s/s  ETA %s  (%zu files)\x1b[K", bar.c_str(),
                 static_cast<int>(frac * 100), human_bytes(static_cast<double>(done)).c_str(),
                 human_bytes(static_cast<double>(total)).c_str(), human_bytes(rate).c_str(), eta.c_str(), files_.size());
    std::fflush(stderr);
  }

  bool tty_;
  Clock::time_point start_;
  Clock::time_point last_draw_{};
  std::mutex mu_;
  std::map<std::string, File> files_;
};

}  // namespace

int run_pull(std::span<char*> args) {
  std::string ref_text, revision;
  hub::PullOptions opts;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string value;
    std::string_view a = args[i];
    if (is_help(a)) {
      print_pull_help();
      return 0;
    } else if (take_option(args, &i, "--revision", &value)) {
      revision = value;
    } else if (take_option(args, &i, "--include", &value)) {
      opts.include.push_back(value);
    } else if (take_option(args, &i, "--log-level", &value)) {
      core::LogLevel level;
      if (!core::parse_log_level(value, &level)) {
        std::fprintf(stderr, "nativelm pull: bad --log-level '%s'\n", value.c_str());
        return 2;
      }
      core::set_log_level(level);
    } else if (ref_text.empty() && !a.empty() && a[0] != '-') {
      ref_text = std::string(a);
    } else {
      std::fprintf(stderr, "nativelm pull: bad argument '%s' (see 'nativelm pull --help')\n", args[i]);
      return 2;
    }
  }
  if (ref_text.empty()) {
    std::fprintf(stderr, "nativelm pull: which model? (e.g. 'nativelm pull sentence-transformers/all-MiniLM-L6-v2')\n");
    return 2;
  }
  auto ref = hub::parse_repo_ref(ref_text);
  if (ref.is_ok() && !revision.empty()) {
    ref->revision = revision;
    if (auto st = hub::validate_revision(revision); !st.is_ok()) ref = st;
  }
  if (!ref.is_ok()) {
    std::fprintf(stderr, "nativelm pull: %s\n", ref.status().message().c_str());
    return 2;
  }
  ProgressView view(::isatty(STDERR_FILENO) == 1);
  opts.progress = [&view](const hub::PullProgress& p) { view.update(p); };
  auto result = hub::pull(hub::settings_from_env(), *ref, opts);
  view.finish();
  if (!result.is_ok()) {
    std::fprintf(stderr, "nativelm pull: %s\n", result.status().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "%s@%s: commit %s, %zu files, %s downloaded%s\n", result->repo_id.c_str(),
               result->revision.c_str(), result->commit.c_str(), result->files.size(),
               human_bytes(static_cast<double>(result->downloaded_bytes)).c_str(), result->offline ? " (offline)" : "");
  std::printf("%s\n", result->snapshot_path.c_str());
  return 0;
}

}  // namespace nlm::cli
