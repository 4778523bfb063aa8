#include "catalog/audit_chain.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <utility>

namespace edl {
namespace {

// The decimal digits of `value`, written into `buffer` (no allocation: this runs per audit event).
std::string_view Decimal(int64_t value, std::array<char, 24>& buffer) {
  char* end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value).ptr;
  return std::string_view(buffer.data(), static_cast<size_t>(end - buffer.data()));
}

void AppendNetstring(std::string& out, std::string_view field) {
  std::array<char, 24> length;
  out += Decimal(static_cast<int64_t>(field.size()), length);
  out += ':';
  out += field;
  out += ',';
}

// Appends CanonicalAuditFields of the event with these fields to `out`.
void AppendCanonicalAuditFields(const AuditFieldsView& event, std::string& out) {
  std::array<char, 24> seq;
  AppendNetstring(out, Decimal(event.seq, seq));
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
}

}  // namespace

AuditFieldsView FieldsOf(const AuditEvent& event) {
  return {event.seq,          event.at,       event.actor,  event.action,    event.target,
          event.details_json, event.decision, event.reason, event.request_id};
}

std::string CanonicalAuditFields(const AuditEvent& event) {
  std::string out;
  AppendCanonicalAuditFields(FieldsOf(event), out);
  return out;
}

Result<std::string> AuditHash(std::string_view prev_hash, const AuditEvent& event) {
  ASSIGN_OR_RETURN(AuditHasher hasher, AuditHasher::Create());
  return hasher.Hash(prev_hash, event);
}

Result<AuditHasher> AuditHasher::Create() {
  ASSIGN_OR_RETURN(Sha256 sha256, Sha256::Create());
  return AuditHasher(std::move(sha256));
}

std::string AuditHasher::Hash(std::string_view prev_hash, const AuditEvent& event) {
  return Hash(prev_hash, FieldsOf(event));
}

std::string AuditHasher::Hash(std::string_view prev_hash, const AuditFieldsView& fields) {
  fields_.clear();
  fields_ += prev_hash;
  AppendCanonicalAuditFields(fields, fields_);
  sha256_.Reset();
  sha256_.Update(fields_);
  return sha256_.HexDigest();
}

}  // namespace edl
