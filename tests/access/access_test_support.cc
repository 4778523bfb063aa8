#include "access_test_support.h"

#include <utility>

#include <fmt/format.h>

namespace edl::testing {

DatasetRecord MakeDataset(const std::string& name, Tier tier, std::vector<std::string> owners, DatasetPolicy policy) {
  DatasetRecord record;
  record.spec.name = name;
  record.spec.tier = tier;
  record.spec.region = "eu-west-1";
  record.spec.description = "test dataset " + name;
  record.spec.owners = std::move(owners);
  record.spec.policy = std::move(policy);
  record.bucket = fmt::format("datalake-test-{}-eu-west-1", TierName(tier));
  return record;
}

Status InsertDatasetWithRoles(Catalog& catalog, const DatasetRecord& dataset) {
  return catalog.Write([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(tx.InsertDataset(dataset));
    for (AccessLevel level : {AccessLevel::kRead, AccessLevel::kWrite, AccessLevel::kAdmin}) {
      RETURN_IF_ERROR(tx.InsertRole({DatasetRoleName(dataset.spec.name, level), dataset.spec.name, level,
                                     fmt::format("{} dataset {}", AccessLevelName(level), dataset.spec.name)}));
    }
    return Status::Ok();
  });
}

Result<int64_t> InsertDefaultRole(Catalog& catalog) {
  int64_t id = 0;
  RETURN_IF_ERROR(catalog.Write([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(
        tx.InsertRole({std::string(kInternalReadRole), "", AccessLevel::kRead, "read every internal-tier dataset"}));
    Principal employees{PrincipalKind::kGroup, std::string(kEmployeesGroup)};
    RETURN_IF_ERROR(tx.EnsurePrincipal(employees).status());
    GrantRecord grant;
    grant.principal = employees;
    grant.role = std::string(kInternalReadRole);
    grant.granted_by = "system:deploy";
    grant.reason = "default role for internal data";
    ASSIGN_OR_RETURN(id, tx.InsertGrant(grant));
    return Status::Ok();
  }));
  return id;
}

Result<int64_t> InsertGrant(Catalog& catalog, const Principal& principal, const std::string& role,
                            std::optional<std::string> expires_at, const std::string& granted_by) {
  int64_t id = 0;
  RETURN_IF_ERROR(catalog.Write([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(tx.EnsurePrincipal(principal).status());
    GrantRecord grant;
    grant.principal = principal;
    grant.role = role;
    grant.granted_by = granted_by;
    grant.reason = "test";
    grant.expires_at = std::move(expires_at);
    ASSIGN_OR_RETURN(id, tx.InsertGrant(grant));
    return Status::Ok();
  }));
  return id;
}

std::vector<AuditEvent> AllAudit(Catalog& catalog, AuditQuery query) {
  query.limit = 1000000;
  std::vector<AuditEvent> events;
  Status status = catalog.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(events, tx.ListAudit(query));
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return events;
}

void AccessTest::SetUp() {
  Result<std::unique_ptr<SqliteCatalog>> opened = SqliteCatalog::Open(file_, clock_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  catalog_ = std::move(opened).value();
  audit_ = std::make_unique<AuditWriter>(*catalog_);
  authorizer_ = std::make_unique<Authorizer>(*catalog_, clock_, audit_.get());
  grants_ = std::make_unique<GrantService>(*catalog_, clock_, *authorizer_);
  users_ = std::make_unique<UserDirectory>(*catalog_, clock_);
  ASSERT_OK_AND_ASSIGN(default_grant_id_, InsertDefaultRole(*catalog_));
}

std::unique_ptr<SqliteCatalog> AccessTest::OpenSecondCatalog() {
  Result<std::unique_ptr<SqliteCatalog>> opened = SqliteCatalog::Open(file_, clock_);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

DatasetRecord AccessTest::AddDataset(const std::string& name, Tier tier, std::vector<std::string> owners,
                                     DatasetPolicy policy) {
  Status status = InsertDatasetWithRoles(*catalog_, MakeDataset(name, tier, std::move(owners), std::move(policy)));
  EXPECT_TRUE(status.ok()) << status.ToString();
  return GetDataset(name);
}

DatasetRecord AccessTest::GetDataset(const std::string& name) {
  DatasetRecord record;
  Status status = catalog_->Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::optional<DatasetRecord> found, tx.GetDataset(name));
    if (!found) return NotFound("no dataset " + name);
    record = *found;
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return record;
}

void AccessTest::AddUser(const std::string& name, std::vector<std::string> groups, bool admin, bool employee) {
  NewUser user;
  user.name = name;
  user.groups = std::move(groups);
  user.admin = admin;
  user.employee = employee;
  Result<UserRecord> added = users_->AddUser(user, "user:root");
  EXPECT_TRUE(added.ok()) << added.status().ToString();
}

Identity AccessTest::IdentityOf(const std::string& name) {
  Identity identity;
  Result<UserRecord> user = users_->GetUser(name);
  EXPECT_TRUE(user.ok()) << user.status().ToString();
  if (!user.ok()) return identity;
  identity.user = user->name;
  identity.admin = user->admin;
  identity.groups = user->groups;
  return identity;
}

AccessScope AccessTest::ScopeOf(const std::string& name) {
  Result<AccessScope> scope = authorizer_->ScopeFor(IdentityOf(name));
  EXPECT_TRUE(scope.ok()) << scope.status().ToString();
  return scope.ok() ? *scope : AccessScope();
}

std::string AccessTest::InDays(int64_t days) const {
  return FormatTimestamp(clock_.Now() + std::chrono::hours(24) * days);
}

std::vector<AuditEvent> AccessTest::FlushedAudit(AuditQuery query) {
  Status flushed = audit_->Flush();
  EXPECT_TRUE(flushed.ok()) << flushed.ToString();
  return AllAudit(*catalog_, std::move(query));
}

AuditEvent AccessTest::LastAudit() {
  std::vector<AuditEvent> events = FlushedAudit();
  EXPECT_FALSE(events.empty());
  return events.empty() ? AuditEvent() : events.back();
}

}  // namespace edl::testing
