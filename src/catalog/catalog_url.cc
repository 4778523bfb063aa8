#include "catalog/catalog_url.h"

#include <fmt/format.h>

namespace edl {
namespace {

constexpr std::string_view kSupported = "supported: sqlite:PATH, e.g. sqlite:./edl-data/catalog.db";

}  // namespace


Result<CatalogUrl> ParseCatalogUrl(std::string_view url) {
  size_t colon = url.find(':');
  std::string_view scheme = colon == std::string_view::npos ? std::string_view() : url.substr(0, colon);
  bool scheme_ok = !scheme.empty() && scheme.find_first_of("/.=@ ") == std::string_view::npos;
  if (!scheme_ok) {
    // Without a scheme this may be a libpq "host=... password=..." string: do not echo it then.
    if (url.find_first_of("=@") != std::string_view::npos) {
      return InvalidArgument(fmt::format("catalog URL has no scheme ({})", kSupported));
    }
    return InvalidArgument(fmt::format("catalog URL '{}' has no scheme; write sqlite:{} ({})", url, url, kSupported));
  }
  std::string_view rest = url.substr(colon + 1);
  if (scheme == "sqlite") {
    if (rest.starts_with("//")) {
      // "sqlite:///abs/path" (as SQLAlchemy writes it); "sqlite://host/..." names a server.
      if (!rest.starts_with("///")) {
        return InvalidArgument(fmt::format(
            "catalog URL '{}': an SQLite catalog is a local file; write sqlite:PATH or sqlite:///ABSOLUTE/PATH",
            RedactCatalogUrl(url)));
      }
      rest.remove_prefix(2);
    }
    if (rest.empty()) return InvalidArgument(fmt::format("catalog URL '{}' names no file ({})", url, kSupported));
    return CatalogUrl{std::string(scheme), std::string(rest)};
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    return InvalidArgument(
        fmt::format("catalog URL '{}': {}:// is not supported yet ({})", RedactCatalogUrl(url), scheme, kSupported));
  }
  return InvalidArgument(fmt::format("catalog URL scheme '{}' is not supported ({})", scheme, kSupported));
}

}  // namespace edl
