// Deploy: infrastructure-as-code for an instance and its datasets (design.md §4, the seed's
// `edl deploy` / `edl deploy-dataset`). A Plan is the diff between a config file and the lake's
// current state; applying it converges the lake and records every change in the audit log.
// Applying the same config twice changes nothing. Deployer borrows the catalog, store and clock; it
// is not thread-safe (one deploy at a time per Deployer; the catalog serializes concurrent deploys).
#pragma once

#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace edl {

class Catalog;
class Clock;
class ObjectStore;

enum class ChangeAction { kCreate, kUpdate, kRemove, kUnchanged };

struct PlannedChange {
  ChangeAction action = ChangeAction::kUnchanged;
  std::string kind;    // "bucket", "drop bucket", "role", "group", "user", "grant", "dataset", ...
  std::string name;    // what it is called
  std::string detail;  // e.g. "tier: restricted -> sensitive", "sqlite:/srv/catalog.db"
};

struct Plan {
  std::string subject;  // "instance dev01", "dataset sales-orders"
  std::vector<PlannedChange> changes;
  int Count(ChangeAction action) const;
  bool HasChanges() const;
};

class Deployer {
 public:
  // `catalog` and `store` are null when the instance has never been deployed (planning only).
  // `actor` is recorded in the audit log ("user:root", "system"). `clock` decides which declared
  // grants have expired and how far their `until` lies (the sensitive tier's max_grant_days).
  Deployer(const InstanceConfig& config, Catalog* catalog, ObjectStore* store, const Clock& clock, std::string actor);

  Result<Plan> PlanInstance();
  // Creates buckets, drop buckets, the default role and group; returns what it changed.
  Result<Plan> ApplyInstance();

  // The grants the file declares, checked against the tier rules of the spec (the Authorizer's
  // CheckGrantRules, granted by "system:dataset-file"), so a tier change is checked against the
  // new tier. Refused: a declared grant whose `until` has passed, and any declared grant on a
  // sensitive dataset whose policy asks for two-person approval. InvalidArgument naming `source`,
  // the grant and the rule. Needs no catalog: callers deploying several files check all first.
  Status CheckDeclaredGrants(const DatasetSpec& spec, const std::string& source) const;

  // `source` names the dataset file in messages and the audit log. Both check the declared grants
  // first (CheckDeclaredGrants). File-declared grants converge to the file: a grant no longer
  // declared is revoked; one whose level, `until` or justification changed is revoked and added
  // anew. Grants given by people are never touched.
  Result<Plan> PlanDataset(const DatasetSpec& spec, const std::string& source);
  // Conflict when the tier or region of a dataset that has updates would change; NotFound when the
  // instance has not been deployed.
  Result<Plan> ApplyDataset(const DatasetSpec& spec, const std::string& source);

 private:
  struct DatasetDiff;
  Result<DatasetDiff> DiffDataset(const DatasetSpec& spec, const std::string& source);

  const InstanceConfig& config_;
  Catalog* catalog_;
  ObjectStore* store_;
  const Clock& clock_;
  std::string actor_;
};

std::string_view ChangeActionSymbol(ChangeAction action);  // "+", "~", "-", "="

}  // namespace edl
