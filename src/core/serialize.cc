#include "core/serialize.h"

#include "core/names.h"

#include <nlohmann/json.hpp>

#include "core/config.h"

namespace edl {
namespace {

using nlohmann::json;

template <typename T>
void PutOptional(json& out, const char* key, const std::optional<T>& value) {
  if (value) out[key] = *value;
}

json ToJson(const QcCheck& qc) {
  json out = {{"check", qc.check}};
  if (!qc.columns.empty()) out["columns"] = qc.columns;
  if (!qc.values.empty()) out["values"] = qc.values;
  PutOptional(out, "min", qc.min);
  PutOptional(out, "max", qc.max);
  if (!qc.pattern.empty()) out["pattern"] = qc.pattern;
  if (!qc.sql.empty()) out["sql"] = qc.sql;
  return out;
}

json ToJson(const FormatOptions& format) {
  json out = json::object();
  if (!format.type.empty()) out["type"] = format.type;
  PutOptional(out, "delimiter", format.delimiter);
  PutOptional(out, "quote", format.quote);
  PutOptional(out, "escape", format.escape);
  PutOptional(out, "header", format.header);
  if (!format.null_strings.empty()) out["null_strings"] = format.null_strings;
  PutOptional(out, "date_format", format.date_format);
  PutOptional(out, "timestamp_format", format.timestamp_format);
  if (!format.column_types.empty()) out["column_types"] = format.column_types;
  return out;
}

// Reads JSON written by ToJson. Stored specs were validated before they were written, so a
// mismatch here means the catalog was edited by hand or is damaged: report the field.
class JsonReader {
 public:
  explicit JsonReader(const json& object) : object_(object) {}

  template <typename T>
  Status Get(const char* key, T& out) const {
    if (!object_.contains(key)) return Status::Ok();
    try {
      out = object_.at(key).get<T>();
    } catch (const json::exception& e) {
      return InvalidArgument(std::string("stored dataset field '") + key + "': " + e.what());
    }
    return Status::Ok();
  }
  template <typename T>
  Status Get(const char* key, std::optional<T>& out) const {
    if (!object_.contains(key)) return Status::Ok();
    T value{};
    RETURN_IF_ERROR(Get(key, value));
    out = std::move(value);
    return Status::Ok();
  }
  const json& object() const { return object_; }

 private:
  const json& object_;
};

}  // namespace

json ToJson(const DatasetSpec& spec) {
  json policy = {{"classification", spec.policy.classification},
                 {"contains_pii", spec.policy.contains_pii},
                 {"allowed_purposes", spec.policy.allowed_purposes},
                 {"legal_basis", spec.policy.legal_basis}};
  PutOptional(policy, "retention_days", spec.policy.retention_days);
  PutOptional(policy, "max_grant_days", spec.policy.max_grant_days);
  policy["two_person_approval"] = spec.policy.two_person_approval;
  json updates = {{"kind", UpdateKindName(spec.updates.kind)}};
  if (!spec.updates.keys.empty()) updates["keys"] = spec.updates.keys;
  if (!spec.updates.op_column.empty()) updates["op_column"] = spec.updates.op_column;
  if (!spec.updates.order_by.empty()) updates["order_by"] = spec.updates.order_by;
  json qc = json::array();
  for (const QcCheck& check : spec.qc) qc.push_back(ToJson(check));
  json grants = json::array();
  for (const DeclaredGrant& grant : spec.grants) {
    json g = {{"principal", PrincipalRef(grant.principal)}, {"level", AccessLevelName(grant.level)}};
    if (!grant.justification.empty()) g["justification"] = grant.justification;
    PutOptional(g, "until", grant.until);
    grants.push_back(std::move(g));
  }
  json triggers = json::array();
  for (const Trigger& trigger : spec.triggers) triggers.push_back({{"pipeline", trigger.pipeline}});
  return {{"name", spec.name},
          {"tier", TierName(spec.tier)},
          {"region", spec.region},
          {"description", spec.description},
          {"owners", spec.owners},
          {"policy", policy},
          {"updates", updates},
          {"format", ToJson(spec.format)},
          {"schema_changes", SchemaChangePolicyName(spec.schema_changes)},
          {"qc", qc},
          {"grants", grants},
          {"triggers", triggers},
          {"require_conversion", spec.require_conversion}};
}

Result<DatasetSpec> DatasetSpecFromJson(const json& in) {
  if (!in.is_object()) return InvalidArgument("stored dataset spec is not a JSON object");
  DatasetSpec spec;
  JsonReader top(in);
  std::string text;
  RETURN_IF_ERROR(top.Get("name", spec.name));
  RETURN_IF_ERROR(top.Get("tier", text));
  ASSIGN_OR_RETURN(spec.tier, ParseTier(text));
  RETURN_IF_ERROR(top.Get("region", spec.region));
  RETURN_IF_ERROR(top.Get("description", spec.description));
  RETURN_IF_ERROR(top.Get("owners", spec.owners));
  if (in.contains("policy")) {
    JsonReader policy(in.at("policy"));
    RETURN_IF_ERROR(policy.Get("classification", spec.policy.classification));
    RETURN_IF_ERROR(policy.Get("contains_pii", spec.policy.contains_pii));
    RETURN_IF_ERROR(policy.Get("retention_days", spec.policy.retention_days));
    RETURN_IF_ERROR(policy.Get("allowed_purposes", spec.policy.allowed_purposes));
    RETURN_IF_ERROR(policy.Get("legal_basis", spec.policy.legal_basis));
    RETURN_IF_ERROR(policy.Get("max_grant_days", spec.policy.max_grant_days));
    RETURN_IF_ERROR(policy.Get("two_person_approval", spec.policy.two_person_approval));
  }
  if (in.contains("updates")) {
    JsonReader updates(in.at("updates"));
    text = "snapshot";
    RETURN_IF_ERROR(updates.Get("kind", text));
    ASSIGN_OR_RETURN(spec.updates.kind, ParseUpdateKind(text));
    RETURN_IF_ERROR(updates.Get("keys", spec.updates.keys));
    RETURN_IF_ERROR(updates.Get("op_column", spec.updates.op_column));
    RETURN_IF_ERROR(updates.Get("order_by", spec.updates.order_by));
  }
  if (in.contains("format")) {
    JsonReader format(in.at("format"));
    RETURN_IF_ERROR(format.Get("type", spec.format.type));
    RETURN_IF_ERROR(format.Get("delimiter", spec.format.delimiter));
    RETURN_IF_ERROR(format.Get("quote", spec.format.quote));
    RETURN_IF_ERROR(format.Get("escape", spec.format.escape));
    RETURN_IF_ERROR(format.Get("header", spec.format.header));
    RETURN_IF_ERROR(format.Get("null_strings", spec.format.null_strings));
    RETURN_IF_ERROR(format.Get("date_format", spec.format.date_format));
    RETURN_IF_ERROR(format.Get("timestamp_format", spec.format.timestamp_format));
    RETURN_IF_ERROR(format.Get("column_types", spec.format.column_types));
  }
  text = "warn";
  RETURN_IF_ERROR(top.Get("schema_changes", text));
  ASSIGN_OR_RETURN(spec.schema_changes, ParseSchemaChangePolicy(text));
  if (in.contains("qc")) {
    for (const json& item : in.at("qc")) {
      JsonReader check(item);
      QcCheck qc;
      RETURN_IF_ERROR(check.Get("check", qc.check));
      RETURN_IF_ERROR(check.Get("columns", qc.columns));
      RETURN_IF_ERROR(check.Get("values", qc.values));
      RETURN_IF_ERROR(check.Get("min", qc.min));
      RETURN_IF_ERROR(check.Get("max", qc.max));
      RETURN_IF_ERROR(check.Get("pattern", qc.pattern));
      RETURN_IF_ERROR(check.Get("sql", qc.sql));
      spec.qc.push_back(std::move(qc));
    }
  }
  if (in.contains("grants")) {
    for (const json& item : in.at("grants")) {
      JsonReader grant(item);
      std::string principal, level;
      RETURN_IF_ERROR(grant.Get("principal", principal));
      RETURN_IF_ERROR(grant.Get("level", level));
      DeclaredGrant declared;
      RETURN_IF_ERROR(grant.Get("justification", declared.justification));
      RETURN_IF_ERROR(grant.Get("until", declared.until));
      ASSIGN_OR_RETURN(declared.principal, ParsePrincipalRef(principal));
      ASSIGN_OR_RETURN(declared.level, ParseAccessLevel(level));
      spec.grants.push_back(std::move(declared));
    }
  }
  if (in.contains("triggers")) {
    for (const json& item : in.at("triggers")) {
      Trigger trigger;
      RETURN_IF_ERROR(JsonReader(item).Get("pipeline", trigger.pipeline));
      spec.triggers.push_back(std::move(trigger));
    }
  }
  RETURN_IF_ERROR(top.Get("require_conversion", spec.require_conversion));
  return spec;
}

json ToJson(const DatasetRecord& record) {
  json out = ToJson(record.spec);
  out["bucket"] = record.bucket;
  out["generation"] = record.generation;
  out["created_at"] = record.created_at;
  out["updated_at"] = record.updated_at;
  return out;
}

json ToJson(const BucketRecord& bucket) {
  return {{"name", bucket.name}, {"kind", bucket.drop ? "drop" : "data"},
          {"tier", TierName(bucket.tier)}, {"region", bucket.region}};
}

json ToJson(const RoleRecord& role) {
  return {{"name", role.name}, {"dataset", role.dataset}, {"level", AccessLevelName(role.level)},
          {"description", role.description}};
}

json ToJson(const GrantRecord& grant) {
  json out = {{"id", grant.id}, {"principal", PrincipalRef(grant.principal)}, {"role", grant.role},
              {"granted_by", grant.granted_by}, {"granted_at", grant.granted_at}, {"reason", grant.reason}};
  PutOptional(out, "expires_at", grant.expires_at);
  if (grant.revoked_at) {
    out["revoked_at"] = *grant.revoked_at;
    out["revoked_by"] = grant.revoked_by;
    out["revoke_reason"] = grant.revoke_reason;
  }
  return out;
}

json ToJson(const AuditEvent& event) {
  json details = json::parse(event.details_json.empty() ? "{}" : event.details_json, nullptr, false);
  if (details.is_discarded()) details = event.details_json;
  json out = {{"seq", event.seq}, {"at", event.at}, {"actor", event.actor}, {"action", event.action},
              {"target", event.target}, {"details", details}};
  if (!event.decision.empty()) out["decision"] = event.decision;
  if (!event.reason.empty()) out["reason"] = event.reason;
  if (!event.request_id.empty()) out["request_id"] = event.request_id;
  return out;
}

json ToJson(const AccessRequestRecord& request) {
  json out = {{"id", request.id},
              {"dataset", request.dataset},
              {"grantee", PrincipalRef(request.grantee)},
              {"level", AccessLevelName(request.level)},
              {"justification", request.justification},
              {"requested_by", request.requested_by},
              {"requested_at", request.requested_at},
              {"state", AccessRequestStateName(request.state)}};
  PutOptional(out, "days", request.days);
  if (!request.first_approved_by.empty()) {
    out["first_approved_by"] = request.first_approved_by;
    out["first_approved_at"] = request.first_approved_at;
  }
  if (!request.decided_by.empty()) {
    out["decided_by"] = request.decided_by;
    out["decided_at"] = request.decided_at;
    out["decision_reason"] = request.decision_reason;
  }
  PutOptional(out, "grant_id", request.grant_id);
  return out;
}

json ToJson(const InstanceConfig& config) {
  return {{"instance", config.instance},
          {"bucket_prefix", config.bucket_prefix},
          {"regions", config.regions},
          {"default_region", config.default_region},
          {"storage", {{"backend", config.storage.backend}, {"root", config.storage.root}}},
          {"catalog", {{"url", RedactCatalogUrl(config.catalog.url)}}},
          {"server", {{"http", config.server.http}, {"pg", config.server.pg}, {"s3", config.server.s3}}},
          {"engine", {{"memory_limit_bytes", config.engine.memory_limit_bytes}, {"threads", config.engine.threads}}}};
}

json ParseStoredJson(const std::string& text) {
  json parsed = json::parse(text.empty() ? "{}" : text, nullptr, false);
  return parsed.is_discarded() ? json::object() : parsed;
}

json ToJson(const UpdateRecord& u) {
  json out = {{"dataset", u.dataset}, {"number", u.number}, {"kind", UpdateKindName(u.kind)},
              {"state", UpdateStateName(u.state)}, {"created_by", u.created_by}, {"created_at", u.created_at},
              {"metadata", ParseStoredJson(u.metadata_json)}};
  PutOptional(out, "completed_at", u.completed_at);
  if (!u.failure_reason.empty()) out["failure_reason"] = u.failure_reason;
  PutOptional(out, "files_removed_at", u.files_removed_at);
  return out;
}

json ToJson(const UpdateFile& f) {
  json out = {{"area", f.area}, {"key", f.key}, {"size", f.size}, {"sha256", f.sha256}};
  PutOptional(out, "rows", f.rows);
  return out;
}

json ToJson(const UserRecord& user) {
  return {{"name", user.name}, {"admin", user.admin}, {"disabled", user.disabled}, {"groups", user.groups},
          {"created_at", user.created_at}, {"created_by", user.created_by}};
}

json ToJson(const TokenRecord& token) {
  json out = {{"id", token.id}, {"user", token.user}, {"description", token.description},
              {"created_at", token.created_at}, {"created_by", token.created_by},
              {"expires_at", token.expires_at ? json(*token.expires_at) : json(nullptr)},
              {"revoked_at", token.revoked_at ? json(*token.revoked_at) : json(nullptr)}};
  if (token.revoked_at) out["revoked_by"] = token.revoked_by;
  return out;
}

json ToJson(const JobRecord& job) {
  auto optional_text = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  // Sources are kept as given (the worker needs them), but shown without credentials or queries.
  json spec = job.spec_json.empty() ? json(nullptr) : ParseStoredJson(job.spec_json);
  if (spec.is_object() && spec.contains("sources") && spec["sources"].is_array()) {
    for (json& source : spec["sources"]) {
      if (source.is_string()) source = RedactUri(source.get<std::string>());
    }
  }
  return {{"id", job.id},
          {"kind", job.kind},
          {"state", JobStateName(job.state)},
          {"dataset", job.dataset},
          {"spec", spec},
          {"created_by", job.created_by},
          {"created_at", job.created_at},
          {"started_at", optional_text(job.started_at)},
          {"finished_at", optional_text(job.finished_at)},
          {"attempts", job.attempts},
          {"max_attempts", job.max_attempts},
          {"cancel_requested", job.cancel_requested},
          {"progress", {{"phase", job.progress.phase}, {"bytes_done", job.progress.bytes_done},
                        {"bytes_total", job.progress.bytes_total}, {"files_done", job.progress.files_done},
                        {"files_total", job.progress.files_total}}},
          {"update", job.update_number ? json(*job.update_number) : json(nullptr)},
          {"result", job.result_json.empty() ? json(nullptr) : ParseStoredJson(job.result_json)},
          {"error", job.error}};
}

json ToJson(const JobLogLine& line) {
  return {{"seq", line.seq}, {"at", line.at}, {"level", line.level}, {"message", line.message}};
}

}  // namespace edl
