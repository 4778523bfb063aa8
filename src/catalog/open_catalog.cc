// OpenCatalog (catalog.h): the one place that maps a catalog URL to an implementation.
#include <fmt/format.h>

#include "catalog/catalog.h"
#include "catalog/catalog_url.h"
#include "catalog/sqlite_catalog.h"

namespace edl {

Result<std::unique_ptr<Catalog>> OpenCatalog(std::string_view url, const Clock& clock) {
  ASSIGN_OR_RETURN(CatalogUrl parsed, ParseCatalogUrl(url));
  // Only "sqlite" gets past ParseCatalogUrl today; PostgreSQL will be the second branch.
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteCatalog> catalog, SqliteCatalog::Open(parsed.path, clock));
  return std::unique_ptr<Catalog>(std::move(catalog));
}

}  // namespace edl
