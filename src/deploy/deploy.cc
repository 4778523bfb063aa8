#include "deploy/deploy.h"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "access/authorizer.h"
#include "catalog/catalog.h"
#include "core/clock.h"
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

// A grant the file wants: an owner's admin grant, or a declared grant with its expiry and
// justification.
struct WantedGrant {
  Principal principal;
  std::string role;
  std::string reason;
  bool owner = false;
  AccessLevel level = AccessLevel::kAdmin;
  std::string justification;
  std::optional<std::string> expires_at;  // FormatTimestamp of the declared `until`
};

// 00:00 UTC of a declared `until`, as grants record it; none when unset or not a date (which
// CheckDeclaredGrants refuses before anything uses this).
std::optional<std::string> DeclaredExpiry(const DeclaredGrant& grant) {
  if (!grant.until) return std::nullopt;
  auto date = ParseUtcDate(*grant.until);
  if (!date) return std::nullopt;
  return FormatTimestamp(*date);
}

// An expiry as people wrote it: the date for midnight expiries (all declared ones), else as stored.
std::string ExpiryText(const std::optional<std::string>& expires_at) {
  if (!expires_at) return "none";
  constexpr std::string_view kMidnight = "T00:00:00.000Z";
  if (expires_at->size() == 10 + kMidnight.size() && expires_at->substr(10) == kMidnight) {
    return expires_at->substr(0, 10);
  }
  return *expires_at;
}

std::string JustificationText(const std::string& justification) {
  return justification.empty() ? "none" : fmt::format("'{}'", justification);
}

std::vector<WantedGrant> WantedGrants(const DatasetSpec& spec, const std::string& source) {
  std::vector<WantedGrant> wanted;
  for (const std::string& owner : spec.owners) {
    WantedGrant w;
    w.principal = {PrincipalKind::kUser, owner};
    w.role = DatasetRoleName(spec.name, AccessLevel::kAdmin);
    w.reason = fmt::format("owner of the dataset in {}", source);
    w.owner = true;
    wanted.push_back(std::move(w));
  }
  for (const DeclaredGrant& grant : spec.grants) {
    WantedGrant w;
    w.principal = grant.principal;
    w.role = DatasetRoleName(spec.name, grant.level);
    w.reason = grant.justification.empty() ? fmt::format("declared in {}", source)
                                           : fmt::format("declared in {}: {}", source, grant.justification);
    w.level = grant.level;
    w.justification = grant.justification;
    w.expires_at = DeclaredExpiry(grant);
    bool duplicate = std::any_of(wanted.begin(), wanted.end(), [&](const WantedGrant& other) {
      return other.principal == w.principal && other.role == w.role;
    });
    if (!duplicate) wanted.push_back(std::move(w));
  }
  return wanted;
}

// The grant the stored spec declared for this principal and level, if any.
const DeclaredGrant* FindDeclared(const DatasetSpec& spec, const Principal& principal, AccessLevel level) {
  for (const DeclaredGrant& grant : spec.grants) {
    if (grant.principal == principal && grant.level == level) return &grant;
  }
  return nullptr;
}

// Whether an active file grant is what the file wants. The justification is compared with the one
// the stored spec declared (the spec and the file grants change together, in one transaction),
// not parsed back out of the grant's reason, so deploying the same file from another path
// changes nothing.
bool Satisfies(const GrantRecord& grant, const WantedGrant& wanted, const std::optional<DatasetRecord>& existing) {
  if (grant.principal != wanted.principal || grant.role != wanted.role || grant.expires_at != wanted.expires_at) {
    return false;
  }
  if (wanted.owner) return true;
  if (!existing) return false;
  const DeclaredGrant* declared = FindDeclared(existing->spec, wanted.principal, wanted.level);
  return declared != nullptr && declared->justification == wanted.justification;
}

// Why a file grant that is not wanted any more goes: replaced by a changed declaration of the same
// principal, or no longer declared at all.
std::string RevokeReason(const GrantRecord& grant, const std::vector<WantedGrant>& to_add,
                         const std::vector<WantedGrant>& wanted, const std::optional<DatasetRecord>& existing,
                         const std::string& source) {
  const WantedGrant* same_role = nullptr;
  const WantedGrant* other_level = nullptr;
  for (const WantedGrant& w : to_add) {
    if (w.principal != grant.principal || w.owner) continue;
    if (w.role == grant.role) {
      same_role = &w;
    } else if (other_level == nullptr) {
      other_level = &w;
    }
  }
  if (same_role != nullptr) {
    std::vector<std::string> changes;
    if (grant.expires_at != same_role->expires_at) {
      changes.push_back(fmt::format("until {} -> {}", ExpiryText(grant.expires_at), ExpiryText(same_role->expires_at)));
    }
    const DeclaredGrant* old =
        existing ? FindDeclared(existing->spec, same_role->principal, same_role->level) : nullptr;
    std::string old_justification = old != nullptr ? old->justification : "";
    if (old_justification != same_role->justification) {
      changes.push_back(fmt::format("justification {} -> {}", JustificationText(old_justification),
                                    JustificationText(same_role->justification)));
    }
    if (changes.empty()) return fmt::format("declared anew in {}; replaced", source);
    std::string joined;
    for (const std::string& change : changes) joined += (joined.empty() ? "" : ", ") + change;
    return fmt::format("changed in {} ({}); replaced", source, joined);
  }
  bool role_still_wanted = std::any_of(wanted.begin(), wanted.end(), [&](const WantedGrant& w) {
    return w.principal == grant.principal && w.role == grant.role;
  });
  if (other_level != nullptr && !role_still_wanted) {
    std::string old_level = grant.role.substr(grant.role.rfind(':') + 1);
    return fmt::format("changed in {} (level {} -> {}); replaced", source, old_level,
                       AccessLevelName(other_level->level));
  }
  return "no longer declared in " + source;
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

Deployer::Deployer(const InstanceConfig& config, Catalog* catalog, ObjectStore* store, const Clock& clock,
                   std::string actor)
    : config_(config), catalog_(catalog), store_(store), clock_(clock), actor_(std::move(actor)) {}

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

Status Deployer::CheckDeclaredGrants(const DatasetSpec& spec, const std::string& source) const {
  const auto now = clock_.Now();
  DatasetRecord dataset;
  dataset.spec = spec;
  for (size_t i = 0; i < spec.grants.size(); ++i) {
    const DeclaredGrant& grant = spec.grants[i];
    std::string what = fmt::format("{}: grants[{}] ({} to {})", source, i, AccessLevelName(grant.level),
                                   PrincipalRef(grant.principal));
    if (spec.tier == Tier::kSensitive && spec.policy.two_person_approval) {
      return InvalidArgument(fmt::format(
          "{}: dataset '{}' is sensitive and its policy asks for two-person approval, so its grants cannot be "
          "declared in the dataset file; they are made with `edl-api grants add` and a second admin's approval",
          what, spec.name));
    }
    std::optional<std::string> expires_at;
    if (grant.until) {
      auto date = ParseUtcDate(*grant.until);
      if (!date) {
        return InvalidArgument(fmt::format("{}: until '{}' is not a date written YYYY-MM-DD", what, *grant.until));
      }
      if (*date <= now) {
        return InvalidArgument(
            fmt::format("{}: already expired (until {}: the grant ended at 00:00 UTC that day); "
                        "remove it from the file or give a later date",
                        what, *grant.until));
      }
      expires_at = FormatTimestamp(*date);
    }
    GrantProposal proposal{grant.principal, grant.level, grant.justification, expires_at, std::string(kFileGranter)};
    Status rules = CheckGrantRules(dataset, proposal, now);
    if (!rules.ok()) return InvalidArgument(fmt::format("{}: {}", what, rules.message()));
  }
  return Status::Ok();
}

struct Deployer::DatasetDiff {
  std::optional<DatasetRecord> existing;
  DatasetRecord wanted;
  json changed_fields = json::object();  // field -> {old, new}
  std::vector<RoleRecord> roles_to_create;
  std::vector<Principal> principals_to_create;
  std::vector<WantedGrant> grants_to_add;
  std::vector<std::pair<GrantRecord, std::string>> grants_to_revoke;  // with the reason
  bool write_folder = false;  // _dataset.json missing or stale
  Plan plan;
};

Result<Deployer::DatasetDiff> Deployer::DiffDataset(const DatasetSpec& spec, const std::string& source) {
  DatasetDiff diff;
  diff.plan.subject = fmt::format("dataset {}", spec.name);
  diff.wanted.spec = spec;
  diff.wanted.bucket = BucketName(config_.bucket_prefix, config_.instance, spec.tier, spec.region);
  RETURN_IF_ERROR(CheckDeclaredGrants(spec, source));
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
    // Only the file's own grants take part: a person's grant of the same role neither stands in for
    // a declared one nor is ever revoked here.
    GrantFilter filter;
    filter.dataset = spec.name;
    ASSIGN_OR_RETURN(auto active, tx.ListGrants(filter));
    std::vector<bool> kept(active.size(), false);
    for (const WantedGrant& grant : wanted) {
      bool have = false;
      for (size_t i = 0; i < active.size() && !have; ++i) {
        if (kept[i] || active[i].granted_by != kFileGranter) continue;
        have = kept[i] = Satisfies(active[i], grant, diff.existing);
      }
      if (!have) diff.grants_to_add.push_back(grant);
    }
    for (size_t i = 0; i < active.size(); ++i) {
      if (kept[i] || active[i].granted_by != kFileGranter) continue;
      diff.grants_to_revoke.emplace_back(active[i],
                                         RevokeReason(active[i], diff.grants_to_add, wanted, diff.existing, source));
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
  // Revocations first, so a replaced grant reads "- old" then "+ new".
  for (const auto& [grant, reason] : diff.grants_to_revoke) {
    plan.changes.push_back(
        {ChangeAction::kRemove, "grant", fmt::format("{} -> {}", grant.role, PrincipalRef(grant.principal)), reason});
  }
  for (const WantedGrant& grant : diff.grants_to_add) {
    std::string detail = grant.reason;
    if (grant.expires_at) detail += "; until " + ExpiryText(grant.expires_at);
    plan.changes.push_back(
        {ChangeAction::kCreate, "grant", fmt::format("{} -> {}", grant.role, PrincipalRef(grant.principal)), detail});
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
    for (const auto& [grant, reason] : diff.grants_to_revoke) {
      RETURN_IF_ERROR(tx.RevokeGrant(grant.id, actor_, reason));
      RETURN_IF_ERROR(Audit(tx, actor_, "grant.revoke", "role:" + grant.role,
                            {{"old", ToJson(grant)}, {"reason", reason}, {"file", source}}));
    }
    for (const WantedGrant& wanted : diff.grants_to_add) {
      GrantRecord grant;
      grant.principal = wanted.principal;
      grant.role = wanted.role;
      grant.granted_by = std::string(kFileGranter);
      grant.reason = wanted.reason;
      grant.expires_at = wanted.expires_at;
      ASSIGN_OR_RETURN(grant.id, tx.InsertGrant(grant));
      RETURN_IF_ERROR(Audit(tx, actor_, "grant.add", "role:" + grant.role, {{"new", ToJson(grant)}, {"file", source}}));
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
