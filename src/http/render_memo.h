// Internal to src/http: the JSON text of a dataset as GET /v1/datasets and GET /v1/datasets/{name}
// show it, and DatasetTextMemo, which keeps that text so those routes do not build and print the
// same JSON tree on every request. The memo is thread-safe (sharded; lookups share a lock) and
// keeps copies of what it is given. The routes reply with the text through Call::ReplyText.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "deploy/inventory.h"

namespace edl::http {

// The dataset as a caller whose strongest level on it is `access` ("none", "read", "write",
// "admin") sees it. Whoever may read it sees all of it; whoever may only see that it exists gets
// what they need to ask for access — name, tier, region, description, owners, policy — and
// nothing about its contents, grants, checks or updates (docs/security.md).
nlohmann::json DatasetJson(const DatasetSummary& summary, std::string_view access);

// A memo of DatasetJson(summary, access).dump(). Its text is used only when every input equals
// the one it was printed from: the whole record, the update count and the access. The spec is
// compared field by field rather than trusted to the generation: a dataset deleted and created
// again starts at generation 1 with times of millisecond resolution from an injected clock, and a
// spec changed behind the catalog's back keeps its generation. One entry per dataset name holds
// the texts of the four access levels; seen with other inputs, the dataset's entry is replaced.
// Bounded: the limits are split evenly over 16 shards, and a shard that a new text would take past
// its share is cleared. Thread-safe.
class DatasetTextMemo {
 public:
  struct Limits {
    size_t max_entries = 20000;           // datasets
    size_t max_bytes = size_t{64} << 20;  // texts plus an estimate of the records kept to check them
  };
  DatasetTextMemo();
  explicit DatasetTextMemo(Limits limits);
  ~DatasetTextMemo();
  DatasetTextMemo(const DatasetTextMemo&) = delete;
  DatasetTextMemo& operator=(const DatasetTextMemo&) = delete;

  // Appends DatasetJson(summary, access).dump() to `out`.
  void AppendText(const DatasetSummary& summary, std::string_view access, std::string& out);

  // What the memo holds now (for tests and metrics): datasets, and bytes as the limits count them.
  size_t Entries() const;
  size_t Bytes() const;

 private:
  struct Entry;
  struct Shard;
  void Remember(Shard& shard, const DatasetSummary& summary, size_t slot, std::string text);

  Limits per_shard_;
  std::unique_ptr<Shard[]> shards_;
};

// The body of GET /v1/datasets, byte for byte what nlohmann prints for
// {"datasets": [DatasetJson(d, access_of(d.record)) …], "next_page_token": token or null},
// with each dataset's text from the memo.
std::string DatasetPageText(DatasetTextMemo& memo, const std::vector<DatasetSummary>& datasets,
                            const std::function<std::string_view(const DatasetRecord&)>& access_of,
                            const std::optional<std::string>& next_page_token);

}  // namespace edl::http
