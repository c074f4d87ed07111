#pragma once
// Logging goes to stderr only: stdout belongs to the protocol (STYLE.md §7.7).
#include <string_view>

namespace nlm::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Parses "debug|info|warn|error|off"; false on anything else.
bool parse_log_level(std::string_view text, LogLevel* out);

void log_message(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace nlm::core

#define log_debug(...) ::nlm::core::log_message(::nlm::core::LogLevel::kDebug, __VA_ARGS__)
#define log_info(...) ::nlm::core::log_message(::nlm::core::LogLevel::kInfo, __VA_ARGS__)
#define log_warn(...) ::nlm::core::log_message(::nlm::core::LogLevel::kWarn, __VA_ARGS__)
#define log_error(...) ::nlm::core::log_message(::nlm::core::LogLevel::kError, __VA_ARGS__)
