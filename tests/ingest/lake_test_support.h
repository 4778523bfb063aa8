// Test support for services above the catalog and store: a deployed lake (instance "dev01", region
// eu-west-1, a small engine) in a folder, dataset deployment from YAML text, uploads from strings,
// and the lease owner of a dead process. Used by the ingest and jobs tests.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/model.h"
#include "core/status.h"
#include "ingest/uploads.h"
#include "lake/lake.h"

namespace edl {
class Clock;
}  // namespace edl

namespace edl::testing {

// The instance config of a test lake whose storage root and catalog live under `folder`.
Result<InstanceConfig> TestInstanceConfig(const std::filesystem::path& folder);
// Opens the lake of `config` and deploys its instance (buckets, roles).
Result<std::unique_ptr<Lake>> OpenDeployedTestLake(const InstanceConfig& config, const Clock& clock);
// Deploys the dataset a dataset file with `yaml` describes.
Status DeployTestDataset(const InstanceConfig& config, Lake& lake, const std::string& yaml);

// Streams `content` into the upload as file `name`, in pieces of at most `piece` bytes.
Result<UploadedFile> AddUploadFile(UploadStore& uploads, std::string_view id, std::string_view owner,
                                   std::string_view name, std::string_view content, size_t piece = 1 << 20);

// "host:pid" of a process of this host that has exited (forked and reaped here).
std::string DeadProcessLeaseOwner();

}  // namespace edl::testing
