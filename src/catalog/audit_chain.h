// The audit log's hash chain (design.md §2): every event's hash covers the previous event's hash and
// the event's own fields, so changing, removing or reordering a stored event breaks the chain from
// that point on. Every Catalog implementation (and any outside verifier) must compute the same
// bytes, so the canonical form below is a contract: changing it needs a new chain version.
// The functions are pure and thread-safe; an AuditHasher is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/hash.h"
#include "core/model.h"
#include "core/status.h"

namespace edl {

// prev_hash of the first event (seq 1).
inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The bytes hashed for an event: the netstrings "<byte length>:<bytes>," of seq (decimal), at,
// actor, action, target and details_json, in that order, followed — when any of them is set — by
// decision, reason and request_id. Length prefixes make the encoding unambiguous whatever the
// fields contain.
std::string CanonicalAuditFields(const AuditEvent& event);

// Lower-case hex of SHA-256(prev_hash || CanonicalAuditFields(event)). Internal if OpenSSL fails.
Result<std::string> AuditHash(std::string_view prev_hash, const AuditEvent& event);

// The fields the chain covers, as views into strings the caller keeps alive: what an appender
// hashes when it fills in seq, `at` or empty details without copying the event.
struct AuditFieldsView {
  int64_t seq = 0;
  std::string_view at, actor, action, target, details_json, decision, reason, request_id;
};
AuditFieldsView FieldsOf(const AuditEvent& event);

// AuditHash for one event after another (appending a batch, verifying the log): one SHA-256
// context and one buffer serve every event, where AuditHash sets up both each time.
class AuditHasher {
 public:
  // Internal if OpenSSL fails.
  static Result<AuditHasher> Create();

  // The same value as AuditHash(prev_hash, event).
  std::string Hash(std::string_view prev_hash, const AuditEvent& event);
  std::string Hash(std::string_view prev_hash, const AuditFieldsView& fields);

 private:
  explicit AuditHasher(Sha256 sha256) : sha256_(std::move(sha256)) {}

  Sha256 sha256_;
  std::string fields_;  // the canonical form of the event being hashed; keeps its capacity
};

}  // namespace edl
