// WorkerPool against the real SQLite catalog, local store and ingest: running, failing, cancelling,
// taking over, retrying idempotently and shutting down. Leases are short (300 ms) and the clock
// is fixed, so a lease expires only when a test advances the clock.
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "ingest/lake_test_support.h"
#include "jobs/jobs.h"
#include "jobs/jobs_test_support.h"

namespace edl {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;
using WorkerPoolTest = testing::JobsFixture;
using testing::kAlice;

// Enough files that converting them takes a while: the ingest can be caught in the middle.
constexpr int kManyFiles = 50;
constexpr char kOtherWorker[] = "elsewhere:1/worker-1";

bool Reserved(const JobRecord& job) {
  return job.update_number.has_value();
}

TEST_F(WorkerPoolTest, QueuedJobRunsToSucceededWithProgressAndLog) {
  std::string upload = Upload({{"a.csv", "id,amount\n1,2\n2,3\n"}});
  ASSERT_OK_AND_ASSIGN(JobRecord job, Submit({upload}));
  auto pool = StartPool(1);
  EXPECT_TRUE(pool->Started());
  JobRecord done = WaitUntilFinished(job.id);
  ASSERT_EQ(done.state, JobState::kSucceeded) << done.error;
  EXPECT_EQ(done.attempts, 1);
  EXPECT_EQ(done.update_number, 1);
  EXPECT_TRUE(done.lease_owner.empty());
  EXPECT_FALSE(done.progress.phase.empty());
  ASSERT_OK_AND_ASSIGN(IngestJobResult result, IngestJobResultFromJson(done.result_json));
  EXPECT_EQ(result.update, 1);
  EXPECT_EQ(result.state, "complete");
  EXPECT_EQ(result.rows, 2);
  EXPECT_EQ(result.raw_files, 1);
  EXPECT_EQ(result.data_files, 1);
  std::vector<std::string> log = LogMessages(job.id);
  EXPECT_THAT(log, Contains("queued by user:alice"));
  EXPECT_THAT(log, Contains("phase fetch"));
  EXPECT_THAT(log, Contains("phase commit"));
  EXPECT_THAT(log, Contains("reserved update 1"));
  EXPECT_THAT(log, Contains("succeeded: update 1 is complete with 2 rows"));
  ASSERT_EQ(Updates().size(), 1u);
  EXPECT_EQ(Updates()[0].state, UpdateState::kComplete);
  EXPECT_EQ(Updates()[0].created_by, kAlice);
  // The files are in the update now: the upload is gone.
  EXPECT_EQ(uploads_->Get(upload.substr(7), kAlice).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(pool->IngestedBytes(), 18u);  // the CSV's bytes
  pool->Stop(std::chrono::milliseconds(0));
  EXPECT_FALSE(pool->Started());
  pool->Stop(std::chrono::milliseconds(0));  // twice is fine
}

TEST_F(WorkerPoolTest, FailingIngestEndsFailedWithTheErrorAndKeepsTheUpload) {
  std::string upload = Upload({{"dup.csv", "id,amount\n1,2\n1,3\n"}});
  ASSERT_OK_AND_ASSIGN(JobRecord job, Submit({upload}));
  auto pool = StartPool(1);
  JobRecord done = WaitUntilFinished(job.id);
  ASSERT_EQ(done.state, JobState::kFailed);
  EXPECT_THAT(done.error, HasSubstr("update 1 of dataset 'orders' failed: QC failed"));
  ASSERT_OK_AND_ASSIGN(IngestJobResult result, IngestJobResultFromJson(done.result_json));
  EXPECT_EQ(result.update, 1);
  EXPECT_EQ(result.state, "failed");
  EXPECT_THAT(LogMessages(job.id), Contains(HasSubstr("failed: update 1 of dataset 'orders' failed")));
  EXPECT_EQ(Updates()[0].state, UpdateState::kFailed);
  EXPECT_OK(uploads_->Get(upload.substr(7), kAlice).status());  // for a retry
}

TEST_F(WorkerPoolTest, CancelWhileRunningStopsTheIngestAndFailsItsUpdate) {
  ASSERT_OK_AND_ASSIGN(JobRecord job, Submit({ManyFilesUpload(kManyFiles)}));
  auto pool = StartPool(1);
  WaitFor(job.id, Reserved);
  ASSERT_OK_AND_ASSIGN(JobRecord requested, service_->Cancel(job.id, "user:bob"));
  EXPECT_EQ(requested.state, JobState::kRunning);
  EXPECT_TRUE(requested.cancel_requested);
  JobRecord done = WaitUntilFinished(job.id);
  EXPECT_EQ(done.state, JobState::kCancelled);
  EXPECT_EQ(done.error, "cancelled by user:bob");
  ASSERT_EQ(Updates().size(), 1u);
  EXPECT_EQ(Updates()[0].state, UpdateState::kFailed);
  EXPECT_EQ(Updates()[0].failure_reason, "cancelled");
}

TEST_F(WorkerPoolTest, JobOfAWorkerWhoseLeaseExpiredIsTakenOver) {
  ASSERT_OK_AND_ASSIGN(JobRecord job, Submit({Upload({{"a.csv", "id\n1\n"}})}));
  EXPECT_EQ(LeaseAs(kOtherWorker).attempts, 1);
  clock_.Advance(std::chrono::seconds(1));  // the other worker stopped heartbeating
  auto pool = StartPool(1);
  JobRecord done = WaitUntilFinished(job.id);
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.error;
  EXPECT_EQ(done.attempts, 2);
  EXPECT_EQ(done.update_number, 1);
}

TEST_F(WorkerPoolTest, StartTakesBackJobsOfDeadProcessesAtOnce) {
  ASSERT_OK_AND_ASSIGN(JobRecord job, Submit({Upload({{"a.csv", "id\n1\n"}})}));
  // Leased by a process of this host that has exited; its lease would run for a minute more.
  std::string dead = testing::DeadProcessLeaseOwner() + "/worker-1";
  ASSERT_OK(lake_->catalog->Write([&](CatalogTransaction& tx) {
    return tx.LeaseJob(dead, clock_.NowText(), FormatTimestamp(clock_.Now() + std::chrono::minutes(1))).status();
  }));
  auto pool = StartPool(1);
  JobRecord done = WaitUntilFinished(job.id);
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.error;
  EXPECT_EQ(done.attempts, 2);
  EXPECT_THAT(LogMessages(job.id), Contains(HasSubstr("worker " + dead + " is gone")));
}

TEST_F(WorkerPoolTest, RetryOfAJobWhoseUpdateCompletedDoesNotIngestAgain) {
  std::string upload = Upload({{"a.csv", "id\n1\n2\n"}});
  ASSERT_OK_AND_ASSIGN(JobRecord job, Submit({upload}));
  LeaseAs(kOtherWorker);
  // The other worker completed the update and died before recording the job's success.
  Ingestor ingestor(config_, *lake_->catalog, *lake_->store, clock_, IngestSettingsFor(config_));
  IngestRequest request{"orders", {upload}, std::nullopt, std::nullopt, kAlice};
  NoProgress progress;
  ASSERT_OK(ingestor.Ingest(request, progress).status());
  ASSERT_OK(lake_->catalog->Write([&](CatalogTransaction& tx) { return tx.SetJobUpdate(job.id, kOtherWorker, 1); }));
  clock_.Advance(std::chrono::seconds(1));

  auto pool = StartPool(1);
  JobRecord done = WaitUntilFinished(job.id);
  ASSERT_EQ(done.state, JobState::kSucceeded) << done.error;
  ASSERT_OK_AND_ASSIGN(IngestJobResult result, IngestJobResultFromJson(done.result_json));
  EXPECT_EQ(result.update, 1);
  EXPECT_EQ(result.rows, 2);
  EXPECT_EQ(result.raw_files, 1);
  EXPECT_EQ(result.data_files, 1);
  EXPECT_EQ(Updates().size(), 1u);
  EXPECT_THAT(LogMessages(job.id), Contains("update 1 was completed by an earlier attempt"));
  EXPECT_EQ(uploads_->Get(upload.substr(7), kAlice).status().code(), StatusCode::kNotFound);
}

TEST_F(WorkerPoolTest, RetryOfAJobWhoseUpdateIsStagingFailsItAndIngestsAnew) {
  ASSERT_OK_AND_ASSIGN(JobRecord job, Submit({Upload({{"a.csv", "id\n1\n"}})}));
  LeaseAs(kOtherWorker);
  ASSERT_OK(lake_->catalog->Write([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(int64_t number, tx.ReserveUpdate("orders", UpdateKind::kSnapshot, kAlice, "elsewhere:1",
                                                      FormatTimestamp(clock_.Now() + std::chrono::minutes(1))));
    return tx.SetJobUpdate(job.id, kOtherWorker, number);
  }));
  clock_.Advance(std::chrono::seconds(1));

  auto pool = StartPool(1);
  JobRecord done = WaitUntilFinished(job.id);
  ASSERT_EQ(done.state, JobState::kSucceeded) << done.error;
  EXPECT_EQ(done.update_number, 2);
  std::vector<UpdateRecord> updates = Updates();
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0].state, UpdateState::kFailed);
  EXPECT_EQ(updates[0].failure_reason, "its job " + std::to_string(job.id) + " was taken over by another worker");
  EXPECT_EQ(updates[1].state, UpdateState::kComplete);
}

TEST_F(WorkerPoolTest, JobWhoseWorkersDiedMaxAttemptsTimesFails) {
  config_.jobs.max_attempts = 2;
  service_ = std::make_unique<JobService>(*lake_->catalog, *uploads_, clock_, config_.jobs);
  ASSERT_OK_AND_ASSIGN(JobRecord job, Submit({Upload({{"a.csv", "id\n1\n"}})}));
  LeaseAs(kOtherWorker);
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(LeaseAs("elsewhere:2/worker-1").attempts, 2);
  clock_.Advance(std::chrono::seconds(1));
  auto pool = StartPool(1);
  JobRecord done = WaitUntilFinished(job.id);
  EXPECT_EQ(done.state, JobState::kFailed);
  EXPECT_THAT(done.error, HasSubstr("stopped 2 times"));
  EXPECT_TRUE(Updates().empty());
}

TEST_F(WorkerPoolTest, StopReleasesARunningJobAndANewPoolCompletesIt) {
  ASSERT_OK_AND_ASSIGN(JobRecord job, Submit({ManyFilesUpload(kManyFiles)}));
  auto pool = StartPool(1);
  WaitFor(job.id, Reserved);
  EXPECT_EQ(pool->Running(), 1);
  pool->Stop(std::chrono::milliseconds(0));
  EXPECT_EQ(pool->Running(), 0);
  ASSERT_OK_AND_ASSIGN(JobRecord released, service_->Get(job.id));
  EXPECT_EQ(released.state, JobState::kQueued);
  EXPECT_EQ(released.attempts, 0);  // a clean shutdown is not a failed attempt
  EXPECT_TRUE(released.lease_owner.empty());
  ASSERT_EQ(Updates().size(), 1u);
  EXPECT_EQ(Updates()[0].state, UpdateState::kFailed);

  auto next = StartPool(1);
  JobRecord done = WaitUntilFinished(job.id);
  ASSERT_EQ(done.state, JobState::kSucceeded) << done.error;
  int complete = 0;
  for (const UpdateRecord& update : Updates()) complete += update.state == UpdateState::kComplete;
  EXPECT_EQ(complete, 1);
}

TEST_F(WorkerPoolTest, TwentyJobsOnThreeWorkersEachRunExactlyOnce) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK_AND_ASSIGN(JobRecord job, Submit({Upload({{"f.csv", "id\n" + std::to_string(i) + "\n"}})}));
    ids.push_back(job.id);
  }
  auto pool = StartPool(3);
  std::set<int64_t> updates;
  for (int64_t id : ids) {
    JobRecord done = WaitUntilFinished(id);
    EXPECT_EQ(done.state, JobState::kSucceeded) << done.error;
    EXPECT_EQ(done.attempts, 1);
    if (done.update_number) updates.insert(*done.update_number);
  }
  std::set<int64_t> expected;
  for (int64_t n = 1; n <= 20; ++n) expected.insert(n);
  EXPECT_EQ(updates, expected);
  EXPECT_EQ(Updates().size(), 20u);
}

}  // namespace
}  // namespace edl
