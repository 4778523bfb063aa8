#include "deploy/deploy.h"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "core/config.h"
#include "core/names.h"
#include "core/serialize.h"
#include "storage/object_store.h"

namespace edl {
namespace {

using nlohmann::json;

// Grants that come from dataset files carry this granter, so a later deploy of the same file can
// tell them from grants given by people (which it never touches).
constexpr std::string_view kFileGranter = "system:dataset-file";
constexpr std::string_view kSettingInstance = "instance";
constexpr std::string_view kSettingPrefix = "bucket_prefix";
// A file in each dataset's folder describing it, so the folder is self-explaining to anyone who
// browses the bucket. Starts with '_' so Parquet readers skip it.
constexpr std::string_view kDatasetFile = "_dataset.json";

std::string DatasetKey(const std::string& dataset) { return dataset + "/" + std::string(kDatasetFile); }

std::vector<BucketRecord> DesiredBuckets(const InstanceConfig& config) {
  std::vector<BucketRecord> buckets;
  for (const std::string& region : config.regions) {
    for (Tier tier : kAllTiers) {
      buckets.push_back({BucketName(config.bucket_prefix, config.instance, tier, region), false, tier, region});
      buckets.push_back({DropBucketName(config.bucket_prefix, config.instance, tier, region), true, tier, region});
    }
  }
  return buckets;
}

Status Audit(CatalogTransaction& tx, const std::string& actor, std::string action, std::string target,
             json details) {
  AuditEvent event;
  event.actor = actor;
  event.action = std::move(action);
  event.target = std::move(target);
  event.details_json = details.dump();
  return tx.AppendAudit(event).status();
}

struct WantedGrant {
  Principal principal;
  std::string role;
  std::string reason;
  bool operator<(const WantedGrant& other) const {
    return std::tie(principal.kind, principal.name, role) < std::tie(other.principal.kind, other.principal.name, other.role);
  }
};

std::vector<WantedGrant> WantedGrants(const DatasetSpec& spec, const std::string& source) {
  std::vector<WantedGrant> wanted;
  for (const std::string& owner : spec.owners) {
    wanted.push_back({{PrincipalKind::kUser, owner}, DatasetRoleName(spec.name, AccessLevel::kAdmin),
                      fmt::format("owner of the dataset in {}", source)});
  }
  for (const DeclaredGrant& grant : spec.grants) {
    WantedGrant w{grant.principal, DatasetRoleName(spec.name, grant.level), fmt::format("declared in {}", source)};
    bool duplicate = std::any_of(wanted.begin(), wanted.end(), [&](const WantedGrant& other) {
      return other.principal == w.principal && other.role == w.role;
    });
    if (!duplicate) wanted.push_back(std::move(w));
  }
  return wanted;
}

}  // namespace

int Plan::Count(ChangeAction action) const {
  return static_cast<int>(std::count_if(changes.begin(), changes.end(),
                                        [&](const PlannedChange& c) { return c.action == action; }));
}

bool Plan::HasChanges() const {
  return std::any_of(changes.begin(), changes.end(),
                     [](const PlannedChange& c) { return c.action != ChangeAction::kUnchanged; });
}

std::string_view ChangeActionSymbol(ChangeAction action) {
  switch (action) {
    case ChangeAction::kCreate: return "+";
    case ChangeAction::kUpdate: return "~";
    case ChangeAction::kRemove: return "-";
    case ChangeAction::kUnchanged: return "=";
  }
  return "?";
}

Deployer::Deployer(const InstanceConfig& config, Catalog* catalog, ObjectStore* store, std::string actor)
    : config_(config), catalog_(catalog), store_(store), actor_(std::move(actor)) {}

// ---------------------------------------------------------------------------------------------
// Instance

Result<Plan> Deployer::PlanInstance() {
  Plan plan;
  plan.subject = fmt::format("instance {}", config_.instance);
  std::vector<BucketRecord> recorded;
  std::vector<RoleRecord> roles;
  bool has_employees = false;
  bool has_default_grant = false;
  if (catalog_ != nullptr) {
    RETURN_IF_ERROR(catalog_->Read([&](CatalogTransaction& tx) -> Status {
      ASSIGN_OR_RETURN(auto instance, tx.GetSetting(kSettingInstance));
      if (instance && *instance != config_.instance) {
        return Conflict(fmt::format("catalog {} belongs to instance '{}', but {} describes instance '{}'",
                                    catalog_->Describe(), *instance, config_.source_file, config_.instance));
      }
      ASSIGN_OR_RETURN(auto prefix, tx.GetSetting(kSettingPrefix));
      if (prefix && *prefix != config_.bucket_prefix) {
        return Conflict(fmt::format("instance '{}' was deployed with bucket_prefix '{}'; {} says '{}', which would "
                                    "orphan every bucket (the prefix cannot change)",
                                    config_.instance, *prefix, config_.source_file, config_.bucket_prefix));
      }
      if (!instance) plan.changes.push_back({ChangeAction::kCreate, "instance", config_.instance, "record in the catalog"});
      ASSIGN_OR_RETURN(recorded, tx.ListBuckets());
      ASSIGN_OR_RETURN(roles, tx.ListRoles(std::string_view()));
      ASSIGN_OR_RETURN(has_employees, tx.PrincipalExists({PrincipalKind::kGroup, std::string(kEmployeesGroup)}));
      if (has_employees) {
        GrantFilter filter;
        filter.role = std::string(kInternalReadRole);
        filter.principal = Principal{PrincipalKind::kGroup, std::string(kEmployeesGroup)};
        ASSIGN_OR_RETURN(auto grants, tx.ListGrants(filter));
        has_default_grant = !grants.empty();
      }
      return Status::Ok();
    }));
    plan.changes.insert(plan.changes.begin(), {ChangeAction::kUnchanged, "catalog schema",
                                               fmt::format("v{}", catalog_->SchemaVersion()), catalog_->Describe()});
  } else {
    plan.changes.push_back({ChangeAction::kCreate, "catalog schema", fmt::format("v{}", kCatalogSchemaVersion),
                            RedactCatalogUrl(config_.catalog.url)});
    plan.changes.push_back({ChangeAction::kCreate, "instance", config_.instance, "record in the catalog"});
  }

  for (const BucketRecord& bucket : DesiredBuckets(config_)) {
    bool in_catalog = std::any_of(recorded.begin(), recorded.end(),
                                  [&](const BucketRecord& r) { return r.name == bucket.name; });
    bool in_store = false;
    if (store_ != nullptr) {
      ASSIGN_OR_RETURN(in_store, store_->BucketExists(bucket.name));
    }
    std::string kind = bucket.drop ? "drop bucket" : "bucket";
    std::string detail = fmt::format("{}, {}", TierName(bucket.tier), bucket.region);
    if (in_catalog && in_store) {
      plan.changes.push_back({ChangeAction::kUnchanged, kind, bucket.name, detail});
    } else if (in_catalog) {
      plan.changes.push_back({ChangeAction::kCreate, kind, bucket.name, detail + "; recorded but missing from storage"});
    } else {
      plan.changes.push_back({ChangeAction::kCreate, kind, bucket.name, detail});
    }
  }
  bool has_role = std::any_of(roles.begin(), roles.end(), [](const RoleRecord& r) { return r.name == kInternalReadRole; });
  plan.changes.push_back({has_role ? ChangeAction::kUnchanged : ChangeAction::kCreate, "role",
                          std::string(kInternalReadRole), "read every internal-tier dataset"});
  plan.changes.push_back({has_employees ? ChangeAction::kUnchanged : ChangeAction::kCreate, "group",
                          std::string(kEmployeesGroup), "every employee"});
  plan.changes.push_back({has_default_grant ? ChangeAction::kUnchanged : ChangeAction::kCreate, "grant",
                          fmt::format("{} -> group:{}", kInternalReadRole, kEmployeesGroup), "default role"});
  return plan;
}

Result<Plan> Deployer::ApplyInstance() {
  if (catalog_ == nullptr || store_ == nullptr) return Internal("applying an instance needs an open catalog and store");
  ASSIGN_OR_RETURN(Plan plan, PlanInstance());
  std::vector<BucketRecord> desired = DesiredBuckets(config_);
  for (const BucketRecord& bucket : desired) {
    RETURN_IF_ERROR(store_->CreateBucket(bucket.name).WithContext("creating bucket " + bucket.name));
  }
  RETURN_IF_ERROR(catalog_->Write([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto instance, tx.GetSetting(kSettingInstance));
    if (!instance) {
      RETURN_IF_ERROR(tx.PutSetting(kSettingInstance, config_.instance));
      RETURN_IF_ERROR(tx.PutSetting(kSettingPrefix, config_.bucket_prefix));
      RETURN_IF_ERROR(Audit(tx, actor_, "instance.create", "instance:" + config_.instance,
                            {{"new", ToJson(config_)}, {"config", config_.source_file}}));
    }
    ASSIGN_OR_RETURN(auto recorded, tx.ListBuckets());
    for (const BucketRecord& bucket : desired) {
      bool known = std::any_of(recorded.begin(), recorded.end(), [&](const BucketRecord& r) { return r.name == bucket.name; });
      if (known) continue;
      RETURN_IF_ERROR(tx.InsertBucket(bucket));
      RETURN_IF_ERROR(Audit(tx, actor_, "bucket.create", "bucket:" + bucket.name, {{"new", ToJson(bucket)}}));
    }
    ASSIGN_OR_RETURN(auto roles, tx.ListRoles(std::string_view()));
    if (std::none_of(roles.begin(), roles.end(), [](const RoleRecord& r) { return r.name == kInternalReadRole; })) {
      RoleRecord role{std::string(kInternalReadRole), "", AccessLevel::kRead, "read every internal-tier dataset"};
      RETURN_IF_ERROR(tx.InsertRole(role));
      RETURN_IF_ERROR(Audit(tx, actor_, "role.create", "role:" + role.name, {{"new", ToJson(role)}}));
    }
    Principal employees{PrincipalKind::kGroup, std::string(kEmployeesGroup)};
    ASSIGN_OR_RETURN(bool created, tx.EnsurePrincipal(employees));
    if (created) {
      RETURN_IF_ERROR(Audit(tx, actor_, "principal.create", PrincipalRef(employees), json::object()));
    }
    GrantFilter filter;
    filter.role = std::string(kInternalReadRole);
    filter.principal = employees;
    ASSIGN_OR_RETURN(auto grants, tx.ListGrants(filter));
    if (grants.empty()) {
      GrantRecord grant;
      grant.principal = employees;
      grant.role = std::string(kInternalReadRole);
      grant.granted_by = actor_;
      grant.reason = "default role for internal data (edl deploy)";
      ASSIGN_OR_RETURN(int64_t id, tx.InsertGrant(grant));
      grant.id = id;
      RETURN_IF_ERROR(Audit(tx, actor_, "grant.add", "role:" + grant.role, {{"new", ToJson(grant)}}));
    }
    return Status::Ok();
  }));
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Datasets

struct Deployer::DatasetDiff {
  std::optional<DatasetRecord> existing;
  DatasetRecord wanted;
  json changed_fields = json::object();  // field -> {old, new}
  std::vector<RoleRecord> roles_to_create;
  std::vector<Principal> principals_to_create;
  std::vector<WantedGrant> grants_to_add;
  std::vector<GrantRecord> grants_to_revoke;
  bool write_folder = false;  // _dataset.json missing or stale
  Plan plan;
};

Result<Deployer::DatasetDiff> Deployer::DiffDataset(const DatasetSpec& spec, const std::string& source) {
  DatasetDiff diff;
  diff.plan.subject = fmt::format("dataset {}", spec.name);
  diff.wanted.spec = spec;
  diff.wanted.bucket = BucketName(config_.bucket_prefix, config_.instance, spec.tier, spec.region);
  if (catalog_ == nullptr) {
    return NotFound(fmt::format("instance '{}' is not deployed yet (no catalog at {}); run `edl deploy` first",
                                config_.instance, RedactCatalogUrl(config_.catalog.url)));
  }
  RETURN_IF_ERROR(catalog_->Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto instance, tx.GetSetting(kSettingInstance));
    if (!instance) {
      return NotFound(fmt::format("instance '{}' is not deployed yet; run `edl deploy` first", config_.instance));
    }
    ASSIGN_OR_RETURN(auto buckets, tx.ListBuckets());
    if (std::none_of(buckets.begin(), buckets.end(), [&](const BucketRecord& b) { return b.name == diff.wanted.bucket; })) {
      return NotFound(fmt::format("bucket '{}' for dataset '{}' is not deployed; run `edl deploy` first",
                                  diff.wanted.bucket, spec.name));
    }
    ASSIGN_OR_RETURN(diff.existing, tx.GetDataset(spec.name));
    if (diff.existing) {
      const DatasetSpec& old_spec = diff.existing->spec;
      json old_json = ToJson(old_spec);
      json new_json = ToJson(spec);
      for (auto it = new_json.begin(); it != new_json.end(); ++it) {
        if (!old_json.contains(it.key()) || old_json[it.key()] != it.value()) {
          diff.changed_fields[it.key()] = {{"old", old_json.value(it.key(), json())}, {"new", it.value()}};
        }
      }
      if (old_spec.tier != spec.tier || old_spec.region != spec.region) {
        ASSIGN_OR_RETURN(int64_t updates, tx.CountUpdates(spec.name));
        if (updates > 0) {
          return Conflict(fmt::format(
              "{}: dataset '{}' has {} update(s) stored in bucket '{}'; its {} cannot change from '{}' to '{}' "
              "(updates are immutable and live in the bucket of their tier and region). Deploy a new dataset "
              "with the new {} and copy the data with a pipeline.",
              source, spec.name, updates, diff.existing->bucket, old_spec.tier != spec.tier ? "tier" : "region",
              old_spec.tier != spec.tier ? TierName(old_spec.tier) : old_spec.region,
              old_spec.tier != spec.tier ? TierName(spec.tier) : spec.region,
              old_spec.tier != spec.tier ? "tier" : "region"));
        }
      }
    }
    ASSIGN_OR_RETURN(auto roles, tx.ListRoles(std::string_view(spec.name)));
    for (AccessLevel level : {AccessLevel::kRead, AccessLevel::kWrite, AccessLevel::kAdmin}) {
      std::string role = DatasetRoleName(spec.name, level);
      if (std::none_of(roles.begin(), roles.end(), [&](const RoleRecord& r) { return r.name == role; })) {
        diff.roles_to_create.push_back({role, spec.name, level,
                                        fmt::format("{} dataset {}", AccessLevelName(level), spec.name)});
      }
    }
    std::vector<WantedGrant> wanted = WantedGrants(spec, source);
    for (const WantedGrant& grant : wanted) {
      ASSIGN_OR_RETURN(bool exists, tx.PrincipalExists(grant.principal));
      bool queued = std::find(diff.principals_to_create.begin(), diff.principals_to_create.end(),
                              grant.principal) != diff.principals_to_create.end();
      if (!exists && !queued) diff.principals_to_create.push_back(grant.principal);
    }
    GrantFilter filter;
    filter.dataset = spec.name;
    ASSIGN_OR_RETURN(auto active, tx.ListGrants(filter));
    for (const WantedGrant& grant : wanted) {
      bool have = std::any_of(active.begin(), active.end(), [&](const GrantRecord& g) {
        return g.principal == grant.principal && g.role == grant.role;
      });
      if (!have) diff.grants_to_add.push_back(grant);
    }
    for (const GrantRecord& grant : active) {
      if (grant.granted_by != kFileGranter) continue;
      bool still_wanted = std::any_of(wanted.begin(), wanted.end(), [&](const WantedGrant& w) {
        return w.principal == grant.principal && w.role == grant.role;
      });
      if (!still_wanted) diff.grants_to_revoke.push_back(grant);
    }
    return Status::Ok();
  }));

  if (store_ != nullptr) {
    auto head = store_->Head(diff.wanted.bucket, DatasetKey(spec.name));
    if (!head.ok() && head.status().code() != StatusCode::kNotFound) return head.status();
    diff.write_folder = !head.ok() || !diff.changed_fields.empty();
  }

  Plan& plan = diff.plan;
  if (!diff.existing) {
    plan.changes.push_back({ChangeAction::kCreate, "dataset", spec.name,
                            fmt::format("{} tier in {}, bucket {}", TierName(spec.tier), spec.region, diff.wanted.bucket)});
  } else if (diff.changed_fields.empty()) {
    plan.changes.push_back({ChangeAction::kUnchanged, "dataset", spec.name, diff.existing->bucket});
  } else {
    for (auto it = diff.changed_fields.begin(); it != diff.changed_fields.end(); ++it) {
      plan.changes.push_back({ChangeAction::kUpdate, "dataset field", it.key(),
                              fmt::format("{} -> {}", it.value()["old"].dump(), it.value()["new"].dump())});
    }
  }
  if (diff.existing && diff.existing->bucket != diff.wanted.bucket) {
    plan.changes.push_back({ChangeAction::kUpdate, "dataset folder", spec.name + "/",
                            fmt::format("moves from bucket {} to {}", diff.existing->bucket, diff.wanted.bucket)});
  } else if (diff.write_folder) {
    plan.changes.push_back({diff.existing && !diff.changed_fields.empty() ? ChangeAction::kUpdate : ChangeAction::kCreate,
                            "dataset folder", diff.wanted.bucket + "/" + spec.name + "/", std::string(kDatasetFile)});
  }
  for (const RoleRecord& role : diff.roles_to_create) {
    plan.changes.push_back({ChangeAction::kCreate, "role", role.name, role.description});
  }
  for (const Principal& principal : diff.principals_to_create) {
    plan.changes.push_back({ChangeAction::kCreate, std::string(PrincipalKindName(principal.kind)), principal.name, ""});
  }
  for (const WantedGrant& grant : diff.grants_to_add) {
    plan.changes.push_back({ChangeAction::kCreate, "grant", fmt::format("{} -> {}", grant.role, PrincipalRef(grant.principal)), grant.reason});
  }
  for (const GrantRecord& grant : diff.grants_to_revoke) {
    plan.changes.push_back({ChangeAction::kRemove, "grant", fmt::format("{} -> {}", grant.role, PrincipalRef(grant.principal)),
                            "no longer declared in " + source});
  }
  return diff;
}

Result<Plan> Deployer::PlanDataset(const DatasetSpec& spec, const std::string& source) {
  ASSIGN_OR_RETURN(DatasetDiff diff, DiffDataset(spec, source));
  return std::move(diff.plan);
}

Result<Plan> Deployer::ApplyDataset(const DatasetSpec& spec, const std::string& source) {
  ASSIGN_OR_RETURN(DatasetDiff diff, DiffDataset(spec, source));
  if (store_ == nullptr) {
    return Unavailable(fmt::format("storage root '{}' of instance '{}' does not exist; run `edl deploy` first",
                                   config_.storage.root, config_.instance));
  }
  if (!diff.plan.HasChanges()) return std::move(diff.plan);

  // Storage first: the folder file is rewritten from the spec, so repeating this after a failed
  // catalog write is harmless; the catalog transaction below is what makes the change real.
  if (diff.write_folder || (diff.existing && diff.existing->bucket != diff.wanted.bucket)) {
    RETURN_IF_ERROR(store_->PutBytes(diff.wanted.bucket, DatasetKey(spec.name), ToJson(spec).dump(2) + "\n"));
  }
  RETURN_IF_ERROR(catalog_->Write([&](CatalogTransaction& tx) -> Status {
    // Re-check under the write lock: a concurrent deploy may have moved the dataset on.
    ASSIGN_OR_RETURN(auto current, tx.GetDataset(spec.name));
    int64_t seen = diff.existing ? diff.existing->generation : 0;
    int64_t now = current ? current->generation : 0;
    if (seen != now) {
      return Conflict(fmt::format("dataset '{}' was changed by someone else while deploying {}; run the deploy again",
                                  spec.name, source));
    }
    if (current && current->bucket != diff.wanted.bucket) {
      // Moving is allowed only while the dataset has no updates; an ingest may have started since.
      ASSIGN_OR_RETURN(int64_t updates, tx.CountUpdates(spec.name));
      if (updates > 0) {
        return Conflict(fmt::format("dataset '{}' got its first update while deploying {}; its tier and region "
                                    "can no longer change", spec.name, source));
      }
    }
    std::string target = "dataset:" + spec.name;
    if (!diff.existing) {
      RETURN_IF_ERROR(tx.InsertDataset(diff.wanted));
      RETURN_IF_ERROR(Audit(tx, actor_, "dataset.create", target,
                            {{"new", ToJson(spec)}, {"bucket", diff.wanted.bucket}, {"file", source}}));
    } else if (!diff.changed_fields.empty()) {
      RETURN_IF_ERROR(tx.UpdateDataset(diff.wanted));
      RETURN_IF_ERROR(Audit(tx, actor_, "dataset.update", target, {{"changes", diff.changed_fields}, {"file", source}}));
    }
    for (const RoleRecord& role : diff.roles_to_create) {
      RETURN_IF_ERROR(tx.InsertRole(role));
      RETURN_IF_ERROR(Audit(tx, actor_, "role.create", "role:" + role.name, {{"new", ToJson(role)}}));
    }
    for (const Principal& principal : diff.principals_to_create) {
      ASSIGN_OR_RETURN(bool created, tx.EnsurePrincipal(principal));
      if (created) RETURN_IF_ERROR(Audit(tx, actor_, "principal.create", PrincipalRef(principal), {{"file", source}}));
    }
    for (const WantedGrant& wanted : diff.grants_to_add) {
      GrantRecord grant;
      grant.principal = wanted.principal;
      grant.role = wanted.role;
      grant.granted_by = std::string(kFileGranter);
      grant.reason = wanted.reason;
      ASSIGN_OR_RETURN(grant.id, tx.InsertGrant(grant));
      RETURN_IF_ERROR(Audit(tx, actor_, "grant.add", "role:" + grant.role, {{"new", ToJson(grant)}}));
    }
    for (const GrantRecord& grant : diff.grants_to_revoke) {
      std::string reason = "no longer declared in " + source;
      RETURN_IF_ERROR(tx.RevokeGrant(grant.id, actor_, reason));
      RETURN_IF_ERROR(Audit(tx, actor_, "grant.revoke", "role:" + grant.role, {{"old", ToJson(grant)}, {"reason", reason}}));
    }
    return Status::Ok();
  }));
  if (diff.existing && diff.existing->bucket != diff.wanted.bucket) {
    // The dataset has no updates (checked above), so its old folder holds only the description.
    Status removed = store_->Delete(diff.existing->bucket, DatasetKey(spec.name));
    if (!removed.ok() && removed.code() != StatusCode::kNotFound) return removed;
  }
  return std::move(diff.plan);
}

}  // namespace edl
