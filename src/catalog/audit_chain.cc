#include "catalog/audit_chain.h"

#include "core/hash.h"

#include <memory>

#include <fmt/format.h>

namespace edl {
namespace {

void AppendNetstring(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ',';
}

}  // namespace

std::string CanonicalAuditFields(const AuditEvent& event) {
  std::string out;
  AppendNetstring(out, std::to_string(event.seq));
  AppendNetstring(out, event.at);
  AppendNetstring(out, event.actor);
  AppendNetstring(out, event.action);
  AppendNetstring(out, event.target);
  AppendNetstring(out, event.details_json);
  // Access decisions (schema v4) add three fields. Events without them hash as before, so chains
  // written before v4 still verify.
  if (!event.decision.empty() || !event.reason.empty() || !event.request_id.empty()) {
    AppendNetstring(out, event.decision);
    AppendNetstring(out, event.reason);
    AppendNetstring(out, event.request_id);
  }
  return out;
}

Result<std::string> AuditHash(std::string_view prev_hash, const AuditEvent& event) {
  ASSIGN_OR_RETURN(Sha256 hash, Sha256::Create());
  hash.Update(prev_hash);
  hash.Update(CanonicalAuditFields(event));
  return hash.HexDigest();
}

}  // namespace edl
