#include "deploy/inventory.h"

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "core/names.h"

namespace edl {

Result<std::vector<DatasetSummary>> ListDatasets(Catalog& catalog) {
  std::vector<DatasetSummary> out;
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto records, tx.ListDatasets());
    for (DatasetRecord& record : records) {
      ASSIGN_OR_RETURN(int64_t updates, tx.CountUpdates(record.spec.name));
      out.push_back({std::move(record), updates});
    }
    return Status::Ok();
  }));
  return out;
}

Result<DatasetDetails> DescribeDataset(Catalog& catalog, std::string_view name) {
  DatasetDetails details;
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto record, tx.GetDataset(name));
    if (!record) {
      ASSIGN_OR_RETURN(auto all, tx.ListDatasets());
      std::string hint;
      size_t best = 3;
      for (const DatasetRecord& candidate : all) {
        size_t distance = EditDistance(name, candidate.spec.name);
        if (distance < best) {
          best = distance;
          hint = fmt::format(" (did you mean '{}'?)", candidate.spec.name);
        }
      }
      return NotFound(fmt::format("dataset '{}' does not exist{}", name, hint));
    }
    details.record = std::move(*record);
    ASSIGN_OR_RETURN(details.updates, tx.CountUpdates(name));
    ASSIGN_OR_RETURN(details.roles, tx.ListRoles(name));
    GrantFilter filter;
    filter.dataset = std::string(name);
    ASSIGN_OR_RETURN(details.grants, tx.ListGrants(filter));
    return Status::Ok();
  }));
  return details;
}

Result<std::vector<UpdateRecord>> ListDatasetUpdates(Catalog& catalog, std::string_view dataset) {
  std::vector<UpdateRecord> updates;
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(updates, tx.ListUpdates(dataset));
    return Status::Ok();
  }));
  return updates;
}

Result<UpdateDetails> DescribeUpdate(Catalog& catalog, std::string_view dataset, int64_t number) {
  UpdateDetails details;
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto record, tx.GetDataset(dataset));
    if (!record) return NotFound(fmt::format("dataset '{}' does not exist", dataset));
    ASSIGN_OR_RETURN(auto update, tx.GetUpdate(dataset, number));
    if (!update) return NotFound(fmt::format("dataset '{}' has no update {}", dataset, number));
    details.update = std::move(*update);
    ASSIGN_OR_RETURN(details.files, tx.ListUpdateFiles(dataset, number));
    return Status::Ok();
  }));
  return details;
}

Result<std::vector<AuditEvent>> ListAuditEvents(Catalog& catalog, const std::string& target, int64_t limit) {
  std::vector<AuditEvent> events;
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    AuditQuery query;
    query.limit = limit;
    if (!target.empty()) query.target = target;
    ASSIGN_OR_RETURN(events, tx.ListAudit(query));
    return Status::Ok();
  }));
  return events;
}

Status VerifyAuditLog(Catalog& catalog) {
  return catalog.Read([](CatalogTransaction& tx) { return tx.VerifyAudit(); });
}

}  // namespace edl
