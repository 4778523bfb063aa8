// Test support for the jobs tests: a deployed lake with the dataset "orders" (QC: unique id), an
// upload store, the jobs service, and worker pools with short leases. The clock is fixed, so
// leases expire only when a test advances it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ingest/uploads.h"
#include "jobs/jobs.h"
#include "lake/lake.h"
#include "testing/status_testing.h"
#include "testing/temp_dir.h"

namespace edl::testing {

inline constexpr char kAlice[] = "user:alice";
inline constexpr std::chrono::milliseconds kTestLease{300};

class JobsFixture : public ::testing::Test {
 protected:
  void SetUp() override;

  // "upload:<id>" of a new upload of `owner` holding `files` (name, content).
  std::string Upload(const std::vector<std::pair<std::string, std::string>>& files, const std::string& owner = kAlice);
  // An upload of `count` one-row CSV files: an ingest slow enough to be caught running.
  std::string ManyFilesUpload(int count);
  Result<JobRecord> Submit(const std::vector<std::string>& sources, const std::string& dataset = "orders");
  std::unique_ptr<WorkerPool> StartPool(int workers);
  // Polls the job until `done` says so (or a 20 s deadline, failing the test); returns it as it is.
  JobRecord WaitFor(int64_t id, const std::function<bool(const JobRecord&)>& done);
  JobRecord WaitUntilFinished(int64_t id);
  std::vector<UpdateRecord> Updates();
  std::vector<std::string> LogMessages(int64_t id);
  // Leases the next job as a worker that is not in any pool (lease_expires_at = now + kTestLease).
  JobRecord LeaseAs(const std::string& owner);

  TempDir dir_;
  FixedClock clock_;
  InstanceConfig config_;
  std::unique_ptr<Lake> lake_;
  std::unique_ptr<UploadStore> uploads_;
  std::unique_ptr<JobService> service_;
};

}  // namespace edl::testing
