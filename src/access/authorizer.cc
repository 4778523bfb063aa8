#include "access/authorizer.h"

#include <algorithm>

#include <fmt/format.h>

#include "access/audit_writer.h"
#include "catalog/catalog.h"
#include "core/clock.h"

namespace edl {
namespace {

constexpr int64_t kDefaultMaxGrantDays = 90;
constexpr size_t kMaxCachedScopes = 10000;

int Rank(AccessLevel level) {
  switch (level) {
    case AccessLevel::kRead: return 1;
    case AccessLevel::kWrite: return 2;
    case AccessLevel::kAdmin: return 3;
  }
  return 0;
}

// The level an action needs; kMetadata needs none of the roles (see Decide).
AccessLevel NeededLevel(DatasetAction action) {
  switch (action) {
    case DatasetAction::kWrite: return AccessLevel::kWrite;
    case DatasetAction::kAdmin: return AccessLevel::kAdmin;
    default: return AccessLevel::kRead;
  }
}

std::string Describe(const HeldGrant& grant) {
  std::string text = fmt::format("grant {} to {} ({}", grant.id, PrincipalRef(grant.principal), grant.role);
  if (grant.expires_at) text += ", until " + *grant.expires_at;
  return text + ")";
}

bool IsOwner(const DatasetRecord& dataset, std::string_view user) {
  const std::vector<std::string>& owners = dataset.spec.owners;
  return std::find(owners.begin(), owners.end(), user) != owners.end();
}

}  // namespace

std::string_view DatasetActionName(DatasetAction action) {
  switch (action) {
    case DatasetAction::kMetadata: return "metadata";
    case DatasetAction::kRead: return "read";
    case DatasetAction::kWrite: return "write";
    case DatasetAction::kAdmin: return "admin";
  }
  return "unknown";
}

Status Decision::ToStatus(const DatasetRecord& dataset, std::string_view user, DatasetAction action) const {
  if (allowed) return Status::Ok();
  if (hidden) return NotFound(fmt::format("dataset '{}' does not exist", dataset.spec.name));
  std::string_view verb = action == DatasetAction::kRead    ? "read"
                          : action == DatasetAction::kWrite ? "write to"
                          : action == DatasetAction::kAdmin ? "administer"
                                                            : "see";
  std::string message = fmt::format("user '{}' may not {} dataset '{}' ({} tier)", user, verb, dataset.spec.name,
                                    TierName(dataset.spec.tier));
  if (action != DatasetAction::kMetadata) {
    message += fmt::format(": it needs the role {}", DatasetRoleName(dataset.spec.name, NeededLevel(action)));
  }
  return PermissionDenied(message + fmt::format(" ({}); ask one of its owners, or run: edl-api access request {} --level {} "
                                                "--justification \"...\"",
                                                reason, dataset.spec.name, AccessLevelName(NeededLevel(action))));
}

// The rules (docs/security.md). Every path ends in an explicit allow or deny with a reason.
std::string DecisionsStableUntil(const AccessScope& scope, std::string_view now) {
  std::string until;
  for (const HeldGrant& grant : scope.grants()) {
    if (grant.expires_at && *grant.expires_at > now && (until.empty() || *grant.expires_at < until)) {
      until = *grant.expires_at;
    }
  }
  return until;
}

Decision Decide(const AccessScope& scope, const DatasetRecord& dataset, DatasetAction action, std::string_view now,
                bool explain) {
  const DatasetSpec& spec = dataset.spec;
  const Tier tier = spec.tier;
  const bool sensitive = tier == Tier::kSensitive;

  // The strongest role the identity holds on this dataset, and where it comes from: the grant, or
  // (null) ownership, described only when a reason needs it.
  int best = 0;
  const HeldGrant* best_grant = nullptr;
  std::vector<std::string> not_counted;  // grants that exist but do not count, for the reason
  if (IsOwner(dataset, scope.user())) best = Rank(AccessLevel::kAdmin);
  for (const HeldGrant& grant : scope.grants()) {
    if (grant.dataset != spec.name) continue;
    if (grant.expires_at && *grant.expires_at <= now) {
      if (explain) not_counted.push_back(fmt::format("grant {} expired at {}", grant.id, *grant.expires_at));
      continue;
    }
    if (sensitive && grant.principal.kind != PrincipalKind::kUser) {
      if (explain) {
        not_counted.push_back(fmt::format(
            "grant {} is to {}; on sensitive datasets only grants to individual users count", grant.id,
            PrincipalRef(grant.principal)));
      }
      continue;
    }
    if (sensitive && !grant.expires_at) {
      if (explain) {
        not_counted.push_back(
            fmt::format("grant {} has no expiry; on sensitive datasets only grants with an expiry count", grant.id));
      }
      continue;
    }
    if (Rank(grant.level) > best) {
      best = Rank(grant.level);
      best_grant = &grant;
    }
  }
  auto best_via = [&] { return best_grant != nullptr ? Describe(*best_grant) : std::string("owner of the dataset"); };
  // The instance role internal-read: read on internal datasets.
  const HeldGrant* internal_read = nullptr;
  if (tier == Tier::kInternal) {
    for (const HeldGrant& grant : scope.grants()) {
      if (grant.role != kInternalReadRole) continue;
      if (grant.expires_at && *grant.expires_at <= now) continue;
      internal_read = &grant;
      break;
    }
  }
  auto deny_reason = [&](std::string base) {
    for (const std::string& note : not_counted) base += "; " + note;
    return base;
  };

  Decision d;
  auto because = [&](auto&& words) {  // the reason, put in words only when asked for; ends the decision
    if (explain) d.reason = words();
    return std::move(d);
  };
  if (action == DatasetAction::kMetadata) {
    if (tier != Tier::kSensitive) {
      d.allowed = true;
      return because([&] { return fmt::format("{} datasets are listed for every user", TierName(tier)); });
    }
    if (scope.admin()) {
      d.allowed = true;
      return because([] { return std::string("instance admin"); });
    }
    if (best > 0) {
      d.allowed = true;
      return because(best_via);
    }
    d.hidden = true;
    return because([&] { return deny_reason(fmt::format("sensitive dataset, and {} holds no role on it", scope.user())); });
  }

  if (best >= Rank(NeededLevel(action))) {
    d.allowed = true;
    return because(best_via);
  }
  if (action == DatasetAction::kRead && internal_read != nullptr) {
    d.allowed = true;
    return because([&] { return "the default role " + Describe(*internal_read); });
  }
  auto role = [&] { return DatasetRoleName(spec.name, NeededLevel(action)); };
  if (scope.admin()) {
    // Instance admins administer every dataset and read and write internal and restricted ones;
    // sensitive data is need-to-know even for them (they can grant it to themselves only through
    // another admin, see CheckGrantRules).
    if (action == DatasetAction::kAdmin || !sensitive) {
      d.allowed = true;
      return because([] { return std::string("instance admin"); });
    }
    return because([&] {
      return deny_reason(fmt::format("instance admins need a grant of {} to themselves to {} sensitive data", role(),
                                     action == DatasetAction::kRead ? "read" : "write"));
    });
  }
  d.hidden = sensitive && best == 0;
  return because([&] {
    std::string base = fmt::format("{} holds no active grant of {} or higher, directly or through a group",
                                   scope.user(), role());
    if (action == DatasetAction::kRead && tier == Tier::kInternal) {
      base += ", and is not in a group holding the default role internal-read";
    }
    return deny_reason(std::move(base));
  });
}

std::optional<int64_t> MaxGrantDays(const DatasetRecord& dataset) {
  if (dataset.spec.tier != Tier::kSensitive) return std::nullopt;
  return dataset.spec.policy.max_grant_days.value_or(kDefaultMaxGrantDays);
}

Status CheckGrantRules(const DatasetRecord& dataset, const GrantProposal& proposal,
                       std::chrono::system_clock::time_point now_time) {
  const std::string now = FormatTimestamp(now_time);
  const DatasetSpec& spec = dataset.spec;
  const std::string role = DatasetRoleName(spec.name, proposal.level);
  const std::string grantee = PrincipalRef(proposal.grantee);
  if (spec.tier == Tier::kSensitive && proposal.grantee.kind == PrincipalKind::kUser &&
      "user:" + proposal.grantee.name == proposal.grantor) {
    return InvalidArgument(fmt::format("{} cannot grant {} to themselves: on sensitive datasets another admin must",
                                       grantee, role));
  }
  if (proposal.expires_at && *proposal.expires_at <= now) {
    return InvalidArgument(fmt::format("the grant of {} to {} would expire at {}, which is not in the future", role,
                                       grantee, *proposal.expires_at));
  }
  if (spec.tier != Tier::kSensitive) return Status::Ok();
  if (proposal.grantee.kind != PrincipalKind::kUser) {
    return InvalidArgument(fmt::format("dataset '{}' is sensitive: {} can be granted to individual users only, not to {}",
                                       spec.name, role, grantee));
  }
  if (proposal.justification.empty()) {
    return InvalidArgument(fmt::format("dataset '{}' is sensitive: the grant of {} to {} needs a justification",
                                       spec.name, role, grantee));
  }
  int64_t max_days = *MaxGrantDays(dataset);
  if (!proposal.expires_at) {
    return InvalidArgument(fmt::format("dataset '{}' is sensitive: the grant of {} to {} needs an expiry of at most {} "
                                       "days (policy.max_grant_days)",
                                       spec.name, role, grantee, max_days));
  }
  if (*proposal.expires_at > FormatTimestamp(now_time + std::chrono::hours(24 * max_days))) {
    return InvalidArgument(fmt::format("dataset '{}' is sensitive: the grant of {} to {} would run until {}, longer than "
                                       "the {} days its policy allows (policy.max_grant_days)",
                                       spec.name, role, grantee, *proposal.expires_at, max_days));
  }
  return Status::Ok();
}

Status CheckFlow(const std::vector<DatasetRecord>& inputs, const DatasetRecord& output) {
  for (const DatasetRecord& input : inputs) {
    if (static_cast<int>(input.spec.tier) > static_cast<int>(output.spec.tier)) {
      return PermissionDenied(fmt::format(
          "data from dataset '{}' ({} tier) may not be written to dataset '{}' ({} tier): data never flows to a "
          "lower tier",
          input.spec.name, TierName(input.spec.tier), output.spec.name, TierName(output.spec.tier)));
    }
  }
  return Status::Ok();
}

Authorizer::Authorizer(Catalog& catalog, const Clock& clock, AuditSink* sink)
    : catalog_(catalog), clock_(clock), sink_(sink) {}

Authorizer::~Authorizer() = default;

std::string Authorizer::Now() const { return FormatTimestamp(clock_.Now()); }

Result<AccessScope> Authorizer::ScopeFor(const Identity& identity) {
  AccessScope scope;
  auto cached = [&](int64_t epoch) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(identity.user);
    if (it == cache_.end() || it->second.epoch_ != epoch || it->second.admin_ != identity.admin ||
        it->second.groups_ != identity.groups) {
      return false;
    }
    scope = it->second;
    return true;
  };
  // Authenticate read the epoch a moment ago: at that epoch, a cached scope is still exact.
  if (identity.epoch != 0 && cached(identity.epoch)) return scope;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(int64_t epoch, tx.AccessEpoch());
    if (cached(epoch)) return Status::Ok();
    scope = AccessScope();
    scope.user_ = identity.user;
    scope.admin_ = identity.admin;
    scope.groups_ = identity.groups;
    scope.epoch_ = epoch;
    std::vector<Principal> principals = {{PrincipalKind::kUser, identity.user}};
    for (const std::string& group : identity.groups) principals.push_back({PrincipalKind::kGroup, group});
    for (const Principal& principal : principals) {
      GrantFilter filter;
      filter.principal = principal;
      ASSIGN_OR_RETURN(std::vector<GrantRecord> grants, tx.ListGrants(filter));  // not revoked
      for (const GrantRecord& grant : grants) {
        HeldGrant held;
        held.id = grant.id;
        held.principal = grant.principal;
        held.role = grant.role;
        held.expires_at = grant.expires_at;
        if (grant.role != kInternalReadRole) {
          size_t colon = grant.role.rfind(':');
          if (colon == std::string::npos) continue;
          Result<AccessLevel> level = ParseAccessLevel(grant.role.substr(colon + 1));
          if (!level.ok()) continue;
          held.dataset = grant.role.substr(0, colon);
          held.level = *level;
        }
        scope.grants_.push_back(std::move(held));
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= kMaxCachedScopes) cache_.clear();
    cache_[identity.user] = scope;
    return Status::Ok();
  }));
  return scope;
}

Decision Authorizer::Authorize(const AccessScope& scope, const DatasetRecord& dataset, DatasetAction action,
                               const AccessContext& context) {
  std::string now = Now();
  Decision decision = Decide(scope, dataset, action, now);
  AuditEvent event;
  event.at = now;  // when it was decided; the writer appends it a little later
  event.actor = "user:" + scope.user();
  event.action = context.action.empty() ? fmt::format("access.{}", DatasetActionName(action)) : context.action;
  event.target = "dataset:" + dataset.spec.name;
  event.decision = decision.allowed ? "allow" : "deny";
  event.reason = decision.reason;
  event.request_id = context.request_id;
  Record(std::move(event));
  return decision;
}

Status Authorizer::Require(const AccessScope& scope, const DatasetRecord& dataset, DatasetAction action,
                           const AccessContext& context) {
  return Authorize(scope, dataset, action, context).ToStatus(dataset, scope.user(), action);
}

void Authorizer::Record(AuditEvent event) {
  if (sink_ != nullptr) sink_->Record(std::move(event));
}

void Authorizer::RecordListing(const AccessScope& scope, size_t shown, const std::string& now,
                               const AccessContext& context) {
  AuditEvent event;
  event.at = now;
  event.actor = "user:" + scope.user();
  event.action = context.action.empty() ? "dataset.list" : context.action;
  event.target = "datasets";
  event.decision = "allow";
  event.reason = fmt::format("{} dataset(s) listed; sensitive datasets without a role on them left out", shown);
  event.request_id = context.request_id;
  Record(std::move(event));
}

Status Authorizer::FlushAudit(std::chrono::milliseconds timeout) {
  return sink_ == nullptr ? Status::Ok() : sink_->Flush(timeout);
}

}  // namespace edl
