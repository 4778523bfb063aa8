// The Authorizer (design.md §2, §5; docs/security.md): the one place that decides whether an
// identity may see, read, write or administer a dataset, whether a grant may be made, and whether
// data may flow from some datasets into another. Every frontend asks it — REST reads and writes,
// ingest jobs, and later SQL and S3 — and every decision, allowed or denied, goes to the audit log
// with its reason (never with data). Deny by default: an action is allowed only by a rule below.
//
// Decisions are computed from an AccessScope, the identity's active grants read once at an access
// epoch (see Catalog::AccessEpoch). Scopes are cached per user and thrown away as soon as the epoch
// moves, so a revoked grant stops working on the next request whichever process revoked it; grant
// expiry is compared with the clock at each decision, so it needs no background job.
//
// Thread-safe. Borrows the catalog, the clock and the audit sink.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/access.h"
#include "core/model.h"
#include "core/status.h"

namespace edl {

class AuditSink;
class Catalog;
class Clock;

// What a caller wants to do with a dataset. kMetadata: see that it exists and its description
// (name, tier, owners, description, policy); the other three are the roles' levels.
enum class DatasetAction { kMetadata, kRead, kWrite, kAdmin };
std::string_view DatasetActionName(DatasetAction action);

// An active grant held by the identity, directly or through one of its groups.
struct HeldGrant {
  int64_t id = 0;
  Principal principal;               // the grantee: the user or one of their groups
  std::string role;                  // "orders:read", or "internal-read"
  std::string dataset;               // empty for instance roles
  AccessLevel level = AccessLevel::kRead;
  std::optional<std::string> expires_at;
};

// What one identity holds at one access epoch.
class AccessScope {
 public:
  const std::string& user() const { return user_; }
  bool admin() const { return admin_; }
  const std::vector<std::string>& groups() const { return groups_; }
  const std::vector<HeldGrant>& grants() const { return grants_; }
  int64_t epoch() const { return epoch_; }

 private:
  friend class Authorizer;
  friend AccessScope MakeAccessScopeForTest(const Identity& identity, std::vector<HeldGrant> grants);
  std::string user_;
  bool admin_ = false;
  std::vector<std::string> groups_;
  std::vector<HeldGrant> grants_;
  int64_t epoch_ = 0;
};

struct Decision {
  bool allowed = false;
  // Denied, and the caller may not even learn that the dataset exists (sensitive datasets to those
  // without any access): frontends answer as if it did not exist.
  bool hidden = false;
  std::string reason;  // why, in words: "grant 12 to group:finance (orders:read)", "no grant …"
  // OK, or the error a frontend returns: NotFound when hidden, else PermissionDenied.
  Status ToStatus(const DatasetRecord& dataset, std::string_view user, DatasetAction action) const;
};

// The rules, as a pure function of the scope, the dataset and the time (RFC 3339 UTC "now").
// With `explain` false the decision is the same but its reason stays empty: for callers that
// decide many times and show no reasons (the dataset listing's view of each dataset).
Decision Decide(const AccessScope& scope, const DatasetRecord& dataset, DatasetAction action, std::string_view now,
                bool explain = true);

// Until when every Decide(scope, …, now) answers as it does at `now`: the first expiry after `now`
// among the scope's grants (RFC 3339), or empty when none will expire. The clock enters the rules
// only through grant expiry, so decisions cached for a scope are exact until then.
std::string DecisionsStableUntil(const AccessScope& scope, std::string_view now);

// A grant someone wants to make (or a request to be approved).
struct GrantProposal {
  Principal grantee;
  AccessLevel level = AccessLevel::kRead;
  std::string justification;
  std::optional<std::string> expires_at;  // RFC 3339 UTC; none: until revoked
  std::string grantor;                    // "user:alice", or "system:dataset-file"
};

// The tier's rules for making a grant (docs/security.md), checked when it is made and again when a
// request is approved. The grantor's own right (admin on the dataset) is checked by the caller.
// expires_at must be written as FormatTimestamp writes it. InvalidArgument naming the rule broken.
Status CheckGrantRules(const DatasetRecord& dataset, const GrantProposal& proposal,
                       std::chrono::system_clock::time_point now);

// The longest a grant on the dataset may run: policy.max_grant_days on sensitive datasets (90 when
// unset); none for the other tiers.
std::optional<int64_t> MaxGrantDays(const DatasetRecord& dataset);

// Information flow: data derived from `inputs` may be written to `output` only if no input is of a
// higher tier than the output. PermissionDenied naming the first offending input.
Status CheckFlow(const std::vector<DatasetRecord>& inputs, const DatasetRecord& output);

// Where an access decision happened, for its audit record.
struct AccessContext {
  std::string request_id;
  std::string action;  // the audit action; default "access.<metadata|read|write|admin>"
};

class Authorizer {
 public:
  // `sink` receives one record per decision; null records nothing (tests of the pure rules).
  Authorizer(Catalog& catalog, const Clock& clock, AuditSink* sink);
  ~Authorizer();

  // The identity's scope at the current access epoch (from the cache when the epoch has not moved).
  Result<AccessScope> ScopeFor(const Identity& identity);

  // Decides, records the decision in the audit log, and returns it.
  Decision Authorize(const AccessScope& scope, const DatasetRecord& dataset, DatasetAction action,
                     const AccessContext& context = {});
  // Authorize, as a Status for frontends: OK, NotFound (hidden) or PermissionDenied.
  Status Require(const AccessScope& scope, const DatasetRecord& dataset, DatasetAction action,
                 const AccessContext& context = {});

  // Records one event in the audit log (through the sink).
  void Record(AuditEvent event);
  // Records a dataset listing as one allowed decision ("dataset.list", decided at `now`), not one
  // per dataset: a listing shows what exists, never data.
  void RecordListing(const AccessScope& scope, size_t shown, const std::string& now, const AccessContext& context);
  // Waits until the decisions recorded so far are in the audit log (see AuditSink::Flush).
  Status FlushAudit(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  std::string Now() const;

 private:
  Catalog& catalog_;
  const Clock& clock_;
  AuditSink* sink_;
  std::mutex mu_;
  std::map<std::string, AccessScope> cache_;  // by user name; entries of older epochs are ignored
};

}  // namespace edl
