#include "cli/exit_codes.h"

namespace edl::cli {
namespace {

struct Mapping {
  StatusCode code;
  int exit_code;
  std::string_view label;
};

// Keep in step with docs/cli.md.
constexpr Mapping kMappings[] = {
    {StatusCode::kOk, 0, "ok"},
    {StatusCode::kInternal, 1, "internal error"},
    {StatusCode::kInvalidArgument, 3, "invalid input"},
    {StatusCode::kNotFound, 4, "not found"},
    {StatusCode::kAlreadyExists, 5, "already exists"},
    {StatusCode::kConflict, 6, "conflict"},
    {StatusCode::kPermissionDenied, 7, "permission denied"},
    {StatusCode::kUnavailable, 8, "unavailable"},
};

const Mapping& Find(StatusCode code) {
  for (const Mapping& m : kMappings) {
    if (m.code == code) return m;
  }
  return kMappings[1];
}

}  // namespace

int ExitCodeFor(StatusCode code) { return Find(code).exit_code; }
std::string_view ErrorLabel(StatusCode code) { return Find(code).label; }

}  // namespace edl::cli
