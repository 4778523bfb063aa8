// Grants and access requests (design.md §2, docs/security.md): adding, revoking and listing grants,
// self-service requests and their approval or denial, and two-person approval where a sensitive
// dataset's policy asks for it. Every call is made on behalf of an acting identity (its
// AccessScope); the Authorizer decides whether it may, and every change and every refusal goes to
// the audit log — changes in the same catalog transaction as the change itself.
// Thread-safe; borrows the catalog, the clock and the Authorizer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "access/authorizer.h"
#include "catalog/catalog.h"
#include "core/model.h"
#include "core/status.h"

namespace edl {

class Clock;

struct NewGrant {
  std::string dataset;
  Principal grantee;
  AccessLevel level = AccessLevel::kRead;
  std::string justification;
  std::optional<int64_t> days;  // 1..3650; required on sensitive datasets (at most max_grant_days)
};

// A grant made at once, or — on a sensitive dataset whose policy asks for two-person approval — an
// access request holding the first approval and waiting for a second admin.
struct GrantOutcome {
  std::optional<GrantRecord> grant;
  std::optional<AccessRequestRecord> pending;
};

// A role an identity holds, and where it comes from, for `whoami`.
struct EffectiveRole {
  std::string role;                       // "orders:read", "internal-read", "instance-admin"
  std::string via;                        // "grant 12 to group:finance", "owner of the dataset", ...
  std::optional<std::string> expires_at;
};

class GrantService {
 public:
  GrantService(Catalog& catalog, const Clock& clock, Authorizer& authorizer);

  // Needs admin on the dataset; the tier's rules (CheckGrantRules). NotFound for an unknown (or
  // hidden) dataset or grantee.
  Result<GrantOutcome> AddGrant(const AccessScope& actor, const NewGrant& grant, const AccessContext& context);
  // Needs admin on the grant's dataset (instance roles: instance admin). Conflict when already revoked.
  Result<GrantRecord> RevokeGrant(const AccessScope& actor, int64_t grant_id, const std::string& reason,
                                  const AccessContext& context);
  // The dataset's grants (admins of the dataset only), active ones unless include_revoked.
  Result<std::vector<GrantRecord>> ListDatasetGrants(const AccessScope& actor, const std::string& dataset,
                                                     bool include_revoked, const AccessContext& context);
  // Grants held by a principal: the caller's own (user and groups) unless the caller is an
  // instance admin, who may ask about anyone.
  Result<std::vector<GrantRecord>> ListPrincipalGrants(const AccessScope& actor, std::optional<Principal> principal);

  // Self-service: the caller asks for `level` on a dataset it can see. Needs a justification.
  Result<AccessRequestRecord> RequestAccess(const AccessScope& actor, const NewGrant& request,
                                            const AccessContext& context);
  // Needs admin on the dataset, and the approver is not the grantee (nor, with two-person
  // approval, the first approver). Conflict when the request is no longer pending.
  // `note`, when given, is kept as the request's decision_reason.
  Result<AccessRequestRecord> Approve(const AccessScope& actor, int64_t request_id, const AccessContext& context,
                                      const std::string& note = "");
  Result<AccessRequestRecord> Deny(const AccessScope& actor, int64_t request_id, const std::string& reason,
                                   const AccessContext& context);
  // Requests the caller may see — its own, and those on datasets it administers (all for admins) —
  // with ids above filter.after_id, oldest first, at most filter.limit.
  Result<std::vector<AccessRequestRecord>> ListRequests(const AccessScope& actor, const AccessRequestFilter& filter);

  // The roles the identity holds now, with their sources; grants that do not count (expired, or on
  // a sensitive dataset to a group or without an expiry) are left out.
  Result<std::vector<EffectiveRole>> EffectiveRoles(const AccessScope& scope);

 private:
  Result<std::optional<std::string>> ExpiryFor(const DatasetRecord& dataset, std::optional<int64_t> days);
  // The pending request `request_id` and its dataset, if the actor administers the dataset (the
  // decision audited as `action`): NotFound to anyone but its requester, PermissionDenied to the
  // requester, Conflict once decided. Fills `record` and `target` as soon as they are known, and
  // sets `decided` when the refusal is the audited decision itself.
  Result<DatasetRecord> PendingRequest(CatalogTransaction& tx, const AccessScope& actor, int64_t request_id,
                                       const std::string& action, const AccessContext& context,
                                       AccessRequestRecord& record, std::string& target, bool& decided);
  // Records a refused change (the change's transaction rolled back, so through the audit sink) and
  // returns `why`.
  Status Refused(const AccessScope& actor, std::string action, std::string target, Status why,
                 const AccessContext& context);
  Catalog& catalog_;
  const Clock& clock_;
  Authorizer& authorizer_;
};

}  // namespace edl
