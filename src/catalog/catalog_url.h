// Catalog URLs as written in edl.yaml ("sqlite:PATH", later "postgresql://..."): parsing, and a
// redacted form that is safe to print. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace edl {

struct CatalogUrl {
  std::string scheme;  // "sqlite"
  std::string path;    // sqlite: the database file, absolute or relative to the working directory
};

// Accepts "sqlite:PATH" and "sqlite:///ABSOLUTE/PATH". Anything else is InvalidArgument naming the
// scheme and what is supported; messages never contain credentials from the URL.
Result<CatalogUrl> ParseCatalogUrl(std::string_view url);

// The URL without "user:password@" and without a "?query" (which may carry a password), for
// messages and logs: "postgresql://bob:secret@db:5432/edl?sslmode=require" -> "postgresql://db:5432/edl".
std::string RedactCatalogUrl(std::string_view url);

}  // namespace edl
