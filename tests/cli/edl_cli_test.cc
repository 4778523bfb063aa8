#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::CommandResult;
using testing::ReadFile;
using testing::RunCommand;

constexpr int kExitInvalid = 3;

std::string BucketFolder(const std::string& head, const std::string& tier, const std::string& region) {
  return head + tier + "-" + region;
}
constexpr int kExitNotFound = 4;
constexpr int kExitConflict = 6;

class EdlCli : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.WriteFile("edl.yaml",
                             "instance: dev01\nregions: [eu-west-1, us-east-1]\ndefault_region: eu-west-1\n"
                             "storage: {backend: local, root: ./data}\ncatalog: {url: 'sqlite:./data/catalog.db'}\n");
    for (const char* name : {"web-traffic", "sales-orders", "patient-visits"}) {
      fs::copy_file(testing::SourceDir() / "examples/datasets" / (std::string(name) + ".yaml"),
                    dir_.path() / (std::string(name) + ".yaml"));
    }
  }

  CommandResult Edl(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::EdlBinary(), "-c", config_.string()});
    return RunCommand(args);
  }
  nlohmann::json EdlJson(std::vector<std::string> args) {
    args.push_back("-o");
    args.push_back("json");
    CommandResult r = Edl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }
  void DeployAll() {
    ASSERT_EQ(Edl({"deploy"}).exit_code, 0);
    CommandResult r = Edl({"deploy-dataset", File("web-traffic"), File("sales-orders"), File("patient-visits")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string File(const std::string& name) const { return (dir_.path() / (name + ".yaml")).string(); }
  fs::path Root() const { return dir_.path() / "data"; }
  std::string CatalogPath() const { return (Root() / "catalog.db").string(); }
  size_t AuditCount() { return EdlJson({"audit", "--limit", "100000"}).size(); }

  testing::TempDir dir_;
  fs::path config_;
};

TEST_F(EdlCli, PrintsVersion) {
  CommandResult r = RunCommand({testing::EdlBinary(), "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("edl 0.1.0"));
  EXPECT_THAT(r.out, HasSubstr("DuckDB v1.4.4"));
}

TEST_F(EdlCli, HelpAtEveryLevel) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"-h"}, {"deploy", "-h"}, {"deploy-dataset", "--help"}, {"datasets", "-h"}, {"show", "-h"},
           {"audit", "-h"}, {"audit", "verify", "-h"}}) {
    args.insert(args.begin(), testing::EdlBinary());
    CommandResult r = RunCommand(args);
    EXPECT_EQ(r.exit_code, 0) << args[1];
    EXPECT_THAT(r.out, HasSubstr("Usage")) << args[1];
  }
}

TEST_F(EdlCli, UsageErrorsExitTwo) {
  EXPECT_EQ(RunCommand({testing::EdlBinary(), "frobnicate"}).exit_code, 2);
  EXPECT_EQ(RunCommand({testing::EdlBinary()}).exit_code, 2);
  CommandResult r = Edl({"datasets", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--help"));
}

TEST_F(EdlCli, PlanChangesNothing) {
  CommandResult r = Edl({"deploy", "--plan"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("+ bucket datalake-dev01-internal-eu-west-1"));
  EXPECT_THAT(r.out, HasSubstr("+ drop bucket datalake-drop-dev01-sensitive-us-east-1"));
  EXPECT_THAT(r.out, HasSubstr("+ role internal-read"));
  EXPECT_THAT(r.out, HasSubstr("+ group employees"));
  EXPECT_THAT(r.out, HasSubstr("+ catalog schema"));
  EXPECT_THAT(r.out, HasSubstr("Nothing was changed"));
  EXPECT_FALSE(fs::exists(Root()));
}

TEST_F(EdlCli, DeployCreatesBucketsAndIsIdempotent) {
  CommandResult first = Edl({"deploy"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("Applied to instance dev01"));
  for (const char* region : {"eu-west-1", "us-east-1"}) {
    for (const char* tier : {"internal", "restricted", "sensitive"}) {
      EXPECT_TRUE(fs::is_directory(Root() / BucketFolder("datalake-dev01-", tier, region))) << tier << region;
      EXPECT_TRUE(fs::is_directory(Root() / BucketFolder("datalake-drop-dev01-", tier, region))) << tier << region;
    }
  }
  EXPECT_TRUE(fs::exists(CatalogPath()));
  size_t audit_after_first = AuditCount();
  CommandResult second = Edl({"deploy"});
  ASSERT_EQ(second.exit_code, 0);
  EXPECT_THAT(second.out, HasSubstr("No changes"));
  nlohmann::json third = EdlJson({"deploy"});
  EXPECT_EQ(third["changed"], false);
  EXPECT_EQ(AuditCount(), audit_after_first);
}

TEST_F(EdlCli, DeployDatasetsCreatesFoldersRolesAndGrants) {
  DeployAll();
  EXPECT_TRUE(fs::exists(Root() / "datalake-dev01-internal-eu-west-1/web-traffic/_dataset.json"));
  EXPECT_TRUE(fs::exists(Root() / "datalake-dev01-restricted-eu-west-1/sales-orders/_dataset.json"));
  EXPECT_TRUE(fs::exists(Root() / "datalake-dev01-sensitive-eu-west-1/patient-visits/_dataset.json"));

  nlohmann::json list = EdlJson({"datasets"});
  ASSERT_EQ(list.size(), 3u);
  std::map<std::string, std::string> tiers;
  for (const auto& d : list) tiers[d["name"]] = d["tier"];
  EXPECT_EQ(tiers["sales-orders"], "restricted");
  EXPECT_EQ(tiers["patient-visits"], "sensitive");

  nlohmann::json show = EdlJson({"show", "sales-orders"});
  EXPECT_EQ(show["bucket"], "datalake-dev01-restricted-eu-west-1");
  EXPECT_EQ(show["updates"]["kind"], "delta");
  std::set<std::string> roles;
  for (const auto& role : show["roles"]) roles.insert(role["name"]);
  EXPECT_EQ(roles, (std::set<std::string>{"sales-orders:read", "sales-orders:write", "sales-orders:admin"}));
  std::set<std::string> grants;
  for (const auto& g : show["active_grants"]) grants.insert(g["role"].get<std::string>() + " " + g["principal"].get<std::string>());
  EXPECT_EQ(grants, (std::set<std::string>{"sales-orders:read group:finance", "sales-orders:write user:bob",
                                           "sales-orders:admin user:alice"}));

  CommandResult table = Edl({"datasets"});
  EXPECT_THAT(table.out, HasSubstr("NAME"));
  EXPECT_THAT(table.out, HasSubstr("sales-orders"));
  CommandResult again = Edl({"deploy-dataset", File("sales-orders")});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.out, HasSubstr("No changes"));
}

TEST_F(EdlCli, DatasetChangeIsPlannedAppliedAndAudited) {
  DeployAll();
  std::string text = ReadFile(File("sales-orders"));
  text.replace(text.find("Orders from the EU web shop"), 27, "Orders from every shop");
  dir_.WriteFile("sales-orders.yaml", text);
  CommandResult plan = Edl({"deploy-dataset", "--plan", File("sales-orders")});
  EXPECT_THAT(plan.out, HasSubstr("~ dataset field description"));
  EXPECT_EQ(EdlJson({"show", "sales-orders"})["description"], "Orders from the EU web shop");
  ASSERT_EQ(Edl({"deploy-dataset", File("sales-orders")}).exit_code, 0);
  EXPECT_EQ(EdlJson({"show", "sales-orders"})["description"], "Orders from every shop");
  nlohmann::json audit = EdlJson({"audit", "--target", "dataset:sales-orders"});
  ASSERT_FALSE(audit.empty());
  const auto& last = audit.back();
  EXPECT_EQ(last["action"], "dataset.update");
  EXPECT_EQ(last["details"]["changes"]["description"]["old"], "Orders from the EU web shop");
  EXPECT_EQ(last["details"]["changes"]["description"]["new"], "Orders from every shop");
  CommandResult verify = Edl({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
}

TEST_F(EdlCli, TierChangeOfDatasetWithUpdatesIsRefused) {
  DeployAll();
  // Ingest arrives in a later issue; record an update the way it will, straight in the catalog.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(CatalogPath().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "INSERT INTO updates(dataset_id, number, kind, state, created_by, created_at) "
                         "SELECT id, 1, 'delta', 'complete', 'test', '2026-01-01T00:00:00.000Z' FROM datasets "
                         "WHERE name = 'sales-orders'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  std::string text = ReadFile(File("sales-orders"));
  text.replace(text.find("tier: restricted"), 16, "tier: internal");
  dir_.WriteFile("sales-orders.yaml", text);
  size_t audit_before = AuditCount();
  CommandResult r = Edl({"deploy-dataset", File("sales-orders")});
  EXPECT_EQ(r.exit_code, kExitConflict);
  EXPECT_THAT(r.err, HasSubstr("has 1 update(s)"));
  EXPECT_THAT(r.err, HasSubstr("tier cannot change from 'restricted' to 'internal'"));
  EXPECT_EQ(EdlJson({"show", "sales-orders"})["tier"], "restricted");
  EXPECT_EQ(AuditCount(), audit_before);
}

TEST_F(EdlCli, TierChangeWithoutUpdatesMovesTheFolder) {
  DeployAll();
  std::string text = ReadFile(File("web-traffic"));
  text.replace(text.find("tier: internal"), 14, "tier: restricted");
  dir_.WriteFile("web-traffic.yaml", text);
  CommandResult r = Edl({"deploy-dataset", File("web-traffic")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(Root() / "datalake-dev01-restricted-eu-west-1/web-traffic/_dataset.json"));
  EXPECT_FALSE(fs::exists(Root() / "datalake-dev01-internal-eu-west-1/web-traffic/_dataset.json"));
  EXPECT_EQ(EdlJson({"show", "web-traffic"})["bucket"], "datalake-dev01-restricted-eu-west-1");
}

TEST_F(EdlCli, RemovedDeclaredGrantIsRevoked) {
  DeployAll();
  std::string text = ReadFile(File("sales-orders"));
  text.erase(text.find("  - {principal: group:finance, level: read}\n"), 45);
  dir_.WriteFile("sales-orders.yaml", text);
  CommandResult r = Edl({"deploy-dataset", File("sales-orders")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("- grant sales-orders:read -> group:finance"));
  nlohmann::json show = EdlJson({"show", "sales-orders"});
  for (const auto& g : show["active_grants"]) EXPECT_NE(g["principal"], "group:finance");
  nlohmann::json audit = EdlJson({"audit", "--target", "role:sales-orders:read"});
  EXPECT_EQ(audit.back()["action"], "grant.revoke");
}

// A calendar date `days` from today (UTC), as dataset files write `until`. The CLI runs on the
// real clock, so the dates in these tests are relative to it.
std::string DaysFromToday(int days) {
  auto day = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()) + std::chrono::days(days);
  std::chrono::year_month_day ymd{day};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return text;
}

TEST_F(EdlCli, DeclaredGrantChangesArePlannedThenApplied) {
  DeployAll();
  std::string file = File("sales-orders");
  std::string base = ReadFile(file);
  std::string first = DaysFromToday(20), second = DaysFromToday(40);
  dir_.WriteFile("sales-orders.yaml", base +
                                          "  - {principal: user:dave, level: read, justification: month-end close, "
                                          "until: " +
                                          first + "}\n");
  CommandResult plan = Edl({"deploy-dataset", "--plan", file});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("+ grant sales-orders:read -> user:dave  (declared in " + file +
                                  ": month-end close; until " + first + ")"));
  EXPECT_THAT(plan.out, HasSubstr("Nothing was changed (--plan)."));
  nlohmann::json before = EdlJson({"show", "sales-orders"});
  for (const auto& g : before["active_grants"]) EXPECT_NE(g["principal"], "user:dave");
  ASSERT_EQ(Edl({"deploy-dataset", file}).exit_code, 0);
  bool found = false;
  nlohmann::json after = EdlJson({"show", "sales-orders"});
  for (const auto& g : after["active_grants"]) {
    if (g["principal"] != "user:dave") continue;
    found = true;
    EXPECT_EQ(g["expires_at"], first + "T00:00:00.000Z");
    EXPECT_EQ(g["reason"], "declared in " + file + ": month-end close");
  }
  EXPECT_TRUE(found);

  // Moving the date: the old grant goes, a new one comes, both in the plan before anything changes.
  dir_.WriteFile("sales-orders.yaml", base +
                                          "  - {principal: user:dave, level: read, justification: month-end close, "
                                          "until: " +
                                          second + "}\n");
  plan = Edl({"deploy-dataset", "--plan", file});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("- grant sales-orders:read -> user:dave  (changed in " + file + " (until " + first +
                                  " -> " + second + "); replaced)"));
  EXPECT_THAT(plan.out, HasSubstr("+ grant sales-orders:read -> user:dave  (declared in " + file +
                                  ": month-end close; until " + second + ")"));
  EXPECT_THAT(plan.out,
              HasSubstr("1 to create, 2 to change, 1 to remove"));  // changes: the grants field, _dataset.json
  CommandResult applied = Edl({"deploy-dataset", file});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_THAT(applied.out, HasSubstr("Applied to dataset sales-orders"));
  nlohmann::json audit = EdlJson({"audit", "--target", "role:sales-orders:read"});
  ASSERT_GE(audit.size(), 2u);
  EXPECT_EQ(audit[audit.size() - 2]["action"], "grant.revoke");
  EXPECT_EQ(audit.back()["action"], "grant.add");
  CommandResult again = Edl({"deploy-dataset", file});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.out, HasSubstr("No changes: dataset sales-orders is up to date."));
}

TEST_F(EdlCli, DeclaredGrantBreakingTheTierRulesStopsTheWholeDeploy) {
  DeployAll();
  std::string web = ReadFile(File("web-traffic"));
  web.replace(web.find("description: "), 13, "description: Changed. ");
  dir_.WriteFile("web-traffic.yaml", web);
  dir_.WriteFile("patient-visits.yaml", ReadFile(File("patient-visits")) +
                                            "grants:\n  - {principal: group:nurses, level: read, justification: ward, "
                                            "until: " +
                                            DaysFromToday(10) + "}\n");
  size_t audit_before = AuditCount();
  CommandResult r = Edl({"deploy-dataset", File("web-traffic"), File("patient-visits")});
  EXPECT_EQ(r.exit_code, kExitInvalid);
  EXPECT_THAT(r.err, HasSubstr(File("patient-visits") + ": grants[0] (read to group:nurses): dataset 'patient-visits' "
                                                        "is sensitive"));
  EXPECT_THAT(r.err, HasSubstr("individual users only"));
  EXPECT_EQ(AuditCount(), audit_before) << "web-traffic was not deployed either";
  CommandResult plan = Edl({"deploy-dataset", "--plan", File("patient-visits")});
  EXPECT_EQ(plan.exit_code, kExitInvalid);
  EXPECT_THAT(plan.err, HasSubstr("individual users only"));
}

// ---- bad input: a clear message naming the problem, non-zero exit, nothing changed ----

TEST_F(EdlCli, MissingConfigFile) {
  CommandResult r = RunCommand({testing::EdlBinary(), "-c", "/nonexistent/edl.yaml", "deploy"});
  EXPECT_EQ(r.exit_code, kExitNotFound);
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/edl.yaml"));
  EXPECT_THAT(r.err, HasSubstr("does not exist"));
}

TEST_F(EdlCli, ConfigFromEnvironment) {
  CommandResult r = RunCommand({testing::EdlBinary(), "deploy", "--plan"}, {"EDL_CONFIG=" + config_.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("instance dev01"));
}

TEST_F(EdlCli, InvalidYamlInConfig) {
  dir_.WriteFile("edl.yaml", "instance: dev01\nregions: [eu-west-1\n");
  CommandResult r = Edl({"deploy"});
  EXPECT_EQ(r.exit_code, kExitInvalid);
  EXPECT_THAT(r.err, HasSubstr("invalid YAML"));
  EXPECT_FALSE(fs::exists(Root()));
}

TEST_F(EdlCli, UnknownKeyInDatasetFileSuggestsTheRightOne) {
  ASSERT_EQ(Edl({"deploy"}).exit_code, 0);
  dir_.WriteFile("bad.yaml", "name: x\ntier: internal\nowners: [a]\nowner: [b]\n");
  CommandResult r = Edl({"deploy-dataset", (dir_.path() / "bad.yaml").string()});
  EXPECT_EQ(r.exit_code, kExitInvalid);
  EXPECT_THAT(r.err, HasSubstr("bad.yaml:4"));
  EXPECT_THAT(r.err, HasSubstr("did you mean 'owners'"));
}

TEST_F(EdlCli, OneBadFileStopsTheWholeDeploy) {
  ASSERT_EQ(Edl({"deploy"}).exit_code, 0);
  dir_.WriteFile("bad.yaml", "name: Bad Name\ntier: internal\nowners: [a]\n");
  size_t audit_before = AuditCount();
  CommandResult r = Edl({"deploy-dataset", File("web-traffic"), (dir_.path() / "bad.yaml").string()});
  EXPECT_EQ(r.exit_code, kExitInvalid);
  EXPECT_THAT(r.err, HasSubstr("field 'name'"));
  EXPECT_TRUE(EdlJson({"datasets"}).empty());
  EXPECT_EQ(AuditCount(), audit_before);
}

TEST_F(EdlCli, DatasetInAnotherInstancesRegion) {
  ASSERT_EQ(Edl({"deploy"}).exit_code, 0);
  dir_.WriteFile("other.yaml", "name: x\ntier: internal\nowners: [a]\nregion: ap-south-1\n");
  CommandResult r = Edl({"deploy-dataset", (dir_.path() / "other.yaml").string()});
  EXPECT_EQ(r.exit_code, kExitInvalid);
  EXPECT_THAT(r.err, HasSubstr("region 'ap-south-1' is not one of instance 'dev01''s regions"));
}

TEST_F(EdlCli, DatasetBeforeInstanceIsDeployed) {
  CommandResult r = Edl({"deploy-dataset", File("web-traffic")});
  EXPECT_EQ(r.exit_code, kExitNotFound);
  EXPECT_THAT(r.err, HasSubstr("edl deploy"));
  EXPECT_FALSE(fs::exists(Root()));
}

TEST_F(EdlCli, UnknownDatasetSuggestsAClosename) {
  DeployAll();
  CommandResult r = Edl({"show", "sales-order"});
  EXPECT_EQ(r.exit_code, kExitNotFound);
  EXPECT_THAT(r.err, HasSubstr("dataset 'sales-order' does not exist (did you mean 'sales-orders'?)"));
  CommandResult json = Edl({"show", "nope", "-o", "json"});
  EXPECT_EQ(nlohmann::json::parse(json.err)["error"]["code"], "not_found");
}

TEST_F(EdlCli, UnwritableStorageRoot) {
  // Tests run as root, where permission bits do not stop writes: put the root under a regular file.
  dir_.WriteFile("blocker", "x");
  dir_.WriteFile("edl.yaml", "instance: dev01\nregions: [eu-west-1]\nstorage: {backend: local, root: ./blocker/data}\n"
                             "catalog: {url: 'sqlite:./catalog.db'}\n");
  CommandResult r = Edl({"deploy"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("blocker/data"));
  EXPECT_FALSE(fs::exists(dir_.path() / "catalog.db"));
}

TEST_F(EdlCli, CatalogThatIsNotADatabase) {
  fs::create_directories(Root());
  dir_.WriteFile("data/catalog.db", "these are my notes, not a database\n");
  CommandResult r = Edl({"deploy"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("catalog.db"));
  EXPECT_THAT(r.err, HasSubstr("not an SQLite database"));
  EXPECT_EQ(ReadFile(CatalogPath()), "these are my notes, not a database\n");
}

TEST_F(EdlCli, CatalogFromANewerSchemaVersion) {
  ASSERT_EQ(Edl({"deploy"}).exit_code, 0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(CatalogPath().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations(version, applied_at) VALUES (99, 'later')", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  CommandResult r = Edl({"datasets"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("newer"));
  EXPECT_THAT(r.err, HasSubstr("99"));
}

}  // namespace
}  // namespace edl
