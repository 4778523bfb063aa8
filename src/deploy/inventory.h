// Inventory: read-only views of what an instance holds, for operators (`edl datasets`, `edl show`,
// `edl audit`). Borrows the catalog; thread-safe as the catalog is.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace edl {

class Catalog;

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
// NotFound naming the dataset (with a close name as a hint) when it does not exist.
Result<DatasetDetails> DescribeDataset(Catalog& catalog, std::string_view name);
// Updates of a dataset in every state; NotFound naming an unknown dataset.
Result<std::vector<UpdateRecord>> ListDatasetUpdates(Catalog& catalog, std::string_view dataset);

struct UpdateDetails {
  UpdateRecord update;
  std::vector<UpdateFile> files;  // complete updates: every raw and data file
};
// NotFound naming the dataset or the update.
Result<UpdateDetails> DescribeUpdate(Catalog& catalog, std::string_view dataset, int64_t number);

Result<std::vector<AuditEvent>> ListAuditEvents(Catalog& catalog, const std::string& target, int64_t limit);
Status VerifyAuditLog(Catalog& catalog);

}  // namespace edl
