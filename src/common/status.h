// Errors as values. Every fallible operation on the request path returns an
// Error or a Result<T>; one function at the HTTP edge (http/error_mapping.cc)
// maps the codes to status codes and problem details.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace qs {

// Canonical codes, in the spirit of absl::StatusCode. Adding a code means
// updating http/error_mapping.cc, which maps each to an HTTP status.
enum class ErrorCode {
  // The caller sent something malformed or out of range; retrying the same
  // request cannot succeed. HTTP 400.
  kInvalidArgument,
  // No credential, or one that is unknown, revoked or expired. HTTP 401.
  kUnauthenticated,
  // The resource does not exist, or is not visible to this caller (another
  // license's query is deliberately indistinguishable). HTTP 404.
  kNotFound,
  // A quota is spent; the caller may retry after the window resets. HTTP 429.
  kResourceExhausted,
  // A dependency did not answer in time or refused; retrying may help.
  kUnavailable,
  // A bug or an invariant broken; nothing the caller did.
  kInternal,
};

const char* ErrorCodeName(ErrorCode code);

// `detail` is safe to show a client: it must match the problem-details detail
// pattern (letters, digits, spaces and . , -), so it never carries internals.
// `internal` is for logs only and may name the failing dependency; it must
// never hold a secret.
struct Error {
  ErrorCode code;
  std::string detail;
  std::string internal;

  static Error InvalidArgument(std::string detail) {
    return {ErrorCode::kInvalidArgument, std::move(detail), {}};
  }
  static Error Unauthenticated(std::string detail) {
    return {ErrorCode::kUnauthenticated, std::move(detail), {}};
  }
  static Error NotFound(std::string detail) {
    return {ErrorCode::kNotFound, std::move(detail), {}};
  }
  static Error ResourceExhausted(std::string detail) {
    return {ErrorCode::kResourceExhausted, std::move(detail), {}};
  }
  static Error Unavailable(std::string internal) {
    return {ErrorCode::kUnavailable, "A dependency is unavailable",
            std::move(internal)};
  }
  static Error Internal(std::string internal) {
    return {ErrorCode::kInternal, "An unexpected error occurred",
            std::move(internal)};
  }
};

// A value or an Error. Deliberately small: ok(), value(), error().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// The outcome of an operation that returns nothing on success: OK, or an
// Error. In the spirit of absl::Status: `if (!s.ok()) return s;`.
class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit
  static Status Ok() { return Status(); }

  bool ok() const { return !error_.has_value(); }
  // Only when !ok().
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace qs
