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
nlohmann::json ToJson(const InstanceConfig& config);

}  // namespace edl
