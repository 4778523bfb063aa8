// The composition root: builds the lake's parts (object store, catalog) from an instance config.
// Frontends call OpenLake once and pass the parts to services; nothing else constructs them.
// A Lake owns its parts; it is as thread-safe as they are (both are).
#pragma once

#include <memory>

#include "core/model.h"
#include "core/status.h"

namespace edl {

class Catalog;
class Clock;
class ObjectStore;

struct Lake {
  InstanceConfig config;
  std::unique_ptr<ObjectStore> store;   // null only from OpenExistingLake on a new instance
  std::unique_ptr<Catalog> catalog;     // null only from OpenExistingLake on a new instance
  ~Lake();
};

// Opens the storage root and the catalog, creating both (and migrating the catalog) when needed.
Result<std::unique_ptr<Lake>> OpenLake(const InstanceConfig& config, const Clock& clock);

// Opens only what already exists, creating nothing: for plans and read-only commands. Parts that
// do not exist yet are left null.
Result<std::unique_ptr<Lake>> OpenExistingLake(const InstanceConfig& config, const Clock& clock);

}  // namespace edl
