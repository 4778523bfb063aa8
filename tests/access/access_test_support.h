// Test support for the access tests: a real SQLite catalog in a temporary folder with the services a
// server wires around it (AuditWriter, Authorizer, GrantService, UserDirectory) on a FixedClock, the
// default role recorded the way `edl deploy` records it, datasets with their three roles the way
// `edl deploy-dataset` records them, and helpers to read the audit log back. The fixture owns
// everything it makes; the services are thread-safe, the helpers are for the test thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "access/access.h"
#include "access/audit_writer.h"
#include "access/authorizer.h"
#include "access/grants.h"
#include "catalog/sqlite_catalog.h"
#include "core/model.h"
#include "core/status.h"
#include "testing/status_testing.h"
#include "testing/temp_dir.h"

namespace edl::testing {

// A dataset record as deploy-dataset would write it (no files; the bucket named after the tier).
DatasetRecord MakeDataset(const std::string& name, Tier tier, std::vector<std::string> owners,
                          DatasetPolicy policy = {});

// Records `dataset` and its roles <name>:read/:write/:admin.
Status InsertDatasetWithRoles(Catalog& catalog, const DatasetRecord& dataset);
// Records the instance role internal-read granted to group employees (what `edl deploy` does);
// returns the grant's id.
Result<int64_t> InsertDefaultRole(Catalog& catalog);
// Records a grant straight in the catalog, bypassing GrantService's rules (as a dataset file or an
// older release could have); returns its id.
Result<int64_t> InsertGrant(Catalog& catalog, const Principal& principal, const std::string& role,
                            std::optional<std::string> expires_at, const std::string& granted_by = "user:olga");

// Every audit record, oldest first.
std::vector<AuditEvent> AllAudit(Catalog& catalog, AuditQuery query = {});

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Opens another Catalog on the same file: what another process sees and does.
  std::unique_ptr<SqliteCatalog> OpenSecondCatalog();

  // Adds a dataset (with roles) and returns it as the catalog has it.
  DatasetRecord AddDataset(const std::string& name, Tier tier, std::vector<std::string> owners,
                           DatasetPolicy policy = {});
  DatasetRecord GetDataset(const std::string& name);
  void AddUser(const std::string& name, std::vector<std::string> groups = {}, bool admin = false, bool employee = true);
  // The identity of a user as the catalog has it now (admin flag and groups).
  Identity IdentityOf(const std::string& name);
  // Authorizer::ScopeFor(IdentityOf(name)); an empty scope (and a test failure) on error.
  AccessScope ScopeOf(const std::string& name);

  // RFC 3339 for the clock's now plus `days` days.
  std::string InDays(int64_t days) const;

  // Flushes the audit writer and returns every audit record / the newest one.
  std::vector<AuditEvent> FlushedAudit(AuditQuery query = {});
  AuditEvent LastAudit();

  TempDir dir_;
  FixedClock clock_;
  std::filesystem::path file_ = dir_.path() / "catalog.db";
  // Declared in dependency order, so they are destroyed consumers first and the audit writer
  // writes what it holds before the catalog closes.
  std::unique_ptr<SqliteCatalog> catalog_;
  std::unique_ptr<AuditWriter> audit_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<GrantService> grants_;
  std::unique_ptr<UserDirectory> users_;
  int64_t default_grant_id_ = 0;  // internal-read -> group:employees
};

}  // namespace edl::testing
