#include "jobs/jobs_test_support.h"

#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "deploy/inventory.h"
#include "ingest/lake_test_support.h"

namespace edl::testing {

void JobsFixture::SetUp() {
  ASSERT_OK_AND_ASSIGN(config_, TestInstanceConfig(dir_.path()));
  ASSERT_OK_AND_ASSIGN(lake_, OpenDeployedTestLake(config_, clock_));
  ASSERT_OK(DeployTestDataset(
      config_, *lake_, "name: orders\ntier: restricted\nowners: [alice]\nqc: [{check: unique, columns: [id]}]\n"));
  uploads_ = std::make_unique<UploadStore>(IngestSettingsFor(config_).uploads_root, clock_);
  service_ = std::make_unique<JobService>(*lake_->catalog, *uploads_, clock_, config_.jobs);
}

std::string JobsFixture::Upload(const std::vector<std::pair<std::string, std::string>>& files,
                                const std::string& owner) {
  auto upload = uploads_->Create(owner);
  EXPECT_TRUE(upload.ok()) << upload.status().ToString();
  if (!upload.ok()) return "";
  for (const auto& [name, content] : files) {
    EXPECT_OK(AddUploadFile(*uploads_, upload->id, owner, name, content).status());
  }
  return "upload:" + upload->id;
}

std::string JobsFixture::ManyFilesUpload(int count) {
  auto upload = uploads_->Create(kAlice);
  EXPECT_TRUE(upload.ok()) << upload.status().ToString();
  auto folder = uploads_->FilesFolder(upload.ok() ? upload->id : "");
  EXPECT_TRUE(folder.ok()) << folder.status().ToString();
  if (!folder.ok()) return "";
  // Written straight into the folder: AddFile's fsyncs would make this the slowest part of a test.
  for (int i = 0; i < count; ++i) {
    std::ofstream(*folder / fmt::format("part-{:04}.csv", i)) << fmt::format("id,v\n{},x\n", i);
  }
  return "upload:" + upload->id;
}

Result<JobRecord> JobsFixture::Submit(const std::vector<std::string>& sources, const std::string& dataset) {
  IngestJobSpec spec;
  spec.dataset = dataset;
  spec.sources = sources;
  return service_->SubmitIngest(spec, kAlice);
}

std::unique_ptr<WorkerPool> JobsFixture::StartPool(int workers) {
  WorkerSettings settings;
  settings.workers = workers;
  settings.lease = kTestLease;
  settings.poll_interval = std::chrono::milliseconds(20);
  settings.owner_prefix = ProcessLeaseOwner();
  auto pool = std::make_unique<WorkerPool>(config_, *lake_->catalog, *lake_->store, *uploads_, clock_,
                                           IngestSettingsFor(config_), settings);
  EXPECT_OK(pool->Start());
  return pool;
}

JobRecord JobsFixture::WaitFor(int64_t id, const std::function<bool(const JobRecord&)>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  JobRecord job;
  while (std::chrono::steady_clock::now() < deadline) {
    auto current = service_->Get(id);
    EXPECT_TRUE(current.ok()) << current.status().ToString();
    if (!current.ok()) return job;
    job = *current;
    if (done(job)) return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "job " << id << " did not get there in time; it is " << JobStateName(job.state);
  return job;
}

JobRecord JobsFixture::WaitUntilFinished(int64_t id) {
  return WaitFor(id, [](const JobRecord& job) { return IsFinished(job.state); });
}

std::vector<UpdateRecord> JobsFixture::Updates() {
  auto updates = ListDatasetUpdates(*lake_->catalog, "orders");
  EXPECT_TRUE(updates.ok()) << updates.status().ToString();
  return updates.ok() ? *updates : std::vector<UpdateRecord>{};
}

std::vector<std::string> JobsFixture::LogMessages(int64_t id) {
  std::vector<std::string> out;
  auto lines = service_->Logs(id, 0, 1000);
  EXPECT_TRUE(lines.ok()) << lines.status().ToString();
  if (lines.ok()) {
    for (const JobLogLine& line : *lines) out.push_back(line.message);
  }
  return out;
}

JobRecord JobsFixture::LeaseAs(const std::string& owner) {
  std::optional<JobRecord> job;
  EXPECT_OK(lake_->catalog->Write([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(job, tx.LeaseJob(owner, clock_.NowText(), FormatTimestamp(clock_.Now() + kTestLease)));
    return Status::Ok();
  }));
  EXPECT_TRUE(job.has_value());
  return job.value_or(JobRecord{});
}

}  // namespace edl::testing
