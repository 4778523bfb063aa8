#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/audit_chain.h"
#include "catalog/sqlite_catalog.h"
#include "catalog/sqlite_schema.h"
#include "catalog_test_support.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

using edl::testing::FixedClock;
using edl::testing::RawExec;
using edl::testing::RawQuery;
using edl::testing::ReadFile;
using edl::testing::TempDir;
using ::testing::HasSubstr;

constexpr const char* kTables[] = {"settings",       "buckets", "datasets", "updates", "files", "principals",
                                   "group_members",  "roles",   "grants",   "jobs",    "audit", "schema_migrations",
                                   "trigger_events", "users",   "tokens",   "job_logs"};

TEST(Migration, ListIsNumberedUpToTheSchemaVersion) {
  std::span<const CatalogMigration> migrations = CatalogMigrations();
  ASSERT_EQ(migrations.size(), static_cast<size_t>(kCatalogSchemaVersion));
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i + 1));
    EXPECT_FALSE(migrations[i].description.empty());
  }
}

TEST(Migration, CreatesTheSchemaInAFreshFile) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.path() / "catalog.db";
  {
    Result<std::unique_ptr<SqliteCatalog>> catalog = SqliteCatalog::Open(file, clock);
    ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
    EXPECT_EQ((*catalog)->SchemaVersion(), kCatalogSchemaVersion);
    EXPECT_EQ((*catalog)->Describe(), "sqlite:" + file.string());
  }
  EXPECT_EQ(RawQuery(file, "SELECT group_concat(version) FROM schema_migrations"), "1,2,3,4,5,6");
  EXPECT_EQ(RawQuery(file, "SELECT applied_at FROM schema_migrations WHERE version = 1"), clock.NowText());
  for (const char* table : kTables) {
    EXPECT_EQ(RawQuery(file, std::string("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '") +
                                 table + "'"),
              "1")
        << table;
  }
  EXPECT_EQ(RawQuery(file, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawQuery(file, "PRAGMA application_id"), std::to_string(kSqliteCatalogApplicationId));
}

TEST(Migration, ReopeningAtTheSameVersionChangesNothing) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.path() / "catalog.db";
  {
    auto catalog = SqliteCatalog::Open(file, clock);
    ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
    ASSERT_OK((*catalog)->Write([](CatalogTransaction& txn) { return txn.PutSetting("instance", "dev01"); }));
  }
  std::string schema = RawQuery(file, "SELECT group_concat(sql, ';') FROM sqlite_master");
  std::string applied_at = RawQuery(file, "SELECT applied_at FROM schema_migrations");
  ASSERT_FALSE(applied_at.empty());
  clock.Advance(std::chrono::hours(24));
  auto catalog = SqliteCatalog::Open(file, clock);
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ((*catalog)->SchemaVersion(), kCatalogSchemaVersion);
  EXPECT_EQ(RawQuery(file, "SELECT COUNT(*) FROM schema_migrations"), std::to_string(kCatalogSchemaVersion));
  EXPECT_EQ(RawQuery(file, "SELECT applied_at FROM schema_migrations"), applied_at);
  EXPECT_EQ(RawQuery(file, "SELECT group_concat(sql, ';') FROM sqlite_master"), schema);
  auto instance =
      edl::testing::ReadValue(**catalog, [](CatalogTransaction& txn) { return txn.GetSetting("instance"); });
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  EXPECT_EQ(*instance, std::optional<std::string>("dev01"));
}

TEST(Migration, RefusesACatalogFromANewerEdl) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.path() / "catalog.db";
  ASSERT_TRUE(SqliteCatalog::Open(file, clock).ok());
  RawExec(file, "INSERT INTO schema_migrations (version, applied_at) VALUES (7, '2030-01-01T00:00:00.000Z')");
  std::string before = ReadFile(file);

  Result<std::unique_ptr<SqliteCatalog>> catalog = SqliteCatalog::Open(file, clock);
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), StatusCode::kConflict);
  EXPECT_EQ(catalog.status().message(), "catalog '" + file.string() +
                                            "' is at schema version 7, newer than this EDL build knows (" +
                                            std::to_string(kCatalogSchemaVersion) + "); upgrade EDL");
  EXPECT_EQ(ReadFile(file), before);
  EXPECT_EQ(RawQuery(file, "SELECT MAX(version) FROM schema_migrations"), "7");
}

TEST(Migration, ConcurrentOpenersOfAFreshFileAllSucceed) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.path() / "catalog.db";
  constexpr int kOpeners = 6;
  std::vector<Status> results(kOpeners);
  std::vector<std::thread> threads;
  threads.reserve(kOpeners);
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] { results[i] = SqliteCatalog::Open(file, clock).status(); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& status : results) EXPECT_OK(status);
  EXPECT_EQ(RawQuery(file, "SELECT COUNT(*) FROM schema_migrations"), std::to_string(kCatalogSchemaVersion));
}

// A catalog written by an older EDL (schema v1) is brought up to date on open, keeping its data.
TEST(Migration, UpgradesAnOlderCatalogKeepingItsData) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.path() / "catalog.db";
  RawExec(file, std::string(CatalogMigrations()[0].sql));
  RawExec(file, "PRAGMA application_id = " + std::to_string(kSqliteCatalogApplicationId));
  RawExec(file, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  RawExec(file, "INSERT INTO schema_migrations VALUES (1, '2026-01-01T00:00:00.000Z')");
  RawExec(file, "INSERT INTO settings VALUES ('instance', 'dev01')");
  auto catalog = SqliteCatalog::Open(file, clock);
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ((*catalog)->SchemaVersion(), kCatalogSchemaVersion);
  EXPECT_EQ(RawQuery(file, "SELECT group_concat(version) FROM schema_migrations"), "1,2,3,4,5,6");
  EXPECT_EQ(RawQuery(file, "SELECT value FROM settings WHERE key = 'instance'"), "dev01");
  EXPECT_EQ(RawQuery(file, "SELECT COUNT(*) FROM pragma_table_info('updates') WHERE name = 'lease_owner'"), "1");
}

// A v2 catalog (ingest era) gains users, tokens and jobs; its principals, memberships and any
// rows of v1's placeholder jobs table are kept.
TEST(Migration, UpgradesAVersion2CatalogInPlace) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.path() / "catalog.db";
  RawExec(file, std::string(CatalogMigrations()[0].sql));
  RawExec(file, std::string(CatalogMigrations()[1].sql));
  RawExec(file, "PRAGMA application_id = " + std::to_string(kSqliteCatalogApplicationId));
  RawExec(file, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  RawExec(file,
          "INSERT INTO schema_migrations VALUES (1, '2026-01-01T00:00:00.000Z'), "
          "(2, '2026-01-01T00:00:00.000Z')");
  RawExec(file, "INSERT INTO settings VALUES ('instance', 'dev01')");
  RawExec(file,
          "INSERT INTO principals (id, kind, name, created_at) VALUES "
          "(1, 'user', 'alice', '2026-01-01T00:00:00.000Z'), (2, 'group', 'finance', '2026-01-01T00:00:00.000Z')");
  RawExec(file, "INSERT INTO group_members (group_id, member_id) VALUES (2, 1)");
  RawExec(file,
          "INSERT INTO jobs (id, kind, state, payload_json, attempts, max_attempts, created_by, created_at, "
          "updated_at) VALUES (7, 'ingest', 'queued', '{\"sources\":[]}', 0, 5, 'user:alice', "
          "'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')");

  auto catalog = SqliteCatalog::Open(file, clock);
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ((*catalog)->SchemaVersion(), kCatalogSchemaVersion);
  EXPECT_EQ(RawQuery(file, "SELECT group_concat(version) FROM schema_migrations"), "1,2,3,4,5,6");
  EXPECT_EQ(RawQuery(file, "SELECT applied_at FROM schema_migrations WHERE version = 3"), clock.NowText());
  EXPECT_EQ(RawQuery(file, "SELECT value FROM settings WHERE key = 'instance'"), "dev01");
  EXPECT_EQ(RawQuery(file, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'jobs_v3'"), "0");
  EXPECT_EQ(RawQuery(file, "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'payload_json'"), "0");
  EXPECT_EQ(RawQuery(file, "PRAGMA foreign_key_check"), "");

  Catalog& upgraded = **catalog;
  auto job = edl::testing::ReadValue(upgraded, [](CatalogTransaction& txn) { return txn.GetJob(7); });
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  ASSERT_TRUE(job->has_value());
  EXPECT_EQ((*job)->kind, "ingest");
  EXPECT_EQ((*job)->state, JobState::kQueued);
  EXPECT_EQ((*job)->spec_json, R"({"sources":[]})");
  EXPECT_EQ((*job)->max_attempts, 5);
  EXPECT_EQ((*job)->created_by, "user:alice");
  JobRecord next;
  next.kind = "ingest";
  next.dataset = "orders";
  auto next_id = edl::testing::WriteValue(upgraded, [&](CatalogTransaction& txn) { return txn.InsertJob(next); });
  ASSERT_TRUE(next_id.ok()) << next_id.status().ToString();
  EXPECT_EQ(*next_id, 8);

  // The principal alice existed (from grants) but was no account; becoming one keeps her groups.
  auto before = edl::testing::ReadValue(upgraded, [](CatalogTransaction& txn) { return txn.GetUser("alice"); });
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(*before, std::nullopt);
  UserRecord alice;
  alice.name = "alice";
  alice.created_by = "system";
  ASSERT_OK(upgraded.Write([&](CatalogTransaction& txn) { return txn.InsertUser(alice); }));
  auto after = edl::testing::ReadValue(upgraded, [](CatalogTransaction& txn) { return txn.GetUser("alice"); });
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_TRUE(after->has_value());
  EXPECT_EQ((*after)->groups, std::vector<std::string>{"finance"});
  EXPECT_EQ(RawQuery(file, "SELECT principal_id FROM users WHERE name = 'alice'"), "1");
}

// A v4 catalog loses the audit log's index on target (v6) and keeps its chain: events written
// before v4 (no decision fields) and by v4 (access decisions) still verify, queries by target and
// by dataset find the same events, and appending continues the chain.
TEST(Migration, UpgradesAVersion4CatalogKeepingItsAuditChain) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.path() / "catalog.db";
  for (int version = 1; version <= 4; ++version) {
    RawExec(file, std::string(CatalogMigrations()[static_cast<size_t>(version - 1)].sql));
  }
  RawExec(file, "PRAGMA application_id = " + std::to_string(kSqliteCatalogApplicationId));
  RawExec(file, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  RawExec(file, "INSERT INTO schema_migrations (version, applied_at) VALUES (1, 'x'), (2, 'x'), (3, 'x'), (4, 'x')");
  auto stored = [](int64_t seq, std::string actor, std::string action, std::string target, std::string details) {
    AuditEvent event;
    event.seq = seq;
    event.at = fmt::format("2026-01-01T00:00:0{}.000Z", seq);
    event.actor = std::move(actor);
    event.action = std::move(action);
    event.target = std::move(target);
    event.details_json = std::move(details);
    return event;
  };
  std::vector<AuditEvent> events = {
      stored(1, "user:alice", "dataset.create", "dataset:orders", R"({"tier":"internal"})"),  // as before v4
      stored(2, "user:bob", "access.read", "dataset:orders", "{}"),
      stored(3, "user:alice", "grant.add", "role:orders:read", "{}"),
  };
  events[1].decision = "allow";  // a v4 access decision
  events[1].reason = "the default role";
  events[1].request_id = "req-1";
  std::string prev(kAuditGenesisHash);
  for (const AuditEvent& event : events) {
    std::string hash = *AuditHash(prev, event);
    RawExec(file, fmt::format("INSERT INTO audit (seq, at, actor, action, target, details_json, decision, reason, "
                              "request_id, prev_hash, hash) VALUES ({}, '{}', '{}', '{}', '{}', '{}', '{}', '{}', "
                              "'{}', '{}', '{}')",
                              event.seq, event.at, event.actor, event.action, event.target, event.details_json,
                              event.decision, event.reason, event.request_id, prev, hash));
    prev = hash;
  }

  auto catalog = SqliteCatalog::Open(file, clock);
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ((*catalog)->SchemaVersion(), 6);
  EXPECT_EQ(RawQuery(file, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'data_epoch'"), "1");
  EXPECT_EQ(RawQuery(file, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_by_target'"), "0");
  EXPECT_EQ(RawQuery(file, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_by_actor'"), "1");
  Catalog& upgraded = **catalog;
  EXPECT_OK(upgraded.Read([](CatalogTransaction& txn) { return txn.VerifyAudit(); }));
  auto seqs = [&](AuditQuery query) {
    std::vector<int64_t> out;
    auto found = edl::testing::ReadValue(upgraded, [&](CatalogTransaction& txn) { return txn.ListAudit(query); });
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    if (found.ok()) {
      for (const AuditEvent& event : *found) out.push_back(event.seq);
    }
    return out;
  };
  AuditQuery by_target;
  by_target.target = "dataset:orders";
  EXPECT_EQ(seqs(by_target), (std::vector<int64_t>{1, 2}));
  AuditQuery by_dataset;
  by_dataset.dataset = "orders";
  EXPECT_EQ(seqs(by_dataset), (std::vector<int64_t>{1, 2, 3}));

  AuditEvent next = events[1];
  next.seq = 0;
  next.at.clear();
  auto seq = edl::testing::WriteValue(upgraded, [&](CatalogTransaction& txn) { return txn.AppendAudit(next); });
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  EXPECT_EQ(*seq, 4);
  EXPECT_OK(upgraded.Read([](CatalogTransaction& txn) { return txn.VerifyAudit(); }));
}

TEST(SqliteCatalog, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  FixedClock clock;
  const std::string content = "instance: dev01\nbucket_prefix: datalake\n";
  std::filesystem::path file = dir.WriteFile("catalog.db", content);

  Result<std::unique_ptr<SqliteCatalog>> catalog = SqliteCatalog::Open(file, clock);
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog.status().message(), "'" + file.string() + "' is not an EDL catalog (not an SQLite database)");
  EXPECT_EQ(ReadFile(file), content);
  EXPECT_EQ(edl::testing::ListFolder(dir.path()), "catalog.db");  // no -wal or -shm either
}

TEST(SqliteCatalog, RefusesADatabaseOfAnotherProgram) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.path() / "people.db";
  RawExec(file, "CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('ada');");
  std::string before = ReadFile(file);

  Result<std::unique_ptr<SqliteCatalog>> catalog = SqliteCatalog::Open(file, clock);
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(catalog.status().message(), HasSubstr("'" + file.string() + "' is not an EDL catalog"));
  EXPECT_THAT(catalog.status().message(), HasSubstr("people"));
  EXPECT_EQ(ReadFile(file), before);
  EXPECT_EQ(RawQuery(file, "SELECT group_concat(name) FROM sqlite_master"), "people");
  EXPECT_EQ(RawQuery(file, "PRAGMA journal_mode"), "delete");
}

TEST(SqliteCatalog, RefusesADatabaseMarkedByAnotherApplication) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.path() / "other.db";
  RawExec(file, "PRAGMA application_id = 42;");
  Result<std::unique_ptr<SqliteCatalog>> catalog = SqliteCatalog::Open(file, clock);
  EXPECT_EQ(catalog.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(catalog.status().message(), HasSubstr("another application"));
}

TEST(SqliteCatalog, RefusesAMissingFolder) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.path() / "missing" / "catalog.db";
  Result<std::unique_ptr<SqliteCatalog>> catalog = SqliteCatalog::Open(file, clock);
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(catalog.status().message(), HasSubstr("'" + file.string() + "'"));
  EXPECT_THAT(catalog.status().message(),
              HasSubstr("folder '" + (dir.path() / "missing").string() + "' does not exist"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "missing"));
}

TEST(SqliteCatalog, RefusesAFolderAsTheCatalogFile) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::create_directory(dir.path() / "catalog.db");
  Result<std::unique_ptr<SqliteCatalog>> catalog = SqliteCatalog::Open(dir.path() / "catalog.db", clock);
  EXPECT_EQ(catalog.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(catalog.status().message(), HasSubstr("is a folder"));
}

TEST(SqliteCatalog, TurnsAnEmptyFileIntoACatalog) {
  TempDir dir;
  FixedClock clock;
  std::filesystem::path file = dir.WriteFile("catalog.db", "");
  Result<std::unique_ptr<SqliteCatalog>> catalog = SqliteCatalog::Open(file, clock);
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ((*catalog)->SchemaVersion(), kCatalogSchemaVersion);
}

TEST(SqliteCatalog, ResolvesRelativePaths) {
  FixedClock clock;
  Result<std::unique_ptr<SqliteCatalog>> catalog = SqliteCatalog::Open("no-such-folder/catalog.db", clock);
  EXPECT_EQ(catalog.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(catalog.status().message(),
              HasSubstr("'" + (std::filesystem::current_path() / "no-such-folder/catalog.db").string() + "'"));
}

}  // namespace
}  // namespace edl
