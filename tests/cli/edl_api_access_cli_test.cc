// Integration tests of access control from the command line: the real `edl-api` against the real
// `edl serve` (tests/http/server_fixture.h). Grants added, listed and revoked; self-service access
// requests approved and denied; two-person approval on a sensitive dataset; `whoami` with effective
// roles; `audit` filters and its JSON-lines export; and bad command lines, which exit non-zero with a
// clear message and change nothing.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/api_runner.h"
#include "http/server_fixture.h"

namespace edl {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using nlohmann::json;
using testing::ApiRunner;
using testing::CommandResult;
using testing::ServerTest;

// Owned by alice, so she administers it; restricted, so nobody else reads it without a grant.
constexpr char kOrders[] = R"(name: sales-orders
tier: restricted
description: Orders from the EU web shop
owners: [alice]
updates: {kind: snapshot}
)";
constexpr char kTraffic[] = "name: web-traffic\ntier: internal\ndescription: Page views\nowners: [admin]\n";
// Sensitive, with two-person approval: a grant needs two different admins.
constexpr char kPatients[] = R"(name: patients
tier: sensitive
description: Patient visits
owners: [admin]
policy: {max_grant_days: 30, two_person_approval: true}
)";

class EdlApiAccessCli : public ::testing::Test {
 protected:
  EdlApiAccessCli() : api_(t_.dir.path() / "home") {}

  void SetUp() override {
    t_.DeployDataset(kOrders);
    t_.DeployDataset(kTraffic);
    t_.DeployDataset(kPatients);
    bob_token_ = t_.AddUser("bob");
    carol_token_ = t_.AddUser("carol");
    t_.StartServer();
    for (const std::string& token : {t_.admin_token, t_.alice_token, bob_token_, carol_token_}) api_.AddSecret(token);
  }
  void TearDown() override {
    std::string log = t_.ServerLog();
    for (const std::string& secret : api_.secrets()) EXPECT_THAT(log, Not(HasSubstr(secret))) << "a token in the log";
  }

  CommandResult As(const std::string& token, std::vector<std::string> args) const {
    return api_.Run(t_.server->url(), token, std::move(args));
  }
  CommandResult Admin(std::vector<std::string> args) const { return As(t_.admin_token, std::move(args)); }
  CommandResult Alice(std::vector<std::string> args) const { return As(t_.alice_token, std::move(args)); }
  CommandResult Bob(std::vector<std::string> args) const { return As(bob_token_, std::move(args)); }
  CommandResult Carol(std::vector<std::string> args) const { return As(carol_token_, std::move(args)); }
  // Runs with -o json, expects success and returns the parsed stdout.
  json JsonAs(const std::string& token, std::vector<std::string> args) const {
    args.insert(args.end(), {"-o", "json"});
    CommandResult r = As(token, args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return json::parse(r.out, nullptr, false);
  }
  // Every line of `text` parsed as JSON; a line that is not JSON fails the test.
  static std::vector<json> JsonLines(const std::string& text) {
    std::vector<json> lines;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      json line = json::parse(text.substr(start, end - start), nullptr, false);
      EXPECT_FALSE(line.is_discarded()) << "not JSON: " << text.substr(start, end - start);
      lines.push_back(std::move(line));
      start = end + 1;
    }
    return lines;
  }
  // The grant of `role` to `principal` in a {"grants": [...]} list; null when there is none.
  static json FindGrant(const json& list, const std::string& principal, const std::string& role) {
    for (const json& g : list["grants"]) {
      if (g["principal"] == principal && g["role"] == role) return g;
    }
    return nullptr;
  }
  // The id of the one pending request on `dataset` that `token`'s user may see.
  int64_t PendingRequestId(const std::string& token, const std::string& dataset) const {
    json pending = JsonAs(token, {"access", "pending", "--dataset", dataset});
    EXPECT_EQ(pending["requests"].size(), 1u) << pending;
    return pending["requests"].empty() ? 0 : pending["requests"][0]["id"].get<int64_t>();
  }

  ServerTest t_;
  ApiRunner api_;
  std::string bob_token_;
  std::string carol_token_;
};

// ---- grants ----

TEST_F(EdlApiAccessCli, DatasetAdminGrantsListsAndRevokesAndTheGranteeReadsOnlyMeanwhile) {
  // Without a grant bob sees that the dataset exists, and is told how to ask for it.
  CommandResult show = Bob({"dataset", "show", "sales-orders"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("your access:"));
  EXPECT_THAT(show.out, HasSubstr("none"));
  EXPECT_THAT(show.err, HasSubstr("edl-api access request sales-orders --level read"));
  CommandResult refused = Bob({"updates", "sales-orders"});
  EXPECT_EQ(refused.exit_code, 7) << refused.out << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("edl-api: permission denied: "));
  EXPECT_THAT(refused.err, HasSubstr("edl-api access request sales-orders --level read"));
  EXPECT_EQ(refused.out, "");

  CommandResult add = Alice({"grants", "add", "sales-orders", "user:bob", "--level", "read", "--days", "30",
                             "--justification", "Q3 report"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_THAT(add.out, StartsWith("Granted sales-orders:read to user:bob (grant "));
  EXPECT_THAT(add.out, HasSubstr("until 20"));

  CommandResult table = Alice({"grants", "list", "--dataset", "sales-orders"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, StartsWith("ID"));
  EXPECT_THAT(table.out, AllOf(HasSubstr("STATE"), HasSubstr("EXPIRES"), HasSubstr("user:bob"),
                               HasSubstr("sales-orders:read"), HasSubstr("active"), HasSubstr("Q3 report"),
                               HasSubstr("user:alice"), HasSubstr("sales-orders:admin")));
  json grants = JsonAs(t_.alice_token, {"grants", "list", "--dataset", "sales-orders"});
  json grant = FindGrant(grants, "user:bob", "sales-orders:read");
  ASSERT_TRUE(grant.is_object()) << grants;
  EXPECT_EQ(grant["granted_by"], "user:alice");
  EXPECT_TRUE(grant.contains("expires_at"));
  const std::string id = std::to_string(grant["id"].get<int64_t>());
  // --principal narrows a dataset's list.
  json bobs = JsonAs(t_.alice_token, {"grants", "list", "--dataset", "sales-orders", "--principal", "user:bob"});
  EXPECT_EQ(bobs["grants"].size(), 1u) << bobs;

  // Bob reads now, and sees the grant among his own.
  EXPECT_EQ(Bob({"updates", "sales-orders"}).exit_code, 0);
  EXPECT_EQ(JsonAs(bob_token_, {"dataset", "show", "sales-orders"})["access"], "read");
  json own = JsonAs(bob_token_, {"grants", "list"});
  EXPECT_TRUE(FindGrant(own, "user:bob", "sales-orders:read").is_object()) << own;
  EXPECT_TRUE(FindGrant(own, "group:employees", "internal-read").is_object()) << own;
  // Another user's grants are for admins only.
  CommandResult others = Bob({"grants", "list", "--principal", "user:carol"});
  EXPECT_EQ(others.exit_code, 7) << others.err;
  EXPECT_EQ(JsonAs(t_.admin_token, {"grants", "list", "--principal", "user:bob"})["grants"].size(), 1u);
  // Bob administers nothing: he may neither grant nor list the dataset's grants.
  CommandResult bob_grants = Bob({"grants", "add", "sales-orders", "user:carol", "--level", "read"});
  EXPECT_EQ(bob_grants.exit_code, 7) << bob_grants.err;
  EXPECT_THAT(bob_grants.err, HasSubstr("administer"));
  EXPECT_EQ(Bob({"grants", "list", "--dataset", "sales-orders"}).exit_code, 7);

  CommandResult revoke = Alice({"grants", "revoke", id, "--reason", "project over"});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_THAT(revoke.out, HasSubstr("Revoked grant " + id + ": user:bob no longer holds sales-orders:read"));
  EXPECT_EQ(Bob({"updates", "sales-orders"}).exit_code, 7);
  CommandResult again = Alice({"grants", "revoke", id});
  EXPECT_EQ(again.exit_code, 6) << again.err;
  EXPECT_THAT(again.err, HasSubstr("edl-api: conflict: "));

  // Revoked grants are listed only when asked for, with who revoked them and why.
  json active = JsonAs(t_.alice_token, {"grants", "list", "--dataset", "sales-orders"});
  EXPECT_TRUE(FindGrant(active, "user:bob", "sales-orders:read").is_null()) << active;
  CommandResult history = Alice({"grants", "list", "--dataset", "sales-orders", "--include-revoked"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_THAT(history.out, AllOf(HasSubstr("revoked"), HasSubstr("by user:alice"), HasSubstr("project over")));
}

// ---- self-service requests ----

TEST_F(EdlApiAccessCli, AccessRequestIsSeenByTheDatasetAdminWhoseApprovalLetsTheRequesterRead) {
  CommandResult request = Bob({"access", "request", "sales-orders", "--level", "read", "--days", "7",
                               "--justification", "Q3 report"});
  ASSERT_EQ(request.exit_code, 0) << request.err;
  EXPECT_THAT(request.out, StartsWith("Access request "));
  EXPECT_THAT(request.out, HasSubstr("read on sales-orders, for 7 days"));
  EXPECT_THAT(request.out, HasSubstr("edl-api access pending"));
  CommandResult twice = Bob({"access", "request", "sales-orders", "--level", "read", "--justification", "again"});
  EXPECT_EQ(twice.exit_code, 6) << twice.err;
  EXPECT_THAT(twice.err, HasSubstr("already asked"));

  // The dataset's admin sees it; an unrelated user does not.
  CommandResult pending = Alice({"access", "pending"});
  ASSERT_EQ(pending.exit_code, 0) << pending.err;
  EXPECT_THAT(pending.out, StartsWith("ID"));
  EXPECT_THAT(pending.out, AllOf(HasSubstr("JUSTIFICATION"), HasSubstr("user:bob"), HasSubstr("sales-orders"),
                                 HasSubstr("Q3 report")));
  int64_t id = PendingRequestId(t_.alice_token, "sales-orders");
  ASSERT_GT(id, 0);
  const std::string id_text = std::to_string(id);
  EXPECT_THAT(JsonAs(carol_token_, {"access", "pending"})["requests"], IsEmpty());
  EXPECT_EQ(Carol({"access", "approve", id_text}).exit_code, 4);
  // The requester cannot approve their own request.
  CommandResult self = Bob({"access", "approve", id_text});
  EXPECT_EQ(self.exit_code, 7) << self.err;
  EXPECT_EQ(Bob({"updates", "sales-orders"}).exit_code, 7);

  CommandResult approve = Alice({"access", "approve", id_text});
  ASSERT_EQ(approve.exit_code, 0) << approve.err;
  EXPECT_THAT(approve.out, HasSubstr("Approved access request " + id_text + ": user:bob now holds sales-orders:read"));
  EXPECT_THAT(approve.out, HasSubstr("for 7 days"));
  EXPECT_EQ(Bob({"updates", "sales-orders"}).exit_code, 0);
  EXPECT_EQ(JsonAs(bob_token_, {"dataset", "show", "sales-orders"})["access"], "read");
  CommandResult again = Alice({"access", "approve", id_text});
  EXPECT_EQ(again.exit_code, 6) << again.err;
  EXPECT_THAT(again.err, HasSubstr("already approved"));

  EXPECT_THAT(JsonAs(bob_token_, {"access", "pending"})["requests"], IsEmpty());
  CommandResult history = Bob({"access", "list", "--state", "approved"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_THAT(history.out, AllOf(HasSubstr("OUTCOME"), HasSubstr("approved"), HasSubstr("user:alice"),
                                 HasSubstr("grant ")));
}

TEST_F(EdlApiAccessCli, DeniedRequestTellsTheRequesterWhyAndGrantsNothing) {
  ASSERT_EQ(Bob({"access", "request", "sales-orders", "--level", "write", "--justification", "fix typos"}).exit_code, 0);
  const std::string id = std::to_string(PendingRequestId(t_.alice_token, "sales-orders"));
  CommandResult no_reason = Alice({"access", "deny", id});
  EXPECT_EQ(no_reason.exit_code, 2) << no_reason.err;
  EXPECT_THAT(no_reason.err, HasSubstr("--reason"));

  CommandResult deny = Alice({"access", "deny", id, "--reason", "ask the data team to fix them"});
  ASSERT_EQ(deny.exit_code, 0) << deny.err;
  EXPECT_THAT(deny.out, HasSubstr("Denied access request " + id));
  EXPECT_THAT(deny.out, HasSubstr("ask the data team to fix them"));

  CommandResult mine = Bob({"access", "list"});
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_THAT(mine.out, AllOf(HasSubstr("denied"), HasSubstr("ask the data team to fix them")));
  json denied = JsonAs(bob_token_, {"access", "list", "--state", "denied", "--dataset", "sales-orders"});
  ASSERT_EQ(denied["requests"].size(), 1u) << denied;
  EXPECT_EQ(denied["requests"][0]["decision_reason"], "ask the data team to fix them");
  EXPECT_EQ(denied["requests"][0]["decided_by"], "user:alice");
  EXPECT_EQ(JsonAs(bob_token_, {"dataset", "show", "sales-orders"})["access"], "none");
  EXPECT_EQ(Alice({"access", "approve", id}).exit_code, 6);
}

// ---- two-person approval ----

TEST_F(EdlApiAccessCli, SensitiveGrantWaitsForASecondAdminThenTheGranteeReads) {
  std::string admin2_token = t_.AddUser("admin2", {"--admin"});
  api_.AddSecret(admin2_token);
  // A sensitive dataset is hidden from whoever has no role on it.
  EXPECT_EQ(Bob({"dataset", "show", "patients"}).exit_code, 4);

  CommandResult add = Admin({"grants", "add", "patients", "user:bob", "--level", "read", "--days", "10",
                             "--justification", "study 42"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_THAT(add.out, StartsWith("Not granted yet: dataset patients asks for two-person approval."));
  int64_t id = PendingRequestId(t_.admin_token, "patients");
  ASSERT_GT(id, 0);
  const std::string id_text = std::to_string(id);
  EXPECT_THAT(add.out, HasSubstr("Access request " + id_text + " (read on patients for user:bob, for 10 days)"));
  EXPECT_THAT(add.out, HasSubstr("edl-api access approve " + id_text));
  EXPECT_EQ(Bob({"dataset", "show", "patients"}).exit_code, 4) << "not granted yet";
  json pending = JsonAs(t_.admin_token, {"access", "pending", "--dataset", "patients"});
  EXPECT_EQ(pending["requests"][0]["first_approved_by"], "user:admin") << pending;

  // The first approver cannot be the second.
  CommandResult same = Admin({"access", "approve", id_text});
  EXPECT_EQ(same.exit_code, 6) << same.err;
  EXPECT_THAT(same.err, HasSubstr("second, different admin"));

  CommandResult second = As(admin2_token, {"access", "approve", id_text});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.out, HasSubstr("user:bob now holds patients:read"));
  EXPECT_EQ(JsonAs(bob_token_, {"dataset", "show", "patients"})["access"], "read");
  EXPECT_EQ(Bob({"updates", "patients"}).exit_code, 0);

  // With -o json the pending answer is the server's, for scripts.
  json queued = JsonAs(t_.admin_token, {"grants", "add", "patients", "user:carol", "--level", "read", "--days", "5",
                                        "--justification", "study 43"});
  EXPECT_EQ(queued["pending"]["state"], "pending") << queued;
  EXPECT_EQ(queued["pending"]["grantee"], "user:carol");

  // The tier's rules, as the server states them.
  CommandResult group = Admin({"grants", "add", "patients", "group:employees", "--level", "read", "--days", "5",
                               "--justification", "everyone"});
  EXPECT_EQ(group.exit_code, 3) << group.err;
  EXPECT_THAT(group.err, HasSubstr("individual users"));
  CommandResult too_long = Admin({"grants", "add", "patients", "user:carol", "--level", "write", "--days", "40",
                                  "--justification", "study 43"});
  EXPECT_EQ(too_long.exit_code, 3) << too_long.err;
  EXPECT_THAT(too_long.err, HasSubstr("max_grant_days"));
  CommandResult forever = Admin({"grants", "add", "patients", "user:carol", "--level", "write", "--justification",
                                 "study 43"});
  EXPECT_EQ(forever.exit_code, 3) << forever.err;
  EXPECT_THAT(forever.err, HasSubstr("expiry"));
}

// ---- whoami ----

TEST_F(EdlApiAccessCli, WhoamiShowsEffectiveRolesAndWhereEachComesFrom) {
  ASSERT_EQ(Alice({"grants", "add", "sales-orders", "user:bob", "--level", "read", "--days", "3"}).exit_code, 0);
  CommandResult bob = Bob({"whoami"});
  ASSERT_EQ(bob.exit_code, 0) << bob.err;
  EXPECT_THAT(bob.out, AllOf(HasSubstr("user:"), HasSubstr("bob"), HasSubstr("groups:"), HasSubstr("employees")));
  EXPECT_THAT(bob.out, AllOf(HasSubstr("ROLE"), HasSubstr("VIA"), HasSubstr("EXPIRES")));
  EXPECT_THAT(bob.out, HasSubstr("internal-read"));
  EXPECT_THAT(bob.out, HasSubstr("to group:employees"));
  EXPECT_THAT(bob.out, HasSubstr("sales-orders:read"));
  EXPECT_THAT(bob.out, HasSubstr("to user:bob"));
  EXPECT_THAT(bob.out, HasSubstr("never"));  // internal-read does not expire

  json me = JsonAs(bob_token_, {"whoami"});
  bool found = false;
  for (const json& role : me["roles"]) {
    if (role["role"] != "sales-orders:read") continue;
    found = true;
    EXPECT_THAT(role["via"].get<std::string>(), HasSubstr("user:bob"));
    EXPECT_TRUE(role.contains("expires_at")) << role;
  }
  EXPECT_TRUE(found) << me;

  CommandResult alice = Alice({"whoami"});
  EXPECT_THAT(alice.out, AllOf(HasSubstr("sales-orders:admin"), HasSubstr("owner of the dataset")));
  CommandResult admin = Admin({"whoami"});
  EXPECT_THAT(admin.out, HasSubstr("instance-admin"));

  // A user outside `employees` with no grant holds nothing, and is told how to ask.
  std::string outsider = t_.AddUser("dave", {"--no-employee"});
  api_.AddSecret(outsider);
  CommandResult none = As(outsider, {"whoami"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_THAT(none.out, HasSubstr("No roles"));
  EXPECT_THAT(none.out, HasSubstr("edl-api access request"));
}

// ---- audit ----

TEST_F(EdlApiAccessCli, AuditFiltersByPrincipalDatasetActionDecisionAndTimeAndExportsJsonLines) {
  EXPECT_EQ(Bob({"updates", "sales-orders"}).exit_code, 7);  // a denied read
  ASSERT_EQ(Alice({"grants", "add", "sales-orders", "user:bob", "--level", "read"}).exit_code, 0);
  EXPECT_EQ(Bob({"updates", "sales-orders"}).exit_code, 0);  // an allowed one

  CommandResult denials = Admin({"audit", "--principal", "user:bob", "--decision", "deny"});
  ASSERT_EQ(denials.exit_code, 0) << denials.err;
  EXPECT_THAT(denials.out, StartsWith("SEQ"));
  EXPECT_THAT(denials.out, AllOf(HasSubstr("DECISION"), HasSubstr("REASON"), HasSubstr("user:bob"),
                                 HasSubstr("dataset:sales-orders"), HasSubstr("deny"), HasSubstr("no active grant")));
  EXPECT_THAT(denials.out, Not(HasSubstr("allow")));

  json bob_events = JsonAs(t_.admin_token, {"audit", "--principal", "user:bob", "--dataset", "sales-orders"});
  bool allowed = false, denied = false;
  for (const json& e : bob_events["events"]) {
    EXPECT_EQ(e["actor"], "user:bob") << e;
    EXPECT_EQ(e["target"], "dataset:sales-orders") << e;
    allowed = allowed || e.value("decision", "") == "allow";
    denied = denied || e.value("decision", "") == "deny";
    if (e.contains("decision")) {
      EXPECT_FALSE(e.value("reason", "").empty()) << e;
      EXPECT_FALSE(e.value("request_id", "").empty()) << e;
    }
  }
  EXPECT_TRUE(allowed && denied) << bob_events;

  json grant_events = JsonAs(t_.admin_token, {"audit", "--action", "grant.", "--dataset", "sales-orders"});
  ASSERT_FALSE(grant_events["events"].empty());
  for (const json& e : grant_events["events"]) EXPECT_THAT(e["action"].get<std::string>(), StartsWith("grant."));
  // One grant: the decision to let alice make it, and the change itself.
  json exact = JsonAs(t_.admin_token, {"audit", "--action", "grant.add", "--principal", "user:alice"});
  ASSERT_EQ(exact["events"].size(), 2u) << exact;
  for (const json& e : exact["events"]) EXPECT_EQ(e["action"], "grant.add") << e;

  // Time bounds: a date, a UTC time, or how long ago.
  size_t all = JsonAs(t_.admin_token, {"audit"})["events"].size();
  EXPECT_EQ(JsonAs(t_.admin_token, {"audit", "--since", "2000-01-01"})["events"].size(), all);
  EXPECT_EQ(JsonAs(t_.admin_token, {"audit", "--since", "1h"})["events"].size(), all);
  EXPECT_THAT(JsonAs(t_.admin_token, {"audit", "--until", "2000-01-01T00:00:00Z"})["events"], IsEmpty());
  EXPECT_THAT(JsonAs(t_.admin_token, {"audit", "--since", "9999-01-01T08:35Z"})["events"], IsEmpty());
  CommandResult bad_time = Admin({"audit", "--since", "yesterday"});
  EXPECT_EQ(bad_time.exit_code, 3) << bad_time.err;
  EXPECT_THAT(bad_time.err, AllOf(HasSubstr("--since"), HasSubstr("2026-11-29"), HasSubstr("24h")));
  EXPECT_EQ(Admin({"audit", "--decision", "maybe"}).exit_code, 2);

  // The export: one event per line, the same events as -o json, in order.
  CommandResult export_all = Admin({"audit", "-o", "jsonl"});
  ASSERT_EQ(export_all.exit_code, 0) << export_all.err;
  std::vector<json> lines = JsonLines(export_all.out);
  EXPECT_EQ(lines.size(), all);  // an admin's reads of the log are not themselves audited
  int64_t previous = 0;
  for (const json& line : lines) {
    ASSERT_TRUE(line.is_object()) << line;
    EXPECT_GT(line["seq"].get<int64_t>(), previous);
    previous = line["seq"].get<int64_t>();
  }
  std::vector<json> denied_lines = JsonLines(Admin({"audit", "--decision", "deny", "-o", "jsonl"}).out);
  ASSERT_FALSE(denied_lines.empty());
  for (const json& line : denied_lines) EXPECT_EQ(line["decision"], "deny") << line;
  CommandResult two = Admin({"audit", "--limit", "2", "-o", "jsonl"});
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(JsonLines(two.out).size(), 2u);
  EXPECT_THAT(two.err, HasSubstr("more events"));

  // A dataset's admin reads the events of that dataset, and only with --dataset.
  CommandResult everything = Alice({"audit"});
  EXPECT_EQ(everything.exit_code, 7) << everything.err;
  EXPECT_THAT(everything.err, HasSubstr("edl-api audit --dataset NAME"));
  EXPECT_EQ(Alice({"audit", "--dataset", "sales-orders", "-o", "jsonl"}).exit_code, 0);
  EXPECT_EQ(Alice({"audit", "--dataset", "web-traffic"}).exit_code, 7);
}

TEST_F(EdlApiAccessCli, JsonLinesPrintsEveryListOneItemPerLine) {
  CommandResult datasets = Alice({"datasets", "-o", "jsonl"});
  ASSERT_EQ(datasets.exit_code, 0) << datasets.err;
  std::vector<json> lines = JsonLines(datasets.out);
  ASSERT_EQ(lines.size(), 2u) << datasets.out;  // patients is hidden from alice
  for (const json& d : lines) EXPECT_TRUE(d.contains("access")) << d;
  CommandResult me = Alice({"whoami", "-o", "jsonl"});
  ASSERT_EQ(JsonLines(me.out).size(), 1u) << me.out;
  CommandResult error = Alice({"access", "approve", "999", "-o", "jsonl"});
  EXPECT_EQ(error.exit_code, 4);
  EXPECT_EQ(json::parse(error.err, nullptr, false)["error"]["code"], "not_found") << error.err;
}

// ---- bad command lines ----

TEST_F(EdlApiAccessCli, BadInputsExitNonZeroWithAClearMessageAndChangeNothing) {
  json grants_before = JsonAs(t_.admin_token, {"grants", "list", "--dataset", "sales-orders", "--include-revoked"});
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"grants", "add", "sales-orders", "user:bob", "--level", "owner"}, 2, "--level: owner not in {read,write,admin}"},
      {{"grants", "add", "sales-orders", "bob", "--level", "read"}, 2, "write user:NAME or group:NAME"},
      {{"grants", "add", "sales-orders", "team:bob", "--level", "read"}, 2, "is not a principal"},
      {{"grants", "add", "sales-orders", "user:bob", "--level", "read", "--days", "0"}, 2, "--days"},
      {{"grants", "add", "sales-orders", "user:bob", "--level", "read", "--days", "soon"}, 2, "--days"},
      {{"grants", "add", "sales-orders", "user:bob", "--level", "read", "--justification", " "}, 2, "must say something"},
      {{"grants", "add", "sales-orders", "user:Bob!", "--level", "read"}, 3, "Bob!"},
      {{"grants", "add", "sales-orders", "user:nobody", "--level", "read"}, 4, "user:nobody does not exist"},
      {{"grants", "add", "no-such-dataset", "user:bob", "--level", "read"}, 4, "no-such-dataset"},
      {{"grants", "revoke", "abc"}, 2, "'abc' is not a whole number"},
      {{"grants", "revoke", "999"}, 4, "grant 999 does not exist"},
      {{"grants", "list", "--include-revoked"}, 2, "--include-revoked requires --dataset"},
      {{"access", "request", "sales-orders", "--level", "read"}, 2, "--justification is required"},
      {{"access", "request", "sales-orders", "--level", "read", "--justification", "x", "--days", "0"}, 2, "--days"},
      {{"access", "request", "sales-orders", "--level", "superuser", "--justification", "x"}, 2, "--level"},
      {{"access", "approve", "1x"}, 2, "'1x' is not a whole number"},
      {{"access", "approve", "999"}, 4, "access request 999 does not exist"},
      {{"access", "deny", "1"}, 2, "--reason is required"},
      {{"access", "list", "--state", "open"}, 2, "--state"},
  };
  for (const Case& c : cases) {
    std::string command;
    for (const std::string& arg : c.args) command += " " + arg;
    CommandResult r = Alice(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << command << ": " << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << command;
    EXPECT_EQ(r.out, "") << command;
  }
  EXPECT_EQ(JsonAs(t_.admin_token, {"grants", "list", "--dataset", "sales-orders", "--include-revoked"}),
            grants_before);
  EXPECT_THAT(JsonAs(t_.admin_token, {"access", "list"})["requests"], IsEmpty());
}

}  // namespace
}  // namespace edl
