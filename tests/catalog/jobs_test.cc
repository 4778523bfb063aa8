#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/sqlite_catalog.h"
#include "catalog_test_support.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

using edl::testing::FixedClock;
using edl::testing::ReadValue;
using edl::testing::TempDir;
using edl::testing::WriteValue;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

// Lease times on the workers' clock, in order: kT0 < kT1 < kT2 < kT3.
constexpr std::string_view kT0 = "2026-01-02T04:00:00.000Z";
constexpr std::string_view kT1 = "2026-01-02T04:01:00.000Z";
constexpr std::string_view kT2 = "2026-01-02T04:02:00.000Z";
constexpr std::string_view kT3 = "2026-01-02T04:03:00.000Z";
constexpr std::string_view kBeforeT1 = "2026-01-02T04:00:59.999Z";

JobRecord Job(std::string dataset, std::string created_by = "user:alice", int64_t max_attempts = 3) {
  JobRecord job;
  job.kind = "ingest";
  job.dataset = std::move(dataset);
  job.spec_json = R"({"sources":["s3://drop/orders.csv"]})";
  job.created_by = std::move(created_by);
  job.max_attempts = max_attempts;
  return job;
}

TEST(JobState, NamesRoundTrip) {
  for (JobState state : kAllJobStates) {
    Result<JobState> parsed = ParseJobState(JobStateName(state));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, state);
  }
  EXPECT_EQ(JobStateName(JobState::kCancelled), "cancelled");
  Result<JobState> bad = ParseJobState("done");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "unknown job state 'done' (expected one of: queued, running, succeeded, failed, cancelled)");
}

class SqliteCatalogJobs : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<SqliteCatalog>> opened = SqliteCatalog::Open(file_, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    catalog_ = std::move(opened).value();
  }

  int64_t Insert(const JobRecord& job) {
    auto id = WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.InsertJob(job); });
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  JobRecord Get(int64_t id) {
    auto job = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.GetJob(id); });
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    if (!job.ok() || !job->has_value()) {
      ADD_FAILURE() << "job " << id << " is missing";
      return {};
    }
    return **job;
  }

  Result<std::optional<JobRecord>> Lease(std::string_view owner, std::string_view now,
                                         std::string_view lease_expires_at) {
    return WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.LeaseJob(owner, now, lease_expires_at); });
  }

  // The id of the job leased, 0 for none, -1 on error.
  int64_t LeasedId(std::string_view owner, std::string_view now, std::string_view lease_expires_at) {
    auto job = Lease(owner, now, lease_expires_at);
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    if (!job.ok()) return -1;
    return job->has_value() ? (*job)->id : 0;
  }

  std::vector<int64_t> ListIds(const JobFilter& filter) {
    auto jobs = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.ListJobs(filter); });
    EXPECT_TRUE(jobs.ok()) << jobs.status().ToString();
    std::vector<int64_t> ids;
    if (jobs.ok()) {
      for (const JobRecord& job : *jobs) ids.push_back(job.id);
    }
    return ids;
  }

  TempDir dir_;
  FixedClock clock_;
  std::filesystem::path file_ = dir_.path() / "catalog.db";
  std::unique_ptr<SqliteCatalog> catalog_;
};

// ---- records ----

TEST_F(SqliteCatalogJobs, InsertedJobIsQueuedWithTheClocksTime) {
  EXPECT_EQ(Insert(Job("orders")), 1);
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(Insert(Job("customers", "user:bob", 5)), 2);

  JobRecord job = Get(2);
  EXPECT_EQ(job.id, 2);
  EXPECT_EQ(job.kind, "ingest");
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.dataset, "customers");
  EXPECT_EQ(job.spec_json, R"({"sources":["s3://drop/orders.csv"]})");
  EXPECT_EQ(job.created_by, "user:bob");
  EXPECT_EQ(job.created_at, clock_.NowText());
  EXPECT_EQ(job.started_at, std::nullopt);
  EXPECT_EQ(job.finished_at, std::nullopt);
  EXPECT_EQ(job.attempts, 0);
  EXPECT_EQ(job.max_attempts, 5);
  EXPECT_EQ(job.lease_owner, "");
  EXPECT_EQ(job.lease_expires_at, std::nullopt);
  EXPECT_FALSE(job.cancel_requested);
  EXPECT_EQ(job.cancel_requested_by, std::nullopt);
  EXPECT_EQ(job.progress, JobProgress{});
  EXPECT_EQ(job.update_number, std::nullopt);
  EXPECT_EQ(job.result_json, "");
  EXPECT_EQ(job.error, "");

  auto missing = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.GetJob(3); });
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(*missing, std::nullopt);
}

TEST_F(SqliteCatalogJobs, InsertRefusesAJobWithoutKindOrAttempts) {
  JobRecord no_kind = Job("orders");
  no_kind.kind = "";
  JobRecord no_attempts = Job("orders", "user:alice", 0);
  for (const JobRecord& job : {no_kind, no_attempts}) {
    auto id = WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.InsertJob(job); });
    EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(SqliteCatalogJobs, ListsNewestFirstWithFiltersAndPaging) {
  Insert(Job("orders", "user:alice"));     // 1
  Insert(Job("customers", "user:bob"));    // 2
  Insert(Job("orders", "user:bob"));       // 3
  Insert(Job("orders", "user:alice"));     // 4
  Insert(Job("customers", "user:alice"));  // 5
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);

  EXPECT_THAT(ListIds({}), ElementsAre(5, 4, 3, 2, 1));
  JobFilter running;
  running.state = JobState::kRunning;
  EXPECT_THAT(ListIds(running), ElementsAre(1));
  JobFilter queued;
  queued.state = JobState::kQueued;
  EXPECT_THAT(ListIds(queued), ElementsAre(5, 4, 3, 2));
  JobFilter orders;
  orders.dataset = "orders";
  EXPECT_THAT(ListIds(orders), ElementsAre(4, 3, 1));
  JobFilter bob;
  bob.created_by = "user:bob";
  EXPECT_THAT(ListIds(bob), ElementsAre(3, 2));
  JobFilter combined;
  combined.state = JobState::kQueued;
  combined.dataset = "orders";
  combined.created_by = "user:alice";
  EXPECT_THAT(ListIds(combined), ElementsAre(4));
  JobFilter none;
  none.dataset = "nothing";
  EXPECT_THAT(ListIds(none), IsEmpty());

  JobFilter page;
  page.limit = 2;
  EXPECT_THAT(ListIds(page), ElementsAre(5, 4));
  page.before_id = 4;
  EXPECT_THAT(ListIds(page), ElementsAre(3, 2));
  page.before_id = 2;
  EXPECT_THAT(ListIds(page), ElementsAre(1));
  page.before_id = 1;
  EXPECT_THAT(ListIds(page), IsEmpty());

  JobFilter negative;
  negative.limit = -1;
  auto refused = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.ListJobs(negative); });
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteCatalogJobs, CountsByStateInLifecycleOrder) {
  auto empty = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.CountJobsByState(); });
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_THAT(*empty, IsEmpty());

  for (int i = 0; i < 4; ++i) Insert(Job("orders"));
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 2);
  ASSERT_OK(
      catalog_->Write([](CatalogTransaction& txn) { return txn.FinishJob(2, "w1", JobState::kSucceeded, "{}", ""); }));
  auto counts = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.CountJobsByState(); });
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_THAT(*counts,
              ElementsAre(Pair(JobState::kQueued, 2), Pair(JobState::kRunning, 1), Pair(JobState::kSucceeded, 1)));
}

// ---- leases ----

TEST_F(SqliteCatalogJobs, LeasesTheOldestQueuedJob) {
  Insert(Job("orders"));
  Insert(Job("customers"));
  clock_.Advance(std::chrono::seconds(3));
  ASSERT_OK_AND_ASSIGN(std::optional<JobRecord> leased, Lease("host:1/worker-0", kT0, kT1));
  ASSERT_TRUE(leased.has_value());
  EXPECT_EQ(leased->id, 1);
  EXPECT_EQ(leased->state, JobState::kRunning);
  EXPECT_EQ(leased->lease_owner, "host:1/worker-0");
  EXPECT_EQ(leased->lease_expires_at, std::optional<std::string>(kT1));
  EXPECT_EQ(leased->attempts, 1);
  EXPECT_EQ(leased->started_at, std::optional<std::string>(clock_.NowText()));

  EXPECT_EQ(LeasedId("host:1/worker-1", kT0, kT1), 2);
  EXPECT_EQ(LeasedId("host:1/worker-2", kT0, kT1), 0);  // both running, neither expired
}

TEST_F(SqliteCatalogJobs, AnExpiredLeaseIsTakenOverByAnotherWorker) {
  Insert(Job("orders"));
  std::string started = clock_.NowText();
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  clock_.Advance(std::chrono::minutes(1));
  EXPECT_EQ(LeasedId("w2", kBeforeT1, kT2), 0);  // not expired yet

  ASSERT_OK_AND_ASSIGN(std::optional<JobRecord> taken, Lease("w2", kT1, kT2));  // expired at kT1
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->id, 1);
  EXPECT_EQ(taken->lease_owner, "w2");
  EXPECT_EQ(taken->lease_expires_at, std::optional<std::string>(kT2));
  EXPECT_EQ(taken->attempts, 2);
  EXPECT_EQ(taken->started_at, std::optional<std::string>(started));  // the first lease's

  auto renewed = WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.RenewJobLease(1, "w1", kT3); });
  ASSERT_FALSE(renewed.ok());
  EXPECT_EQ(renewed.status().code(), StatusCode::kConflict);
  EXPECT_EQ(renewed.status().message(), "job 1 is not held by worker w1 (it is held by w2)");

  ASSERT_OK_AND_ASSIGN(JobRecord kept,
                       WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.RenewJobLease(1, "w2", kT3); }));
  EXPECT_EQ(kept.lease_expires_at, std::optional<std::string>(kT3));
  EXPECT_EQ(kept.attempts, 2);
  EXPECT_EQ(LeasedId("w3", kT2, kT3), 0);  // renewed past kT2
}

TEST_F(SqliteCatalogJobs, AJobWhoseWorkersKeepDyingFailsAndTheNextOneIsLeased) {
  Insert(Job("orders", "user:alice", /*max_attempts=*/2));
  Insert(Job("customers"));
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 2);
  ASSERT_OK(
      catalog_->Write([](CatalogTransaction& txn) { return txn.FinishJob(2, "w1", JobState::kSucceeded, "{}", ""); }));
  Insert(Job("orders"));                   // 3
  ASSERT_EQ(LeasedId("w2", kT1, kT2), 1);  // attempt 2 of 2

  // Job 1 expired again with no attempts left: failed, and the search goes on to job 3.
  EXPECT_EQ(LeasedId("w3", kT2, kT3), 3);
  JobRecord failed = Get(1);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.error, "its worker stopped 2 times (lease expired)");
  EXPECT_EQ(failed.attempts, 2);
  EXPECT_EQ(failed.finished_at, std::optional<std::string>(clock_.NowText()));
  EXPECT_EQ(failed.lease_owner, "");
  EXPECT_EQ(failed.lease_expires_at, std::nullopt);
  EXPECT_EQ(LeasedId("w4", kT3, kT3), 3);  // job 3's lease expired at kT3; job 1 is not retried
}

TEST_F(SqliteCatalogJobs, AnExhaustedJobWhoseUpdateCompletedSucceedsAndOneWithAStagingUpdateFailsIt) {
  // Workers that died after reserving (job 1: even after completing) their update, on their last attempt.
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) -> Status {
    RETURN_IF_ERROR(txn.InsertDataset(testing::SimpleDataset("orders")));
    RETURN_IF_ERROR(txn.ReserveUpdate("orders", UpdateKind::kSnapshot, "user:alice", "w1", kT1).status());
    RETURN_IF_ERROR(txn.ReserveUpdate("orders", UpdateKind::kSnapshot, "user:alice", "w1", kT1).status());
    return txn.CompleteUpdate("orders", 1, "{}", {});
  }));
  Insert(Job("orders", "user:alice", /*max_attempts=*/1));
  Insert(Job("orders", "user:alice", /*max_attempts=*/1));
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 2);
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) -> Status {
    RETURN_IF_ERROR(txn.SetJobUpdate(1, "w1", 1));
    return txn.SetJobUpdate(2, "w1", 2);
  }));
  EXPECT_EQ(LeasedId("w2", kT2, kT3), 0);
  EXPECT_EQ(Get(1).state, JobState::kSucceeded);
  EXPECT_EQ(Get(2).state, JobState::kFailed);
  auto update = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.GetUpdate("orders", 2); });
  ASSERT_TRUE(update.ok() && update->has_value());
  EXPECT_EQ((*update)->state, UpdateState::kFailed);
  EXPECT_EQ((*update)->failure_reason, "its job 2 ended without finishing it");
}

TEST_F(SqliteCatalogJobs, AnExpiredJobWithACancelRequestIsCancelledNotLeased) {
  Insert(Job("orders"));
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  ASSERT_TRUE(WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.RequestJobCancel(1, "user:bob"); }).ok());
  EXPECT_EQ(LeasedId("w2", kT1, kT2), 0);
  JobRecord job = Get(1);
  EXPECT_EQ(job.state, JobState::kCancelled);
  EXPECT_EQ(job.error, "cancelled by user:bob");
  EXPECT_EQ(job.finished_at, std::optional<std::string>(clock_.NowText()));
  EXPECT_EQ(job.lease_owner, "");
}

TEST_F(SqliteCatalogJobs, ProgressAndUpdateAreRecordedByTheHolderOnly) {
  Insert(Job("orders"));
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  JobProgress progress{"convert", 1ULL << 40, 3ULL << 40, 2, 7};
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) -> Status {
    RETURN_IF_ERROR(txn.SetJobProgress(1, "w1", progress));
    return txn.SetJobUpdate(1, "w1", 12);
  }));
  JobRecord job = Get(1);
  EXPECT_EQ(job.progress, progress);
  EXPECT_EQ(job.update_number, std::optional<int64_t>(12));

  Status other = catalog_->Write([&](CatalogTransaction& txn) { return txn.SetJobProgress(1, "w2", {}); });
  EXPECT_EQ(other.code(), StatusCode::kConflict);
  EXPECT_EQ(other.message(), "job 1 is not held by worker w2 (it is held by w1)");
  Status update = catalog_->Write([&](CatalogTransaction& txn) { return txn.SetJobUpdate(1, "w2", 13); });
  EXPECT_EQ(update.code(), StatusCode::kConflict);
  EXPECT_EQ(Get(1).progress, progress);
  Status missing = catalog_->Write([&](CatalogTransaction& txn) { return txn.SetJobUpdate(9, "w1", 13); });
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "job 9 does not exist");
}

// ---- finishing ----

TEST_F(SqliteCatalogJobs, TheHolderFinishesAJob) {
  Insert(Job("orders"));
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  clock_.Advance(std::chrono::seconds(30));

  Status not_final =
      catalog_->Write([](CatalogTransaction& txn) { return txn.FinishJob(1, "w1", JobState::kQueued, "", ""); });
  EXPECT_EQ(not_final.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(not_final.message(), "cannot finish job 1 as queued: not a final state (succeeded, failed or cancelled)");
  Status not_holder =
      catalog_->Write([](CatalogTransaction& txn) { return txn.FinishJob(1, "w2", JobState::kSucceeded, "{}", ""); });
  EXPECT_EQ(not_holder.code(), StatusCode::kConflict);
  EXPECT_EQ(not_holder.message(), "job 1 is not held by worker w2 (it is held by w1)");

  ASSERT_OK(catalog_->Write(
      [](CatalogTransaction& txn) { return txn.FinishJob(1, "w1", JobState::kSucceeded, R"({"update":1})", ""); }));
  JobRecord job = Get(1);
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_EQ(job.result_json, R"({"update":1})");
  EXPECT_EQ(job.finished_at, std::optional<std::string>(clock_.NowText()));
  EXPECT_EQ(job.lease_owner, "");
  EXPECT_EQ(job.lease_expires_at, std::nullopt);

  auto renewed = WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.RenewJobLease(1, "w1", kT2); });
  EXPECT_EQ(renewed.status().code(), StatusCode::kConflict);
  EXPECT_EQ(renewed.status().message(), "job 1 is not held by worker w1 (it is succeeded)");
  Status twice =
      catalog_->Write([](CatalogTransaction& txn) { return txn.FinishJob(1, "w1", JobState::kFailed, "", "late"); });
  EXPECT_EQ(twice.code(), StatusCode::kConflict);
  EXPECT_EQ(LeasedId("w2", kT3, kT3), 0);
}

TEST_F(SqliteCatalogJobs, AFailedJobKeepsItsError) {
  Insert(Job("orders"));
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) {
    return txn.FinishJob(1, "w1", JobState::kFailed, "", "QC check not_null on order_id failed");
  }));
  JobRecord job = Get(1);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.error, "QC check not_null on order_id failed");
}

TEST_F(SqliteCatalogJobs, AReleasedJobIsQueuedAgainWithoutCountingTheAttempt) {
  Insert(Job("orders", "user:alice", /*max_attempts=*/1));
  std::string started = clock_.NowText();
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  Status other = catalog_->Write([](CatalogTransaction& txn) { return txn.ReleaseJob(1, "w2"); });
  EXPECT_EQ(other.code(), StatusCode::kConflict);
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) { return txn.ReleaseJob(1, "w1"); }));
  JobRecord job = Get(1);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.attempts, 0);
  EXPECT_EQ(job.lease_owner, "");
  EXPECT_EQ(job.lease_expires_at, std::nullopt);

  // With max_attempts 1, the release must not have used up the only attempt.
  clock_.Advance(std::chrono::seconds(5));
  ASSERT_OK_AND_ASSIGN(std::optional<JobRecord> again, Lease("w2", kT0, kT1));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->attempts, 1);
  EXPECT_EQ(again->started_at, std::optional<std::string>(started));
  Status released_twice = catalog_->Write([](CatalogTransaction& txn) { return txn.ReleaseJob(1, "w1"); });
  EXPECT_EQ(released_twice.code(), StatusCode::kConflict);
  EXPECT_EQ(released_twice.message(), "job 1 is not held by worker w1 (it is held by w2)");
}

TEST_F(SqliteCatalogJobs, AReleasedJobWithACancelRequestIsCancelled) {
  Insert(Job("orders"));
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  ASSERT_TRUE(WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.RequestJobCancel(1, "user:bob"); }).ok());
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) { return txn.ReleaseJob(1, "w1"); }));
  JobRecord job = Get(1);
  EXPECT_EQ(job.state, JobState::kCancelled);
  EXPECT_EQ(job.error, "cancelled by user:bob");
}

// ---- cancellation ----

TEST_F(SqliteCatalogJobs, CancellingAQueuedJobCancelsItAtOnce) {
  Insert(Job("orders"));
  ASSERT_OK_AND_ASSIGN(JobRecord job, WriteValue(*catalog_, [](CatalogTransaction& txn) {
                         return txn.RequestJobCancel(1, "user:bob");
                       }));
  EXPECT_EQ(job.state, JobState::kCancelled);
  EXPECT_EQ(job.finished_at, std::optional<std::string>(clock_.NowText()));
  EXPECT_EQ(job.error, "cancelled by user:bob");
  EXPECT_EQ(job.cancel_requested_by, std::optional<std::string>("user:bob"));
  EXPECT_EQ(LeasedId("w1", kT0, kT1), 0);
}

TEST_F(SqliteCatalogJobs, CancellingARunningJobAsksItsWorker) {
  Insert(Job("orders"));
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  ASSERT_OK_AND_ASSIGN(JobRecord job, WriteValue(*catalog_, [](CatalogTransaction& txn) {
                         return txn.RequestJobCancel(1, "user:bob");
                       }));
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_TRUE(job.cancel_requested);
  EXPECT_EQ(job.cancel_requested_by, std::optional<std::string>("user:bob"));
  EXPECT_EQ(job.finished_at, std::nullopt);

  // A second request keeps the first requester.
  ASSERT_OK_AND_ASSIGN(JobRecord again, WriteValue(*catalog_, [](CatalogTransaction& txn) {
                         return txn.RequestJobCancel(1, "user:carol");
                       }));
  EXPECT_EQ(again.cancel_requested_by, std::optional<std::string>("user:bob"));

  // The worker learns of it when it renews, and stops the job.
  ASSERT_OK_AND_ASSIGN(JobRecord renewed,
                       WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.RenewJobLease(1, "w1", kT2); }));
  EXPECT_TRUE(renewed.cancel_requested);
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) {
    return txn.FinishJob(1, "w1", JobState::kCancelled, "", "cancelled by user:bob");
  }));
  EXPECT_EQ(Get(1).state, JobState::kCancelled);
}

TEST_F(SqliteCatalogJobs, CancellingAFinishedOrMissingJobIsRefused) {
  Insert(Job("orders"));
  ASSERT_EQ(LeasedId("w1", kT0, kT1), 1);
  ASSERT_OK(
      catalog_->Write([](CatalogTransaction& txn) { return txn.FinishJob(1, "w1", JobState::kSucceeded, "{}", ""); }));
  auto finished = WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.RequestJobCancel(1, "user:bob"); });
  EXPECT_EQ(finished.status().code(), StatusCode::kConflict);
  EXPECT_EQ(finished.status().message(), "job 1 is already succeeded");
  EXPECT_FALSE(Get(1).cancel_requested);

  auto missing = WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.RequestJobCancel(7, "user:bob"); });
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "job 7 does not exist");
}

// ---- logs ----

TEST_F(SqliteCatalogJobs, LogLinesAreNumberedPerJobAndReadInPages) {
  Insert(Job("orders"));
  Insert(Job("customers"));
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) -> Status {
    RETURN_IF_ERROR(txn.AppendJobLog(1, "info", "fetching s3://drop/orders.csv"));
    RETURN_IF_ERROR(txn.AppendJobLog(2, "info", "fetching customers"));
    RETURN_IF_ERROR(txn.AppendJobLog(1, "warn", "column 'note' is empty"));
    return txn.AppendJobLog(1, "error", "QC failed");
  }));
  auto seqs = [&](int64_t id, int64_t after_seq, int64_t limit) {
    auto lines = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.ListJobLogs(id, after_seq, limit); });
    EXPECT_TRUE(lines.ok()) << lines.status().ToString();
    std::vector<std::string> out;
    if (lines.ok()) {
      for (const JobLogLine& line : *lines) {
        EXPECT_EQ(line.job_id, id);
        EXPECT_EQ(line.at, clock_.NowText());
        out.push_back(std::to_string(line.seq) + " " + line.level + " " + line.message);
      }
    }
    return out;
  };
  EXPECT_THAT(seqs(1, 0, 100), ElementsAre("1 info fetching s3://drop/orders.csv", "2 warn column 'note' is empty",
                                           "3 error QC failed"));
  EXPECT_THAT(seqs(2, 0, 100), ElementsAre("1 info fetching customers"));
  EXPECT_THAT(seqs(1, 1, 1), ElementsAre("2 warn column 'note' is empty"));
  EXPECT_THAT(seqs(1, 3, 100), IsEmpty());
  EXPECT_THAT(seqs(9, 0, 100), IsEmpty());

  Status missing = catalog_->Write([](CatalogTransaction& txn) { return txn.AppendJobLog(9, "info", "hello"); });
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "job 9 does not exist");
}

// ---- concurrency ----

// Workers in several processes share the catalog file: each thread here opens its own catalog
// (its own connections), so only SQLite's locking keeps two workers off the same job.
TEST(SqliteCatalogJobsConcurrency, EightWorkersLeaseEachOfFiftyJobsExactlyOnce) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.path() / "catalog.db";
  SqliteCatalogOptions options;
  options.busy_timeout = std::chrono::seconds(60);
  constexpr int kJobs = 50;
  constexpr int kWorkers = 8;
  {
    auto catalog = SqliteCatalog::Open(file, clock, options);
    ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
    ASSERT_OK((*catalog)->Write([&](CatalogTransaction& txn) -> Status {
      for (int i = 0; i < kJobs; ++i) RETURN_IF_ERROR(txn.InsertJob(Job("orders")).status());
      return Status::Ok();
    }));
  }

  std::vector<std::vector<int64_t>> leased(kWorkers);
  std::vector<Status> errors(kWorkers);
  std::vector<std::thread> threads;
  threads.reserve(kWorkers);
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      auto catalog = SqliteCatalog::Open(file, clock, options);
      if (!catalog.ok()) {
        errors[w] = catalog.status();
        return;
      }
      std::string owner = "host:1/worker-" + std::to_string(w);
      while (true) {
        std::optional<JobRecord> job;
        Status status = (*catalog)->Write([&](CatalogTransaction& txn) -> Status {
          ASSIGN_OR_RETURN(job, txn.LeaseJob(owner, kT0, kT1));
          return Status::Ok();
        });
        if (!status.ok()) {
          errors[w] = status;
          return;
        }
        if (!job) return;
        leased[w].push_back(job->id);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& error : errors) EXPECT_OK(error);

  std::multiset<int64_t> all;
  for (const auto& ids : leased) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kJobs));
  for (int64_t id = 1; id <= kJobs; ++id) EXPECT_EQ(all.count(id), 1u) << "job " << id;

  auto catalog = SqliteCatalog::Open(file, clock, options);
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  for (int w = 0; w < kWorkers; ++w) {
    for (int64_t id : leased[w]) {
      auto job = ReadValue(**catalog, [&](CatalogTransaction& txn) { return txn.GetJob(id); });
      ASSERT_TRUE(job.ok() && job->has_value());
      EXPECT_EQ((*job)->attempts, 1) << "job " << id;
      EXPECT_EQ((*job)->lease_owner, "host:1/worker-" + std::to_string(w)) << "job " << id;
    }
  }
}

}  // namespace
}  // namespace edl
