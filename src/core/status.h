// Status and Result<T>: the one error type of EDL (design.md §5). Every fallible function returns
// one of these; exceptions never cross a module boundary. A Status carries a code from a small fixed
// set and a message that names the thing that failed; each layer may prefix context.
// Value types: copyable, not synchronized (like std::string).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace edl {

enum class StatusCode {
  kOk = 0,
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kPermissionDenied,
  kConflict,      // the request clashes with current state (e.g. writing into a complete update)
  kUnavailable,   // a resource cannot be reached or used right now (disk, network, lock)
  kInternal,
};

// Stable lower-case name of a code, e.g. "not_found". Used in logs and JSON errors.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status WithContext(std::string_view context) const;
  // Explicit, searchable way to drop an error that does not matter.
  void IgnoreError() const {}

  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status NotFound(std::string message);
Status AlreadyExists(std::string message);
Status InvalidArgument(std::string message);
Status PermissionDenied(std::string message);
Status Conflict(std::string message);
Status Unavailable(std::string message);
Status Internal(std::string message);

// Converts an errno value into a Status whose message names the operation and the path.
Status ErrnoStatus(int err, std::string_view operation, std::string_view path);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(state_); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<Status, T> state_;
};

}  // namespace edl

#define EDL_CONCAT_INNER(a, b) a##b
#define EDL_CONCAT(a, b) EDL_CONCAT_INNER(a, b)

// Lambdas that use RETURN_IF_ERROR may sit inside another RETURN_IF_ERROR; the line number keeps
// the inner variable from shadowing the outer one.
#define EDL_RETURN_IF_ERROR_IMPL(tmp, expr) \
  do {                                      \
    ::edl::Status tmp = (expr);             \
    if (!tmp.ok()) return tmp;              \
  } while (0)
#define RETURN_IF_ERROR(expr) EDL_RETURN_IF_ERROR_IMPL(EDL_CONCAT(edl_status_, __LINE__), expr)

#define EDL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

// ASSIGN_OR_RETURN(auto x, Foo()); declares x from a Result, or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  EDL_ASSIGN_OR_RETURN_IMPL(EDL_CONCAT(edl_result_, __LINE__), lhs, expr)
