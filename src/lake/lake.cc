#include "lake/lake.h"

#include <filesystem>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "storage/local_object_store.h"

namespace edl {
namespace {

Result<std::unique_ptr<ObjectStore>> OpenStore(const InstanceConfig& config) {
  if (config.storage.backend != "local") {
    return InvalidArgument(fmt::format("unknown storage backend '{}'", config.storage.backend));
  }
  ASSIGN_OR_RETURN(auto store, LocalObjectStore::Create(config.storage.root));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

// True when the catalog at `url` has been created. Only sqlite: URLs reach here (config checks).
bool CatalogFileExists(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.rfind(kSqlite, 0) != 0) return true;
  std::error_code ec;
  return std::filesystem::exists(url.substr(kSqlite.size()), ec);
}

}  // namespace

Lake::~Lake() = default;

Result<std::unique_ptr<Lake>> OpenLake(const InstanceConfig& config, const Clock& clock) {
  auto lake = std::make_unique<Lake>();
  lake->config = config;
  ASSIGN_OR_RETURN(lake->store, OpenStore(config));
  ASSIGN_OR_RETURN(lake->catalog, OpenCatalog(config.catalog.url, clock));
  return lake;
}

Result<std::unique_ptr<Lake>> OpenExistingLake(const InstanceConfig& config, const Clock& clock) {
  auto lake = std::make_unique<Lake>();
  lake->config = config;
  std::error_code ec;
  if (std::filesystem::is_directory(config.storage.root, ec)) {
    ASSIGN_OR_RETURN(lake->store, OpenStore(config));
  }
  if (CatalogFileExists(config.catalog.url)) {
    ASSIGN_OR_RETURN(lake->catalog, OpenCatalog(config.catalog.url, clock));
  }
  return lake;
}

}  // namespace edl
