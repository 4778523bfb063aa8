// Integration tests of the real `edl-api` binary against the real `edl serve` on a loopback port
// (tests/http/server_fixture.h): settings from flags, environment and ~/.config/edl/config.yaml,
// datasets and updates, ingests of local files and folders with --wait, jobs, admin commands, and
// the exit codes and messages of every kind of failure. Every run checks that no token reaches
// edl-api's output (except the one `tokens create` prints) or the server's log.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/api_runner.h"
#include "http/server_fixture.h"

namespace edl {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using nlohmann::json;
using testing::ApiBinary;
using testing::ApiRunner;
using testing::CommandResult;
using testing::RunCommand;
using testing::ServerTest;
using testing::TempDir;

// Owned by alice, so she may read and ingest; QC refuses an empty order_id.
constexpr char kOrders[] = R"(name: sales-orders
tier: restricted
description: Orders from the EU web shop
owners: [alice]
updates: {kind: snapshot}
qc:
  - {check: not_null, column: order_id}
)";
constexpr char kTraffic[] = "name: web-traffic\ntier: internal\ndescription: Page views\nowners: [admin]\n";
constexpr char kGoodCsv[] = "order_id,amount\n1,10.5\n2,20.25\n3,7\n";
constexpr char kUnreachableUrl[] = "http://127.0.0.1:1";

class EdlApiCli : public ::testing::Test {
 protected:
  EdlApiCli() : api_(t_.dir.path() / "home") {}

  void SetUp() override {
    t_.DeployDataset(kOrders);
    t_.DeployDataset(kTraffic);
    t_.StartServer();
    api_.AddSecret(t_.admin_token);
    api_.AddSecret(t_.alice_token);
  }
  void TearDown() override {
    std::string log = t_.ServerLog();
    for (const std::string& secret : api_.secrets()) EXPECT_THAT(log, Not(HasSubstr(secret))) << "a token in the log";
  }

  std::string Url() const { return t_.server->url(); }
  CommandResult Alice(std::vector<std::string> args) const { return api_.Run(Url(), t_.alice_token, std::move(args)); }
  CommandResult Admin(std::vector<std::string> args) const { return api_.Run(Url(), t_.admin_token, std::move(args)); }
  json AliceJson(std::vector<std::string> args) const {
    args.insert(args.end(), {"-o", "json"});
    CommandResult r = Alice(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  // Writes a file under the test's folder and returns its path as text.
  std::string Write(const std::string& relative, const std::string& content) const {
    return t_.dir.WriteFile("files/" + relative, content).string();
  }
  // The id of a job from "Job 7 queued: ..."; 0 when the text is not that.
  static int64_t QueuedJobId(const std::string& out) {
    if (out.rfind("Job ", 0) != 0) return 0;
    return std::stoll(out.substr(4));
  }

  ServerTest t_;
  ApiRunner api_;
};

// ---- datasets and updates ----

TEST_F(EdlApiCli, DatasetsListsWhatTheUserMayReadAsATableAndAsJson) {
  CommandResult table = Alice({"datasets"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, StartsWith("NAME"));
  EXPECT_THAT(table.out, HasSubstr("sales-orders"));
  EXPECT_THAT(table.out, HasSubstr("Orders from the EU web shop"));
  EXPECT_THAT(table.out, HasSubstr("web-traffic"));
  EXPECT_THAT(table.out, HasSubstr("restricted"));

  json list = AliceJson({"datasets"});  // the global option after the command
  ASSERT_TRUE(list.is_object()) << list;
  std::vector<std::string> names;
  for (const json& d : list["datasets"]) names.push_back(d["name"]);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"sales-orders", "web-traffic"}));
  EXPECT_FALSE(list.contains("next_page_token"));

  // One page, as the server sent it.
  CommandResult page = Alice({"-o", "json", "datasets", "--limit", "1"});
  ASSERT_EQ(page.exit_code, 0) << page.err;
  json one = json::parse(page.out);
  EXPECT_EQ(one["datasets"].size(), 1u);
  EXPECT_TRUE(one.contains("next_page_token")) << one;
}

TEST_F(EdlApiCli, DatasetShowGivesPolicyOwnersAndQc) {
  CommandResult show = Alice({"dataset", "show", "sales-orders"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("sales-orders"));
  EXPECT_THAT(show.out, HasSubstr("restricted"));
  EXPECT_THAT(show.out, HasSubstr("alice"));
  EXPECT_THAT(show.out, HasSubstr("not_null"));
  EXPECT_THAT(show.out, HasSubstr("order_id"));

  json d = AliceJson({"dataset", "show", "sales-orders"});
  EXPECT_EQ(d["name"], "sales-orders");
  EXPECT_EQ(d["tier"], "restricted");
  EXPECT_EQ(d["updates_count"], 0);
}

// ---- ingest ----

TEST_F(EdlApiCli, IngestOfALocalFileWithWaitMakesACompleteUpdate) {
  std::string csv = Write("orders.csv", kGoodCsv);
  CommandResult ingest = Alice({"ingest", "sales-orders", csv, "--wait"});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.out << ingest.err;
  EXPECT_THAT(ingest.out, HasSubstr("Update 1 of sales-orders is complete"));
  EXPECT_THAT(ingest.out, HasSubstr("3 rows"));

  CommandResult updates = Alice({"updates", "sales-orders"});
  ASSERT_EQ(updates.exit_code, 0) << updates.err;
  EXPECT_THAT(updates.out, StartsWith("N "));
  EXPECT_THAT(updates.out, HasSubstr("complete"));
  json list = AliceJson({"updates", "sales-orders"});
  ASSERT_EQ(list["updates"].size(), 1u) << list;
  EXPECT_EQ(list["updates"][0]["number"], 1);
  EXPECT_EQ(list["updates"][0]["state"], "complete");

  CommandResult show = Alice({"update", "show", "sales-orders", "1"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("complete"));
  EXPECT_THAT(show.out, HasSubstr("orders.csv"));  // the source's file
  EXPECT_THAT(show.out, HasSubstr("sha256"));
  EXPECT_THAT(show.out, HasSubstr("order_id"));   // schema
  EXPECT_THAT(show.out, HasSubstr("pass not_null"));
  json update = AliceJson({"update", "show", "sales-orders", "1"});
  EXPECT_EQ(update["state"], "complete");
  EXPECT_EQ(update["metadata"]["rows"], 3);

  EXPECT_EQ(Alice({"update", "show", "sales-orders", "2"}).exit_code, 4);
}

TEST_F(EdlApiCli, IngestOfAFolderUploadsEveryFileButHiddenOnes) {
  Write("batch/a.csv", kGoodCsv);
  Write("batch/sub/b.csv", "order_id,amount\n4,1.5\n5,2.5\n");
  Write("batch/.hidden.csv", "order_id,amount\n,1\n");  // would fail QC if it were sent
  CommandResult ingest = Alice({"-o", "json", "ingest", "sales-orders", (t_.dir.path() / "files/batch").string(), "--wait"});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.out << ingest.err;
  EXPECT_THAT(ingest.err, HasSubstr("skipped 1 hidden"));
  json job = json::parse(ingest.out);
  EXPECT_EQ(job["state"], "succeeded");
  EXPECT_EQ(job["result"]["rows"], 5);
  EXPECT_EQ(job["result"]["raw_files"], 2);

  json update = AliceJson({"update", "show", "sales-orders", "1"});
  std::string text = update.dump();
  EXPECT_THAT(text, HasSubstr("a.csv"));
  EXPECT_THAT(text, HasSubstr("b.csv"));
  EXPECT_THAT(text, Not(HasSubstr("hidden")));

  // Two files of one name cannot share an upload: refused before anything is sent.
  Write("other/a.csv", kGoodCsv);
  CommandResult clash = Alice({"ingest", "sales-orders", (t_.dir.path() / "files/batch").string(),
                               (t_.dir.path() / "files/other").string()});
  EXPECT_EQ(clash.exit_code, 3) << clash.err;
  EXPECT_THAT(clash.err, HasSubstr("two files are named 'a.csv'"));
}

TEST_F(EdlApiCli, IngestOfDataThatFailsQcExits3WithTheJobsError) {
  std::string csv = Write("bad.csv", "order_id,amount\n,10.5\n");
  CommandResult ingest = Alice({"ingest", "sales-orders", csv, "--wait"});
  EXPECT_EQ(ingest.exit_code, 3) << ingest.out << ingest.err;
  EXPECT_THAT(ingest.err, HasSubstr("edl-api: invalid input: job "));
  EXPECT_THAT(ingest.err, HasSubstr("failed"));
  EXPECT_THAT(ingest.err, HasSubstr("order_id"));
  EXPECT_EQ(ingest.out, "");

  json list = AliceJson({"updates", "sales-orders"});
  ASSERT_EQ(list["updates"].size(), 1u) << list;
  EXPECT_EQ(list["updates"][0]["state"], "failed");
  CommandResult updates = Alice({"updates", "sales-orders"});
  EXPECT_THAT(updates.out, HasSubstr("failed"));
  // Following the failed job's log ends with the same outcome.
  CommandResult follow = Alice({"job", "logs", "1", "--follow"});
  EXPECT_EQ(follow.exit_code, 3) << follow.err;
  EXPECT_THAT(follow.err, HasSubstr("order_id"));

  // With -o json the failure is a JSON error object on stderr, the job on stdout.
  CommandResult again = Alice({"-o", "json", "ingest", "sales-orders", csv, "--wait"});
  EXPECT_EQ(again.exit_code, 3);
  EXPECT_EQ(json::parse(again.out)["state"], "failed");
  json error = json::parse(again.err, nullptr, false);
  EXPECT_EQ(error["error"]["code"], "invalid_argument") << again.err;
}

TEST_F(EdlApiCli, IngestWithoutWaitPrintsTheJobWhichTheJobCommandsShow) {
  std::string csv = Write("orders.csv", kGoodCsv);
  CommandResult ingest = Alice({"ingest", "sales-orders", csv});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_THAT(ingest.out, HasSubstr("queued: ingest into sales-orders"));
  int64_t id = QueuedJobId(ingest.out);
  ASSERT_GT(id, 0) << ingest.out;
  std::string id_text = std::to_string(id);
  ASSERT_EQ(t_.WaitForJob(id, t_.alice_token)["state"], "succeeded");

  CommandResult jobs = Alice({"jobs"});
  ASSERT_EQ(jobs.exit_code, 0) << jobs.err;
  EXPECT_THAT(jobs.out, StartsWith("ID"));
  EXPECT_THAT(jobs.out, HasSubstr("succeeded"));
  EXPECT_THAT(jobs.out, HasSubstr("sales-orders"));
  json list = AliceJson({"jobs", "--state", "succeeded"});
  ASSERT_EQ(list["jobs"].size(), 1u) << list;
  EXPECT_EQ(list["jobs"][0]["id"], id);

  CommandResult show = Alice({"job", "show", id_text});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("succeeded"));
  EXPECT_THAT(show.out, HasSubstr("upload:"));
  EXPECT_THAT(show.out, HasSubstr("user:alice"));

  CommandResult logs = Alice({"job", "logs", id_text});
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_THAT(logs.out, HasSubstr("info"));
  json lines = AliceJson({"job", "logs", id_text});
  EXPECT_FALSE(lines["lines"].empty()) << lines;
  CommandResult follow = Alice({"job", "logs", id_text, "--follow"});
  EXPECT_EQ(follow.exit_code, 0) << follow.err;
  EXPECT_EQ(follow.out, logs.out);

  CommandResult cancel = Alice({"job", "cancel", id_text});
  EXPECT_EQ(cancel.exit_code, 6) << cancel.out << cancel.err;
  EXPECT_THAT(cancel.err, HasSubstr("edl-api: conflict: "));
  EXPECT_THAT(cancel.err, HasSubstr("succeeded"));

  // Another user does not see alice's job.
  EXPECT_EQ(api_.Run(Url(), t_.AddUser("carol"), {"job", "show", id_text}).exit_code, 4);
}

// ---- who and admin ----

TEST_F(EdlApiCli, WhoamiShowsTheTokensUser) {
  CommandResult alice = Alice({"whoami"});
  ASSERT_EQ(alice.exit_code, 0) << alice.err;
  EXPECT_THAT(alice.out, HasSubstr("user:"));
  EXPECT_THAT(alice.out, HasSubstr("alice"));
  EXPECT_THAT(alice.out, HasSubstr("employees"));
  EXPECT_THAT(alice.out, HasSubstr(Url()));
  json me = AliceJson({"whoami"});
  EXPECT_EQ(me["user"], "alice");
  EXPECT_EQ(me["admin"], false);

  CommandResult admin = Admin({"whoami", "-o", "json"});
  ASSERT_EQ(admin.exit_code, 0) << admin.err;
  json admin_me = json::parse(admin.out);
  EXPECT_EQ(admin_me["user"], "admin");
  EXPECT_EQ(admin_me["admin"], true);
}

TEST_F(EdlApiCli, AdminAddsAUserAndGivesThemATokenThatWorksUntilRevoked) {
  CommandResult users = Admin({"users", "list"});
  ASSERT_EQ(users.exit_code, 0) << users.err;
  EXPECT_THAT(users.out, HasSubstr("alice"));
  EXPECT_THAT(users.out, HasSubstr("admin"));

  CommandResult add = Admin({"users", "add", "bob", "--group", "finance"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_THAT(add.out, HasSubstr("Created user bob"));
  EXPECT_THAT(add.out, HasSubstr("finance"));
  CommandResult again = Admin({"users", "add", "bob"});
  EXPECT_EQ(again.exit_code, 5) << again.err;
  EXPECT_THAT(Admin({"users", "list"}).out, HasSubstr("bob"));

  CommandResult created = Admin({"tokens", "create", "--user", "bob", "--description", "for tests"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_THAT(created.out, StartsWith("edl_"));
  ASSERT_EQ(created.out.back(), '\n');
  std::string bob_token = created.out.substr(0, created.out.size() - 1);
  EXPECT_EQ(bob_token.find_first_of(" \n"), std::string::npos) << "the secret alone on stdout";
  EXPECT_THAT(created.err, HasSubstr("Created token"));
  EXPECT_THAT(created.err, Not(HasSubstr(bob_token)));
  api_.AddSecret(bob_token);  // from now on, no output may contain it

  json me = json::parse(api_.Run(Url(), bob_token, {"whoami", "-o", "json"}).out);
  EXPECT_EQ(me["user"], "bob");
  EXPECT_THAT(me["groups"].dump(), HasSubstr("finance"));
  int64_t token_id = me["token"]["id"];

  CommandResult tokens = Admin({"tokens", "list", "--user", "bob"});
  ASSERT_EQ(tokens.exit_code, 0) << tokens.err;
  EXPECT_THAT(tokens.out, HasSubstr("for tests"));
  json token_list = json::parse(Admin({"-o", "json", "tokens", "list", "--user", "bob"}).out);
  ASSERT_EQ(token_list["tokens"].size(), 1u) << token_list;
  EXPECT_EQ(token_list["tokens"][0]["id"], token_id);
  EXPECT_FALSE(token_list["tokens"][0].contains("token"));

  CommandResult revoke = Admin({"tokens", "revoke", std::to_string(token_id)});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_THAT(revoke.out, HasSubstr("Revoked token " + std::to_string(token_id) + " of bob"));
  CommandResult refused = api_.Run(Url(), bob_token, {"whoami"});
  EXPECT_EQ(refused.exit_code, 7) << refused.out << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("refused the token from EDL_TOKEN"));

  CommandResult audit = Admin({"audit"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_THAT(audit.out, StartsWith("SEQ"));
  EXPECT_THAT(audit.out, HasSubstr("user.add"));
  EXPECT_THAT(audit.out, HasSubstr("token.create"));
  EXPECT_THAT(audit.out, HasSubstr("token.revoke"));
  CommandResult one = Admin({"audit", "--limit", "1", "-o", "json"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(json::parse(one.out)["events"].size(), 1u);
}

TEST_F(EdlApiCli, AdminCommandsAsAPlainUserExit7NamingAdmins) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"users", "list"}, {"users", "add", "mallory"}, {"audit"}, {"tokens", "create", "--user", "admin"}}) {
    CommandResult r = Alice(args);
    EXPECT_EQ(r.exit_code, 7) << args[0] << ": " << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("edl-api: permission denied: ")) << args[0];
    EXPECT_THAT(r.err, HasSubstr("admin")) << args[0];
    EXPECT_EQ(r.out, "");
  }
  EXPECT_THAT(Admin({"users", "list"}).out, Not(HasSubstr("mallory")));
}

// ---- settings: flags, environment, config file ----

TEST_F(EdlApiCli, FlagsComeBeforeTheEnvironment) {
  // The environment points at nothing; the flags win.
  CommandResult r = api_.Run(kUnreachableUrl, "edl_not-a-real-token", {"--url", Url(), "--token", t_.alice_token,
                                                                       "whoami", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["user"], "alice");
  // Flags may follow the command too.
  CommandResult after = api_.Run("", "", {"whoami", "--url", Url(), "--token", t_.admin_token, "-o", "json"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(json::parse(after.out)["user"], "admin");
}

TEST_F(EdlApiCli, ConfigFileInHomeGivesUrlAndTokenAndTheEnvironmentWins) {
  TempDir dir;
  fs::path config = dir.WriteFile(".config/edl/config.yaml", "url: " + Url() + "\ntoken: " + t_.alice_token + "\n");
  fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write);
  ApiRunner runner(dir.path());
  for (const std::string& secret : api_.secrets()) runner.AddSecret(secret);

  CommandResult r = runner.Run("", "", {"whoami", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["user"], "alice");
  CommandResult env = runner.Run("", t_.admin_token, {"whoami", "-o", "json"});
  ASSERT_EQ(env.exit_code, 0) << env.err;
  EXPECT_EQ(json::parse(env.out)["user"], "admin");
  CommandResult unreachable = runner.Run(kUnreachableUrl, "", {"whoami"});
  EXPECT_EQ(unreachable.exit_code, 8) << unreachable.err;

  // A refused token from the file is named by the file, never shown.
  dir.WriteFile(".config/edl/config.yaml", "url: " + Url() + "\ntoken: edl_revoked-or-never-issued\n");
  runner.AddSecret("edl_revoked-or-never-issued");
  CommandResult refused = runner.Run("", "", {"datasets"});
  EXPECT_EQ(refused.exit_code, 7);
  EXPECT_THAT(refused.err, HasSubstr(config.string()));

  // An unknown key is an error naming the file and the key, and still not showing the token.
  dir.WriteFile(".config/edl/config.yaml", "url: " + Url() + "\ntoken: " + t_.alice_token + "\ntimeout: 3\n");
  CommandResult bad = runner.Run("", "", {"whoami"});
  EXPECT_EQ(bad.exit_code, 3) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("config.yaml"));
  EXPECT_THAT(bad.err, HasSubstr("timeout"));
}

// ---- failures ----

TEST(EdlApiCliWithoutServer, UnreachableServerExits8AndSaysHowToFixIt) {
  TempDir home;
  ApiRunner api(home.path());
  const std::string token = "edl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  api.AddSecret(token);
  CommandResult r = api.Run("", token, {"--url", kUnreachableUrl, "datasets"});
  EXPECT_EQ(r.exit_code, 8) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("edl-api: unavailable: cannot reach the EDL server at http://127.0.0.1:1"));
  EXPECT_THAT(r.err, HasSubstr("is `edl serve` running?"));
  EXPECT_THAT(r.err, HasSubstr("--url or EDL_URL"));
  EXPECT_EQ(r.out, "");

  CommandResult as_json = api.Run(kUnreachableUrl, token, {"-o", "json", "whoami"});
  EXPECT_EQ(as_json.exit_code, 8);
  json error = json::parse(as_json.err, nullptr, false);
  EXPECT_EQ(error["error"]["code"], "unavailable") << as_json.err;
}

TEST(EdlApiCliWithoutServer, BadCommandLinesExit2AndHelpNeedsNoServer) {
  TempDir home;
  ApiRunner api(home.path());
  EXPECT_EQ(api.Run(kUnreachableUrl, "", {"no-such-command"}).exit_code, 2);
  EXPECT_EQ(api.Run(kUnreachableUrl, "", {"datasets", "--tier", "secret"}).exit_code, 2);
  CommandResult help = api.Run(kUnreachableUrl, "", {"ingest", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_THAT(help.out, HasSubstr("--wait"));
  CommandResult version = api.Run("", "", {"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, HasSubstr("edl-api"));
}

// edl-api is installed on users' machines: it links the client and the rendering, not the engine.
TEST(EdlApiCliWithoutServer, DoesNotNeedLibduckdb) {
  CommandResult ldd = RunCommand({"/usr/bin/ldd", ApiBinary()});
  ASSERT_EQ(ldd.exit_code, 0) << ldd.err;
  EXPECT_THAT(ldd.out, HasSubstr("libcurl"));
  EXPECT_THAT(ldd.out, Not(HasSubstr("duckdb")));
}

TEST_F(EdlApiCli, BadTokenExits7AndNeverShowsTheToken) {
  const std::string bad = "edl_" + std::string(43, 'x');
  api_.AddSecret(bad);
  CommandResult env = api_.Run(Url(), bad, {"datasets"});
  EXPECT_EQ(env.exit_code, 7) << env.out << env.err;
  EXPECT_THAT(env.err, HasSubstr("refused the token from EDL_TOKEN"));
  EXPECT_THAT(env.err, HasSubstr("request id"));
  EXPECT_EQ(env.out, "");
  CommandResult flag = api_.Run(Url(), "", {"--token", bad, "whoami", "-o", "json"});
  EXPECT_EQ(flag.exit_code, 7);
  json error = json::parse(flag.err, nullptr, false);
  EXPECT_EQ(error["error"]["code"], "permission_denied") << flag.err;
  EXPECT_THAT(flag.err, HasSubstr("--token"));
  // A token with a space in it is refused before sending, without quoting it.
  const std::string spaced = "edl_with a-space-inside-it";
  api_.AddSecret(spaced);
  CommandResult malformed = api_.Run(Url(), spaced, {"whoami"});
  EXPECT_EQ(malformed.exit_code, 3) << malformed.err;
}

TEST_F(EdlApiCli, MissingTokenExits7BeforeAnyRequest) {
  std::string log_before = t_.ServerLog();
  CommandResult r = api_.Run(Url(), "", {"datasets"});
  EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("no API token"));
  EXPECT_THAT(r.err, HasSubstr("EDL_TOKEN"));
  EXPECT_THAT(r.err, HasSubstr("edl tokens create"));
  std::string csv = Write("orders.csv", kGoodCsv);
  EXPECT_EQ(api_.Run(Url(), "", {"ingest", "sales-orders", csv}).exit_code, 7);
  EXPECT_EQ(t_.ServerLog(), log_before) << "edl-api sent a request without a token";
}

TEST_F(EdlApiCli, UnknownDatasetExits4) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"dataset", "show", "no-such-dataset"}, {"updates", "no-such-dataset"},
           {"update", "show", "no-such-dataset", "1"}}) {
    CommandResult r = Alice(args);
    EXPECT_EQ(r.exit_code, 4) << args[0] << ": " << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("edl-api: not found: ")) << args[0];
    EXPECT_THAT(r.err, HasSubstr("no-such-dataset")) << args[0];
  }
  // The dataset is looked up before anything is uploaded.
  std::string csv = Write("orders.csv", kGoodCsv);
  CommandResult ingest = Alice({"ingest", "no-such-dataset", csv, "--wait"});
  EXPECT_EQ(ingest.exit_code, 4) << ingest.err;
  EXPECT_THAT(ingest.err, Not(HasSubstr("upload:")));
  EXPECT_THAT(t_.ServerLog(), Not(HasSubstr("/v1/uploads")));
  // A local source that does not exist is also "not found", before any request.
  EXPECT_EQ(Alice({"ingest", "sales-orders", (t_.dir.path() / "missing.csv").string()}).exit_code, 4);
}

}  // namespace
}  // namespace edl
