#include "deploy/inventory.h"

#include <algorithm>
#include <cctype>

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

namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Matches(const DatasetRecord& record, const DatasetQuery& query, const std::string& search_lower) {
  const DatasetSpec& spec = record.spec;
  if (query.tier && spec.tier != *query.tier) return false;
  if (query.owner && std::find(spec.owners.begin(), spec.owners.end(), *query.owner) == spec.owners.end()) {
    return false;
  }
  if (spec.name.compare(0, query.name_prefix.size(), query.name_prefix) != 0) return false;
  if (!search_lower.empty() && Lower(spec.name).find(search_lower) == std::string::npos &&
      Lower(spec.description).find(search_lower) == std::string::npos) {
    return false;
  }
  return true;
}

}  // namespace

Result<DatasetPage> ListDatasetsPage(Catalog& catalog, const DatasetQuery& query,
                                     const std::function<bool(const DatasetRecord&)>& visible) {
  DatasetPage page;
  page.datasets.reserve(static_cast<size_t>(std::clamp<int64_t>(query.limit, 0, 256)));  // records are large to move
  std::string search_lower = Lower(query.search);
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    DatasetFilter filter;
    filter.tier = query.tier;
    filter.name_prefix = query.name_prefix;
    filter.after_name = query.after_name;
    // Filters the catalog cannot apply are applied here, reading batches until the page is full:
    // the first batch is just big enough when everything matches, later ones grow.
    filter.limit = query.limit + 1;
    while (true) {
      ASSIGN_OR_RETURN(std::vector<DatasetRecord> batch, tx.ListDatasetsFiltered(filter));
      for (DatasetRecord& record : batch) {
        if (!Matches(record, query, search_lower) || !visible(record)) continue;
        if (static_cast<int64_t>(page.datasets.size()) == query.limit) {
          page.next_after_name = page.datasets.back().record.spec.name;
          return Status::Ok();
        }
        ASSIGN_OR_RETURN(int64_t updates, tx.CountUpdates(record.spec.name));
        page.datasets.push_back({std::move(record), updates});
      }
      if (static_cast<int64_t>(batch.size()) < filter.limit) return Status::Ok();
      filter.after_name = batch.back().spec.name;
      filter.limit = std::min<int64_t>(filter.limit * 2, 4096);
    }
  }));
  return page;
}

Result<DatasetSummary> GetDatasetSummary(Catalog& catalog, std::string_view name) {
  DatasetSummary summary;
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto record, tx.GetDataset(name));
    if (!record) return NotFound(fmt::format("dataset '{}' does not exist", name));
    summary.record = std::move(*record);
    ASSIGN_OR_RETURN(summary.updates, tx.CountUpdates(name));
    return Status::Ok();
  }));
  return summary;
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

Result<std::vector<UpdateRecord>> ListDatasetUpdatesPage(Catalog& catalog, std::string_view dataset,
                                                         int64_t after_number, int64_t limit) {
  std::vector<UpdateRecord> updates;
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(updates, tx.ListUpdatesPage(dataset, after_number, limit));
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

Result<std::vector<AuditEvent>> ListAuditEvents(Catalog& catalog, const AuditQuery& query) {
  std::vector<AuditEvent> events;
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(events, tx.ListAudit(query));
    return Status::Ok();
  }));
  return events;
}

Status VerifyAuditLog(Catalog& catalog) {
  return catalog.Read([](CatalogTransaction& tx) { return tx.VerifyAudit(); });
}

}  // namespace edl
