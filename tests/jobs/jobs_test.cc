// JobService and the JSON forms of ingest jobs, against the real SQLite catalog.
#include "jobs/jobs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "jobs/jobs_test_support.h"

namespace edl {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using JobsTest = testing::JobsFixture;
using testing::kAlice;

TEST(JobsJson, SpecRoundTripsAndIsReadStrictly) {
  IngestJobSpec spec;
  spec.dataset = "orders";
  spec.sources = {"drop:", "https://example.com/a.csv"};
  spec.kind = UpdateKind::kDelta;
  spec.format = "csv";
  ASSERT_OK_AND_ASSIGN(IngestJobSpec back, IngestJobSpecFromJson(IngestJobSpecToJson(spec)));
  EXPECT_EQ(back.dataset, spec.dataset);
  EXPECT_EQ(back.sources, spec.sources);
  EXPECT_EQ(back.kind, spec.kind);
  EXPECT_EQ(back.format, spec.format);

  const std::pair<std::string, std::string> bad[] = {
      {R"({"dataset":"d","sources":[],"extra":1})", "unknown field 'extra'"},
      {R"({"dataset":"d","sources":"drop:"})", "'sources' must be an array of strings"},
      {R"({"dataset":"d","sources":[1]})", "'sources' must be an array of strings"},
      {R"({"dataset":7,"sources":[]})", "'dataset' must be a string"},
      {R"({"sources":[]})", "'dataset' is missing"},
      {R"({"dataset":"d","sources":[],"kind":"sideways"})", "'kind'"},
      {R"([1])", "must be a JSON object"},
      {"{", "not valid JSON"}};
  for (const auto& [text, message] : bad) {
    auto parsed = IngestJobSpecFromJson(text);
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(parsed.status().message(), HasSubstr(message)) << text;
  }
}

TEST(JobsJson, ResultRoundTripsAndIsReadStrictly) {
  IngestJobResult result;
  result.update = 4;
  result.state = "complete";
  result.rows = 10;
  result.data_files = 2;
  result.raw_files = 3;
  result.fetched_bytes = 100;
  result.parquet_bytes = 50;
  result.seconds = 1.5;
  result.warnings = {"schema changed: added note VARCHAR"};
  ASSERT_OK_AND_ASSIGN(IngestJobResult back, IngestJobResultFromJson(IngestJobResultToJson(result)));
  EXPECT_EQ(back.update, 4);
  EXPECT_EQ(back.state, "complete");
  EXPECT_EQ(back.rows, 10);
  EXPECT_EQ(back.data_files, 2);
  EXPECT_EQ(back.raw_files, 3);
  EXPECT_EQ(back.fetched_bytes, 100u);
  EXPECT_EQ(back.parquet_bytes, 50u);
  EXPECT_DOUBLE_EQ(back.seconds, 1.5);
  EXPECT_EQ(back.warnings, result.warnings);

  auto wrong_type = IngestJobResultFromJson(R"({"rows":"many"})");
  EXPECT_EQ(wrong_type.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_type.status().message(), HasSubstr("'rows'"));
  auto negative = IngestJobResultFromJson(R"({"fetched_bytes":-1})");
  EXPECT_THAT(negative.status().message(), HasSubstr("'fetched_bytes'"));
  auto unknown = IngestJobResultFromJson(R"({"update":1,"colour":"red"})");
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown field 'colour'"));
}

TEST_F(JobsTest, SubmitRefusesSourcesAUserMayNotName) {
  const std::string refused[] = {"/etc/passwd",
                                 "relative.csv",
                                 "file:///etc/passwd",
                                 "s3://bucket/key",
                                 "drop:other",
                                 "upload:abc",
                                 "upload:" + std::string(32, 'A'),
                                 "upload:" + std::string(32, 'a') + "/x",
                                 "upload:../../etc"};
  for (const std::string& source : refused) {
    auto job = Submit({source});
    EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument) << source;
    EXPECT_THAT(job.status().message(), HasSubstr("is not allowed through the API")) << source;
  }
  // Credentials in a refused URL are not echoed.
  auto secret = Submit({"ftp://user:s3cret@files.example.com/a.csv"});
  EXPECT_THAT(secret.status().message(), HasSubstr("'ftp://files.example.com/a.csv'"));
  EXPECT_THAT(secret.status().message(), Not(HasSubstr("s3cret")));

  EXPECT_EQ(Submit({}).status().code(), StatusCode::kInvalidArgument);
  auto unknown = Submit({"drop:"}, "nope");
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "dataset 'nope' does not exist");

  // Uploads: only the submitter's own, and only existing ones; the two look alike.
  std::string bobs = Upload({{"a.csv", "id\n1\n"}}, "user:bob");
  auto others = Submit({bobs});
  EXPECT_EQ(others.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(others.status().message(), "upload " + bobs.substr(7) + " does not exist");
  auto missing = Submit({"upload:" + std::string(32, 'e')});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "upload " + std::string(32, 'e') + " does not exist");

  ASSERT_OK_AND_ASSIGN(auto jobs, service_->List(JobFilter{}));
  EXPECT_TRUE(jobs.empty());
}

TEST_F(JobsTest, SubmitQueuesLogsAndAuditsTheJob) {
  config_.jobs.max_attempts = 5;
  service_ = std::make_unique<JobService>(*lake_->catalog, *uploads_, clock_, config_.jobs);
  std::string upload = Upload({{"a.csv", "id\n1\n"}});
  ASSERT_OK_AND_ASSIGN(JobRecord job,
                       Submit({upload, "drop:", "HTTPS://bob:pw@example.com/a.csv", "http://example.com/b.csv"}));
  EXPECT_GT(job.id, 0);
  EXPECT_EQ(job.kind, kIngestJobKind);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.dataset, "orders");
  EXPECT_EQ(job.created_by, kAlice);
  EXPECT_EQ(job.attempts, 0);
  EXPECT_EQ(job.max_attempts, 5);
  ASSERT_OK_AND_ASSIGN(IngestJobSpec spec, IngestJobSpecFromJson(job.spec_json));
  EXPECT_EQ(spec.sources.size(), 4u);
  EXPECT_THAT(LogMessages(job.id), Contains("queued by user:alice"));

  std::vector<AuditEvent> audit;
  ASSERT_OK(lake_->catalog->Read([&](CatalogTransaction& tx) -> Status {
    AuditQuery query;
    query.target = "job:" + std::to_string(job.id);
    ASSIGN_OR_RETURN(audit, tx.ListAudit(query));
    return Status::Ok();
  }));
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "job.submit");
  EXPECT_EQ(audit[0].actor, kAlice);
  json details = json::parse(audit[0].details_json);
  EXPECT_EQ(details["dataset"], "orders");
  EXPECT_EQ(details["sources"][2], "HTTPS://example.com/a.csv");  // no credentials in the audit log

  ASSERT_OK_AND_ASSIGN(JobRecord got, service_->Get(job.id));
  EXPECT_EQ(got.spec_json, job.spec_json);
  EXPECT_EQ(service_->Get(999).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Logs(999, 0, 10).status().code(), StatusCode::kNotFound);
}

TEST_F(JobsTest, CancelQueuedJobEndsItAtOnceAndIsAudited) {
  ASSERT_OK_AND_ASSIGN(JobRecord job, Submit({"drop:"}));
  ASSERT_OK_AND_ASSIGN(JobRecord cancelled, service_->Cancel(job.id, "user:bob"));
  EXPECT_EQ(cancelled.state, JobState::kCancelled);
  EXPECT_EQ(cancelled.error, "cancelled by user:bob");
  EXPECT_THAT(LogMessages(job.id), Contains("cancelled by user:bob"));
  auto again = service_->Cancel(job.id, "user:bob");
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_EQ(service_->Cancel(999, "user:bob").status().code(), StatusCode::kNotFound);

  std::vector<AuditEvent> audit;
  ASSERT_OK(lake_->catalog->Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(audit, tx.ListAudit(AuditQuery{}));
    return Status::Ok();
  }));
  EXPECT_EQ(audit.back().action, "job.cancel");
  EXPECT_EQ(audit.back().actor, "user:bob");
  EXPECT_EQ(audit.back().target, "job:" + std::to_string(job.id));

  // A pool never runs it.
  ASSERT_OK_AND_ASSIGN(JobRecord next, Submit({Upload({{"a.csv", "id\n1\n"}})}));
  auto pool = StartPool(1);
  EXPECT_EQ(WaitUntilFinished(next.id).state, JobState::kSucceeded);
  ASSERT_OK_AND_ASSIGN(JobRecord after, service_->Get(job.id));
  EXPECT_EQ(after.state, JobState::kCancelled);
  EXPECT_EQ(after.attempts, 0);
  EXPECT_FALSE(after.started_at.has_value());
  EXPECT_EQ(Updates().size(), 1u);
}

}  // namespace
}  // namespace edl
