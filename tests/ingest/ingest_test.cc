#include "ingest/ingest.h"

#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "deploy/inventory.h"
#include "ingest/lake_test_support.h"
#include "ingest/uploads.h"
#include "lake/lake.h"
#include "storage/object_store.h"
#include "testing/status_testing.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

constexpr char kBucket[] = "datalake-dev01-restricted-eu-west-1";

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(config_, testing::TestInstanceConfig(dir_.path()));
    ASSERT_OK_AND_ASSIGN(lake_, testing::OpenDeployedTestLake(config_, clock_));
    Deploy("name: orders\ntier: restricted\nowners: [alice]\n"
           "qc: [{check: not_null, column: id}, {check: unique, columns: [id]}]\n"
           "triggers: [{pipeline: orders-daily}]\n");
  }

  void Deploy(const std::string& yaml) { ASSERT_OK(testing::DeployTestDataset(config_, *lake_, yaml)); }

  Result<IngestOutcome> Ingest(const std::string& dataset, std::vector<std::string> sources,
                               std::optional<UpdateKind> kind = std::nullopt) {
    Ingestor ingestor(config_, *lake_->catalog, *lake_->store, clock_, IngestSettingsFor(config_));
    IngestRequest request;
    request.dataset = dataset;
    request.sources = std::move(sources);
    request.kind = kind;
    request.actor = "user:test";
    NoProgress progress;
    return ingestor.Ingest(request, progress);
  }

  std::vector<UpdateRecord> Updates(const std::string& dataset) {
    auto updates = ListDatasetUpdates(*lake_->catalog, dataset);
    EXPECT_TRUE(updates.ok());
    return *updates;
  }

  std::string Csv(const std::string& name, const std::string& content) { return dir_.WriteFile(name, content).string(); }

  testing::TempDir dir_;
  SystemClock clock_;
  InstanceConfig config_;
  std::unique_ptr<Lake> lake_;
};

TEST_F(IngestTest, CsvBecomesACompleteSealedUpdate) {
  auto outcome = Ingest("orders", {Csv("in/orders.csv", "id,amount,day\n1,9.5,2026-01-01\n2,,2026-01-02\n3,7.25,2026-01-03\n")});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->update, 1);
  EXPECT_EQ(outcome->state, UpdateState::kComplete);
  EXPECT_EQ(outcome->rows, 3);
  EXPECT_EQ(outcome->raw_files, 1);
  EXPECT_EQ(outcome->data_files, 1);

  ObjectStore& store = *lake_->store;
  auto raw = store.GetBytes(kBucket, "orders/raw/update-00000001/orders.csv");
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_THAT(*raw, HasSubstr("2,,2026-01-02"));
  EXPECT_TRUE(store.Head(kBucket, "orders/data/update-00000001/orders.parquet").ok());
  auto manifest = store.GetBytes(kBucket, "orders/data/update-00000001/_manifest.json");
  ASSERT_TRUE(manifest.ok());
  json m = json::parse(*manifest);
  EXPECT_EQ(m["rows"], 3);
  EXPECT_EQ(m["files"][0]["key"], "orders/data/update-00000001/orders.parquet");
  EXPECT_EQ(m["files"][0]["sha256"].get<std::string>().size(), 64u);

  // Frozen: nothing can be written or deleted in a complete update.
  EXPECT_EQ(store.PutBytes(kBucket, "orders/data/update-00000001/extra.parquet", "x").code(), StatusCode::kConflict);
  EXPECT_EQ(store.Delete(kBucket, "orders/raw/update-00000001/orders.csv").code(), StatusCode::kConflict);

  auto details = DescribeUpdate(*lake_->catalog, "orders", 1);
  ASSERT_TRUE(details.ok());
  EXPECT_EQ(details->update.state, UpdateState::kComplete);
  EXPECT_EQ(details->files.size(), 2u);
  json metadata = json::parse(details->update.metadata_json);
  EXPECT_EQ(metadata["rows"], 3);
  EXPECT_EQ(metadata["sources"][0]["files"][0]["sha256"].get<std::string>().size(), 64u);
  ASSERT_EQ(metadata["columns"].size(), 3u);
  EXPECT_EQ(metadata["columns"][1]["name"], "amount");
  EXPECT_EQ(metadata["columns"][1]["null_count"], 1);
  EXPECT_EQ(metadata["qc"].size(), 2u);
  EXPECT_TRUE(metadata["qc"][0]["passed"].get<bool>());

  auto events = [&] {
    std::vector<TriggerEvent> out;
    EXPECT_OK(lake_->catalog->Read([&](CatalogTransaction& tx) -> Status {
      ASSIGN_OR_RETURN(out, tx.ListTriggerEvents(std::string_view("orders")));
      return Status::Ok();
    }));
    return out;
  }();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].pipeline, "orders-daily");
  EXPECT_EQ(events[0].state, "pending");
}

TEST_F(IngestTest, NumbersAreNeverReusedAndSchemaChangesAreRecorded) {
  ASSERT_TRUE(Ingest("orders", {Csv("a.csv", "id,amount\n1,2\n")}).ok());
  auto bad = Ingest("orders", {Csv("empty.csv", "")});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("update 2 of dataset 'orders' failed"));
  auto third = Ingest("orders", {Csv("b.csv", "id,amount,note\n2,3,hello\n")});
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->update, 3);
  ASSERT_EQ(third->warnings.size(), 1u);
  EXPECT_THAT(third->warnings[0], HasSubstr("added note"));
  std::vector<UpdateRecord> updates = Updates("orders");
  ASSERT_EQ(updates.size(), 3u);
  EXPECT_EQ(updates[1].state, UpdateState::kFailed);
  EXPECT_THAT(updates[1].failure_reason, HasSubstr("empty.csv"));
}

TEST_F(IngestTest, SchemaChangeFailsUnderPolicyFail) {
  Deploy("name: strict\ntier: restricted\nowners: [alice]\nschema_changes: fail\n");
  ASSERT_TRUE(Ingest("strict", {Csv("a.csv", "id,amount\n1,2\n")}).ok());
  auto changed = Ingest("strict", {Csv("b.csv", "id,amount\n1,abc\n")});
  ASSERT_FALSE(changed.ok());
  EXPECT_THAT(changed.status().message(), HasSubstr("amount changed from BIGINT to VARCHAR"));
}

TEST_F(IngestTest, FailedQcKeepsFilesForInspectionButNeverCompletes) {
  auto outcome = Ingest("orders", {Csv("dup.csv", "id,amount\n1,2\n1,3\n,4\n")});
  ASSERT_FALSE(outcome.ok());
  EXPECT_THAT(outcome.status().message(), HasSubstr("QC failed"));
  EXPECT_THAT(outcome.status().message(), HasSubstr("not_null"));
  EXPECT_THAT(outcome.status().message(), HasSubstr("unique"));
  auto details = DescribeUpdate(*lake_->catalog, "orders", 1);
  ASSERT_TRUE(details.ok());
  EXPECT_EQ(details->update.state, UpdateState::kFailed);
  json metadata = json::parse(details->update.metadata_json);
  EXPECT_FALSE(metadata["qc"][1]["passed"].get<bool>());
  EXPECT_EQ(metadata["qc"][1]["failing_rows"], 2);
  EXPECT_FALSE(metadata["qc"][1]["sample"].empty());
  EXPECT_TRUE(lake_->store->Head(kBucket, "orders/data/update-00000001/dup.parquet").ok());
  // No manifest: to anyone reading the folders, the update is not a whole, good one.
  EXPECT_EQ(lake_->store->Head(kBucket, "orders/data/update-00000001/_manifest.json").status().code(),
            StatusCode::kNotFound);
  // Not sealed: garbage collection may remove it.
  auto sealed = lake_->store->IsSealed(kBucket, "orders/data/update-00000001/dup.parquet");
  ASSERT_TRUE(sealed.ok());
  EXPECT_FALSE(*sealed);
  auto gc = CollectGarbage(*lake_->catalog, *lake_->store, clock_, std::chrono::seconds(0));
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->purged_updates, std::vector<std::string>{"orders@1"});
  EXPECT_FALSE(lake_->store->Head(kBucket, "orders/data/update-00000001/dup.parquet").ok());
  EXPECT_FALSE(lake_->store->Head(kBucket, "orders/raw/update-00000001/dup.csv").ok());
}

TEST_F(IngestTest, ConcurrentIngestsGetDistinctNumbersAndAllComplete) {
  std::vector<std::thread> threads;
  std::vector<Result<IngestOutcome>> results(4, Status(StatusCode::kInternal, "not run"));
  for (int i = 0; i < 4; ++i) {
    std::string path = Csv("c" + std::to_string(i) + ".csv", "id,amount\n" + std::to_string(i) + ",1\n");
    threads.emplace_back([&, i, path] { results[i] = Ingest("orders", {path}); });
  }
  for (std::thread& t : threads) t.join();
  std::set<int64_t> numbers;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    numbers.insert(r->update);
  }
  EXPECT_EQ(numbers, (std::set<int64_t>{1, 2, 3, 4}));
}

TEST_F(IngestTest, DeltaWithBadOperationsFailsWithASample) {
  Deploy("name: changes\ntier: restricted\nowners: [alice]\nupdates: {kind: delta, keys: [id], op_column: op}\n");
  auto good = Ingest("changes", {Csv("d1.csv", "id,op,v\n1,I,a\n2,U,b\n3,D,\n")});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  auto bad = Ingest("changes", {Csv("d2.csv", "id,op,v\n1,X,a\n2,U,b\n")});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("X"));
  auto missing = Ingest("changes", {Csv("d3.csv", "id,v\n1,a\n")});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("op"));
}

TEST_F(IngestTest, DeltaOnASnapshotDatasetIsRefusedBeforeReserving) {
  auto result = Ingest("orders", {Csv("a.csv", "id\n1\n")}, UpdateKind::kDelta);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Updates("orders").empty());
}

TEST_F(IngestTest, MissingSourceFailsTheUpdateAndChangesNothingElse) {
  auto result = Ingest("orders", {(dir_.path() / "nope.csv").string()});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("nope.csv"));
  ASSERT_EQ(Updates("orders").size(), 1u);
  EXPECT_EQ(Updates("orders")[0].state, UpdateState::kFailed);
}

// File names from outside need not be UTF-8; such a name fails the update cleanly (it is recorded
// as failed, nothing throws) instead of leaving it staging.
TEST_F(IngestTest, NonUtf8FileNameFailsTheUpdateCleanly) {
  dir_.WriteFile(std::string("latin/caf\xe9.csv"), "id,amount\n1,2\n");
  auto result = Ingest("orders", {(dir_.path() / "latin").string()});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("update 1 of dataset 'orders' failed"));
  std::vector<UpdateRecord> updates = Updates("orders");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].state, UpdateState::kFailed);
  EXPECT_FALSE(json::parse(updates[0].metadata_json).is_discarded());
}

TEST_F(IngestTest, UnknownDatasetIsNotFound) {
  auto result = Ingest("nope", {Csv("a.csv", "id\n1\n")});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
}

TEST_F(IngestTest, RawOnlyFilesStayInRawUnlessConversionIsRequired) {
  Deploy("name: docs\ntier: restricted\nowners: [alice]\n");
  std::string pdf = dir_.WriteFile("docs/protocol.pdf", "%PDF-1.4\n%\xe2\xe3\xcf\xd3\nbinary").string();
  std::string csv = dir_.WriteFile("docs/table.csv", "a,b\n1,2\n").string();
  auto ok = Ingest("docs", {(dir_.path() / "docs").string()});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->raw_only_files, 1);
  EXPECT_TRUE(lake_->store->Head(kBucket, "docs/raw/update-00000001/protocol.pdf").ok());
  Deploy("name: docs\ntier: restricted\nowners: [alice]\nrequire_conversion: true\n");
  auto strict = Ingest("docs", {pdf});
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(strict.status().message(), HasSubstr("require_conversion"));
}

TEST_F(IngestTest, DropBucketFilesMoveToProcessedOnlyAfterCompletion) {
  const std::string drop = "datalake-drop-dev01-restricted-eu-west-1";
  ASSERT_OK(lake_->store->PutBytes(drop, "orders/batch1.csv", "id,amount\n1,2\n2,3\n"));
  auto outcome = Ingest("orders", {"drop:"});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_FALSE(lake_->store->Head(drop, "orders/batch1.csv").ok());
  EXPECT_TRUE(lake_->store->Head(drop, "orders/processed/update-00000001/batch1.csv").ok());
  // A failing ingest leaves the dropped file where it was.
  ASSERT_OK(lake_->store->PutBytes(drop, "orders/batch2.csv", "id,amount\n5,1\n5,2\n"));
  ASSERT_FALSE(Ingest("orders", {"drop:"}).ok());
  EXPECT_TRUE(lake_->store->Head(drop, "orders/batch2.csv").ok());
}

TEST_F(IngestTest, RecoverFailsUpdatesOfDeadWritersAndRemovesTheirFiles) {
  // A writer that died: a process that has exited holds the lease.
  std::string owner = testing::DeadProcessLeaseOwner();
  std::string far_future = "2999-01-01T00:00:00.000Z";
  ASSERT_OK(lake_->catalog->Write([&](CatalogTransaction& tx) {
    return tx.ReserveUpdate("orders", UpdateKind::kSnapshot, "user:test", owner, far_future).status();
  }));
  ASSERT_OK(lake_->store->PutBytes(kBucket, "orders/raw/update-00000001/half.csv", "id\n1\n"));
  std::filesystem::create_directories(IngestSettingsFor(config_).work_root / ("orders-update-00000001@" + owner));
  // The dead writer was also in the middle of a streamed upload.
  std::filesystem::path upload = dir_.path() / "lake/edl-data" / kBucket / ".edl/tmp/put-dead01";
  { std::ofstream(upload) << "partial"; }
  std::filesystem::last_write_time(upload, std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
  // A live writer (this process) must be left alone.
  ASSERT_OK(lake_->catalog->Write([&](CatalogTransaction& tx) {
    return tx.ReserveUpdate("orders", UpdateKind::kSnapshot, "user:test", ProcessLeaseOwner(), far_future).status();
  }));

  auto report = Recover(*lake_->catalog, *lake_->store, clock_, IngestSettingsFor(config_));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->failed_updates, std::vector<std::string>{"orders@1"});
  EXPECT_EQ(report->objects_removed, 1);
  EXPECT_EQ(report->work_folders_removed, 1);
  EXPECT_EQ(report->abandoned_uploads_removed, 1);
  EXPECT_FALSE(std::filesystem::exists(upload));
  std::vector<UpdateRecord> updates = Updates("orders");
  EXPECT_EQ(updates[0].state, UpdateState::kFailed);
  EXPECT_THAT(updates[0].failure_reason, HasSubstr("stopped before the update completed"));
  EXPECT_EQ(updates[1].state, UpdateState::kStaging);
  auto next = Ingest("orders", {Csv("n.csv", "id,amount\n1,1\n")});
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->update, 3);
}

TEST_F(IngestTest, RecoverSealsCompleteUpdatesACrashLeftOpen) {
  ASSERT_TRUE(Ingest("orders", {Csv("a.csv", "id,amount\n1,2\n")}).ok());
  // A crash between "complete" in the catalog and sealing leaves no seal markers behind.
  std::filesystem::remove_all(dir_.path() / "lake/edl-data" / kBucket / ".edl/sealed");
  auto unsealed = lake_->store->IsSealed(kBucket, "orders/data/update-00000001/a.parquet");
  ASSERT_TRUE(unsealed.ok());
  ASSERT_FALSE(*unsealed);
  auto report = Recover(*lake_->catalog, *lake_->store, clock_, IngestSettingsFor(config_));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->sealed_updates, std::vector<std::string>{"orders@1"});
  EXPECT_TRUE(report->failed_updates.empty());
  EXPECT_EQ(lake_->store->PutBytes(kBucket, "orders/data/update-00000001/x.parquet", "x").code(), StatusCode::kConflict);
  auto again = Recover(*lake_->catalog, *lake_->store, clock_, IngestSettingsFor(config_));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->sealed_updates.empty());
}

TEST_F(IngestTest, UploadSourceReadsTheUploadAndRecordsItsId) {
  UploadStore uploads(IngestSettingsFor(config_).uploads_root, clock_);
  ASSERT_OK_AND_ASSIGN(UploadInfo upload, uploads.Create("user:test"));
  ASSERT_OK(testing::AddUploadFile(uploads, upload.id, "user:test", "a.csv", "id,amount\n1,2\n2,3\n").status());
  auto outcome = Ingest("orders", {"upload:" + upload.id});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->rows, 2);
  EXPECT_TRUE(lake_->store->Head(kBucket, "orders/raw/update-00000001/a.csv").ok());
  json sources = json::parse(outcome->metadata_json)["sources"];
  EXPECT_EQ(sources[0]["uri"], "upload:" + upload.id);
  EXPECT_EQ(sources[0]["files"][0]["uri"], "upload:" + upload.id + "/a.csv");

  auto missing = Ingest("orders", {"upload:" + std::string(32, '0')});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("upload 00000000000000000000000000000000 does not exist"));
  EXPECT_EQ(Updates("orders").size(), 1u);  // nothing reserved for it
}

// Cancels once the update is reserved, the way a job's worker does.
class CancelAfterReserving final : public ProgressReporter {
 public:
  void Report(const ProgressEvent&) override {}
  void UpdateReserved(int64_t number) override { reserved = number; }
  bool Cancelled() const override { return reserved > 0; }
  int64_t reserved = 0;
};

TEST_F(IngestTest, CancelledIngestFailsItsUpdateWithReasonCancelled) {
  Ingestor ingestor(config_, *lake_->catalog, *lake_->store, clock_, IngestSettingsFor(config_));
  IngestRequest request;
  request.dataset = "orders";
  request.sources = {Csv("a.csv", "id,amount\n1,2\n")};
  request.actor = "user:test";
  CancelAfterReserving progress;
  auto outcome = ingestor.Ingest(request, progress);
  EXPECT_EQ(progress.reserved, 1);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), StatusCode::kConflict);
  EXPECT_EQ(outcome.status().message(), "update 1 of dataset 'orders' failed: cancelled");
  ASSERT_EQ(Updates("orders").size(), 1u);
  EXPECT_EQ(Updates("orders")[0].state, UpdateState::kFailed);
  EXPECT_EQ(Updates("orders")[0].failure_reason, "cancelled");

  // Cancelled before it started: nothing is reserved.
  auto early = ingestor.Ingest(request, progress);
  EXPECT_EQ(early.status().code(), StatusCode::kConflict);
  EXPECT_EQ(Updates("orders").size(), 1u);
}

}  // namespace
}  // namespace edl
