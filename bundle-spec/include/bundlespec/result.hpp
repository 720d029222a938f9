// Result<T> and Error: how every fallible function in kubeferry reports failure.
//
// Shaped like std::expected (absent from g++ 12 in C++20 mode). An Error carries a code,
// which decides the process exit status, a message that grows a context prefix at each
// layer: "verify x.run: entry bin/etcd: sha256 mismatch (want ..., got ...)", and, for the
// callers that act on one kind of failure, a machine-readable Reason (with the errno or HTTP
// status behind it): code branches on reason(), never on the message text.
// Our code never throws; third-party exceptions are caught in the adapter that calls them.
// Thread-safety: value types, no shared state.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace bundlespec {

// What kind of failure this is. Mapped to exit codes by exit_code_for().
enum class ErrorCode {
  failure,       // I/O, resources, bad input that is not a verification problem
  usage,         // the caller asked for something that cannot be done as asked
  verification,  // a digest, signature, size or format check failed
  interrupted,   // SIGINT/SIGTERM/SIGHUP arrived and the operation stopped cleanly
};

// Process exit codes, listed in every --help.
enum class ExitCode : int {
  ok = 0,
  failure = 1,
  usage = 2,
  verification = 3,
  interrupted = 130,
};

// Why an operation failed, where a caller decides something on it (leveldb's IsNotFound()).
// The context chain keeps it: an error keeps its reason through every layer's prefix.
enum class Reason {
  unspecified,  // nothing a caller tells apart
  not_found,    // the file or object does not exist (ENOENT, ENOTDIR)
  not_empty,    // a folder still holds entries (ENOTEMPTY)
  exists,       // the target exists already (EEXIST)
  no_trailer,   // the file does not end in a kubeferry trailer (too short, or no magic)
  http_status,  // a server answered with a status the operation did not want: http_status()
};

// "not found", "not empty", ... for test output and logs.
const char* to_string(Reason reason);

// The Reason errno `err` stands for: not_found, not_empty, exists or unspecified.
Reason reason_for_errno(int err);

class Error {
 public:
  Error(ErrorCode code, std::string message) : m_code(code), m_message(std::move(message)) {}

  ErrorCode code() const { return m_code; }
  const std::string& message() const { return m_message; }
  Reason reason() const { return m_reason; }
  bool is(Reason reason) const { return m_reason == reason; }
  // The errno of the system call that failed; 0 when no system call is behind this error.
  int sys_errno() const { return m_errno; }
  // With Reason::http_status: the status the server answered (404, 503, ...); else 0.
  int http_status() const { return m_http_status; }

  // Returns this error with `reason` (an error tagged by its creator).
  Error with_reason(Reason reason) && {
    m_reason = reason;
    return std::move(*this);
  }
  // Returns this error with errno `err` and the reason it stands for (reason_for_errno).
  Error with_errno(int err) && {
    m_errno = err;
    m_reason = reason_for_errno(err);
    return std::move(*this);
  }
  // Returns this error with Reason::http_status and `status`.
  Error with_http_status(int status) && {
    m_reason = Reason::http_status;
    m_http_status = status;
    return std::move(*this);
  }

  // Returns this error with "prefix: " in front of the message.
  Error context(const std::string& prefix) && {
    m_message = prefix + ": " + m_message;
    return std::move(*this);
  }
  Error context(const std::string& prefix) const& { return Error(*this).context(prefix); }

 private:
  ErrorCode m_code;
  std::string m_message;
  Reason m_reason = Reason::unspecified;
  int m_errno = 0;
  int m_http_status = 0;
};

inline const char* to_string(Reason reason) {
  switch (reason) {
    case Reason::unspecified:
      return "unspecified";
    case Reason::not_found:
      return "not found";
    case Reason::not_empty:
      return "not empty";
    case Reason::exists:
      return "exists";
    case Reason::no_trailer:
      return "no trailer";
    case Reason::http_status:
      return "HTTP status";
  }
  return "unspecified";
}

inline Error make_error(std::string message) {
  return Error(ErrorCode::failure, std::move(message));
}
inline Error verification_error(std::string message) {
  return Error(ErrorCode::verification, std::move(message));
}
inline Error usage_error(std::string message) {
  return Error(ErrorCode::usage, std::move(message));
}

inline Reason reason_for_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Reason::not_found;
    case ENOTEMPTY:
      return Reason::not_empty;
    case EEXIST:
      return Reason::exists;
    default:
      return Reason::unspecified;
  }
}

inline ExitCode exit_code_for(const Error& error) {
  switch (error.code()) {
    case ErrorCode::failure:
      return ExitCode::failure;
    case ErrorCode::usage:
      return ExitCode::usage;
    case ErrorCode::verification:
      return ExitCode::verification;
    case ErrorCode::interrupted:
      return ExitCode::interrupted;
  }
  return ExitCode::failure;
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : m_state(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return m_state.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & { return std::get<0>(m_state); }
  const T& value() const& { return std::get<0>(m_state); }
  T&& value() && { return std::get<0>(std::move(m_state)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok().
  const Error& error() const& { return std::get<1>(m_state); }
  Error&& error() && { return std::get<1>(std::move(m_state)); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> m_state;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !m_error.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *m_error; }
  Error&& error() && { return std::move(*m_error); }

 private:
  std::optional<Error> m_error;
};

using Status = Result<void>;

inline Status ok_status() {
  return Status();
}

}  // namespace bundlespec

#define KF_CONCAT_INNER(a, b) a##b
#define KF_CONCAT(a, b) KF_CONCAT_INNER(a, b)

// TRY(expr): evaluate a Result/Status; on failure return its Error from the enclosing function.
#define TRY(expr)                               \
  do {                                          \
    auto&& kf_try_result_ = (expr);             \
    if (!kf_try_result_.ok()) {                 \
      return std::move(kf_try_result_).error(); \
    }                                           \
  } while (false)

// TRY_CTX(expr, prefix): as TRY, adding "prefix: " to the error message.
#define TRY_CTX(expr, prefix)                                   \
  do {                                                          \
    auto&& kf_try_result_ = (expr);                             \
    if (!kf_try_result_.ok()) {                                 \
      return std::move(kf_try_result_).error().context(prefix); \
    }                                                           \
  } while (false)

// TRY_ASSIGN(decl, expr): `decl` is `auto x` or an existing lvalue; assigns the value.
#define TRY_ASSIGN(decl, expr) TRY_ASSIGN_IMPL(KF_CONCAT(kf_tmp_, __LINE__), decl, expr)
#define TRY_ASSIGN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                     \
  if (!tmp.ok()) {                       \
    return std::move(tmp).error();       \
  }                                      \
  decl = std::move(tmp).value()

// TRY_ASSIGN_CTX(decl, expr, prefix): as TRY_ASSIGN, adding "prefix: " to the error message.
// `prefix` is evaluated only on failure.
#define TRY_ASSIGN_CTX(decl, expr, prefix) TRY_ASSIGN_CTX_IMPL(KF_CONCAT(kf_tmp_, __LINE__), decl, expr, prefix)
#define TRY_ASSIGN_CTX_IMPL(tmp, decl, expr, prefix) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) {                                   \
    return std::move(tmp).error().context(prefix);   \
  }                                                  \
  decl = std::move(tmp).value()
