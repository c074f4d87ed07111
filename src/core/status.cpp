#include "core/status.h"

#include "core/log.h"

namespace nlm::core {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInvalidJson: return "invalid_json";
    case ErrorCode::kInvalidRequest: return "invalid_request";
    case ErrorCode::kUnknownCommand: return "unknown_command";
    case ErrorCode::kModelNotFound: return "model_not_found";
    case ErrorCode::kModelLoadFailed: return "model_load_failed";
    case ErrorCode::kInputTooLong: return "input_too_long";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kOverloaded: return "overloaded";
    case ErrorCode::kTemplateError: return "template_error";
    case ErrorCode::kDownloadFailed: return "download_failed";
    case ErrorCode::kUnauthorized: return "unauthorized";
    case ErrorCode::kIoError: return "io_error";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

void check_failed(const char* file, int line, const char* expr, const std::string& msg) {
  log_error("[check] %s:%d: %s %s", file, line, expr, msg.c_str());
  std::abort();
}

}  // namespace nlm::core
