// Reading EDL's YAML files into typed, validated structs: the instance config (edl.yaml) and
// dataset files. Every error is InvalidArgument (NotFound for a missing file) and names the file,
// the field path (e.g. "policy.max_grant_days") and, where the YAML parser knows it, the line.
// Unknown keys are errors, with a "did you mean" hint when a known key is close. Thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/model.h"
#include "core/status.h"

namespace edl {

// Where edl.yaml is: `flag` if given, else $EDL_CONFIG, else ./edl.yaml.
std::filesystem::path FindInstanceConfig(std::string_view flag);

// Relative storage.root and sqlite catalog paths are resolved against the config file's folder, so
// the instance does not depend on the working directory.
Result<InstanceConfig> LoadInstanceConfig(const std::filesystem::path& path);
Result<InstanceConfig> ParseInstanceConfig(std::string_view yaml, std::string_view file_name,
                                           const std::filesystem::path& base_dir);

// Validates the dataset against the instance too: its region must be one of the instance's.
Result<DatasetSpec> LoadDatasetSpec(const std::filesystem::path& path, const InstanceConfig& instance);
Result<DatasetSpec> ParseDatasetSpec(std::string_view yaml, std::string_view file_name,
                                     const InstanceConfig& instance);

// The URL without "user:password@" and without a "?query" (which may carry a password), for
// messages, logs and output: "postgresql://bob:secret@db:5432/edl?sslmode=require" ->
// "postgresql://db:5432/edl".
std::string RedactCatalogUrl(std::string_view url);

// "4GB", "512MiB", "1.5GB", "1000000" -> bytes.
Result<int64_t> ParseByteSize(std::string_view text);

}  // namespace edl
