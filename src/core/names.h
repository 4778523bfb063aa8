// Names of EDL things and the rules they follow (design.md §2): instances, datasets, regions,
// principals, buckets and the storage contract's update folders. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace edl {

enum class Tier;

inline constexpr size_t kMaxNameLength = 63;  // S3 bucket names, and so every name inside one

// Each returns InvalidArgument naming `what` (e.g. "dataset name") and the rule broken.
Status ValidateInstanceName(std::string_view name);      // [a-z0-9]+
Status ValidateDatasetName(std::string_view name);       // [a-z0-9][a-z0-9-]*, no trailing '-'
Status ValidateRegionName(std::string_view name);        // [a-z0-9][a-z0-9-]*, e.g. eu-west-1
Status ValidateBucketPrefix(std::string_view name);      // [a-z0-9][a-z0-9-]*
Status ValidatePrincipalName(std::string_view name);     // [a-z0-9][a-z0-9._-]*

// "<prefix>-<instance>-<tier>-<region>" and "<prefix>-drop-<instance>-<tier>-<region>".
std::string BucketName(std::string_view prefix, std::string_view instance, Tier tier,
                       std::string_view region);
std::string DropBucketName(std::string_view prefix, std::string_view instance, Tier tier,
                           std::string_view region);

// "update-00000001": the folder of update `number` under raw/ and data/ (storage contract §3).
std::string UpdateFolderName(int64_t number);
// "<dataset>/raw/update-00000001/" and "<dataset>/data/update-00000001/".
std::string RawUpdatePrefix(std::string_view dataset, int64_t number);
std::string DataUpdatePrefix(std::string_view dataset, int64_t number);

// A source URI safe to print and record: for "scheme://" URIs, user info ("user:password@"), the
// query and the fragment (which may carry signatures or tokens) are removed. Anything else is
// returned as it is.
std::string RedactUri(std::string_view uri);

// Levenshtein distance, for "did you mean" hints.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace edl
