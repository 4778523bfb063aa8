// Catalog URLs as written in edl.yaml ("sqlite:PATH", later "postgresql://..."): parsing, and a
// redacted form that is safe to print. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/config.h"
#include "core/status.h"

namespace edl {

struct CatalogUrl {
  std::string scheme;  // "sqlite"
  std::string path;    // sqlite: the database file, absolute or relative to the working directory
};

// Accepts "sqlite:PATH" and "sqlite:///ABSOLUTE/PATH". Anything else is InvalidArgument naming the
// scheme and what is supported; messages never contain credentials from the URL.
Result<CatalogUrl> ParseCatalogUrl(std::string_view url);

// RedactCatalogUrl lives in core/config.h (core prints configs too).

}  // namespace edl
