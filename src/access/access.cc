#include "access/access.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/names.h"

namespace edl {
namespace {

using nlohmann::json;

constexpr size_t kTokenSecretBytes = 32;

std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3F]);
  return out;
}

// A well-formed token is the prefix and 43 URL-safe characters; anything else is refused before a
// catalog lookup.
bool WellFormedToken(std::string_view secret) {
  if (secret.size() != kTokenPrefix.size() + 43 || secret.substr(0, kTokenPrefix.size()) != kTokenPrefix) return false;
  return std::all_of(secret.begin() + kTokenPrefix.size(), secret.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

Status Audit(CatalogTransaction& tx, std::string_view actor, std::string action, std::string target, const json& details) {
  AuditEvent event;
  event.actor = std::string(actor);
  event.action = std::move(action);
  event.target = std::move(target);
  event.details_json = details.dump();
  return tx.AppendAudit(event).status();
}

Result<UserRecord> RequireUser(CatalogTransaction& tx, std::string_view name) {
  ASSIGN_OR_RETURN(std::optional<UserRecord> user, tx.GetUser(name));
  if (!user) return NotFound(fmt::format("user '{}' does not exist", name));
  return *user;
}


}  // namespace

UserDirectory::UserDirectory(Catalog& catalog, const Clock& clock) : catalog_(catalog), clock_(clock) {}

Result<UserRecord> UserDirectory::AddUser(const NewUser& request, std::string_view actor) {
  RETURN_IF_ERROR(ValidatePrincipalName(request.name).WithContext("user name"));
  UserRecord user;
  user.name = request.name;
  user.admin = request.admin;
  user.created_by = std::string(actor);
  for (const std::string& group : request.groups) {
    RETURN_IF_ERROR(ValidatePrincipalName(group).WithContext("group name"));
    user.groups.push_back(group);
  }
  if (request.employee) user.groups.emplace_back(kEmployeesGroup);
  std::sort(user.groups.begin(), user.groups.end());
  user.groups.erase(std::unique(user.groups.begin(), user.groups.end()), user.groups.end());
  UserRecord created;
  RETURN_IF_ERROR(catalog_.Write([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(tx.InsertUser(user));
    ASSIGN_OR_RETURN(created, RequireUser(tx, user.name));
    return Audit(tx, actor, "user.add", "user:" + user.name,
                 {{"admin", user.admin}, {"groups", user.groups}});
  }));
  return created;
}

Result<UserRecord> UserDirectory::GetUser(std::string_view name) {
  UserRecord user;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(user, RequireUser(tx, name));
    return Status::Ok();
  }));
  return user;
}

Result<std::vector<UserRecord>> UserDirectory::ListUsers() {
  std::vector<UserRecord> users;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(users, tx.ListUsers());
    return Status::Ok();
  }));
  return users;
}

Result<bool> UserDirectory::AddGroupMember(std::string_view group, std::string_view user, std::string_view actor) {
  RETURN_IF_ERROR(ValidatePrincipalName(group).WithContext("group name"));
  bool changed = false;
  RETURN_IF_ERROR(catalog_.Write([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(changed, tx.AddGroupMember(group, user));
    if (!changed) return Status::Ok();
    return Audit(tx, actor, "group.add_member", fmt::format("group:{}", group), {{"user", user}});
  }));
  return changed;
}

Result<bool> UserDirectory::RemoveGroupMember(std::string_view group, std::string_view user, std::string_view actor) {
  bool changed = false;
  RETURN_IF_ERROR(catalog_.Write([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(RequireUser(tx, user).status());
    ASSIGN_OR_RETURN(changed, tx.RemoveGroupMember(group, user));
    if (!changed) return Status::Ok();
    return Audit(tx, actor, "group.remove_member", fmt::format("group:{}", group), {{"user", user}});
  }));
  return changed;
}

Result<IssuedToken> UserDirectory::CreateToken(std::string_view user, std::string_view description,
                                               std::optional<int64_t> expires_in_days, std::string_view actor,
                                               std::optional<std::string> not_after) {
  if (expires_in_days && (*expires_in_days < 1 || *expires_in_days > 3650)) {
    return InvalidArgument(fmt::format("expires_in_days must be between 1 and 3650, got {}", *expires_in_days));
  }
  if (description.size() > 200) return InvalidArgument("a token description is at most 200 characters");
  ASSIGN_OR_RETURN(std::string random, RandomBytes(kTokenSecretBytes));
  IssuedToken issued;
  issued.secret = std::string(kTokenPrefix) + Base64Url(random);
  ASSIGN_OR_RETURN(issued.record.secret_sha256, Sha256Hex(issued.secret));
  issued.record.user = std::string(user);
  issued.record.description = std::string(description);
  issued.record.created_by = std::string(actor);
  if (expires_in_days) {
    issued.record.expires_at = FormatTimestamp(clock_.Now() + std::chrono::hours(24) * *expires_in_days);
  }
  if (not_after) {
    if (!issued.record.expires_at) {
      issued.record.expires_at = *not_after;
    } else if (*issued.record.expires_at > *not_after) {
      return InvalidArgument(fmt::format("the new token would expire at {}, after the token making it ({})",
                                         *issued.record.expires_at, *not_after));
    }
  }
  RETURN_IF_ERROR(catalog_.Write([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(UserRecord owner, RequireUser(tx, user));
    if (owner.disabled) return Conflict(fmt::format("user '{}' is disabled", user));
    ASSIGN_OR_RETURN(issued.record.id, tx.InsertToken(issued.record));
    ASSIGN_OR_RETURN(std::optional<TokenRecord> stored, tx.GetToken(issued.record.id));
    if (stored) issued.record = *stored;
    return Audit(tx, actor, "token.create", fmt::format("user:{}", user),
                 {{"token_id", issued.record.id},
                  {"expires_at", issued.record.expires_at ? json(*issued.record.expires_at) : json(nullptr)}});
  }));
  return issued;
}

Result<std::vector<TokenRecord>> UserDirectory::ListTokens(std::optional<std::string_view> user) {
  std::vector<TokenRecord> tokens;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(tokens, tx.ListTokens(user));
    return Status::Ok();
  }));
  return tokens;
}

Result<TokenRecord> UserDirectory::GetToken(int64_t id) {
  TokenRecord token;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::optional<TokenRecord> found, tx.GetToken(id));
    if (!found) return NotFound(fmt::format("token {} does not exist", id));
    token = *found;
    return Status::Ok();
  }));
  return token;
}

Result<TokenRecord> UserDirectory::RevokeToken(int64_t id, std::string_view actor) {
  TokenRecord token;
  RETURN_IF_ERROR(catalog_.Write([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(tx.RevokeToken(id, actor));
    ASSIGN_OR_RETURN(std::optional<TokenRecord> found, tx.GetToken(id));
    if (!found) return NotFound(fmt::format("token {} does not exist", id));
    token = *found;
    return Audit(tx, actor, "token.revoke", fmt::format("user:{}", token.user), {{"token_id", id}});
  }));
  return token;
}

Result<Identity> UserDirectory::Authenticate(std::string_view secret, std::chrono::microseconds epochs_max_age) {
  // One message for every refusal: which check failed is nobody's business but the log's.
  if (!WellFormedToken(secret)) return PermissionDenied("the token is malformed");
  ASSIGN_OR_RETURN(std::string hash, Sha256Hex(secret));
  const std::string now = FormatTimestamp(clock_.Now());
  Identity identity;
  // The identity cached for this secret at `epochs`, if any: exact while the access epoch has not
  // moved. Expiry is the clock's business, checked every time.
  auto cached = [&](const CatalogEpochs& epochs) -> std::optional<Status> {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(hash);
    if (it == cache_.end() || it->second.epoch != epochs.access) return std::nullopt;
    const Identity& found = it->second.identity;
    if (found.token_expires_at && *found.token_expires_at <= now) {
      return PermissionDenied(fmt::format("token {} expired at {}", found.token_id, *found.token_expires_at));
    }
    identity = found;
    identity.epoch = epochs.access;
    identity.data_epoch = epochs.data;
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(CatalogEpochs recent, catalog_.RecentEpochs(epochs_max_age));
  if (std::optional<Status> hit = cached(recent)) {
    RETURN_IF_ERROR(*hit);
    return identity;
  }
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(CatalogEpochs epochs, tx.Epochs());
    if (std::optional<Status> hit = cached(epochs)) return *hit;
    ASSIGN_OR_RETURN(std::optional<TokenRecord> token, tx.FindTokenBySecretHash(hash));
    if (!token) return PermissionDenied("the token is unknown");
    if (token->revoked_at) return PermissionDenied(fmt::format("token {} was revoked", token->id));
    if (token->expires_at && *token->expires_at <= now) {
      return PermissionDenied(fmt::format("token {} expired at {}", token->id, *token->expires_at));
    }
    ASSIGN_OR_RETURN(std::optional<UserRecord> user, tx.GetUser(token->user));
    if (!user) return PermissionDenied(fmt::format("the user of token {} no longer exists", token->id));
    if (user->disabled) return PermissionDenied(fmt::format("user '{}' is disabled", user->name));
    identity.user = user->name;
    identity.admin = user->admin;
    identity.groups = user->groups;
    identity.token_id = token->id;
    identity.token_expires_at = token->expires_at;
    identity.epoch = epochs.access;
    identity.data_epoch = epochs.data;
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= 10000) cache_.clear();
    cache_[hash] = {epochs.access, identity};
    return Status::Ok();
  }));
  return identity;
}

}  // namespace edl
