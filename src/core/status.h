#pragma once
// Recoverable errors (STYLE.md §4): every layer returns Status / Result<T>; messages start with the
// component, e.g. "[gguf] tensor blk.3.attn_q.weight: type 41 unsupported". The code is the one enum the
// protocol answers with (docs/protocol.md) and the TypeScript client mirrors.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace nlm::core {

enum class ErrorCode {
  kOk = 0,
  kInvalidJson,       // the line is not a JSON value (or not UTF-8)
  kInvalidRequest,    // a field is missing, of the wrong type or out of range; a line too long
  kUnknownCommand,    // "command" names nothing the server knows
  kModelNotFound,     // the model reference resolves to nothing
  kModelLoadFailed,   // the model files are there but cannot be used (corrupt, unsupported, missing tensor)
  kInputTooLong,      // the input exceeds the model's limit and truncation was not allowed
  kCancelled,         // the request was cancelled by `cancel`, shutdown or SIGTERM
  kOverloaded,        // too many requests in flight
  kTemplateError,     // a chat template failed to parse or raised
  kDownloadFailed,    // a network or integrity failure while pulling a model
  kUnauthorized,      // the Hub refused the credentials (401/403)
  kIoError,           // the file system refused (disk full, permission)
  kUnsupported,       // a valid request for something this build cannot do
  kInternal,          // a bug: an exception or broken invariant caught at the request boundary
};

// The protocol's spelling of each code ("invalid_json", ...).
std::string_view error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

inline Status error(ErrorCode code, std::string message) { return Status(code, std::move(message)); }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).is_ok()) v_ = Status(ErrorCode::kInternal, "[core] Result made from ok Status");
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOkStatus;
    return is_ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T value_or(T fallback) const& { return is_ok() ? std::get<T>(v_) : std::move(fallback); }
  T value_or(T fallback) && { return is_ok() ? std::get<T>(std::move(v_)) : std::move(fallback); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return std::get<T>(v_); }
  const T& operator*() const& { return std::get<T>(v_); }

 private:
  std::variant<T, Status> v_;
};

[[noreturn]] void check_failed(const char* file, int line, const char* expr, const std::string& msg);

}  // namespace nlm::core

// Broken invariants (never user input): always on.
#define NLM_CHECK(cond)                                                        \
  do {                                                                         \
    if (!(cond)) ::nlm::core::check_failed(__FILE__, __LINE__, #cond, "");     \
  } while (0)
#define NLM_CHECK_MSG(cond, msg)                                               \
  do {                                                                         \
    if (!(cond)) ::nlm::core::check_failed(__FILE__, __LINE__, #cond, (msg));  \
  } while (0)
#ifdef NDEBUG
#define NLM_DCHECK(cond) \
  do {                   \
  } while (0)
#else
#define NLM_DCHECK(cond) NLM_CHECK(cond)
#endif

// Early return of a failed Status / Result from a function returning Status or Result<U>.
#define NLM_RETURN_IF_ERROR(expr)                  \
  do {                                             \
    auto nlm_status_ = (expr);                     \
    if (!nlm_status_.is_ok()) return nlm_status_;  \
  } while (0)

#define NLM_CONCAT_INNER(a, b) a##b
#define NLM_CONCAT(a, b) NLM_CONCAT_INNER(a, b)
// NLM_ASSIGN_OR_RETURN(auto x, make_x()); — returns the error Status when the Result failed.
#define NLM_ASSIGN_OR_RETURN(lhs, expr) NLM_ASSIGN_OR_RETURN_IMPL(NLM_CONCAT(nlm_result_, __LINE__), lhs, expr)
#define NLM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.is_ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
