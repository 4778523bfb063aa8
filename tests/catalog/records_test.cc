#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/sqlite_catalog.h"
#include "catalog_test_support.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

using edl::testing::FixedClock;
using edl::testing::FullSpec;
using edl::testing::RawExec;
using edl::testing::ReadValue;
using edl::testing::SimpleDataset;
using edl::testing::TempDir;
using edl::testing::WriteValue;
using ::testing::HasSubstr;

Principal Alice() {
  return {PrincipalKind::kUser, "alice"};
}
Principal Bob() {
  return {PrincipalKind::kUser, "bob"};
}
Principal Finance() {
  return {PrincipalKind::kGroup, "finance"};
}

class SqliteCatalogRecords : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<SqliteCatalog>> opened = SqliteCatalog::Open(file_, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    catalog_ = std::move(opened).value();
  }

  // Datasets "orders" and "customers" with their three roles, the instance role, and principals.
  void AddAccessFixtures() {
    ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) -> Status {
      for (const char* dataset : {"orders", "customers"}) {
        RETURN_IF_ERROR(txn.InsertDataset(SimpleDataset(dataset)));
        for (AccessLevel level : {AccessLevel::kRead, AccessLevel::kWrite, AccessLevel::kAdmin}) {
          RETURN_IF_ERROR(txn.InsertRole({DatasetRoleName(dataset, level), dataset, level, ""}));
        }
      }
      RETURN_IF_ERROR(txn.InsertRole({std::string(kInternalReadRole), "", AccessLevel::kRead, "every employee"}));
      for (const Principal& principal : {Alice(), Bob(), Finance()}) {
        RETURN_IF_ERROR(txn.EnsurePrincipal(principal).status());
      }
      return Status::Ok();
    }));
  }

  Result<int64_t> Grant(const Principal& principal, const std::string& role) {
    GrantRecord grant;
    grant.principal = principal;
    grant.role = role;
    grant.granted_by = "user:carol";
    grant.reason = "needs it";
    return WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.InsertGrant(grant); });
  }

  std::vector<int64_t> GrantIds(const GrantFilter& filter) {
    auto grants = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.ListGrants(filter); });
    EXPECT_TRUE(grants.ok()) << grants.status().ToString();
    std::vector<int64_t> ids;
    if (grants.ok()) {
      for (const GrantRecord& grant : *grants) ids.push_back(grant.id);
    }
    return ids;
  }

  TempDir dir_;
  FixedClock clock_;
  std::filesystem::path file_ = dir_.path() / "catalog.db";
  std::unique_ptr<SqliteCatalog> catalog_;
};

// ---- settings ----

TEST_F(SqliteCatalogRecords, SettingsAreAbsentUntilPutAndCanBeReplaced) {
  auto missing = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.GetSetting("instance"); });
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(*missing, std::nullopt);
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) { return txn.PutSetting("instance", "dev01"); }));
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) { return txn.PutSetting("instance", "uat"); }));
  auto value = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.GetSetting("instance"); });
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(*value, std::optional<std::string>("uat"));
}

// ---- buckets ----

TEST_F(SqliteCatalogRecords, BucketsAreListedByName) {
  BucketRecord data{"datalake-dev01-sensitive-eu-west-1", false, Tier::kSensitive, "eu-west-1"};
  BucketRecord drop{"datalake-drop-dev01-sensitive-eu-west-1", true, Tier::kSensitive, "eu-west-1"};
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) -> Status {
    RETURN_IF_ERROR(txn.InsertBucket(drop));
    return txn.InsertBucket(data);
  }));
  auto buckets = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListBuckets(); });
  ASSERT_TRUE(buckets.ok()) << buckets.status().ToString();
  ASSERT_EQ(buckets->size(), 2u);
  EXPECT_EQ((*buckets)[0].name, data.name);
  EXPECT_FALSE((*buckets)[0].drop);
  EXPECT_EQ((*buckets)[0].tier, Tier::kSensitive);
  EXPECT_EQ((*buckets)[0].region, "eu-west-1");
  EXPECT_EQ((*buckets)[1].name, drop.name);
  EXPECT_TRUE((*buckets)[1].drop);
}

TEST_F(SqliteCatalogRecords, DuplicateBucketIsAlreadyExists) {
  BucketRecord bucket{"datalake-dev01-internal-eu-west-1", false, Tier::kInternal, "eu-west-1"};
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) { return txn.InsertBucket(bucket); }));
  Status again = catalog_->Write([&](CatalogTransaction& txn) { return txn.InsertBucket(bucket); });
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "bucket 'datalake-dev01-internal-eu-west-1' already exists in the catalog");
}

// ---- datasets ----

TEST_F(SqliteCatalogRecords, DatasetSpecRoundTripsWithEveryField) {
  DatasetRecord record;
  record.spec = FullSpec("sales-orders");
  record.bucket = "datalake-dev01-sensitive-eu-central-1";
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) { return txn.InsertDataset(record); }));
  auto stored = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.GetDataset("sales-orders"); });
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  ASSERT_TRUE(stored->has_value());
  const DatasetRecord& got = **stored;
  EXPECT_TRUE(got.spec == record.spec);
  EXPECT_EQ(got.bucket, record.bucket);
  EXPECT_EQ(got.generation, 1);
  EXPECT_EQ(got.created_at, clock_.NowText());
  EXPECT_EQ(got.updated_at, clock_.NowText());
}

TEST_F(SqliteCatalogRecords, MissingDatasetIsNullopt) {
  auto stored = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.GetDataset("nope"); });
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_FALSE(stored->has_value());
}

TEST_F(SqliteCatalogRecords, DatasetsAreListedByName) {
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) -> Status {
    RETURN_IF_ERROR(txn.InsertDataset(SimpleDataset("orders")));
    return txn.InsertDataset(SimpleDataset("customers"));
  }));
  auto datasets = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListDatasets(); });
  ASSERT_TRUE(datasets.ok()) << datasets.status().ToString();
  ASSERT_EQ(datasets->size(), 2u);
  EXPECT_EQ((*datasets)[0].spec.name, "customers");
  EXPECT_EQ((*datasets)[1].spec.name, "orders");
  EXPECT_TRUE((*datasets)[1].spec == SimpleDataset("orders").spec);
}

TEST_F(SqliteCatalogRecords, DuplicateDatasetIsAlreadyExists) {
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) { return txn.InsertDataset(SimpleDataset("orders")); }));
  Status again = catalog_->Write([](CatalogTransaction& txn) { return txn.InsertDataset(SimpleDataset("orders")); });
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "dataset 'orders' already exists");
}

TEST_F(SqliteCatalogRecords, UpdatingADatasetReplacesItsSpecAndBumpsGeneration) {
  DatasetRecord record = SimpleDataset("orders");
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) { return txn.InsertDataset(record); }));
  std::string created_at = clock_.NowText();
  clock_.Advance(std::chrono::minutes(5));
  DatasetRecord changed;
  changed.spec = FullSpec("orders");
  changed.bucket = "datalake-dev01-sensitive-eu-central-1";
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) { return txn.UpdateDataset(changed); }));
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) { return txn.UpdateDataset(changed); }));
  auto stored = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.GetDataset("orders"); });
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  ASSERT_TRUE(stored->has_value());
  EXPECT_TRUE((*stored)->spec == changed.spec);
  EXPECT_EQ((*stored)->bucket, changed.bucket);
  EXPECT_EQ((*stored)->generation, 3);
  EXPECT_EQ((*stored)->created_at, created_at);
  EXPECT_EQ((*stored)->updated_at, clock_.NowText());
  EXPECT_EQ(edl::testing::RawQuery(file_, "SELECT tier || ' ' || region FROM datasets WHERE name = 'orders'"),
            "sensitive eu-central-1");
}

TEST_F(SqliteCatalogRecords, UpdatingAMissingDatasetIsNotFound) {
  Status status = catalog_->Write([](CatalogTransaction& txn) { return txn.UpdateDataset(SimpleDataset("nope")); });
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "dataset 'nope' does not exist");
}

TEST_F(SqliteCatalogRecords, CountsUpdatesInAnyState) {
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) { return txn.InsertDataset(SimpleDataset("orders")); }));
  auto count = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.CountUpdates("orders"); });
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, 0);
  RawExec(file_,
          "INSERT INTO updates (dataset_id, number, kind, state, created_by, created_at) "
          "SELECT id, 1, 'snapshot', 'failed', 'user:alice', '2026-01-02T03:04:05.678Z' FROM datasets "
          "WHERE name = 'orders'");
  count = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.CountUpdates("orders"); });
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, 1);
  auto missing = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.CountUpdates("nope"); });
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

// ---- principals ----

TEST_F(SqliteCatalogRecords, EnsurePrincipalCreatesOnce) {
  auto created = WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.EnsurePrincipal(Alice()); });
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(*created);
  auto again = WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.EnsurePrincipal(Alice()); });
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(*again);
  // Same name, other kind: a different principal.
  auto group = WriteValue(*catalog_, [](CatalogTransaction& txn) {
    return txn.EnsurePrincipal({PrincipalKind::kGroup, "alice"});
  });
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  EXPECT_TRUE(*group);

  auto exists = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.PrincipalExists(Alice()); });
  ASSERT_TRUE(exists.ok());
  EXPECT_TRUE(*exists);
  auto absent = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.PrincipalExists(Bob()); });
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(*absent);
  auto all = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListPrincipals(); });
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, (std::vector<Principal>{{PrincipalKind::kGroup, "alice"}, Alice()}));
}

// ---- roles ----

TEST_F(SqliteCatalogRecords, ListsRolesPerDatasetAndForTheInstance) {
  AddAccessFixtures();
  auto names = [&](std::optional<std::string_view> dataset) {
    std::vector<std::string> out;
    auto roles = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.ListRoles(dataset); });
    EXPECT_TRUE(roles.ok()) << roles.status().ToString();
    if (roles.ok()) {
      for (const RoleRecord& role : *roles) out.push_back(role.name + "@" + role.dataset);
    }
    return out;
  };
  EXPECT_EQ(names("orders"),
            (std::vector<std::string>{"orders:admin@orders", "orders:read@orders", "orders:write@orders"}));
  EXPECT_EQ(names(""), (std::vector<std::string>{"internal-read@"}));
  EXPECT_EQ(names(std::nullopt).size(), 7u);
  EXPECT_TRUE(names("nope").empty());

  auto roles = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListRoles(""); });
  ASSERT_TRUE(roles.ok());
  EXPECT_EQ((*roles)[0].level, AccessLevel::kRead);
  EXPECT_EQ((*roles)[0].description, "every employee");
}

TEST_F(SqliteCatalogRecords, DuplicateRoleIsAlreadyExists) {
  AddAccessFixtures();
  Status status = catalog_->Write([](CatalogTransaction& txn) {
    return txn.InsertRole({"orders:read", "orders", AccessLevel::kRead, ""});
  });
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), "role 'orders:read' already exists");
}

TEST_F(SqliteCatalogRecords, RoleOfAMissingDatasetIsNotFound) {
  Status status = catalog_->Write([](CatalogTransaction& txn) {
    return txn.InsertRole({"nope:read", "nope", AccessLevel::kRead, ""});
  });
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("dataset 'nope' does not exist"));
}

// ---- grants ----

TEST_F(SqliteCatalogRecords, RecordsGrantsWithTheirDetails) {
  AddAccessFixtures();
  GrantRecord grant;
  grant.principal = Alice();
  grant.role = "orders:read";
  grant.granted_by = "user:carol";
  grant.reason = "quarterly report";
  grant.expires_at = "2026-04-01T00:00:00.000Z";
  auto id = WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.InsertGrant(grant); });
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  grant.granted_at = "2025-12-31T23:59:59.000Z";  // given: kept as is
  auto second = WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.InsertGrant(grant); });
  ASSERT_TRUE(second.ok()) << second.status().ToString();

  auto grants = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListGrants({}); });
  ASSERT_TRUE(grants.ok()) << grants.status().ToString();
  ASSERT_EQ(grants->size(), 2u);
  const GrantRecord& got = (*grants)[0];
  EXPECT_EQ(got.id, *id);
  EXPECT_EQ(got.principal, Alice());
  EXPECT_EQ(got.role, "orders:read");
  EXPECT_EQ(got.granted_by, "user:carol");
  EXPECT_EQ(got.granted_at, clock_.NowText());
  EXPECT_EQ(got.reason, "quarterly report");
  EXPECT_EQ(got.expires_at, std::optional<std::string>("2026-04-01T00:00:00.000Z"));
  EXPECT_EQ(got.revoked_at, std::nullopt);
  EXPECT_EQ(got.revoked_by, "");
  EXPECT_EQ((*grants)[1].id, *second);
  EXPECT_EQ((*grants)[1].granted_at, "2025-12-31T23:59:59.000Z");
}

TEST_F(SqliteCatalogRecords, FiltersGrants) {
  AddAccessFixtures();
  auto a = Grant(Alice(), "orders:read");
  auto b = Grant(Finance(), "orders:read");
  auto c = Grant(Alice(), "customers:write");
  auto d = Grant(Bob(), std::string(kInternalReadRole));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());

  GrantFilter by_role;
  by_role.role = "orders:read";
  EXPECT_EQ(GrantIds(by_role), (std::vector<int64_t>{*a, *b}));
  GrantFilter by_principal;
  by_principal.principal = Alice();
  EXPECT_EQ(GrantIds(by_principal), (std::vector<int64_t>{*a, *c}));
  GrantFilter by_dataset;
  by_dataset.dataset = "customers";
  EXPECT_EQ(GrantIds(by_dataset), (std::vector<int64_t>{*c}));
  GrantFilter combined;
  combined.dataset = "orders";
  combined.principal = Finance();
  EXPECT_EQ(GrantIds(combined), (std::vector<int64_t>{*b}));
  EXPECT_EQ(GrantIds({}), (std::vector<int64_t>{*a, *b, *c, *d}));
}

TEST_F(SqliteCatalogRecords, RevokingKeepsTheGrantAsARecord) {
  AddAccessFixtures();
  auto id = Grant(Alice(), "orders:read");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  clock_.Advance(std::chrono::hours(1));
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) { return txn.RevokeGrant(*id, "user:carol", "left team"); }));

  EXPECT_TRUE(GrantIds({}).empty());
  GrantFilter with_revoked;
  with_revoked.include_revoked = true;
  auto grants = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.ListGrants(with_revoked); });
  ASSERT_TRUE(grants.ok()) << grants.status().ToString();
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_EQ((*grants)[0].revoked_at, std::optional<std::string>(clock_.NowText()));
  EXPECT_EQ((*grants)[0].revoked_by, "user:carol");
  EXPECT_EQ((*grants)[0].revoke_reason, "left team");
  EXPECT_EQ((*grants)[0].reason, "needs it");
}

TEST_F(SqliteCatalogRecords, RevokingTwiceIsConflict) {
  AddAccessFixtures();
  auto id = Grant(Alice(), "orders:read");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) { return txn.RevokeGrant(*id, "user:carol", "done"); }));
  Status again = catalog_->Write([&](CatalogTransaction& txn) { return txn.RevokeGrant(*id, "user:dave", "again"); });
  EXPECT_EQ(again.code(), StatusCode::kConflict);
  EXPECT_THAT(again.message(), HasSubstr("already revoked"));
  EXPECT_THAT(again.message(), HasSubstr("user:carol"));
  Status missing = catalog_->Write([](CatalogTransaction& txn) { return txn.RevokeGrant(999, "user:carol", "x"); });
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "grant 999 does not exist");
}

TEST_F(SqliteCatalogRecords, GrantNeedsAnExistingPrincipalAndRole) {
  AddAccessFixtures();
  auto no_principal = Grant({PrincipalKind::kUser, "mallory"}, "orders:read");
  EXPECT_EQ(no_principal.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(no_principal.status().message(), HasSubstr("'user:mallory'"));
  auto no_role = Grant(Alice(), "orders:delete");
  EXPECT_EQ(no_role.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(no_role.status().message(), HasSubstr("role 'orders:delete'"));
  EXPECT_TRUE(GrantIds({}).empty());
}

}  // namespace
}  // namespace edl
