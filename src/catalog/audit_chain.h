// The audit log's hash chain (design.md §2): every event's hash covers the previous event's hash and
// the event's own fields, so changing, removing or reordering a stored event breaks the chain from
// that point on. Every Catalog implementation (and any outside verifier) must compute the same
// bytes, so the canonical form below is a contract: changing it needs a new chain version.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

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

}  // namespace edl
