#include "ingest/lake_test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/config.h"
#include "deploy/deploy.h"
#include "ingest/ingest.h"
#include "storage/object_store.h"

namespace edl::testing {

Result<InstanceConfig> TestInstanceConfig(const std::filesystem::path& folder) {
  return ParseInstanceConfig("instance: dev01\nregions: [eu-west-1]\nengine: {memory_limit: 1GB, threads: 2}\n",
                             "edl.yaml", folder / "lake");
}

Result<std::unique_ptr<Lake>> OpenDeployedTestLake(const InstanceConfig& config, const Clock& clock) {
  ASSIGN_OR_RETURN(std::unique_ptr<Lake> lake, OpenLake(config, clock));
  RETURN_IF_ERROR(Deployer(config, lake->catalog.get(), lake->store.get(), clock, "test").ApplyInstance().status());
  return lake;
}

Status DeployTestDataset(const InstanceConfig& config, Lake& lake, const std::string& yaml) {
  ASSIGN_OR_RETURN(DatasetSpec spec, ParseDatasetSpec(yaml, "ds.yaml", config));
  // Declared grants' `until` is compared with the real date, like `edl deploy-dataset` does.
  SystemClock clock;
  return Deployer(config, lake.catalog.get(), lake.store.get(), clock, "test").ApplyDataset(spec, "ds.yaml").status();
}

Result<UploadedFile> AddUploadFile(UploadStore& uploads, std::string_view id, std::string_view owner,
                                   std::string_view name, std::string_view content, size_t piece) {
  size_t offset = 0;
  BodyReader read = [&](char* buffer, size_t capacity) -> Result<size_t> {
    size_t n = std::min({capacity, piece, content.size() - offset});
    std::memcpy(buffer, content.data() + offset, n);
    offset += n;
    return n;
  };
  return uploads.AddFile(id, owner, name, content.size(), content.size(), read);
}

std::string DeadProcessLeaseOwner() {
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  std::string owner = ProcessLeaseOwner();
  return owner.substr(0, owner.rfind(':') + 1) + std::to_string(child);
}

}  // namespace edl::testing
