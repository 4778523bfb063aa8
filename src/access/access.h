// Access: who is calling and what they may do (design.md §2, §5). UserDirectory keeps users,
// groups and bearer tokens (only a token's SHA-256 is stored; the secret is shown once) and turns a
// presented token into an Identity. Authorizer decides, deny by default, whether an identity may
// read, write or administer a dataset, from instance admin, dataset ownership, grants to the user
// and its groups, and the instance role internal-read for internal datasets. Every frontend asks
// the same Authorizer. Both borrow the catalog and clock; both are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace edl {

class Catalog;
class Clock;

// An authenticated caller.
struct Identity {
  std::string user;
  bool admin = false;
  std::vector<std::string> groups;
  int64_t token_id = 0;                     // 0 for local operators (no token)
  std::optional<std::string> token_expires_at;
  std::string Ref() const { return "user:" + user; }
};

struct NewUser {
  std::string name;
  std::vector<std::string> groups;
  bool admin = false;
  bool employee = true;  // joins the group `employees` (and so internal-read)
};

struct IssuedToken {
  TokenRecord record;
  std::string secret;  // "edl_" + 43 URL-safe characters; never stored, shown once
};

// Tokens start with this; the server refuses query parameters whose value does.
inline constexpr std::string_view kTokenPrefix = "edl_";

class UserDirectory {
 public:
  UserDirectory(Catalog& catalog, const Clock& clock);

  // Validates names (principal name rules); AlreadyExists when taken. Audited "user.add".
  Result<UserRecord> AddUser(const NewUser& user, std::string_view actor);
  Result<UserRecord> GetUser(std::string_view name);
  Result<std::vector<UserRecord>> ListUsers();
  // Returns whether membership changed. Audited "group.add_member" / "group.remove_member".
  Result<bool> AddGroupMember(std::string_view group, std::string_view user, std::string_view actor);
  Result<bool> RemoveGroupMember(std::string_view group, std::string_view user, std::string_view actor);

  // A new token for `user`, expiring after `expires_in_days` when given (1..3650). With `not_after`,
  // the token must expire no later than that (InvalidArgument otherwise; without expires_in_days it
  // expires at not_after). Audited "token.create" (with the token id, never the secret).
  Result<IssuedToken> CreateToken(std::string_view user, std::string_view description,
                                  std::optional<int64_t> expires_in_days, std::string_view actor,
                                  std::optional<std::string> not_after = std::nullopt);
  Result<std::vector<TokenRecord>> ListTokens(std::optional<std::string_view> user);
  Result<TokenRecord> GetToken(int64_t id);
  // Audited "token.revoke". Conflict when already revoked.
  Result<TokenRecord> RevokeToken(int64_t id, std::string_view actor);

  // The identity a presented secret stands for. PermissionDenied — with a message that never
  // contains the secret — when it is malformed, unknown, expired or revoked, or its user is disabled.
  Result<Identity> Authenticate(std::string_view secret);

 private:
  Catalog& catalog_;
  const Clock& clock_;
};

// What one identity may do, computed once per request from its grants.
class AccessScope {
 public:
  // Whether the identity holds `level` (or a higher one) on the dataset.
  bool Allows(const DatasetRecord& dataset, AccessLevel level) const;
  // Why not, for a PermissionDenied message (names the dataset and the level, never data).
  Status Check(const DatasetRecord& dataset, AccessLevel level) const;
  bool admin() const { return admin_; }
  const std::string& user() const { return user_; }

 private:
  friend class Authorizer;
  std::string user_;
  bool admin_ = false;
  bool internal_read_ = false;                     // holds internal-read directly or through a group
  std::map<std::string, AccessLevel> granted_;     // dataset -> highest level granted
};

class Authorizer {
 public:
  Authorizer(Catalog& catalog, const Clock& clock);
  // Reads the identity's active grants (not revoked, not expired at the clock's now).
  Result<AccessScope> ScopeFor(const Identity& identity);

 private:
  Catalog& catalog_;
  const Clock& clock_;
};

}  // namespace edl
