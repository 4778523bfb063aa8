// JSON forms of the domain types, for storing specs in the catalog, audit details and `-o json`
// output. The JSON field names are the dataset file's YAML keys, so the two read alike.
// Pure functions, thread-safe.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "core/model.h"
#include "core/status.h"

namespace edl {

nlohmann::json ToJson(const DatasetSpec& spec);
// Reads what ToJson wrote; InvalidArgument naming the field when it does not fit.
Result<DatasetSpec> DatasetSpecFromJson(const nlohmann::json& json);

nlohmann::json ToJson(const DatasetRecord& record);
nlohmann::json ToJson(const BucketRecord& bucket);
nlohmann::json ToJson(const RoleRecord& role);
nlohmann::json ToJson(const GrantRecord& grant);
nlohmann::json ToJson(const AuditEvent& event);
nlohmann::json ToJson(const AccessRequestRecord& request);
nlohmann::json ToJson(const InstanceConfig& config);

// An update with its metadata parsed (an object; empty when the stored text is not JSON).
nlohmann::json ToJson(const UpdateRecord& update);
nlohmann::json ToJson(const UpdateFile& file);
nlohmann::json ToJson(const UserRecord& user);
// Never includes the secret's hash.
nlohmann::json ToJson(const TokenRecord& token);
// With spec and result parsed (objects; null when empty).
nlohmann::json ToJson(const JobRecord& job);
nlohmann::json ToJson(const JobLogLine& line);
// Parses JSON text stored by a service (metadata, details); an empty object when it is not JSON.
nlohmann::json ParseStoredJson(const std::string& text);

}  // namespace edl
