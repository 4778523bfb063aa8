#include "deploy/deploy.h"

#include <sqlite3.h>

#include <algorithm>
#include <set>

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

  Deployer MakeDeployer() { return Deployer(config_, lake_->catalog.get(), lake_->store.get(), clock_, "local:test"); }

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

  // The dataset's grants, active ones unless include_revoked, in id order.
  std::vector<GrantRecord> Grants(const std::string& dataset, bool include_revoked = false) {
    std::vector<GrantRecord> grants;
    Status read = lake_->catalog->Read([&](CatalogTransaction& tx) -> Status {
      GrantFilter filter;
      filter.dataset = dataset;
      filter.include_revoked = include_revoked;
      ASSIGN_OR_RETURN(grants, tx.ListGrants(filter));
      return Status::Ok();
    });
    EXPECT_TRUE(read.ok()) << read.ToString();
    std::sort(grants.begin(), grants.end(), [](const GrantRecord& a, const GrantRecord& b) { return a.id < b.id; });
    return grants;
  }

  // "role principal" of the dataset's active grants.
  std::set<std::string> ActiveGrants(const std::string& dataset) {
    std::set<std::string> active;
    for (const GrantRecord& g : Grants(dataset)) active.insert(g.role + " " + PrincipalRef(g.principal));
    return active;
  }

  // Deploys the instance once, then expects `yaml` to be refused at plan and at apply, changing
  // nothing; returns the message.
  std::string ExpectRefused(const std::string& yaml) {
    auto before = ListDatasets(*lake_->catalog);
    EXPECT_TRUE(before.ok());
    size_t audit_events = Audit().size();
    auto plan = MakeDeployer().PlanDataset(Spec(yaml), "ds.yaml");
    EXPECT_FALSE(plan.ok()) << yaml;
    auto applied = MakeDeployer().ApplyDataset(Spec(yaml), "ds.yaml");
    EXPECT_FALSE(applied.ok()) << yaml;
    if (applied.ok()) return "";
    EXPECT_EQ(applied.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(plan.status().message(), applied.status().message());
    EXPECT_EQ(Audit().size(), audit_events) << "a refused deploy records nothing";
    auto after = ListDatasets(*lake_->catalog);
    EXPECT_TRUE(after.ok());
    EXPECT_EQ(after->size(), before->size()) << "a refused deploy creates nothing";
    return std::string(applied.status().message());
  }

  testing::TempDir dir_;
  testing::FixedClock clock_;
  InstanceConfig config_;
  std::unique_ptr<Lake> lake_;
};

constexpr char kOrders[] = "name: orders\ntier: restricted\nowners: [alice]\ndescription: first\n"
                           "grants: [{principal: group:finance, level: read}]\n";

// kOrders with its grants as a block list, so tests can append grants.
constexpr char kOrdersBlock[] =
    "name: orders\ntier: restricted\nowners: [alice]\ndescription: first\n"
    "grants:\n  - {principal: group:finance, level: read}\n";

TEST_F(DeployTest, PlanWithoutCatalogListsEverythingAsCreate) {
  Deployer deployer(config_, nullptr, nullptr, clock_, "local:test");
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
  Deployer deployer(other, lake_->catalog.get(), lake_->store.get(), clock_, "local:test");
  auto plan = deployer.ApplyInstance();
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kConflict);
  EXPECT_THAT(plan.status().message(), HasSubstr("belongs to instance 'dev01'"));
}

TEST_F(DeployTest, BucketPrefixCannotChange) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  InstanceConfig other = config_;
  other.bucket_prefix = "lake";
  Deployer deployer(other, lake_->catalog.get(), lake_->store.get(), clock_, "local:test");
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
  Deployer deployer(config_, lake_->catalog.get(), &failing, clock_, "local:test");
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

// ---- Grants declared in the dataset file (issue 5). The clock stands at 2026-01-02T03:04:05Z. ----

// A sensitive dataset (default max_grant_days: 90) declaring one grant; `grant` is its flow mapping.
std::string Sensitive(const std::string& grant, const std::string& policy = "") {
  return "name: visits\ntier: sensitive\nowners: [carol]\n" + (policy.empty() ? "" : "policy: " + policy + "\n") +
         "grants:\n  - " + grant + "\n";
}

const PlannedChange* FindChange(const Plan& plan, ChangeAction action, const std::string& name) {
  for (const PlannedChange& change : plan.changes) {
    if (change.action == action && change.kind == "grant" && change.name == name) return &change;
  }
  return nullptr;
}

TEST_F(DeployTest, SensitiveGroupGrantIsRefused) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  std::string message =
      ExpectRefused(Sensitive("{principal: group:nurses, level: read, justification: ward, until: 2026-02-01}"));
  EXPECT_THAT(message, HasSubstr("ds.yaml: grants[0] (read to group:nurses): dataset 'visits' is sensitive"));
  EXPECT_THAT(message, HasSubstr("individual users only, not to group:nurses"));
}

TEST_F(DeployTest, SensitiveGrantNeedsJustificationAndUntil) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  EXPECT_THAT(ExpectRefused(Sensitive("{principal: user:dave, level: read, justification: audit}")),
              HasSubstr("grants[0] (read to user:dave): dataset 'visits' is sensitive: the grant of visits:read to "
                        "user:dave needs an expiry of at most 90 days (policy.max_grant_days)"));
  EXPECT_THAT(ExpectRefused(Sensitive("{principal: user:dave, level: write, until: 2026-02-01}")),
              HasSubstr("grants[0] (write to user:dave): dataset 'visits' is sensitive: the grant of visits:write to "
                        "user:dave needs a justification"));
}

TEST_F(DeployTest, UntilBeyondMaxGrantDaysIsRefused) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  // The default of 90 days reaches 2026-04-02T03:04; a grant ending at 00:00 on 2026-04-03 is longer.
  EXPECT_THAT(ExpectRefused(Sensitive("{principal: user:dave, level: read, justification: a, until: 2026-04-03}")),
              HasSubstr("would run until 2026-04-03T00:00:00.000Z, longer than the 90 days its policy allows"));
  EXPECT_THAT(ExpectRefused(Sensitive("{principal: user:dave, level: read, justification: a, until: 2026-02-02}",
                                      "{max_grant_days: 30}")),
              HasSubstr("longer than the 30 days its policy allows (policy.max_grant_days)"));
  auto within = MakeDeployer().ApplyDataset(
      Spec(Sensitive("{principal: user:dave, level: read, justification: a, until: 2026-02-01}",
                     "{max_grant_days: 30}")),
      "ds.yaml");
  EXPECT_TRUE(within.ok()) << within.status().ToString();
}

TEST_F(DeployTest, DeclaredGrantWhoseUntilHasPassedIsRefused) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  // 00:00 UTC today has passed already; the tier does not matter.
  EXPECT_THAT(ExpectRefused(std::string(kOrdersBlock) + "  - {principal: user:dave, level: read, until: 2026-01-02}\n"),
              HasSubstr("ds.yaml: grants[1] (read to user:dave): already expired (until 2026-01-02"));
  // A grant deployed while valid is refused once its date has passed: the file has to move on.
  std::string yaml = Sensitive("{principal: user:dave, level: read, justification: a, until: 2026-01-10}");
  ASSERT_TRUE(MakeDeployer().ApplyDataset(Spec(yaml), "ds.yaml").ok());
  clock_.Advance(std::chrono::hours(24 * 8));
  auto again = MakeDeployer().PlanDataset(Spec(yaml), "ds.yaml");
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.status().message(), HasSubstr("already expired"));
}

TEST_F(DeployTest, TwoPersonDatasetRefusesDeclaredGrants) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  std::string message = ExpectRefused(Sensitive(
      "{principal: user:dave, level: read, justification: a, until: 2026-02-01}", "{two_person_approval: true}"));
  EXPECT_THAT(message, HasSubstr("ds.yaml: grants[0] (read to user:dave): dataset 'visits' is sensitive and its "
                                 "policy asks for two-person approval"));
  EXPECT_THAT(message, HasSubstr("made with `edl-api grants add` and a second admin's approval"));
  // Without declared grants such a dataset deploys.
  auto plain = MakeDeployer().ApplyDataset(
      Spec("name: visits\ntier: sensitive\nowners: [carol]\npolicy: {two_person_approval: true}\n"), "ds.yaml");
  EXPECT_TRUE(plain.ok()) << plain.status().ToString();
}

TEST_F(DeployTest, DeclaredGrantCarriesExpiryAndJustification) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  auto applied = MakeDeployer().ApplyDataset(
      Spec(Sensitive("{principal: user:dave, level: read, justification: audit of Q4, until: 2026-02-01}")), "ds.yaml");
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  const PlannedChange* added = FindChange(*applied, ChangeAction::kCreate, "visits:read -> user:dave");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->detail, "declared in ds.yaml: audit of Q4; until 2026-02-01");
  std::vector<GrantRecord> grants = Grants("visits");
  auto dave =
      std::find_if(grants.begin(), grants.end(), [](const GrantRecord& g) { return g.principal.name == "dave"; });
  ASSERT_NE(dave, grants.end());
  EXPECT_EQ(dave->granted_by, "system:dataset-file");
  EXPECT_EQ(dave->reason, "declared in ds.yaml: audit of Q4");
  EXPECT_EQ(dave->expires_at, "2026-02-01T00:00:00.000Z");
}

TEST_F(DeployTest, ChangedUntilRevokesAndAddsGrant) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  ASSERT_TRUE(
      MakeDeployer()
          .ApplyDataset(Spec(Sensitive("{principal: user:dave, level: read, justification: a, until: 2026-02-01}")),
                        "ds.yaml")
          .ok());
  int64_t old_id = Grants("visits").back().id;
  DatasetSpec later = Spec(Sensitive("{principal: user:dave, level: read, justification: a, until: 2026-03-01}"));
  size_t audit_events = Audit().size();

  auto plan = MakeDeployer().PlanDataset(later, "ds.yaml");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const PlannedChange* removed = FindChange(*plan, ChangeAction::kRemove, "visits:read -> user:dave");
  const PlannedChange* added = FindChange(*plan, ChangeAction::kCreate, "visits:read -> user:dave");
  ASSERT_NE(removed, nullptr);
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(removed->detail, "changed in ds.yaml (until 2026-02-01 -> 2026-03-01); replaced");
  EXPECT_EQ(added->detail, "declared in ds.yaml: a; until 2026-03-01");
  EXPECT_LT(removed - plan->changes.data(), added - plan->changes.data()) << "the old grant is shown going first";
  EXPECT_EQ(Audit().size(), audit_events) << "a plan changes nothing";
  EXPECT_EQ(Grants("visits").back().id, old_id);

  auto applied = MakeDeployer().ApplyDataset(later, "ds.yaml");
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  std::vector<GrantRecord> all = Grants("visits", /*include_revoked=*/true);
  auto old_grant = std::find_if(all.begin(), all.end(), [&](const GrantRecord& g) { return g.id == old_id; });
  ASSERT_NE(old_grant, all.end());
  EXPECT_TRUE(old_grant->revoked_at.has_value());
  EXPECT_EQ(old_grant->revoke_reason, "changed in ds.yaml (until 2026-02-01 -> 2026-03-01); replaced");
  EXPECT_EQ(Grants("visits").back().expires_at, "2026-03-01T00:00:00.000Z");
  std::vector<std::string> actions;
  for (const AuditEvent& e : Audit()) {
    if (e.target == "role:visits:read") actions.push_back(e.action);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"role.create", "grant.add", "grant.revoke", "grant.add"}));

  auto again = MakeDeployer().ApplyDataset(later, "ds.yaml");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->HasChanges());
}

TEST_F(DeployTest, ChangedJustificationOrLevelRevokesAndAddsGrant) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  ASSERT_TRUE(MakeDeployer()
                  .ApplyDataset(Spec(std::string(kOrdersBlock) +
                                     "  - {principal: user:dave, level: read, justification: \"TICKET: 1\"}\n"),
                                "ds.yaml")
                  .ok());
  auto plan = MakeDeployer().ApplyDataset(
      Spec(std::string(kOrdersBlock) + "  - {principal: user:dave, level: read, justification: \"1\"}\n"), "ds.yaml");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const PlannedChange* removed = FindChange(*plan, ChangeAction::kRemove, "orders:read -> user:dave");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->detail, "changed in ds.yaml (justification 'TICKET: 1' -> '1'); replaced");
  EXPECT_NE(FindChange(*plan, ChangeAction::kCreate, "orders:read -> user:dave"), nullptr);
  EXPECT_EQ(Grants("orders").back().reason, "declared in ds.yaml: 1");

  plan = MakeDeployer().ApplyDataset(
      Spec(std::string(kOrdersBlock) + "  - {principal: user:dave, level: write, justification: \"1\"}\n"), "ds.yaml");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  removed = FindChange(*plan, ChangeAction::kRemove, "orders:read -> user:dave");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->detail, "changed in ds.yaml (level read -> write); replaced");
  EXPECT_NE(FindChange(*plan, ChangeAction::kCreate, "orders:write -> user:dave"), nullptr);
  EXPECT_EQ(ActiveGrants("orders"),
            (std::set<std::string>{"orders:admin user:alice", "orders:read group:finance", "orders:write user:dave"}));
}

TEST_F(DeployTest, RemovedGrantIsRevokedAndPlannedFirst) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  std::string with_dave = std::string(kOrdersBlock) + "  - {principal: user:dave, level: write, until: 2026-06-01}\n";
  ASSERT_TRUE(MakeDeployer().ApplyDataset(Spec(with_dave), "ds.yaml").ok());
  auto plan = MakeDeployer().PlanDataset(Spec(kOrders), "ds.yaml");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->Count(ChangeAction::kRemove), 1);
  const PlannedChange* removed = FindChange(*plan, ChangeAction::kRemove, "orders:write -> user:dave");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->detail, "no longer declared in ds.yaml");
  EXPECT_EQ(ActiveGrants("orders").count("orders:write user:dave"), 1u) << "a plan changes nothing";

  auto applied = MakeDeployer().ApplyDataset(Spec(kOrders), "ds.yaml");
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(ActiveGrants("orders"), (std::set<std::string>{"orders:admin user:alice", "orders:read group:finance"}));
  AuditEvent revoke = Audit().back();
  EXPECT_EQ(revoke.action, "grant.revoke");
  EXPECT_EQ(nlohmann::json::parse(revoke.details_json)["reason"], "no longer declared in ds.yaml");
}

TEST_F(DeployTest, PeoplesGrantsAreNeverTouched) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  ASSERT_TRUE(MakeDeployer().ApplyDataset(Spec(kOrders), "ds.yaml").ok());
  // alice (an admin) gives dave read herself; the file then declares the same role for him.
  ASSERT_TRUE(lake_->catalog
                  ->Write([](CatalogTransaction& tx) -> Status {
                    RETURN_IF_ERROR(tx.EnsurePrincipal({PrincipalKind::kUser, "dave"}).status());
                    GrantRecord grant;
                    grant.principal = {PrincipalKind::kUser, "dave"};
                    grant.role = "orders:read";
                    grant.granted_by = "user:alice";
                    grant.reason = "month-end close";
                    grant.expires_at = "2026-01-20T00:00:00.000Z";
                    return tx.InsertGrant(grant).status();
                  })
                  .ok());
  int64_t peoples = Grants("orders").back().id;
  std::string with_dave = std::string(kOrdersBlock) + "  - {principal: user:dave, level: read, until: 2026-03-01}\n";
  auto added = MakeDeployer().ApplyDataset(Spec(with_dave), "ds.yaml");
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  // The file's grant stands on its own: it does not lean on (or replace) the one alice gave.
  EXPECT_NE(FindChange(*added, ChangeAction::kCreate, "orders:read -> user:dave"), nullptr);
  EXPECT_EQ(added->Count(ChangeAction::kRemove), 0);
  auto removed = MakeDeployer().ApplyDataset(Spec(kOrders), "ds.yaml");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->Count(ChangeAction::kRemove), 1);
  std::vector<GrantRecord> active = Grants("orders");
  auto still = std::find_if(active.begin(), active.end(), [&](const GrantRecord& g) { return g.id == peoples; });
  ASSERT_NE(still, active.end()) << "alice's grant survives";
  EXPECT_EQ(still->expires_at, "2026-01-20T00:00:00.000Z");
  auto again = MakeDeployer().ApplyDataset(Spec(kOrders), "ds.yaml");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->HasChanges());
}

TEST_F(DeployTest, SecondDeployOfTheSameFileChangesNothing) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  std::string yaml = Sensitive("{principal: user:dave, level: read, justification: \"audit: Q4\", until: 2026-02-01}");
  ASSERT_TRUE(MakeDeployer().ApplyDataset(Spec(yaml), "ds.yaml").ok());
  size_t audit_events = Audit().size();
  auto same = MakeDeployer().ApplyDataset(Spec(yaml), "ds.yaml");
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->HasChanges());
  // The same file deployed from another path is still the same declaration.
  auto moved = MakeDeployer().ApplyDataset(Spec(yaml), "/elsewhere/visits.yaml");
  ASSERT_TRUE(moved.ok());
  EXPECT_FALSE(moved->HasChanges());
  EXPECT_EQ(Audit().size(), audit_events);
}

TEST_F(DeployTest, TierChangeChecksDeclaredGrantsAgainstTheNewTier) {
  ASSERT_TRUE(MakeDeployer().ApplyInstance().ok());
  std::string internal =
      "name: orders\ntier: internal\nowners: [alice]\ngrants: [{principal: group:finance, level: write}]\n";
  ASSERT_TRUE(MakeDeployer().ApplyDataset(Spec(internal), "ds.yaml").ok());
  std::string sensitive = internal;
  sensitive.replace(sensitive.find("internal"), 8, "sensitive");
  EXPECT_THAT(ExpectRefused(sensitive), HasSubstr("individual users only, not to group:finance"));
  EXPECT_EQ(DescribeDataset(*lake_->catalog, "orders")->record.spec.tier, Tier::kInternal);
  // Declaring grants the new tier allows moves it, and the group's file grant goes in the same deploy.
  std::string fixed =
      "name: orders\ntier: sensitive\nowners: [alice]\n"
      "grants: [{principal: user:dave, level: write, justification: loads, until: 2026-02-01}]\n";
  auto moved = MakeDeployer().ApplyDataset(Spec(fixed), "ds.yaml");
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_NE(FindChange(*moved, ChangeAction::kRemove, "orders:write -> group:finance"), nullptr);
  EXPECT_EQ(DescribeDataset(*lake_->catalog, "orders")->record.spec.tier, Tier::kSensitive);
  EXPECT_EQ(ActiveGrants("orders"), (std::set<std::string>{"orders:admin user:alice", "orders:write user:dave"}));
}

}  // namespace
}  // namespace edl
