// What the dataset routes read most, kept between requests and trusted only at the catalog epochs
// it was read at (CatalogEpochs: every change of a dataset, an update, a grant, a user or a group
// moves one of them, in any process). A request reads both epochs once, when its token is checked
// (Identity::epoch, Identity::data_epoch); an entry of other epochs is read again from the catalog.
// Access decisions are still made and audited for every request; only catalog reads and rendering
// are saved. Thread-safe; bounded (an overfull cache starts again empty).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "access/access.h"
#include "catalog/catalog.h"
#include "core/status.h"
#include "deploy/inventory.h"

namespace edl::http {

// Datasets with their update counts, by name.
class DatasetSummaryCache {
 public:
  DatasetSummaryCache() = default;
  explicit DatasetSummaryCache(size_t max_entries) : max_entries_(max_entries) {}
  // The dataset as the catalog holds it at `data_epoch` or later; 0 reads the catalog.
  Result<DatasetSummary> Get(Catalog& catalog, const std::string& name, int64_t data_epoch);

 private:
  struct Entry {
    int64_t data_epoch;
    DatasetSummary summary;
  };
  size_t max_entries_ = 100000;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

// Rendered pages of the dataset listing, per query and caller. A page depends on the caller's scope
// (access epoch), the datasets (data epoch) and the clock only through grant expiry: an entry is
// kept until the first grant of the caller's scope expires.
class ListingCache {
 public:
  struct Page {
    std::shared_ptr<const std::string> body;  // the JSON response
    size_t shown = 0;   // datasets on it (for the audit record)
  };
  ListingCache() = default;
  ListingCache(size_t max_entries, size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The key of a listing query for a caller.
  static std::string Key(const DatasetQuery& query, const Identity& identity);
  // The page made for `key` at the identity's epochs, if it is still valid at `now` (RFC 3339).
  std::optional<Page> Find(const std::string& key, const Identity& identity, const std::string& now);
  // Keeps `page` for `key` until `valid_until` (RFC 3339; empty: until the epochs move).
  void Store(const std::string& key, const Identity& identity, std::string valid_until, Page page);

 private:
  struct Entry {
    int64_t access_epoch;
    int64_t data_epoch;
    std::string valid_until;
    Page page;
  };
  size_t max_entries_ = 4096;
  size_t max_bytes_ = 64 << 20;
  size_t bytes_ = 0;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace edl::http
