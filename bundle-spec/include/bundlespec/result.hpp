// Result<T> and Error: how every fallible function in kubeferry reports failure.
//
// Shaped like std::expected (absent from g++ 12 in C++20 mode). An Error carries a code,
// which decides the process exit status, and a message that grows a context prefix at each
// layer: "verify x.run: entry bin/etcd: sha256 mismatch (want ..., got ...)".
// Our code never throws; third-party exceptions are caught in the adapter that calls them.
// Thread-safety: value types, no shared state.
#pragma once

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

class Error {
 public:
  Error(ErrorCode code, std::string message) : m_code(code), m_message(std::move(message)) {}

  ErrorCode code() const { return m_code; }
  const std::string& message() const { return m_message; }

  // Returns this error with "prefix: " in front of the message.
  Error context(const std::string& prefix) && {
    m_message = prefix + ": " + m_message;
    return std::move(*this);
  }
  Error context(const std::string& prefix) const& { return Error(*this).context(prefix); }

 private:
  ErrorCode m_code;
  std::string m_message;
};

inline Error make_error(std::string message) {
  return Error(ErrorCode::failure, std::move(message));
}
inline Error verification_error(std::string message) {
  return Error(ErrorCode::verification, std::move(message));
}
inline Error usage_error(std::string message) {
  return Error(ErrorCode::usage, std::move(message));
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
