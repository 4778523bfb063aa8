#include "deploy/deploy.h"

#include <sqlite3.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/config.h"
#include "deploy/inventory.h"
#include "lake/lake.h"
#include "storage/fault_injecting_object_store.h"
#include "storage/object_store.h"
#include "testing/status_testing.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

using ::testing::HasSubstr;

class DeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = ParseInstanceConfig("instance: dev01\nregions: [eu-west-1, us-east-1]\n", "edl.yaml", dir_.path());
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    auto lake = OpenLake(config_, clock_);
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    lake_ = std::move(*lake);
  }

  Deployer MakeDeployer() { return Deployer(config_, lake_->catalog.get(), lake_->store.get(), "local:test"); }

  DatasetSpec Spec(const std::string& yaml) {
    auto spec = ParseDatasetSpec(yaml, "ds.yaml", config_);
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    return *spec;
  }

  std::vector<AuditEvent> Audit() {
    AuditQuery query;
    query.limit = 100000;
    auto events = ListAuditEvents(*lake_->catalog, query);
    EXPECT_TRUE(events.ok());
    return *events;
  }

  void AddUpdateRow(const std::string& dataset) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "edl-data/catalog.db").c_str(), &db), SQLITE_OK);
    std::string sql = "INSERT INTO updates(dataset_id, number, kind, state, created_by, created_at) SELECT id, 1, "
                      "'snapshot', 'complete', 't', 'x' FROM datasets WHERE name = '" + dataset + "'";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  testing::TempDir dir_;
  testing::FixedClock clock_;
  InstanceConfig config_;
  std::unique_ptr<Lake> lake_;
};

constexpr char kOrders[] = "name: orders\ntier: restricted\nowners: [alice]\ndescription: first\n"
                           "grants: [{principal: group:finance, level: read}]\n";

TEST_F(DeployTest, PlanWithoutCatalogListsEverythingAsCreate) {
  Deployer deployer(config_, nullptr, nullptr, "local:test");
  auto plan = deployer.PlanInstance();
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  // 2 regions x 3 tiers x (bucket + drop bucket) + schema + instance + role + group + grant.
  EXPECT_EQ(plan->Count(ChangeAction::kCreate), 12 + 5);
  EXPECT_EQ(plan->Count(ChangeAction::kUnchanged), 0);
}

TEST_F(DeployTest, ApplyInstanceIsIdempotent) {
  auto applied = MakeDeployer().ApplyInstance();
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_TRUE(applied->HasChanges());
  auto buckets = lake_->store->ListBuckets();
  ASSERT_TRUE(buckets.ok());
  EXPECT_EQ(buckets->size(), 12u);
  size_t audit_events = Audit().size();
  EXPECT_GE(audit_events, 12u);
  auto again = MakeDeployer().ApplyInstance();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->HasChanges());
  EXPECT_EQ(Audit().size(), audit_events);
}

TEST_F(DeployTest, BucketMissingFromStorageIsRecreated) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  std::filesystem::remove_all(dir_.path() / "edl-data/datalake-dev01-internal-us-east-1");
  auto plan = MakeDeployer().PlanInstance();
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->Count(ChangeAction::kCreate), 1);
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir_.path() / "edl-data/datalake-dev01-internal-us-east-1"));
}

TEST_F(DeployTest, CatalogOfAnotherInstanceIsRefused) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  InstanceConfig other = config_;
  other.instance = "prod";
  Deployer deployer(other, lake_->catalog.get(), lake_->store.get(), "local:test");
  auto plan = deployer.ApplyInstance();
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kConflict);
  EXPECT_THAT(plan.status().message(), HasSubstr("belongs to instance 'dev01'"));
}

TEST_F(DeployTest, BucketPrefixCannotChange) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  InstanceConfig other = config_;
  other.bucket_prefix = "lake";
  Deployer deployer(other, lake_->catalog.get(), lake_->store.get(), "local:test");
  auto plan = deployer.PlanInstance();
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.status().message(), HasSubstr("cannot change"));
}

TEST_F(DeployTest, DatasetCreateThenUnchangedThenUpdate) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  auto created = MakeDeployer().ApplyDataset(Spec(kOrders), "ds.yaml");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(created->HasChanges());
  auto stored = lake_->store->GetBytes("datalake-dev01-restricted-eu-west-1", "orders/_dataset.json");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(nlohmann::json::parse(*stored)["tier"], "restricted");

  auto same = MakeDeployer().ApplyDataset(Spec(kOrders), "ds.yaml");
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->HasChanges());

  std::string changed = kOrders;
  changed.replace(changed.find("first"), 5, "second");
  auto updated = MakeDeployer().ApplyDataset(Spec(changed), "ds.yaml");
  ASSERT_TRUE(updated.ok());
  auto details = DescribeDataset(*lake_->catalog, "orders");
  ASSERT_TRUE(details.ok());
  EXPECT_EQ(details->record.spec.description, "second");
  EXPECT_EQ(details->record.generation, 2);
  AuditEvent last = Audit().back();
  EXPECT_EQ(last.action, "dataset.update");
  auto change = nlohmann::json::parse(last.details_json)["changes"]["description"];
  EXPECT_EQ(change["old"], "first");
  EXPECT_EQ(change["new"], "second");
}

TEST_F(DeployTest, DatasetRequiresDeployedInstance) {
  auto result = MakeDeployer().ApplyDataset(Spec(kOrders), "ds.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("edl deploy"));
}

TEST_F(DeployTest, RegionChangeWithUpdatesIsRefused) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  ASSERT_TRUE(MakeDeployer().ApplyDataset(Spec(kOrders), "ds.yaml").ok());
  AddUpdateRow("orders");
  auto moved = MakeDeployer().ApplyDataset(Spec(std::string(kOrders) + "region: us-east-1\n"), "ds.yaml");
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), StatusCode::kConflict);
  EXPECT_THAT(moved.status().message(), HasSubstr("region cannot change from 'eu-west-1' to 'us-east-1'"));
  auto details = DescribeDataset(*lake_->catalog, "orders");
  EXPECT_EQ(details->record.spec.region, "eu-west-1");
}

TEST_F(DeployTest, FailedStorageWriteLeavesCatalogUnchanged) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  size_t audit_events = Audit().size();
  testing::FaultInjectingObjectStore failing(*lake_->store);
  failing.FailNth(testing::StoreOperation::kPut, 1, Unavailable("injected: disk full"));
  Deployer deployer(config_, lake_->catalog.get(), &failing, "local:test");
  auto result = deployer.ApplyDataset(Spec(kOrders), "ds.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  auto list = ListDatasets(*lake_->catalog);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(Audit().size(), audit_events);
}

TEST_F(DeployTest, OwnersBecomeAdminsAndGrantsConverge) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  ASSERT_TRUE(MakeDeployer().ApplyDataset(Spec(kOrders), "ds.yaml").ok());
  // A grant given by a person (not the file) must survive a deploy that does not mention it.
  ASSERT_TRUE(lake_->catalog->Write([](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(tx.EnsurePrincipal({PrincipalKind::kUser, "erin"}).status());
    GrantRecord grant;
    grant.principal = {PrincipalKind::kUser, "erin"};
    grant.role = "orders:read";
    grant.granted_by = "user:alice";
    grant.reason = "quarterly report";
    return tx.InsertGrant(grant).status();
  }).ok());
  std::string without_finance = "name: orders\ntier: restricted\nowners: [alice, bob]\ndescription: first\n";
  auto plan = MakeDeployer().ApplyDataset(Spec(without_finance), "ds.yaml");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  auto details = DescribeDataset(*lake_->catalog, "orders");
  ASSERT_TRUE(details.ok());
  std::set<std::string> active;
  for (const GrantRecord& g : details->grants) active.insert(g.role + " " + PrincipalRef(g.principal));
  EXPECT_EQ(active, (std::set<std::string>{"orders:admin user:alice", "orders:admin user:bob", "orders:read user:erin"}));
}

}  // namespace
}  // namespace edl
