// The access rules as a table (issue 5, "Done when"): principal kind × tier × action × grant state,
// each row with the decision the rules in docs/security.md call for, whether the dataset is hidden,
// and the words the reason must contain. Each row runs against a fresh SQLite catalog: users,
// datasets, roles and grants are recorded through the catalog and the services, "expired" is the
// clock moving past a grant's expiry, "revoked" goes through GrantService::RevokeGrant, and every
// decision must leave its audit record (actor, action, target, decision, reason, request id).
//
// The world of every row: datasets int-data (internal), res-data (restricted) and sen-data
// (sensitive), all owned by olga; the default role internal-read granted to group employees; and
//   pat   plain user: joined employees as every new user does; grants go to user:pat
//   gus   group member: not an employee, member of group analysts; grants go to group:analysts
//   emma  employee: relies on the default role; grants go to group:employees
//   nora  non-employee user (created with --no-employee); grants go to user:nora
//   ada   instance admin, not an employee; grants go to user:ada
//   olga  owner of every dataset, not an employee; grants go to user:olga
// Grant states: none; active (expires in 30 days); unexpiring (no expiry); expired (expired a day
// ago, by the clock); revoked; through a group (the user joins analysts, the grant goes to
// group:analysts); through the default role (the user joins employees, no dataset grant).
// Grants are written straight to the catalog, as a dataset file or an older release could have
// written them, so the table also covers grants GrantService would refuse to make (a group grant on
// a sensitive dataset, a sensitive grant without expiry): those must not count at access time.
#include <algorithm>
#include <iterator>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "access_test_support.h"

namespace edl {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

enum class Who { kPlainUser, kGroupMember, kEmployee, kNonEmployee, kInstanceAdmin, kOwner };
enum class GrantState { kNone, kActive, kUnexpiring, kExpired, kRevoked, kThroughGroup, kThroughDefaultRole };
using enum Who;
using enum GrantState;

struct Outcome {
  bool allowed;
  bool hidden;
};
constexpr Outcome kAllow{true, false};
constexpr Outcome kDeny{false, false};   // PermissionDenied: the caller may know the dataset exists
constexpr Outcome kHidden{false, true};  // NotFound: the caller may not even learn it exists

constexpr Tier kInt = Tier::kInternal;
constexpr Tier kRes = Tier::kRestricted;
constexpr Tier kSen = Tier::kSensitive;
constexpr DatasetAction kSee = DatasetAction::kMetadata;
constexpr DatasetAction kRd = DatasetAction::kRead;
constexpr DatasetAction kWr = DatasetAction::kWrite;
constexpr DatasetAction kAdm = DatasetAction::kAdmin;
// The level of the row's grant (unused for the states without one).
constexpr AccessLevel kR = AccessLevel::kRead;
constexpr AccessLevel kW = AccessLevel::kWrite;
constexpr AccessLevel kA = AccessLevel::kAdmin;

struct Row {
  Who who;
  Tier tier;
  DatasetAction action;
  GrantState state;
  AccessLevel level;
  Outcome outcome;
  // Must occur in the decision's reason; {grant} is the row's grant id, {default} the id of the
  // grant of internal-read to group employees.
  const char* reason;
};

// Reasons the rules give, in the Authorizer's words.
constexpr const char* kListedInternal = "internal datasets are listed for every user";
constexpr const char* kListedRestricted = "restricted datasets are listed for every user";
constexpr const char* kOwnerOf = "owner of the dataset";
constexpr const char* kAsInstanceAdmin = "instance admin";
constexpr const char* kDefaultRole = "the default role grant {default} to group:employees (internal-read)";
constexpr const char* kNoDefaultRole = "and is not in a group holding the default role internal-read";
constexpr const char* kGroupOnSensitive =
    "; grant {grant} is to group:analysts; on sensitive datasets only grants to individual users count";
constexpr const char* kNoExpiryOnSensitive =
    "; grant {grant} has no expiry; on sensitive datasets only grants with an expiry count";
constexpr const char* kExpiredNote = "; grant {grant} expired at ";

// One row per line, so the table reads as a table.
// clang-format off
constexpr Row kRows[] = {
    // ---- pat, a plain user: an employee holding direct grants.
    {kPlainUser, kInt, kSee, kNone, kR, kAllow, kListedInternal},
    {kPlainUser, kInt, kRd, kNone, kR, kAllow, kDefaultRole},
    {kPlainUser, kInt, kWr, kNone, kR, kDeny, "pat holds no active grant of int-data:write or higher, directly or through a group"},
    {kPlainUser, kInt, kAdm, kNone, kR, kDeny, "pat holds no active grant of int-data:admin or higher"},
    {kPlainUser, kInt, kRd, kActive, kW, kAllow, "grant {grant} to user:pat (int-data:write, until "},  // write ⊇ read
    {kPlainUser, kInt, kWr, kActive, kW, kAllow, "grant {grant} to user:pat (int-data:write, until "},
    {kPlainUser, kInt, kAdm, kActive, kW, kDeny, "pat holds no active grant of int-data:admin or higher"},
    {kPlainUser, kInt, kWr, kActive, kA, kAllow, "grant {grant} to user:pat (int-data:admin, until "},  // admin ⊇ write
    {kPlainUser, kInt, kWr, kUnexpiring, kW, kAllow, "grant {grant} to user:pat (int-data:write)"},
    {kPlainUser, kInt, kWr, kExpired, kW, kDeny, "pat holds no active grant of int-data:write or higher, directly or through a group; grant {grant} expired at "},
    {kPlainUser, kInt, kRd, kExpired, kR, kAllow, kDefaultRole},  // the default role still reads
    {kPlainUser, kInt, kWr, kRevoked, kW, kDeny, "pat holds no active grant of int-data:write or higher"},
    {kPlainUser, kInt, kWr, kThroughGroup, kW, kAllow, "grant {grant} to group:analysts (int-data:write, until "},
    {kPlainUser, kRes, kSee, kNone, kR, kAllow, kListedRestricted},
    {kPlainUser, kRes, kRd, kNone, kR, kDeny, "pat holds no active grant of res-data:read or higher, directly or through a group"},
    {kPlainUser, kRes, kWr, kNone, kR, kDeny, "pat holds no active grant of res-data:write or higher"},
    {kPlainUser, kRes, kRd, kActive, kR, kAllow, "grant {grant} to user:pat (res-data:read, until "},
    {kPlainUser, kRes, kWr, kActive, kR, kDeny, "pat holds no active grant of res-data:write or higher"},
    {kPlainUser, kRes, kRd, kActive, kW, kAllow, "grant {grant} to user:pat (res-data:write, until "},
    {kPlainUser, kRes, kWr, kActive, kA, kAllow, "grant {grant} to user:pat (res-data:admin, until "},
    {kPlainUser, kRes, kAdm, kActive, kA, kAllow, "grant {grant} to user:pat (res-data:admin, until "},
    {kPlainUser, kRes, kAdm, kActive, kW, kDeny, "pat holds no active grant of res-data:admin or higher"},
    {kPlainUser, kRes, kRd, kUnexpiring, kR, kAllow, "grant {grant} to user:pat (res-data:read)"},
    {kPlainUser, kRes, kRd, kExpired, kR, kDeny, "pat holds no active grant of res-data:read or higher, directly or through a group; grant {grant} expired at "},
    {kPlainUser, kRes, kSee, kExpired, kR, kAllow, kListedRestricted},
    {kPlainUser, kRes, kRd, kRevoked, kR, kDeny, "pat holds no active grant of res-data:read or higher"},
    {kPlainUser, kRes, kRd, kThroughGroup, kR, kAllow, "grant {grant} to group:analysts (res-data:read, until "},
    {kPlainUser, kRes, kWr, kThroughGroup, kR, kDeny, "pat holds no active grant of res-data:write or higher"},
    {kPlainUser, kSen, kSee, kNone, kR, kHidden, "sensitive dataset, and pat holds no role on it"},
    {kPlainUser, kSen, kRd, kNone, kR, kHidden, "pat holds no active grant of sen-data:read or higher, directly or through a group"},
    {kPlainUser, kSen, kSee, kActive, kR, kAllow, "grant {grant} to user:pat (sen-data:read, until "},
    {kPlainUser, kSen, kRd, kActive, kR, kAllow, "grant {grant} to user:pat (sen-data:read, until "},
    {kPlainUser, kSen, kWr, kActive, kR, kDeny, "pat holds no active grant of sen-data:write or higher"},  // not hidden: pat has a role
    {kPlainUser, kSen, kWr, kActive, kW, kAllow, "grant {grant} to user:pat (sen-data:write, until "},
    {kPlainUser, kSen, kRd, kActive, kA, kAllow, "grant {grant} to user:pat (sen-data:admin, until "},
    {kPlainUser, kSen, kAdm, kActive, kA, kAllow, "grant {grant} to user:pat (sen-data:admin, until "},
    {kPlainUser, kSen, kAdm, kActive, kW, kDeny, "pat holds no active grant of sen-data:admin or higher"},
    {kPlainUser, kSen, kRd, kUnexpiring, kR, kHidden, kNoExpiryOnSensitive},
    {kPlainUser, kSen, kSee, kUnexpiring, kR, kHidden, "sensitive dataset, and pat holds no role on it; grant {grant} has no expiry"},
    {kPlainUser, kSen, kRd, kExpired, kR, kHidden, kExpiredNote},
    {kPlainUser, kSen, kSee, kExpired, kR, kHidden, "sensitive dataset, and pat holds no role on it; grant {grant} expired at "},
    {kPlainUser, kSen, kRd, kRevoked, kR, kHidden, "pat holds no active grant of sen-data:read or higher"},
    {kPlainUser, kSen, kSee, kRevoked, kR, kHidden, "sensitive dataset, and pat holds no role on it"},
    {kPlainUser, kSen, kRd, kThroughGroup, kR, kHidden, kGroupOnSensitive},
    {kPlainUser, kSen, kSee, kThroughGroup, kR, kHidden, "pat holds no role on it; grant {grant} is to group:analysts"},

    // ---- gus, a member of group analysts (and not an employee): grants reach him through the group.
    {kGroupMember, kInt, kSee, kNone, kR, kAllow, kListedInternal},
    {kGroupMember, kInt, kRd, kNone, kR, kDeny, "gus holds no active grant of int-data:read or higher, directly or through a group, and is not in a group holding the default role internal-read"},
    {kGroupMember, kInt, kRd, kActive, kR, kAllow, "grant {grant} to group:analysts (int-data:read, until "},
    {kGroupMember, kInt, kWr, kActive, kR, kDeny, "gus holds no active grant of int-data:write or higher"},
    {kGroupMember, kInt, kWr, kActive, kW, kAllow, "grant {grant} to group:analysts (int-data:write, until "},
    {kGroupMember, kInt, kRd, kExpired, kR, kDeny, "and is not in a group holding the default role internal-read; grant {grant} expired at "},
    {kGroupMember, kInt, kRd, kRevoked, kR, kDeny, kNoDefaultRole},
    {kGroupMember, kInt, kRd, kThroughDefaultRole, kR, kAllow, kDefaultRole},
    {kGroupMember, kInt, kWr, kThroughDefaultRole, kR, kDeny, "gus holds no active grant of int-data:write or higher"},
    {kGroupMember, kRes, kRd, kNone, kR, kDeny, "gus holds no active grant of res-data:read or higher"},
    {kGroupMember, kRes, kRd, kActive, kR, kAllow, "grant {grant} to group:analysts (res-data:read, until "},
    {kGroupMember, kRes, kWr, kActive, kW, kAllow, "grant {grant} to group:analysts (res-data:write, until "},
    {kGroupMember, kRes, kAdm, kActive, kA, kAllow, "grant {grant} to group:analysts (res-data:admin, until "},
    {kGroupMember, kRes, kAdm, kActive, kW, kDeny, "gus holds no active grant of res-data:admin or higher"},
    {kGroupMember, kRes, kRd, kUnexpiring, kR, kAllow, "grant {grant} to group:analysts (res-data:read)"},
    {kGroupMember, kRes, kRd, kExpired, kR, kDeny, kExpiredNote},
    {kGroupMember, kRes, kRd, kRevoked, kR, kDeny, "gus holds no active grant of res-data:read or higher"},
    {kGroupMember, kRes, kRd, kThroughDefaultRole, kR, kDeny, "gus holds no active grant of res-data:read or higher"},
    {kGroupMember, kSen, kSee, kNone, kR, kHidden, "sensitive dataset, and gus holds no role on it"},
    {kGroupMember, kSen, kSee, kActive, kR, kHidden, "sensitive dataset, and gus holds no role on it; grant {grant} is to group:analysts"},
    {kGroupMember, kSen, kRd, kActive, kR, kHidden, kGroupOnSensitive},
    {kGroupMember, kSen, kWr, kActive, kW, kHidden, kGroupOnSensitive},
    {kGroupMember, kSen, kAdm, kActive, kA, kHidden, kGroupOnSensitive},
    {kGroupMember, kSen, kRd, kRevoked, kR, kHidden, "gus holds no active grant of sen-data:read or higher"},
    {kGroupMember, kSen, kRd, kThroughDefaultRole, kR, kHidden, "gus holds no active grant of sen-data:read or higher"},

    // ---- emma, an employee: the default role, and grants to the whole group employees.
    {kEmployee, kInt, kSee, kThroughDefaultRole, kR, kAllow, kListedInternal},
    {kEmployee, kInt, kRd, kThroughDefaultRole, kR, kAllow, kDefaultRole},
    {kEmployee, kInt, kWr, kThroughDefaultRole, kR, kDeny, "emma holds no active grant of int-data:write or higher, directly or through a group"},
    {kEmployee, kInt, kAdm, kThroughDefaultRole, kR, kDeny, "emma holds no active grant of int-data:admin or higher"},
    {kEmployee, kInt, kWr, kActive, kW, kAllow, "grant {grant} to group:employees (int-data:write, until "},
    {kEmployee, kInt, kRd, kExpired, kR, kAllow, kDefaultRole},
    {kEmployee, kInt, kWr, kExpired, kW, kDeny, kExpiredNote},
    {kEmployee, kInt, kRd, kRevoked, kR, kAllow, kDefaultRole},
    {kEmployee, kInt, kWr, kRevoked, kW, kDeny, "emma holds no active grant of int-data:write or higher"},
    {kEmployee, kRes, kSee, kThroughDefaultRole, kR, kAllow, kListedRestricted},
    {kEmployee, kRes, kRd, kThroughDefaultRole, kR, kDeny, "emma holds no active grant of res-data:read or higher"},
    {kEmployee, kRes, kRd, kActive, kR, kAllow, "grant {grant} to group:employees (res-data:read, until "},
    {kEmployee, kRes, kWr, kActive, kR, kDeny, "emma holds no active grant of res-data:write or higher"},
    {kEmployee, kRes, kRd, kThroughGroup, kR, kAllow, "grant {grant} to group:analysts (res-data:read, until "},
    {kEmployee, kSen, kSee, kThroughDefaultRole, kR, kHidden, "sensitive dataset, and emma holds no role on it"},
    {kEmployee, kSen, kRd, kThroughDefaultRole, kR, kHidden, "emma holds no active grant of sen-data:read or higher"},
    {kEmployee, kSen, kRd, kActive, kR, kHidden, "; grant {grant} is to group:employees; on sensitive datasets only grants to individual users count"},
    {kEmployee, kSen, kSee, kActive, kR, kHidden, "emma holds no role on it; grant {grant} is to group:employees"},

    // ---- nora, not an employee: no default role; direct grants only.
    {kNonEmployee, kInt, kSee, kNone, kR, kAllow, kListedInternal},
    {kNonEmployee, kInt, kRd, kNone, kR, kDeny, "nora holds no active grant of int-data:read or higher, directly or through a group, and is not in a group holding the default role internal-read"},
    {kNonEmployee, kInt, kRd, kActive, kR, kAllow, "grant {grant} to user:nora (int-data:read, until "},
    {kNonEmployee, kInt, kWr, kActive, kW, kAllow, "grant {grant} to user:nora (int-data:write, until "},
    {kNonEmployee, kInt, kRd, kExpired, kR, kDeny, "and is not in a group holding the default role internal-read; grant {grant} expired at "},
    {kNonEmployee, kInt, kRd, kRevoked, kR, kDeny, kNoDefaultRole},
    {kNonEmployee, kInt, kRd, kThroughGroup, kR, kAllow, "grant {grant} to group:analysts (int-data:read, until "},
    {kNonEmployee, kInt, kRd, kThroughDefaultRole, kR, kAllow, kDefaultRole},
    {kNonEmployee, kRes, kSee, kNone, kR, kAllow, kListedRestricted},
    {kNonEmployee, kRes, kRd, kNone, kR, kDeny, "nora holds no active grant of res-data:read or higher"},
    {kNonEmployee, kRes, kRd, kActive, kR, kAllow, "grant {grant} to user:nora (res-data:read, until "},
    {kNonEmployee, kRes, kWr, kActive, kA, kAllow, "grant {grant} to user:nora (res-data:admin, until "},
    {kNonEmployee, kRes, kRd, kThroughDefaultRole, kR, kDeny, "nora holds no active grant of res-data:read or higher"},
    {kNonEmployee, kSen, kSee, kNone, kR, kHidden, "sensitive dataset, and nora holds no role on it"},
    {kNonEmployee, kSen, kRd, kActive, kR, kAllow, "grant {grant} to user:nora (sen-data:read, until "},
    {kNonEmployee, kSen, kSee, kActive, kW, kAllow, "grant {grant} to user:nora (sen-data:write, until "},
    {kNonEmployee, kSen, kAdm, kActive, kW, kDeny, "nora holds no active grant of sen-data:admin or higher"},
    {kNonEmployee, kSen, kRd, kExpired, kR, kHidden, kExpiredNote},
    {kNonEmployee, kSen, kWr, kRevoked, kW, kHidden, "nora holds no active grant of sen-data:write or higher"},
    {kNonEmployee, kSen, kRd, kUnexpiring, kR, kHidden, kNoExpiryOnSensitive},
    {kNonEmployee, kSen, kRd, kThroughDefaultRole, kR, kHidden, "nora holds no active grant of sen-data:read or higher"},

    // ---- ada, an instance admin: admin everywhere, data of internal and restricted datasets, and
    // sensitive data only through a personal grant that counts.
    {kInstanceAdmin, kInt, kSee, kNone, kR, kAllow, kListedInternal},
    {kInstanceAdmin, kInt, kRd, kNone, kR, kAllow, kAsInstanceAdmin},
    {kInstanceAdmin, kInt, kWr, kNone, kR, kAllow, kAsInstanceAdmin},
    {kInstanceAdmin, kInt, kAdm, kNone, kR, kAllow, kAsInstanceAdmin},
    // Allowed twice over; the reason names the more specific source.
    {kInstanceAdmin, kInt, kRd, kThroughDefaultRole, kR, kAllow, kDefaultRole},
    {kInstanceAdmin, kRes, kSee, kNone, kR, kAllow, kListedRestricted},
    {kInstanceAdmin, kRes, kRd, kNone, kR, kAllow, kAsInstanceAdmin},
    {kInstanceAdmin, kRes, kWr, kNone, kR, kAllow, kAsInstanceAdmin},
    {kInstanceAdmin, kRes, kAdm, kNone, kR, kAllow, kAsInstanceAdmin},
    {kInstanceAdmin, kRes, kWr, kRevoked, kW, kAllow, kAsInstanceAdmin},
    {kInstanceAdmin, kSen, kSee, kNone, kR, kAllow, kAsInstanceAdmin},
    {kInstanceAdmin, kSen, kRd, kNone, kR, kDeny, "instance admins need a grant of sen-data:read to themselves to read sensitive data"},
    {kInstanceAdmin, kSen, kWr, kNone, kR, kDeny, "instance admins need a grant of sen-data:write to themselves to write sensitive data"},
    {kInstanceAdmin, kSen, kAdm, kNone, kR, kAllow, kAsInstanceAdmin},
    {kInstanceAdmin, kSen, kRd, kActive, kR, kAllow, "grant {grant} to user:ada (sen-data:read, until "},
    {kInstanceAdmin, kSen, kWr, kActive, kR, kDeny, "instance admins need a grant of sen-data:write to themselves to write sensitive data"},
    {kInstanceAdmin, kSen, kWr, kActive, kW, kAllow, "grant {grant} to user:ada (sen-data:write, until "},
    {kInstanceAdmin, kSen, kRd, kExpired, kR, kDeny, "instance admins need a grant of sen-data:read to themselves to read sensitive data; grant {grant} expired at "},
    {kInstanceAdmin, kSen, kRd, kRevoked, kR, kDeny, "instance admins need a grant of sen-data:read to themselves"},
    {kInstanceAdmin, kSen, kRd, kThroughGroup, kR, kDeny, kGroupOnSensitive},
    {kInstanceAdmin, kSen, kRd, kUnexpiring, kR, kDeny, kNoExpiryOnSensitive},
    {kInstanceAdmin, kSen, kRd, kThroughDefaultRole, kR, kDeny, "instance admins need a grant of sen-data:read to themselves"},

    // ---- olga, owner of every dataset: admin, and so write and read, whatever her grants.
    {kOwner, kInt, kSee, kNone, kR, kAllow, kListedInternal},
    {kOwner, kInt, kRd, kNone, kR, kAllow, kOwnerOf},
    {kOwner, kInt, kWr, kNone, kR, kAllow, kOwnerOf},
    {kOwner, kInt, kAdm, kNone, kR, kAllow, kOwnerOf},
    {kOwner, kInt, kRd, kActive, kR, kAllow, kOwnerOf},  // owner is the stronger role
    {kOwner, kInt, kRd, kThroughDefaultRole, kR, kAllow, kOwnerOf},
    {kOwner, kRes, kRd, kNone, kR, kAllow, kOwnerOf},
    {kOwner, kRes, kWr, kNone, kR, kAllow, kOwnerOf},
    {kOwner, kRes, kAdm, kNone, kR, kAllow, kOwnerOf},
    {kOwner, kRes, kAdm, kRevoked, kA, kAllow, kOwnerOf},
    {kOwner, kSen, kSee, kNone, kR, kAllow, kOwnerOf},
    {kOwner, kSen, kRd, kNone, kR, kAllow, kOwnerOf},
    {kOwner, kSen, kWr, kNone, kR, kAllow, kOwnerOf},
    {kOwner, kSen, kAdm, kNone, kR, kAllow, kOwnerOf},
    {kOwner, kSen, kRd, kExpired, kR, kAllow, kOwnerOf},
    {kOwner, kSen, kRd, kThroughGroup, kR, kAllow, kOwnerOf},
};
// clang-format on

std::string UserOf(Who who) {
  switch (who) {
    case kPlainUser: return "pat";
    case kGroupMember: return "gus";
    case kEmployee: return "emma";
    case kNonEmployee: return "nora";
    case kInstanceAdmin: return "ada";
    case kOwner: return "olga";
  }
  return "";
}

// Where the row's grant goes (through a group: always group:analysts).
Principal GrantTargetOf(Who who, GrantState state) {
  if (state == kThroughGroup || who == kGroupMember) return {PrincipalKind::kGroup, "analysts"};
  if (who == kEmployee) return {PrincipalKind::kGroup, std::string(kEmployeesGroup)};
  return {PrincipalKind::kUser, UserOf(who)};
}

std::string DatasetOf(Tier tier) {
  switch (tier) {
    case Tier::kInternal: return "int-data";
    case Tier::kRestricted: return "res-data";
    case Tier::kSensitive: return "sen-data";
  }
  return "";
}

bool HasGrant(GrantState state) {
  return state != kNone && state != kThroughDefaultRole;
}

std::string RowName(const ::testing::TestParamInfo<Row>& info) {
  const Row& row = info.param;
  static constexpr const char* kWho[] = {"PlainUser",   "GroupMember",   "Employee",
                                         "NonEmployee", "InstanceAdmin", "Owner"};
  static constexpr const char* kState[] = {"None",    "Active",       "Unexpiring",        "Expired",
                                           "Revoked", "ThroughGroup", "ThroughDefaultRole"};
  static constexpr const char* kTier[] = {"Internal", "Restricted", "Sensitive"};
  static constexpr const char* kAction[] = {"Metadata", "Read", "Write", "Admin"};
  static constexpr const char* kLevel[] = {"Read", "Write", "Admin"};
  std::string name = fmt::format("{}_{}_{}_{}", kWho[static_cast<int>(row.who)], kTier[static_cast<int>(row.tier)],
                                 kAction[static_cast<int>(row.action)], kState[static_cast<int>(row.state)]);
  if (HasGrant(row.state)) name += kLevel[static_cast<int>(row.level)];
  return name;
}

// gtest prints a failing row with this, instead of its bytes.
void PrintTo(const Row& row, std::ostream* out) {
  *out << RowName({row, 0}) << " expecting \"" << row.reason << '"';
}

std::string Expand(std::string text, int64_t grant_id, int64_t default_grant_id) {
  for (const auto& [key, value] :
       {std::pair<std::string, int64_t>{"{grant}", grant_id}, {"{default}", default_grant_id}}) {
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
      text.replace(at, key.size(), std::to_string(value));
    }
  }
  return text;
}

class AuthorizerTable : public testing::AccessTest, public ::testing::WithParamInterface<Row> {
 protected:
  void SetUp() override {
    AccessTest::SetUp();
    if (HasFatalFailure()) return;
    AddUser("pat");
    AddUser("gus", {"analysts"}, /*admin=*/false, /*employee=*/false);
    AddUser("emma");
    AddUser("nora", {}, false, false);
    AddUser("ada", {}, /*admin=*/true, false);
    AddUser("olga", {}, false, false);
    AddDataset("int-data", kInt, {"olga"});
    AddDataset("res-data", kRes, {"olga"});
    AddDataset("sen-data", kSen, {"olga"});
  }
};

TEST(AuthorizerTableRows, AreEnoughAndCoverEveryKindTierActionAndState) {
  EXPECT_GE(std::size(kRows), 100u);
  std::set<Who> kinds;
  std::set<Tier> tiers;
  std::set<DatasetAction> actions;
  std::set<GrantState> states;
  for (const Row& row : kRows) {
    kinds.insert(row.who);
    tiers.insert(row.tier);
    actions.insert(row.action);
    states.insert(row.state);
  }
  EXPECT_EQ(kinds.size(), 6u);
  EXPECT_EQ(tiers.size(), 3u);
  EXPECT_EQ(actions.size(), 4u);
  EXPECT_EQ(states.size(), 7u);
}

TEST_P(AuthorizerTable, DecidesAndAuditsTheDecision) {
  const Row& row = GetParam();
  const std::string user = UserOf(row.who);
  const DatasetRecord dataset = GetDataset(DatasetOf(row.tier));
  ASSERT_EQ(dataset.spec.tier, row.tier);

  if (row.state == kThroughGroup) {
    ASSERT_OK(users_->AddGroupMember("analysts", user, "user:root").status());
  }
  if (row.state == kThroughDefaultRole) {
    ASSERT_OK(users_->AddGroupMember(kEmployeesGroup, user, "user:root").status());
  }
  int64_t grant_id = 0;
  if (HasGrant(row.state)) {
    std::optional<std::string> expires_at;
    if (row.state == kExpired) {
      expires_at = InDays(1);
    } else if (row.state != kUnexpiring) {
      expires_at = InDays(30);
    }
    ASSERT_OK_AND_ASSIGN(grant_id, testing::InsertGrant(*catalog_, GrantTargetOf(row.who, row.state),
                                                        DatasetRoleName(dataset.spec.name, row.level), expires_at));
  }
  // The scope is loaded (and cached) before the grant expires or is revoked, as a busy server
  // would have it: the change must still be seen at the next decision.
  ASSERT_OK_AND_ASSIGN(AccessScope before, authorizer_->ScopeFor(IdentityOf(user)));
  if (row.state == kExpired) {
    clock_.Advance(std::chrono::hours(48));
  }
  if (row.state == kRevoked) {
    ASSERT_OK(grants_->RevokeGrant(ScopeOf("olga"), grant_id, "no longer needed", {"req-revoke", ""}).status());
  }

  ASSERT_OK_AND_ASSIGN(AccessScope scope, authorizer_->ScopeFor(IdentityOf(user)));
  auto holds = [&](const AccessScope& s) {
    return std::any_of(s.grants().begin(), s.grants().end(), [&](const HeldGrant& g) { return g.id == grant_id; });
  };
  if (HasGrant(row.state)) {
    EXPECT_TRUE(holds(before)) << "the grant was not loaded";
  }
  if (row.state == kRevoked) {
    EXPECT_FALSE(holds(scope)) << "a revoked grant is still in the scope";
  }
  if (row.state == kExpired) {
    EXPECT_TRUE(holds(scope)) << "expiry is decided at access time, not when loading";
  }

  const std::string request_id = "req-" + RowName({row, 0});
  Decision decision = authorizer_->Authorize(scope, dataset, row.action, {request_id, ""});
  const std::string reason = Expand(row.reason, grant_id, default_grant_id_);
  EXPECT_EQ(decision.allowed, row.outcome.allowed) << decision.reason;
  EXPECT_EQ(decision.hidden, row.outcome.hidden) << decision.reason;
  EXPECT_THAT(decision.reason, HasSubstr(reason));
  if (row.state == kRevoked) {
    EXPECT_THAT(decision.reason, Not(HasSubstr(fmt::format("grant {} ", grant_id))));
  }
  // Unexplained (as the dataset listing decides): the same decision, no words.
  Decision unexplained = Decide(scope, dataset, row.action, authorizer_->Now(), /*explain=*/false);
  EXPECT_EQ(unexplained.allowed, row.outcome.allowed);
  EXPECT_EQ(unexplained.hidden, row.outcome.hidden);
  EXPECT_EQ(unexplained.reason, "");

  Status status = decision.ToStatus(dataset, user, row.action);
  StatusCode expected_code = row.outcome.allowed  ? StatusCode::kOk
                             : row.outcome.hidden ? StatusCode::kNotFound
                                                  : StatusCode::kPermissionDenied;
  EXPECT_EQ(status.code(), expected_code) << status.ToString();
  if (row.outcome.hidden) {
    EXPECT_THAT(status.message(), Not(HasSubstr(decision.reason)));
  }

  // The decision is the newest audit record, with everything an auditor needs and no data.
  AuditEvent last = LastAudit();
  EXPECT_EQ(last.actor, "user:" + user);
  EXPECT_EQ(last.action, fmt::format("access.{}", DatasetActionName(row.action)));
  EXPECT_EQ(last.target, "dataset:" + dataset.spec.name);
  EXPECT_EQ(last.decision, row.outcome.allowed ? "allow" : "deny");
  EXPECT_EQ(last.reason, decision.reason);
  EXPECT_EQ(last.request_id, request_id);
  EXPECT_THAT(last.details_json, AnyOf("", "{}"));  // no data
  EXPECT_EQ(last.at, clock_.NowText());
}

INSTANTIATE_TEST_SUITE_P(Rules, AuthorizerTable, ::testing::ValuesIn(kRows), RowName);

}  // namespace

AccessScope MakeAccessScopeForTest(const Identity& identity, std::vector<HeldGrant> grants) {
  AccessScope scope;
  scope.user_ = identity.user;
  scope.admin_ = identity.admin;
  scope.groups_ = identity.groups;
  scope.grants_ = std::move(grants);
  return scope;
}

namespace {

// Decisions made for a scope hold until the first of its grants that is still to expire does.
TEST(DecisionsStableUntil, IsTheFirstExpiryStillAhead) {
  auto held = [](int64_t id, std::optional<std::string> until) {
    HeldGrant grant;
    grant.id = id;
    grant.expires_at = std::move(until);
    return grant;
  };
  const std::string now = "2026-06-01T12:00:00.000Z";
  Identity gwen;
  gwen.user = "gwen";
  EXPECT_EQ(DecisionsStableUntil(MakeAccessScopeForTest(gwen, {}), now), "");
  EXPECT_EQ(DecisionsStableUntil(MakeAccessScopeForTest(gwen, {held(1, std::nullopt)}), now), "");
  EXPECT_EQ(DecisionsStableUntil(MakeAccessScopeForTest(gwen, {held(1, "2026-06-03T00:00:00.000Z"),
                                                               held(2, "2026-06-02T00:00:00.000Z"),
                                                               held(3, std::nullopt)}),
                                 now),
            "2026-06-02T00:00:00.000Z");
  // Already expired grants change nothing any more; one expiring exactly now has expired.
  EXPECT_EQ(DecisionsStableUntil(MakeAccessScopeForTest(gwen, {held(1, "2026-05-01T00:00:00.000Z"), held(2, now),
                                                               held(3, "2026-07-01T00:00:00.000Z")}),
                                 now),
            "2026-07-01T00:00:00.000Z");
}

}  // namespace
}  // namespace edl
