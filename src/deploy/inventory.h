// Inventory: read-only views of what an instance holds, for operators (`edl datasets`, `edl show`,
// `edl audit`). Borrows the catalog; thread-safe as the catalog is.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace edl {

class Catalog;
struct AuditQuery;

struct DatasetSummary {
  DatasetRecord record;
  int64_t updates = 0;
};

struct DatasetDetails {
  DatasetRecord record;
  int64_t updates = 0;
  std::vector<RoleRecord> roles;
  std::vector<GrantRecord> grants;  // active ones
};

Result<std::vector<DatasetSummary>> ListDatasets(Catalog& catalog);

// One page of datasets, by name, for the API: filtered, and only those `visible` accepts.
struct DatasetQuery {
  std::optional<Tier> tier;
  std::optional<std::string> owner;
  std::string name_prefix;
  std::string search;      // case-insensitive, in name and description
  std::string after_name;  // paging: names greater than this
  int64_t limit = 100;
};
struct DatasetPage {
  std::vector<DatasetSummary> datasets;
  std::optional<std::string> next_after_name;  // set when more remain
};
Result<DatasetPage> ListDatasetsPage(Catalog& catalog, const DatasetQuery& query,
                                     const std::function<bool(const DatasetRecord&)>& visible);
// One dataset with its update count; NotFound without hints (callers may not see other names).
Result<DatasetSummary> GetDatasetSummary(Catalog& catalog, std::string_view name);
// NotFound naming the dataset (with a close name as a hint) when it does not exist.
Result<DatasetDetails> DescribeDataset(Catalog& catalog, std::string_view name);
// Updates of a dataset in every state; NotFound naming an unknown dataset.
Result<std::vector<UpdateRecord>> ListDatasetUpdates(Catalog& catalog, std::string_view dataset);
// One page of them: numbers above `after_number`, at most `limit`.
Result<std::vector<UpdateRecord>> ListDatasetUpdatesPage(Catalog& catalog, std::string_view dataset,
                                                         int64_t after_number, int64_t limit);

struct UpdateDetails {
  UpdateRecord update;
  std::vector<UpdateFile> files;  // complete updates: every raw and data file
};
// NotFound naming the dataset or the update.
Result<UpdateDetails> DescribeUpdate(Catalog& catalog, std::string_view dataset, int64_t number);

// Audit events after query.after_seq, oldest first, at most query.limit, optionally about one target.
Result<std::vector<AuditEvent>> ListAuditEvents(Catalog& catalog, const AuditQuery& query);
Status VerifyAuditLog(Catalog& catalog);

}  // namespace edl
