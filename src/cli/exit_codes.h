// The one mapping from error codes to process exit codes and message prefixes for EDL's command-
// line programs (documented in docs/cli.md; scripts rely on these numbers). Pure, thread-safe.
#pragma once

#include <string_view>

#include "core/status.h"

namespace edl::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;  // bad command line, before anything ran

int ExitCodeFor(StatusCode code);
// A short word for people: "not found", "invalid input", ...
std::string_view ErrorLabel(StatusCode code);

}  // namespace edl::cli
