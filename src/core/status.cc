#include "core/status.h"

#include <system_error>

namespace edl {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kPermissionDenied: return "permission_denied";
    case StatusCode::kConflict: return "conflict";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kInternal: return "internal";
  }
  return "internal";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, std::string(context) + ": " + message_);
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

Status NotFound(std::string message) { return {StatusCode::kNotFound, std::move(message)}; }
Status AlreadyExists(std::string message) { return {StatusCode::kAlreadyExists, std::move(message)}; }
Status InvalidArgument(std::string message) { return {StatusCode::kInvalidArgument, std::move(message)}; }
Status PermissionDenied(std::string message) { return {StatusCode::kPermissionDenied, std::move(message)}; }
Status Conflict(std::string message) { return {StatusCode::kConflict, std::move(message)}; }
Status Unavailable(std::string message) { return {StatusCode::kUnavailable, std::move(message)}; }
Status Internal(std::string message) { return {StatusCode::kInternal, std::move(message)}; }

Status ErrnoStatus(int err, std::string_view operation, std::string_view path) {
  std::string message = std::string(operation) + " '" + std::string(path) + "': " + std::error_code(err, std::generic_category()).message();
  switch (err) {
    case ENOENT:
    case ENOTDIR: return NotFound(std::move(message));
    case EEXIST: return AlreadyExists(std::move(message));
    case EACCES:
    case EPERM:
    case EROFS: return PermissionDenied(std::move(message));
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EAGAIN:
    case EMFILE:
    case ENFILE: return Unavailable(std::move(message));
    case EINVAL:
    case ENAMETOOLONG: return InvalidArgument(std::move(message));
    default: return Internal(std::move(message));
  }
}

}  // namespace edl
