// Access: who is calling and what they may do (design.md §2, §5). UserDirectory keeps users,
// groups and bearer tokens (only a token's SHA-256 is stored; the secret is shown once) and turns a
// presented token into an Identity. What an identity may do is the Authorizer's (authorizer.h).
// Borrows the catalog and clock; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
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
  int64_t epoch = 0;                        // the access epoch Authenticate saw; 0: unknown
  int64_t data_epoch = 0;                   // the data epoch it saw with it (CatalogEpochs); 0: unknown
  std::string Ref() const { return "user:" + user; }
  bool operator==(const Identity&) const = default;
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
  // Answers from a cache while the catalog's access epoch has not moved (a revocation anywhere
  // moves it); expiry is checked against the clock every time. The epochs come from
  // Catalog::RecentEpochs(epochs_max_age): with the default 0 they are read from the catalog on
  // every call; the server passes a small age so that a request costs no catalog read (a change
  // another process commits is then seen up to that age late; docs/security.md).
  Result<Identity> Authenticate(std::string_view secret,
                                std::chrono::microseconds epochs_max_age = std::chrono::microseconds(0));

 private:
  struct Cached {
    int64_t epoch = 0;
    Identity identity;
  };
  Catalog& catalog_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // by the secret's SHA-256
};

}  // namespace edl
