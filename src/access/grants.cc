#include "access/grants.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/serialize.h"

namespace edl {
namespace {

using nlohmann::json;

constexpr int64_t kMaxGrantDaysAnyTier = 3650;

Status AppendChange(CatalogTransaction& tx, const AccessScope& actor, std::string action, std::string target,
                    const json& details, const AccessContext& context) {
  AuditEvent event;
  event.actor = "user:" + actor.user();
  event.action = std::move(action);
  event.target = std::move(target);
  event.details_json = details.dump();
  event.request_id = context.request_id;
  return tx.AppendAudit(event).status();
}

constexpr size_t kMaxTextBytes = 2000;

// Justifications and reasons are shown in tables and kept in the audit log for years: bounded,
// and without control characters that could forge lines or move a terminal's cursor.
Status CheckText(std::string_view what, const std::string& text) {
  if (text.size() > kMaxTextBytes) {
    return InvalidArgument(fmt::format("the {} is {} bytes long; at most {} are kept", what, text.size(), kMaxTextBytes));
  }
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgument(fmt::format("the {} contains a control character (byte 0x{:02x}); write it on one line",
                                         what, static_cast<int>(c)));
    }
  }
  return Status::Ok();
}

Result<DatasetRecord> RequireDataset(CatalogTransaction& tx, const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<DatasetRecord> dataset, tx.GetDataset(name));
  if (!dataset) return NotFound(fmt::format("dataset '{}' does not exist", name));
  return *dataset;
}

// The dataset a role belongs to ("orders:read" -> "orders"); empty for instance roles.
std::string RoleDataset(const std::string& role) {
  size_t colon = role.rfind(':');
  return colon == std::string::npos ? std::string() : role.substr(0, colon);
}

}  // namespace

GrantService::GrantService(Catalog& catalog, const Clock& clock, Authorizer& authorizer)
    : catalog_(catalog), clock_(clock), authorizer_(authorizer) {}

Status GrantService::Refused(const AccessScope& actor, std::string action, std::string target, Status why,
                             const AccessContext& context) {
  AuditEvent event;
  event.at = authorizer_.Now();
  event.actor = "user:" + actor.user();
  event.action = std::move(action);
  event.target = std::move(target);
  event.decision = "deny";
  event.reason = why.message();
  event.request_id = context.request_id;
  authorizer_.Record(std::move(event));
  return why;
}

Result<std::optional<std::string>> GrantService::ExpiryFor(const DatasetRecord& dataset, std::optional<int64_t> days) {
  if (!days) return std::optional<std::string>();
  if (*days < 1 || *days > kMaxGrantDaysAnyTier) {
    return InvalidArgument(fmt::format("days must be from 1 to {}, got {}", kMaxGrantDaysAnyTier, *days));
  }
  (void)dataset;
  return std::optional<std::string>(FormatTimestamp(clock_.Now() + std::chrono::hours(24 * *days)));
}

Result<GrantOutcome> GrantService::AddGrant(const AccessScope& actor, const NewGrant& grant,
                                            const AccessContext& context) {
  GrantOutcome outcome;
  const std::string target = "dataset:" + grant.dataset;
  std::optional<Decision> denied;  // the admin decision, when it refused
  Status status = catalog_.Write([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(DatasetRecord dataset, RequireDataset(tx, grant.dataset));
    Decision decision = authorizer_.Authorize(actor, dataset, DatasetAction::kAdmin, {context.request_id, "grant.add"});
    if (!decision.allowed) {
      denied = decision;
      return decision.ToStatus(dataset, actor.user(), DatasetAction::kAdmin);
    }
    RETURN_IF_ERROR(CheckText("justification", grant.justification));
    ASSIGN_OR_RETURN(bool exists, tx.PrincipalExists(grant.grantee));
    if (!exists) return NotFound(fmt::format("{} does not exist", PrincipalRef(grant.grantee)));
    ASSIGN_OR_RETURN(std::optional<std::string> expires_at, ExpiryFor(dataset, grant.days));
    GrantProposal proposal{grant.grantee, grant.level, grant.justification, expires_at, "user:" + actor.user()};
    RETURN_IF_ERROR(CheckGrantRules(dataset, proposal, clock_.Now()));
    std::string now = FormatTimestamp(clock_.Now());
    if (dataset.spec.tier == Tier::kSensitive && dataset.spec.policy.two_person_approval) {
      AccessRequestRecord request;
      request.dataset = dataset.spec.name;
      request.grantee = grant.grantee;
      request.level = grant.level;
      request.justification = grant.justification;
      request.days = grant.days;
      request.requested_by = "user:" + actor.user();
      request.requested_at = now;
      request.first_approved_by = request.requested_by;
      request.first_approved_at = now;
      ASSIGN_OR_RETURN(request.id, tx.InsertAccessRequest(request));
      RETURN_IF_ERROR(AppendChange(tx, actor, "access_request.create", target,
                                   {{"request", ToJson(request)}, {"two_person_approval", true}}, context));
      outcome.pending = request;
      return Status::Ok();
    }
    GrantRecord record;
    record.principal = grant.grantee;
    record.role = DatasetRoleName(dataset.spec.name, grant.level);
    record.granted_by = "user:" + actor.user();
    record.granted_at = now;
    record.reason = grant.justification;
    record.expires_at = expires_at;
    ASSIGN_OR_RETURN(record.id, tx.InsertGrant(record));
    RETURN_IF_ERROR(AppendChange(tx, actor, "grant.add", target, {{"new", ToJson(record)}}, context));
    outcome.grant = record;
    return Status::Ok();
  });
  if (!status.ok()) {
    if (denied || status.code() == StatusCode::kNotFound) return status;  // the decision is audited already
    return Refused(actor, "grant.add", target, status, context);
  }
  return outcome;
}

Result<GrantRecord> GrantService::RevokeGrant(const AccessScope& actor, int64_t grant_id, const std::string& reason,
                                              const AccessContext& context) {
  GrantRecord revoked;
  bool decided = false;
  std::string target = fmt::format("grant:{}", grant_id);
  Status status = catalog_.Write([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(CheckText("reason", reason));
    ASSIGN_OR_RETURN(std::optional<GrantRecord> grant, tx.GetGrant(grant_id));
    if (!grant) return NotFound(fmt::format("grant {} does not exist", grant_id));
    std::string dataset_name = RoleDataset(grant->role);
    if (dataset_name.empty()) {
      target = "role:" + grant->role;
      if (!actor.admin()) {
        return PermissionDenied(
            fmt::format("user '{}' may not revoke grant {} of the instance role {}: that needs an instance admin",
                        actor.user(), grant_id, grant->role));
      }
    } else {
      target = "dataset:" + dataset_name;
      ASSIGN_OR_RETURN(DatasetRecord dataset, RequireDataset(tx, dataset_name));
      Decision decision =
          authorizer_.Authorize(actor, dataset, DatasetAction::kAdmin, {context.request_id, "grant.revoke"});
      decided = true;
      if (!decision.allowed) {
        // Whoever may not administer the dataset learns nothing about its grants.
        if (decision.hidden) return NotFound(fmt::format("grant {} does not exist", grant_id));
        return decision.ToStatus(dataset, actor.user(), DatasetAction::kAdmin);
      }
    }
    RETURN_IF_ERROR(tx.RevokeGrant(grant_id, "user:" + actor.user(), reason));
    ASSIGN_OR_RETURN(std::optional<GrantRecord> after, tx.GetGrant(grant_id));
    revoked = *after;
    return AppendChange(tx, actor, "grant.revoke", target, {{"old", ToJson(*grant)}, {"new", ToJson(revoked)}},
                        context);
  });
  if (!status.ok()) {
    if (decided && (status.code() == StatusCode::kPermissionDenied || status.code() == StatusCode::kNotFound)) {
      return status;
    }
    return Refused(actor, "grant.revoke", target, status, context);
  }
  return revoked;
}

Result<std::vector<GrantRecord>> GrantService::ListDatasetGrants(const AccessScope& actor, const std::string& dataset,
                                                                 bool include_revoked, const AccessContext& context) {
  std::vector<GrantRecord> grants;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(DatasetRecord record, RequireDataset(tx, dataset));
    RETURN_IF_ERROR(authorizer_.Require(actor, record, DatasetAction::kAdmin, {context.request_id, "grant.list"}));
    GrantFilter filter;
    filter.dataset = dataset;
    filter.include_revoked = include_revoked;
    ASSIGN_OR_RETURN(grants, tx.ListGrants(filter));
    return Status::Ok();
  }));
  return grants;
}

Result<std::vector<GrantRecord>> GrantService::ListPrincipalGrants(const AccessScope& actor,
                                                                   std::optional<Principal> principal) {
  std::vector<Principal> principals;
  if (principal) {
    bool own = (principal->kind == PrincipalKind::kUser && principal->name == actor.user()) ||
               (principal->kind == PrincipalKind::kGroup &&
                std::find(actor.groups().begin(), actor.groups().end(), principal->name) != actor.groups().end());
    if (!own && !actor.admin()) {
      return PermissionDenied(fmt::format("user '{}' may list only its own grants and its groups'; {} needs an admin",
                                          actor.user(), PrincipalRef(*principal)));
    }
    principals.push_back(*principal);
  } else {
    principals.push_back({PrincipalKind::kUser, actor.user()});
    for (const std::string& group : actor.groups()) principals.push_back({PrincipalKind::kGroup, group});
  }
  std::vector<GrantRecord> grants;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    for (const Principal& p : principals) {
      GrantFilter filter;
      filter.principal = p;
      ASSIGN_OR_RETURN(std::vector<GrantRecord> some, tx.ListGrants(filter));
      grants.insert(grants.end(), some.begin(), some.end());
    }
    return Status::Ok();
  }));
  std::sort(grants.begin(), grants.end(), [](const GrantRecord& a, const GrantRecord& b) { return a.id < b.id; });
  return grants;
}

Result<AccessRequestRecord> GrantService::RequestAccess(const AccessScope& actor, const NewGrant& request,
                                                        const AccessContext& context) {
  AccessRequestRecord record;
  const std::string target = "dataset:" + request.dataset;
  bool decided = false;
  Status status = catalog_.Write([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(DatasetRecord dataset, RequireDataset(tx, request.dataset));
    decided = true;
    RETURN_IF_ERROR(authorizer_.Require(actor, dataset, DatasetAction::kMetadata,
                                        {context.request_id, "access_request.create"}));
    decided = false;
    if (request.justification.empty()) {
      return InvalidArgument("an access request needs a justification: say why you need the data");
    }
    RETURN_IF_ERROR(CheckText("justification", request.justification));
    ASSIGN_OR_RETURN(std::optional<std::string> expires_at, ExpiryFor(dataset, request.days));
    GrantProposal proposal{{PrincipalKind::kUser, actor.user()}, request.level, request.justification, expires_at,
                           "(the approving admin)"};
    RETURN_IF_ERROR(CheckGrantRules(dataset, proposal, clock_.Now()));
    AccessRequestFilter pending;
    pending.dataset = dataset.spec.name;
    pending.state = AccessRequestState::kPending;
    pending.requested_by = "user:" + actor.user();
    ASSIGN_OR_RETURN(std::vector<AccessRequestRecord> open, tx.ListAccessRequests(pending));
    for (const AccessRequestRecord& r : open) {
      if (r.level == request.level && r.grantee.name == actor.user()) {
        return Conflict(fmt::format("you already asked for {} on dataset '{}' (request {}, pending)",
                                    AccessLevelName(request.level), dataset.spec.name, r.id));
      }
    }
    record.dataset = dataset.spec.name;
    record.grantee = {PrincipalKind::kUser, actor.user()};
    record.level = request.level;
    record.justification = request.justification;
    record.days = request.days;
    record.requested_by = "user:" + actor.user();
    record.requested_at = FormatTimestamp(clock_.Now());
    ASSIGN_OR_RETURN(record.id, tx.InsertAccessRequest(record));
    return AppendChange(tx, actor, "access_request.create", target, {{"request", ToJson(record)}}, context);
  });
  if (!status.ok()) {
    if (decided) return status;
    return Refused(actor, "access_request.create", target, status, context);
  }
  return record;
}

Result<DatasetRecord> GrantService::PendingRequest(CatalogTransaction& tx, const AccessScope& actor,
                                                   int64_t request_id, const std::string& action,
                                                   const AccessContext& context, AccessRequestRecord& record,
                                                   std::string& target, bool& decided) {
  ASSIGN_OR_RETURN(std::optional<AccessRequestRecord> found, tx.GetAccessRequest(request_id));
  if (!found) return NotFound(fmt::format("access request {} does not exist", request_id));
  record = *found;
  target = "dataset:" + record.dataset;
  ASSIGN_OR_RETURN(DatasetRecord dataset, RequireDataset(tx, record.dataset));
  Decision decision = authorizer_.Authorize(actor, dataset, DatasetAction::kAdmin, {context.request_id, action});
  if (!decision.allowed) {
    decided = true;
    // Only its requester and the dataset's admins learn that a request exists.
    if (record.requested_by != "user:" + actor.user()) {
      return NotFound(fmt::format("access request {} does not exist", request_id));
    }
    return decision.ToStatus(dataset, actor.user(), DatasetAction::kAdmin);
  }
  if (record.state != AccessRequestState::kPending) {
    return Conflict(fmt::format("access request {} was already {} by '{}'", request_id,
                                AccessRequestStateName(record.state), record.decided_by));
  }
  return dataset;
}

Result<AccessRequestRecord> GrantService::Approve(const AccessScope& actor, int64_t request_id,
                                                  const AccessContext& context, const std::string& note) {
  AccessRequestRecord record;
  std::string target = fmt::format("access_request:{}", request_id);
  bool decided = false;
  const std::string me = "user:" + actor.user();
  Status status = catalog_.Write([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(CheckText("reason", note));
    ASSIGN_OR_RETURN(DatasetRecord dataset,
                     PendingRequest(tx, actor, request_id, "access_request.approve", context, record, target, decided));
    if (record.grantee.kind == PrincipalKind::kUser && record.grantee.name == actor.user()) {
      return PermissionDenied(fmt::format("user '{}' may not approve access request {}: it is for themselves; another "
                                          "admin of dataset '{}' must",
                                          actor.user(), request_id, record.dataset));
    }
    if (record.first_approved_by == me) {
      return Conflict(fmt::format("access request {} already has your approval; dataset '{}' needs a second, different "
                                  "admin (two-person approval)",
                                  request_id, record.dataset));
    }
    std::string now = FormatTimestamp(clock_.Now());
    bool two_person = dataset.spec.tier == Tier::kSensitive && dataset.spec.policy.two_person_approval;
    if (two_person && record.first_approved_by.empty()) {
      record.first_approved_by = me;
      record.first_approved_at = now;
      RETURN_IF_ERROR(tx.UpdateAccessRequest(record));
      return AppendChange(tx, actor, "access_request.approve", target,
                          {{"request", ToJson(record)}, {"approval", "first of two"}}, context);
    }
    ASSIGN_OR_RETURN(std::optional<std::string> expires_at, ExpiryFor(dataset, record.days));
    GrantProposal proposal{record.grantee, record.level, record.justification, expires_at, me};
    RETURN_IF_ERROR(CheckGrantRules(dataset, proposal, clock_.Now()));
    GrantRecord grant;
    grant.principal = record.grantee;
    grant.role = DatasetRoleName(dataset.spec.name, record.level);
    grant.granted_by = me;
    grant.granted_at = now;
    grant.reason = fmt::format("access request {}: {}", record.id, record.justification);
    grant.expires_at = expires_at;
    ASSIGN_OR_RETURN(grant.id, tx.InsertGrant(grant));
    record.state = AccessRequestState::kApproved;
    record.decided_by = me;
    record.decided_at = now;
    record.decision_reason = note;
    record.grant_id = grant.id;
    RETURN_IF_ERROR(tx.UpdateAccessRequest(record));
    RETURN_IF_ERROR(AppendChange(tx, actor, "access_request.approve", target, {{"request", ToJson(record)}}, context));
    return AppendChange(tx, actor, "grant.add", target, {{"new", ToJson(grant)}}, context);
  });
  if (!status.ok()) {
    if (decided || status.code() == StatusCode::kNotFound) return status;
    return Refused(actor, "access_request.approve", target, status, context);
  }
  return record;
}

Result<AccessRequestRecord> GrantService::Deny(const AccessScope& actor, int64_t request_id, const std::string& reason,
                                               const AccessContext& context) {
  AccessRequestRecord record;
  std::string target = fmt::format("access_request:{}", request_id);
  bool decided = false;
  const std::string me = "user:" + actor.user();
  Status status = catalog_.Write([&](CatalogTransaction& tx) -> Status {
    if (reason.empty()) return InvalidArgument("denying an access request needs a reason, for the requester");
    RETURN_IF_ERROR(CheckText("reason", reason));
    ASSIGN_OR_RETURN(DatasetRecord dataset,
                     PendingRequest(tx, actor, request_id, "access_request.deny", context, record, target, decided));
    record.state = AccessRequestState::kDenied;
    record.decided_by = me;
    record.decided_at = FormatTimestamp(clock_.Now());
    record.decision_reason = reason;
    RETURN_IF_ERROR(tx.UpdateAccessRequest(record));
    return AppendChange(tx, actor, "access_request.deny", target, {{"request", ToJson(record)}}, context);
  });
  if (!status.ok()) {
    if (decided || status.code() == StatusCode::kNotFound) return status;
    return Refused(actor, "access_request.deny", target, status, context);
  }
  return record;
}

Result<std::vector<AccessRequestRecord>> GrantService::ListRequests(const AccessScope& actor,
                                                                    const AccessRequestFilter& filter) {
  std::vector<AccessRequestRecord> visible;
  std::string now = FormatTimestamp(clock_.Now());
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    // Reads batches until `limit` visible requests are found or none are left: the catalog cannot
    // tell which requests the actor may see.
    AccessRequestFilter batch_filter = filter;
    std::map<std::string, bool> administers;  // dataset -> the actor administers it
    while (static_cast<int64_t>(visible.size()) < filter.limit) {
      ASSIGN_OR_RETURN(std::vector<AccessRequestRecord> batch, tx.ListAccessRequests(batch_filter));
      for (AccessRequestRecord& request : batch) {
        if (static_cast<int64_t>(visible.size()) == filter.limit) break;
      bool show = actor.admin() || request.requested_by == "user:" + actor.user();
      if (!show) {
        auto it = administers.find(request.dataset);
        if (it == administers.end()) {
          ASSIGN_OR_RETURN(std::optional<DatasetRecord> dataset, tx.GetDataset(request.dataset));
          bool admin = dataset && Decide(actor, *dataset, DatasetAction::kAdmin, now).allowed;
          it = administers.emplace(request.dataset, admin).first;
        }
        show = it->second;
      }
      if (show) visible.push_back(std::move(request));
      }
      if (static_cast<int64_t>(batch.size()) < batch_filter.limit) break;
      batch_filter.after_id = batch.back().id;
    }
    return Status::Ok();
  }));
  return visible;
}

Result<std::vector<EffectiveRole>> GrantService::EffectiveRoles(const AccessScope& scope) {
  std::vector<EffectiveRole> roles;
  std::string now = FormatTimestamp(clock_.Now());
  if (scope.admin()) roles.push_back({"instance-admin", "the user is an instance admin", std::nullopt});
  std::map<std::string, Tier> tiers;  // of every dataset, to leave out grants that do not count
  std::vector<EffectiveRole> owned;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    DatasetFilter filter;
    filter.limit = 1000;
    while (true) {
      ASSIGN_OR_RETURN(std::vector<DatasetRecord> page, tx.ListDatasetsFiltered(filter));
      for (const DatasetRecord& dataset : page) {
        tiers[dataset.spec.name] = dataset.spec.tier;
        const auto& owners = dataset.spec.owners;
        if (std::find(owners.begin(), owners.end(), scope.user()) != owners.end()) {
          owned.push_back({DatasetRoleName(dataset.spec.name, AccessLevel::kAdmin), "owner of the dataset", std::nullopt});
        }
      }
      if (static_cast<int64_t>(page.size()) < filter.limit) return Status::Ok();
      filter.after_name = page.back().spec.name;
    }
  }));
  for (const HeldGrant& grant : scope.grants()) {
    if (grant.expires_at && *grant.expires_at <= now) continue;
    auto tier = tiers.find(grant.dataset);
    bool sensitive = tier != tiers.end() && tier->second == Tier::kSensitive;
    if (sensitive && (grant.principal.kind != PrincipalKind::kUser || !grant.expires_at)) continue;
    std::string via = fmt::format("grant {} to {}", grant.id, PrincipalRef(grant.principal));
    roles.push_back({grant.role, via, grant.expires_at});
  }
  roles.insert(roles.end(), owned.begin(), owned.end());
  return roles;
}

}  // namespace edl
