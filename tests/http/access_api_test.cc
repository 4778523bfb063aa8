// Integration tests of access control through the REST API (docs/security.md, docs/api.md): adding,
// listing and revoking grants, the tier's rules for making them, two-person approval, self-service
// access requests, expiry, the audit record of every decision and the audit's filters, and the roles
// whoami reports. The real `edl serve` over loopback, as in api_server_test.cc; what any route
// shows a user without rights is in route_denial_test.cc.
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/clock.h"
#include "http/server_fixture.h"

namespace edl {
namespace {

using nlohmann::json;
using testing::ExpectApiError;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Reply;
using testing::ServerTest;
using ::testing::StartsWith;

// olivia owns the restricted and the two sensitive datasets; gwen, mallory and finn are employees,
// finn also in the group finance; `admin` is an instance admin and owns the internal dataset.
constexpr char kLedger[] = R"(name: ledger
tier: restricted
description: General ledger of the EU entities
owners: [olivia]
)";
constexpr char kPatients[] = R"(name: patients
tier: sensitive
description: Visits of the clinical trial
owners: [olivia]
policy: {max_grant_days: 30}
)";
constexpr char kGenomes[] = R"(name: genomes
tier: sensitive
description: Sequenced samples
owners: [olivia]
policy: {max_grant_days: 30, two_person_approval: true}
)";
constexpr char kWebTraffic[] = R"(name: web-traffic
tier: internal
description: Page views of the public web site
owners: [admin]
)";

class AccessApi : public ::testing::Test {
 protected:
  void SetUp() override {
    t_ = std::make_unique<ServerTest>();
    olivia_ = t_->AddUser("olivia");
    gwen_ = t_->AddUser("gwen");
    mallory_ = t_->AddUser("mallory");
    finn_ = t_->AddUser("finn", {"--group", "finance"});
    for (const char* yaml : {kLedger, kPatients, kGenomes, kWebTraffic}) t_->DeployDataset(yaml);
    t_->StartServer();
  }
  void TearDown() override {
    std::string log = t_->ServerLog();
    for (const std::string* token : {&t_->admin_token, &olivia_, &gwen_, &mallory_, &finn_}) {
      EXPECT_THAT(log, Not(HasSubstr(*token)));
    }
  }

  Reply Post(const std::string& path, const std::string& token, const json& body) const {
    return t_->Send("POST", path, token, body.dump());
  }
  // A grant made as `token`, expecting 201.
  json Grant(const std::string& token, const std::string& dataset, const json& body) const {
    Reply r = Post("/v1/datasets/" + dataset + "/grants", token, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json();
  }
  Reply Revoke(int64_t grant, const std::string& token, const std::string& body = "") const {
    return t_->Send("POST", "/v1/grants/" + std::to_string(grant) + "/revoke", token, body);
  }
  // Reading the dataset's contents: its list of updates.
  Reply Read(const std::string& dataset, const std::string& token) const {
    return t_->Get("/v1/datasets/" + dataset + "/updates", token);
  }
  // The active grants on a dataset, as its owner lists them. Owners also hold an admin grant made
  // by `edl deploy-dataset` from the file.
  std::set<int64_t> GrantIds(const std::string& dataset) const {
    Reply r = t_->Get("/v1/datasets/" + dataset + "/grants", olivia_);
    EXPECT_EQ(r.status, 200) << r.body;
    return Ids(r.Json()["grants"]);
  }
  static std::set<int64_t> Plus(std::set<int64_t> ids, std::initializer_list<int64_t> more) {
    ids.insert(more);
    return ids;
  }
  static std::set<int64_t> Ids(const json& items) {
    std::set<int64_t> ids;
    for (const json& item : items) ids.insert(item["id"].get<int64_t>());
    return ids;
  }
  // The roles whoami lists for the token: role -> its entries.
  std::multimap<std::string, json> Roles(const std::string& token) const {
    Reply r = t_->Get("/v1/whoami", token);
    EXPECT_EQ(r.status, 200) << r.body;
    std::multimap<std::string, json> roles;
    const json body = r.Json();  // a loop over r.Json()["roles"] would outlive the temporary
    for (const json& role : body["roles"]) roles.emplace(role["role"].get<std::string>(), role);
    return roles;
  }
  // The audit events matching `query`, read as the instance admin once `done` holds for them:
  // decisions reach the log through a batching writer, a few milliseconds after their response.
  json AuditUntil(const std::string& query, const std::function<bool(const json&)>& done) const {
    json events;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      Reply r = t_->Get("/v1/audit?limit=1000&" + query, t_->admin_token);
      EXPECT_EQ(r.status, 200) << r.body;
      events = r.Json()["events"];
      if (done(events)) return events;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "GET /v1/audit?" << query << " never showed what was expected; last: " << events.dump();
    return events;
  }
  // The decisions recorded for the request that got `reply`, once there are at least `count`.
  json DecisionsOf(const Reply& reply, size_t count = 1) const {
    std::string id = reply.Header("x-request-id");
    EXPECT_FALSE(id.empty());
    auto of_request = [id](const json& events) {
      json mine = json::array();
      for (const json& e : events) {
        if (e.value("request_id", "") == id && e.contains("decision")) mine.push_back(e);
      }
      return mine;
    };
    return of_request(AuditUntil("", [&](const json& events) { return of_request(events).size() >= count; }));
  }
  // Moves a grant's expiry, the way only time (or someone editing the catalog file) can.
  void SetGrantExpiry(int64_t grant, const std::string& expires_at) const {
    testing::CommandResult sql = testing::RunCommand(
        {"/usr/bin/sqlite3", "-cmd", ".timeout 5000", (t_->dir.path() / "data/catalog.db").string(),
         "UPDATE grants SET expires_at = '" + expires_at + "' WHERE id = " + std::to_string(grant)});
    ASSERT_EQ(sql.exit_code, 0) << sql.err;
    ServerTest::AwaitOtherProcessChanges();
  }

  std::unique_ptr<ServerTest> t_;
  std::string olivia_, gwen_, mallory_, finn_;
};

TEST_F(AccessApi, OwnerAddsListsAndRevokesGrants) {
  const std::set<int64_t> from_file = GrantIds("ledger");
  for (const json& g : t_->Get("/v1/datasets/ledger/grants", olivia_).Json()["grants"].get<std::vector<json>>()) {
    EXPECT_EQ(g["granted_by"], "system:dataset-file") << g.dump();
  }
  json to_gwen =
      Grant(olivia_, "ledger",
            {{"principal", "user:gwen"}, {"level", "read"}, {"justification", "month-end close"}, {"days", 30}});
  EXPECT_EQ(to_gwen["principal"], "user:gwen");
  EXPECT_EQ(to_gwen["role"], "ledger:read");
  EXPECT_EQ(to_gwen["granted_by"], "user:olivia");
  EXPECT_EQ(to_gwen["reason"], "month-end close");
  EXPECT_TRUE(to_gwen["expires_at"].is_string()) << to_gwen.dump();
  EXPECT_FALSE(to_gwen.contains("revoked_at"));
  json to_finance = Grant(olivia_, "ledger", {{"principal", "group:finance"}, {"level", "write"}});
  EXPECT_EQ(to_finance["role"], "ledger:write");
  EXPECT_FALSE(to_finance.contains("expires_at"));  // until revoked
  const int64_t gwen_grant = to_gwen["id"], finance_grant = to_finance["id"];

  EXPECT_EQ(GrantIds("ledger"), Plus(from_file, {gwen_grant, finance_grant}));
  // A principal's grants: gwen's own and her groups', finn's through finance.
  std::set<std::string> gwen_roles;
  const json gwen_grants = t_->Get("/v1/grants", gwen_).Json()["grants"];
  for (const json& g : gwen_grants) gwen_roles.insert(g["role"]);
  EXPECT_EQ(gwen_roles, (std::set<std::string>{"internal-read", "ledger:read"})) << gwen_grants.dump();
  EXPECT_TRUE(Ids(t_->Get("/v1/grants", finn_).Json()["grants"]).count(finance_grant));
  EXPECT_TRUE(Ids(t_->Get("/v1/grants?principal=group:finance", finn_).Json()["grants"]).count(finance_grant));
  EXPECT_TRUE(Ids(t_->Get("/v1/grants?principal=user:gwen", t_->admin_token).Json()["grants"]).count(gwen_grant));

  Reply revoked = Revoke(gwen_grant, olivia_, R"({"reason": "close is done"})");
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_TRUE(revoked.Json()["revoked_at"].is_string());
  EXPECT_EQ(revoked.Json()["revoked_by"], "user:olivia");
  EXPECT_EQ(revoked.Json()["revoke_reason"], "close is done");
  // Revocation is a recorded event: the grant stays, listed with include_revoked.
  EXPECT_EQ(GrantIds("ledger"), Plus(from_file, {finance_grant}));
  json all = t_->Get("/v1/datasets/ledger/grants?include_revoked=true", olivia_).Json()["grants"];
  EXPECT_EQ(Ids(all), Plus(from_file, {gwen_grant, finance_grant}));
  for (const json& g : all) EXPECT_EQ(g.contains("revoked_at"), g["id"] == gwen_grant) << g.dump();
  EXPECT_FALSE(Ids(t_->Get("/v1/grants", gwen_).Json()["grants"]).count(gwen_grant));
  ExpectApiError(Revoke(gwen_grant, olivia_), 409, "conflict", "");
  ExpectApiError(Revoke(987654, olivia_), 404, "not_found", "grant 987654 does not exist");
  // The reason is optional.
  EXPECT_EQ(Revoke(finance_grant, olivia_).status, 200);
  EXPECT_EQ(GrantIds("ledger"), from_file);

  // Both changes are in the audit log with their old and new values.
  json changes = AuditUntil("dataset=ledger&action=grant.revoke", [](const json& e) { return e.size() >= 4; });
  int with_details = 0;
  for (const json& e : changes) {
    if (!e.contains("decision")) {
      ++with_details;
      EXPECT_TRUE(e["details"].contains("old")) << e.dump();
      EXPECT_TRUE(e["details"]["new"].contains("revoked_at")) << e.dump();
    }
  }
  EXPECT_EQ(with_details, 2) << changes.dump();
}

TEST_F(AccessApi, RevocationHoldsForTheVeryNextRequest) {
  ExpectApiError(Read("ledger", gwen_), 403, "permission_denied", "ledger:read");
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    json grant = Grant(olivia_, "ledger", {{"principal", "user:gwen"}, {"level", "read"}});
    // Twice, so the second answer comes from the server's cached scope.
    EXPECT_EQ(Read("ledger", gwen_).status, 200);
    EXPECT_EQ(Read("ledger", gwen_).status, 200);
    ASSERT_EQ(Revoke(grant["id"], olivia_).status, 200);
    ExpectApiError(Read("ledger", gwen_), 403, "permission_denied", "ledger:read");
  }
  // Through a group: revoking the group's grant, or taking the user out of the group.
  json group = Grant(olivia_, "ledger", {{"principal", "group:finance"}, {"level", "read"}});
  EXPECT_EQ(Read("ledger", finn_).status, 200);
  ASSERT_EQ(Revoke(group["id"], olivia_).status, 200);
  ExpectApiError(Read("ledger", finn_), 403, "permission_denied", "ledger:read");
  Grant(olivia_, "ledger", {{"principal", "group:finance"}, {"level", "read"}});
  EXPECT_EQ(Read("ledger", finn_).status, 200);
  ASSERT_EQ(t_->Send("DELETE", "/v1/groups/finance/members/finn", t_->admin_token, "").status, 200);
  ExpectApiError(Read("ledger", finn_), 403, "permission_denied", "ledger:read");
}

TEST_F(AccessApi, SensitiveGrantsFollowTheTiersRules) {
  const std::string grants = "/v1/datasets/patients/grants";
  const std::set<int64_t> from_file = GrantIds("patients");
  const json valid = {{"principal", "user:gwen"}, {"level", "read"}, {"justification", "trial review"}, {"days", 30}};
  auto with = [&](const json& changes) {
    json body = valid;
    for (const auto& [key, value] : changes.items()) body[key] = value;
    return body;
  };
  auto without = [&](const std::string& key) {
    json body = valid;
    body.erase(key);
    return body;
  };
  ExpectApiError(Post(grants, olivia_, with({{"principal", "group:finance"}})), 400, "invalid_argument",
                 "can be granted to individual users only, not to group:finance");
  ExpectApiError(Post(grants, olivia_, with({{"principal", "group:finance"}, {"level", "write"}})), 400,
                 "invalid_argument", "individual users only");
  ExpectApiError(Post(grants, olivia_, without("justification")), 400, "invalid_argument", "needs a justification");
  ExpectApiError(Post(grants, olivia_, without("days")), 400, "invalid_argument",
                 "needs an expiry of at most 30 days (policy.max_grant_days)");
  ExpectApiError(Post(grants, olivia_, with({{"days", 31}})), 400, "invalid_argument",
                 "longer than the 30 days its policy allows");
  ExpectApiError(Post(grants, olivia_, with({{"principal", "user:olivia"}})), 400, "invalid_argument",
                 "user:olivia cannot grant patients:read to themselves");
  ExpectApiError(Post(grants, t_->admin_token, with({{"principal", "user:admin"}})), 400, "invalid_argument",
                 "to themselves");
  // None of it granted anything.
  EXPECT_EQ(GrantIds("patients"), from_file);
  ExpectApiError(Read("patients", gwen_), 404, "not_found", "does not exist");

  // Within the rules, by an admin who is not the grantee.
  json granted = Grant(olivia_, "patients", valid);
  EXPECT_EQ(Read("patients", gwen_).status, 200);
  EXPECT_EQ(t_->Get("/v1/datasets/patients", gwen_).Json()["access"], "read");
  // Instance admins administer sensitive datasets but read them only with a grant to themselves.
  ExpectApiError(Read("patients", t_->admin_token), 403, "permission_denied",
                 "instance admins need a grant of patients:read to themselves");
  Grant(olivia_, "patients", with({{"principal", "user:admin"}}));
  EXPECT_EQ(Read("patients", t_->admin_token).status, 200);

  // Every refusal is audited as a denied grant.add whose reason names the rule.
  json refusals =
      AuditUntil("dataset=patients&action=grant.add&decision=deny", [](const json& e) { return e.size() >= 7; });
  std::string reasons;
  for (const json& e : refusals) {
    EXPECT_EQ(e["target"], "dataset:patients");
    reasons += e["reason"].get<std::string>() + "\n";
  }
  for (const char* rule : {"individual users only", "needs a justification", "needs an expiry", "longer than the 30",
                           "user:olivia cannot grant", "user:admin cannot grant"}) {
    EXPECT_THAT(reasons, HasSubstr(rule));
  }
}

TEST_F(AccessApi, TwoPersonApprovalNeedsASecondAdmin) {
  const std::set<int64_t> from_file = GrantIds("genomes");
  Reply proposed =
      Post("/v1/datasets/genomes/grants", olivia_,
           {{"principal", "user:gwen"}, {"level", "read"}, {"justification", "variant study"}, {"days", 14}});
  ASSERT_EQ(proposed.status, 202) << proposed.body;
  json pending = proposed.Json()["pending"];
  EXPECT_EQ(pending["state"], "pending");
  EXPECT_EQ(pending["dataset"], "genomes");
  EXPECT_EQ(pending["grantee"], "user:gwen");
  EXPECT_EQ(pending["requested_by"], "user:olivia");
  EXPECT_EQ(pending["first_approved_by"], "user:olivia");
  EXPECT_EQ(pending["days"], 14);
  EXPECT_THAT(proposed.Json()["message"].get<std::string>(), HasSubstr("two-person approval"));
  const std::string approve = "/v1/access-requests/" + std::to_string(pending["id"].get<int64_t>()) + "/approve";
  EXPECT_EQ(proposed.Header("location"), "/v1/access-requests/" + std::to_string(pending["id"].get<int64_t>()));

  // No grant yet: to gwen the dataset still does not exist.
  EXPECT_EQ(GrantIds("genomes"), from_file);
  ExpectApiError(Read("genomes", gwen_), 404, "not_found", "does not exist");
  // The proposer approving is not a second person; the grantee cannot approve at all.
  ExpectApiError(t_->Send("POST", approve, olivia_, ""), 409, "conflict", "needs a second, different admin");
  ExpectApiError(t_->Send("POST", approve, gwen_, ""), 404, "not_found", "does not exist");
  EXPECT_EQ(t_->Get("/v1/access-requests?state=pending&dataset=genomes", olivia_).Json()["requests"].size(), 1u);

  // A second admin of the dataset approves: the grant exists and works.
  Reply approved = t_->Send("POST", approve, t_->admin_token, "");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.Json()["state"], "approved");
  EXPECT_EQ(approved.Json()["decided_by"], "user:admin");
  ASSERT_TRUE(approved.Json()["grant_id"].is_number_integer()) << approved.body;
  const int64_t grant_id = approved.Json()["grant_id"];
  EXPECT_EQ(GrantIds("genomes"), Plus(from_file, {grant_id}));
  for (const json& g : t_->Get("/v1/datasets/genomes/grants", olivia_).Json()["grants"].get<std::vector<json>>()) {
    if (g["id"] != grant_id) continue;
    EXPECT_EQ(g["principal"], "user:gwen");
    EXPECT_EQ(g["granted_by"], "user:admin");
    EXPECT_TRUE(g["expires_at"].is_string());
  }
  EXPECT_EQ(Read("genomes", gwen_).status, 200);
  // Decided once.
  ExpectApiError(t_->Send("POST", approve, t_->admin_token, ""), 409, "conflict", "already approved");
}

TEST_F(AccessApi, SelfServiceRequestsAreSeenAndDecidedByTheDatasetsAdmins) {
  const std::string ask = "/v1/datasets/ledger/access-requests";
  Reply asked = Post(ask, gwen_, {{"level", "read"}, {"justification", "audit support"}, {"days", 7}});
  ASSERT_EQ(asked.status, 201) << asked.body;
  json request = asked.Json();
  const int64_t id = request["id"];
  EXPECT_EQ(request["grantee"], "user:gwen");
  EXPECT_EQ(request["requested_by"], "user:gwen");
  EXPECT_EQ(request["state"], "pending");
  EXPECT_EQ(asked.Header("location"), "/v1/access-requests/" + std::to_string(id));

  auto pending_for = [&](const std::string& token, const std::string& extra = "") {
    Reply r = t_->Get("/v1/access-requests?state=pending" + extra, token);
    EXPECT_EQ(r.status, 200) << r.body;
    return Ids(r.Json()["requests"]);
  };
  EXPECT_TRUE(pending_for(olivia_).count(id));  // the dataset's admin
  EXPECT_TRUE(pending_for(olivia_, "&dataset=ledger").count(id));
  EXPECT_FALSE(pending_for(olivia_, "&dataset=web-traffic").count(id));
  EXPECT_TRUE(pending_for(t_->admin_token).count(id));  // instance admins see all
  EXPECT_TRUE(pending_for(gwen_).count(id));            // the requester
  EXPECT_FALSE(pending_for(mallory_).count(id));        // nobody else
  EXPECT_EQ(t_->Get("/v1/access-requests", mallory_).Json()["requests"].size(), 0u);

  ExpectApiError(Post(ask, gwen_, {{"level", "read"}, {"justification", "again"}}), 409, "conflict",
                 "already asked for read");
  const std::string approve = "/v1/access-requests/" + std::to_string(id) + "/approve";
  ExpectApiError(t_->Send("POST", approve, gwen_, ""), 403, "permission_denied", "may not administer dataset 'ledger'");
  ExpectApiError(t_->Send("POST", approve, mallory_, ""), 404, "not_found",
                 "access request " + std::to_string(id) + " does not exist");
  ExpectApiError(Read("ledger", gwen_), 403, "permission_denied", "ledger:read");

  Reply approved = t_->Send("POST", approve, olivia_, "");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.Json()["state"], "approved");
  EXPECT_EQ(approved.Json()["decided_by"], "user:olivia");
  EXPECT_EQ(Read("ledger", gwen_).status, 200);
  bool found = false;
  const json gwen_grants = t_->Get("/v1/grants", gwen_).Json()["grants"];
  for (const json& g : gwen_grants) {
    if (g["id"] != approved.Json()["grant_id"]) continue;
    found = true;
    EXPECT_EQ(g["role"], "ledger:read");
    EXPECT_EQ(g["granted_by"], "user:olivia");
    EXPECT_THAT(g["reason"].get<std::string>(), HasSubstr("audit support"));
    EXPECT_TRUE(g["expires_at"].is_string());  // 7 days from the approval
  }
  EXPECT_TRUE(found);
  EXPECT_FALSE(pending_for(olivia_).count(id));
  EXPECT_TRUE(Ids(t_->Get("/v1/access-requests?state=approved", gwen_).Json()["requests"]).count(id));

  // Nobody can ask for what they cannot see.
  ExpectApiError(Post("/v1/datasets/patients/access-requests", gwen_,
                      {{"level", "read"}, {"justification", "trial review"}, {"days", 5}}),
                 404, "not_found", "dataset 'patients' does not exist");
}

TEST_F(AccessApi, DenyingARequestNeedsAReason) {
  Reply asked =
      Post("/v1/datasets/ledger/access-requests", mallory_, {{"level", "write"}, {"justification", "curious"}});
  ASSERT_EQ(asked.status, 201) << asked.body;
  const std::string id = std::to_string(asked.Json()["id"].get<int64_t>());
  const std::string deny = "/v1/access-requests/" + id + "/deny";
  ExpectApiError(t_->Send("POST", deny, olivia_, ""), 400, "invalid_argument", "needs a JSON body with a \"reason\"");
  ExpectApiError(Post(deny, olivia_, json::object()), 400, "invalid_argument", "field 'reason' is required");
  ExpectApiError(Post(deny, olivia_, {{"reason", ""}}), 400, "invalid_argument", "needs a reason");
  EXPECT_EQ(t_->Get("/v1/access-requests?state=pending", mallory_).Json()["requests"].size(), 1u);
  ExpectApiError(Post(deny, mallory_, {{"reason", "changed my mind"}}), 403, "permission_denied", "administer");

  Reply denied = Post(deny, olivia_, {{"reason", "not needed for your role"}});
  ASSERT_EQ(denied.status, 200) << denied.body;
  EXPECT_EQ(denied.Json()["state"], "denied");
  EXPECT_EQ(denied.Json()["decided_by"], "user:olivia");
  EXPECT_EQ(denied.Json()["decision_reason"], "not needed for your role");
  json mine = t_->Get("/v1/access-requests?state=denied", mallory_).Json()["requests"];
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]["decision_reason"], "not needed for your role");
  ExpectApiError(t_->Send("POST", "/v1/access-requests/" + id + "/approve", olivia_, ""), 409, "conflict",
                 "already denied");
  ExpectApiError(Post(deny, olivia_, {{"reason", "twice"}}), 409, "conflict", "already denied");
  for (const json& g : t_->Get("/v1/datasets/ledger/grants", olivia_).Json()["grants"].get<std::vector<json>>()) {
    EXPECT_NE(g["principal"], "user:mallory") << g.dump();
  }
}

TEST_F(AccessApi, ExpiredGrantsStopWorkingWithoutAnyJob) {
  json ledger = Grant(olivia_, "ledger", {{"principal", "user:gwen"}, {"level", "read"}, {"days", 1}});
  json patients =
      Grant(olivia_, "patients",
            {{"principal", "user:gwen"}, {"level", "read"}, {"justification", "trial review"}, {"days", 1}});
  EXPECT_EQ(Read("ledger", gwen_).status, 200);
  EXPECT_EQ(Read("patients", gwen_).status, 200);
  EXPECT_EQ(Roles(gwen_).count("patients:read"), 1u);

  // The clock of `edl serve` cannot be moved, so the expiry is: a few seconds ahead first. Moving
  // it bumps the access epoch (a catalog trigger); after that read the server holds gwen's scope in
  // its cache, and nothing changes in the catalog when the moment passes — the expiry is compared
  // with the clock at each decision.
  auto soon = std::chrono::system_clock::now() + std::chrono::seconds(4);
  SetGrantExpiry(ledger["id"], FormatTimestamp(soon));
  EXPECT_EQ(Read("ledger", gwen_).status, 200);
  // The listing the server keeps rendered for gwen shows the grant until it expires, then not.
  auto listed_access = [&] {
    json listing = t_->Get("/v1/datasets?name=ledger", gwen_).Json();
    for (const json& d : listing["datasets"]) {
      if (d["name"] == "ledger") return d["access"].get<std::string>();
    }
    return std::string("(not listed)");
  };
  EXPECT_EQ(listed_access(), "read");
  EXPECT_EQ(listed_access(), "read");
  std::this_thread::sleep_until(soon + std::chrono::milliseconds(200));
  EXPECT_EQ(listed_access(), "none");
  Reply expired = Read("ledger", gwen_);
  ExpectApiError(expired, 403, "permission_denied", "ledger:read");
  EXPECT_THAT(expired.body, HasSubstr("grant " + std::to_string(ledger["id"].get<int64_t>()) + " expired at"));
  // On a sensitive dataset, an expired grant leaves the dataset hidden again.
  SetGrantExpiry(patients["id"], "2020-01-01T00:00:00.000Z");
  ExpectApiError(Read("patients", gwen_), 404, "not_found", "dataset 'patients' does not exist");
  std::multimap<std::string, json> roles = Roles(gwen_);
  EXPECT_EQ(roles.count("ledger:read"), 0u);
  EXPECT_EQ(roles.count("patients:read"), 0u);
  // Expiry is not revocation: the grant is still listed, as it was made.
  EXPECT_TRUE(GrantIds("ledger").count(ledger["id"].get<int64_t>()));
  // The denial's audit record says why.
  json decisions = DecisionsOf(expired);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0]["decision"], "deny");
  EXPECT_THAT(decisions[0]["reason"].get<std::string>(), HasSubstr("expired at"));
}

TEST_F(AccessApi, EveryDecisionIsAuditedWithTheRequestId) {
  struct Expected {
    Reply reply;
    std::string actor, action, target, decision, reason_part;
  };
  std::vector<Expected> expected;
  expected.push_back({Read("ledger", gwen_), "user:gwen", "access.read", "dataset:ledger", "deny",
                      "gwen holds no active grant of ledger:read"});
  Reply granted = Post("/v1/datasets/ledger/grants", olivia_, {{"principal", "user:gwen"}, {"level", "read"}});
  ASSERT_EQ(granted.status, 201) << granted.body;
  const std::string grant_id = std::to_string(granted.Json()["id"].get<int64_t>());
  expected.push_back({granted, "user:olivia", "grant.add", "dataset:ledger", "allow", "owner of the dataset"});
  // A request id of the client's own is kept and recorded as sent.
  Reply traced = t_->Send("GET", "/v1/datasets/ledger/updates", gwen_, "", "", {{"X-Request-Id", "trace-gwen-1"}});
  EXPECT_EQ(traced.Header("x-request-id"), "trace-gwen-1");
  expected.push_back({traced, "user:gwen", "access.read", "dataset:ledger", "allow",
                      "grant " + grant_id + " to user:gwen (ledger:read)"});
  expected.push_back({t_->Get("/v1/datasets/web-traffic/updates", gwen_), "user:gwen", "access.read",
                      "dataset:web-traffic", "allow", "the default role grant"});
  expected.push_back({Post("/v1/datasets/web-traffic/ingest", gwen_, {{"sources", {"drop:"}}}), "user:gwen",
                      "access.write", "dataset:web-traffic", "deny", "web-traffic:write"});
  expected.push_back({t_->Get("/v1/datasets/ledger", mallory_), "user:mallory", "access.metadata", "dataset:ledger",
                      "allow", "restricted datasets are listed for every user"});
  expected.push_back({t_->Get("/v1/datasets/patients", mallory_), "user:mallory", "access.metadata", "dataset:patients",
                      "deny", "mallory holds no role on it"});
  expected.push_back(
      {t_->Get("/v1/datasets", mallory_), "user:mallory", "dataset.list", "datasets", "allow", "dataset(s) listed"});
  expected.push_back({Post("/v1/datasets/ledger/grants", mallory_, {{"principal", "user:mallory"}, {"level", "read"}}),
                      "user:mallory", "grant.add", "dataset:ledger", "deny", "ledger:admin"});
  expected.push_back({Revoke(granted.Json()["id"], mallory_), "user:mallory", "grant.revoke", "dataset:ledger", "deny",
                      "ledger:admin"});
  expected.push_back({t_->Get("/v1/datasets/ledger/grants", mallory_), "user:mallory", "grant.list", "dataset:ledger",
                      "deny", "ledger:admin"});
  expected.push_back({t_->Get("/v1/audit?dataset=ledger", mallory_), "user:mallory", "audit.read", "dataset:ledger",
                      "deny", "ledger:admin"});
  expected.push_back({Post("/v1/datasets/patients/grants", olivia_,
                           {{"principal", "group:finance"}, {"level", "read"}, {"justification", "x"}, {"days", 5}}),
                      "user:olivia", "grant.add", "dataset:patients", "deny", "individual users only"});
  expected.push_back(
      {Post("/v1/datasets/ledger/access-requests", mallory_, {{"level", "read"}, {"justification", "x"}}),
       "user:mallory", "access_request.create", "dataset:ledger", "allow", "listed for every user"});
  expected.push_back({Revoke(granted.Json()["id"], olivia_), "user:olivia", "grant.revoke", "dataset:ledger", "allow",
                      "owner of the dataset"});
  Reply after_revoke = Read("ledger", gwen_);
  EXPECT_EQ(after_revoke.status, 403);
  expected.push_back({after_revoke, "user:gwen", "access.read", "dataset:ledger", "deny", "no active grant"});

  for (const Expected& e : expected) {
    SCOPED_TRACE(e.action + " " + e.target + " " + e.decision + " by " + e.actor);
    EXPECT_EQ(e.reply.status >= 400, e.decision == "deny") << e.reply.body;
    // Each decision is recorded with the id the response carried, whatever the status.
    json decisions = DecisionsOf(e.reply);
    bool matched = false;
    for (const json& d : decisions) {
      EXPECT_EQ(d["request_id"], e.reply.Header("x-request-id"));
      EXPECT_FALSE(d.value("reason", "").empty()) << d.dump();
      if (d["action"] != e.action || d["decision"] != e.decision) continue;
      matched = true;
      EXPECT_EQ(d["actor"], e.actor) << d.dump();
      EXPECT_EQ(d["target"], e.target) << d.dump();
      EXPECT_THAT(d["reason"].get<std::string>(), HasSubstr(e.reason_part)) << d.dump();
    }
    EXPECT_TRUE(matched) << decisions.dump();
  }
}

TEST_F(AccessApi, AuditFiltersPagingAndJsonLines) {
  Read("ledger", gwen_);
  json grant = Grant(olivia_, "ledger", {{"principal", "user:gwen"}, {"level", "read"}});
  Read("ledger", gwen_);
  t_->Get("/v1/datasets/patients", mallory_);
  Read("web-traffic", finn_);
  ASSERT_EQ(Revoke(grant["id"], olivia_).status, 200);
  Reply last = Read("ledger", gwen_);
  DecisionsOf(last);  // everything before it is in the log too: the writer keeps the order
  const json all = t_->Get("/v1/audit?limit=1000", t_->admin_token).Json()["events"];
  ASSERT_GT(all.size(), 10u);
  ASSERT_LT(all.size(), 1000u);

  // Each filter returns exactly the events of the whole log that match it.
  auto check = [&](const std::string& query, const std::function<bool(const json&)>& matches) {
    SCOPED_TRACE(query);
    Reply r = t_->Get("/v1/audit?limit=1000&" + query, t_->admin_token);
    ASSERT_EQ(r.status, 200) << r.body;
    json expected_events = json::array();
    for (const json& e : all) {
      if (matches(e)) expected_events.push_back(e);
    }
    EXPECT_FALSE(expected_events.empty());
    EXPECT_EQ(r.Json()["events"], expected_events);
  };
  auto about_ledger = [](const json& e) {
    std::string target = e["target"];
    return target == "dataset:ledger" || target.rfind("role:ledger:", 0) == 0;
  };
  check("principal=user:gwen", [](const json& e) { return e["actor"] == "user:gwen"; });
  check("dataset=ledger", about_ledger);
  check("action=access.", [](const json& e) { return e["action"].get<std::string>().rfind("access.", 0) == 0; });
  check("action=access.read", [](const json& e) { return e["action"] == "access.read"; });
  check("action=grant.", [](const json& e) { return e["action"].get<std::string>().rfind("grant.", 0) == 0; });
  check("decision=deny", [](const json& e) { return e.value("decision", "") == "deny"; });
  check("decision=allow", [](const json& e) { return e.value("decision", "") == "allow"; });
  check("principal=user:gwen&dataset=ledger&decision=deny", [&](const json& e) {
    return e["actor"] == "user:gwen" && about_ledger(e) && e.value("decision", "") == "deny";
  });
  // A time range: `since` includes its moment, `until` excludes it.
  const std::string middle = all[all.size() / 2]["at"];
  check("since=" + middle, [&](const json& e) { return e["at"].get<std::string>() >= middle; });
  check("until=" + middle, [&](const json& e) { return e["at"].get<std::string>() < middle; });
  check("since=" + middle + "&until=2200-01-01", [&](const json& e) { return e["at"].get<std::string>() >= middle; });
  check("since=2020-01-01T00:00:00Z", [](const json&) { return true; });  // whole seconds, and days, too
  EXPECT_EQ(t_->Get("/v1/audit?since=2200-01-01", t_->admin_token).Json()["events"].size(), 0u);
  EXPECT_EQ(t_->Get("/v1/audit?principal=user:nobody", t_->admin_token).Json()["events"].size(), 0u);

  // Pages of a filtered list add up to the list.
  json paged = json::array();
  std::string token;
  for (int pages = 0; pages < 100; ++pages) {
    json page = t_->Get("/v1/audit?principal=user:gwen&limit=2" + (token.empty() ? "" : "&page_token=" + token),
                        t_->admin_token)
                    .Json();
    for (const json& e : page["events"]) paged.push_back(e);
    if (page["next_page_token"].is_null()) break;
    token = page["next_page_token"];
  }
  EXPECT_EQ(paged, t_->Get("/v1/audit?limit=1000&principal=user:gwen", t_->admin_token).Json()["events"]);

  // JSON lines: one event per line, the same events as the JSON answer.
  Reply lines = t_->Get("/v1/audit?limit=1000&format=jsonl&dataset=ledger", t_->admin_token);
  ASSERT_EQ(lines.status, 200) << lines.body;
  EXPECT_THAT(lines.Header("content-type"), HasSubstr("application/x-ndjson"));
  json from_lines = json::array();
  std::istringstream in(lines.body);
  for (std::string line; std::getline(in, line);) {
    json event = json::parse(line, nullptr, false);
    ASSERT_TRUE(event.is_object()) << line;
    from_lines.push_back(event);
  }
  EXPECT_EQ(from_lines, t_->Get("/v1/audit?limit=1000&dataset=ledger", t_->admin_token).Json()["events"]);
  EXPECT_EQ(lines.body.back(), '\n');
}

TEST_F(AccessApi, DatasetAdminsReadTheAuditOfTheirDatasetsOnly) {
  Read("ledger", gwen_);
  Grant(olivia_, "ledger", {{"principal", "user:gwen"}, {"level", "read"}});
  Reply read = Read("ledger", gwen_);
  Read("web-traffic", gwen_);
  DecisionsOf(read);

  Reply mine = t_->Get("/v1/audit?dataset=ledger&limit=1000", olivia_);
  ASSERT_EQ(mine.status, 200) << mine.body;
  bool saw_gwens_read = false;
  const json events = mine.Json()["events"];
  for (const json& e : events) {
    std::string target = e["target"];
    EXPECT_TRUE(target == "dataset:ledger" || target.rfind("role:ledger:", 0) == 0) << e.dump();
    if (e["actor"] == "user:gwen" && e["action"] == "access.read" && e["decision"] == "allow") saw_gwens_read = true;
  }
  EXPECT_TRUE(saw_gwens_read) << mine.body;
  Reply lines = t_->Get("/v1/audit?dataset=ledger&format=jsonl", olivia_);
  EXPECT_EQ(lines.status, 200);
  EXPECT_THAT(lines.body, Not(HasSubstr("web-traffic")));
  // Other filters narrow within the dataset; they cannot widen it.
  EXPECT_EQ(t_->Get("/v1/audit?dataset=ledger&target=dataset:web-traffic", olivia_).Json()["events"].size(), 0u);

  ExpectApiError(t_->Get("/v1/audit", olivia_), 403, "permission_denied", "?dataset=NAME");
  ExpectApiError(t_->Get("/v1/audit?target=dataset:ledger", olivia_), 403, "permission_denied", "?dataset=NAME");
  ExpectApiError(t_->Get("/v1/audit?dataset=web-traffic", olivia_), 403, "permission_denied", "web-traffic:admin");
  ExpectApiError(t_->Get("/v1/audit?dataset=ledger", gwen_), 403, "permission_denied", "ledger:admin");
  ExpectApiError(t_->Get("/v1/audit?dataset=patients", mallory_), 404, "not_found", "does not exist");
  ExpectApiError(t_->Get("/v1/audit?dataset=no-such-dataset", olivia_), 404, "not_found", "does not exist");
  // A grant of admin makes a dataset admin.
  Grant(olivia_, "ledger", {{"principal", "user:gwen"}, {"level", "admin"}});
  EXPECT_EQ(t_->Get("/v1/audit?dataset=ledger", gwen_).status, 200);
}

TEST_F(AccessApi, WhoamiListsRolesAndWhereEachComesFrom) {
  json personal = Grant(olivia_, "ledger", {{"principal", "user:gwen"}, {"level", "read"}, {"days", 30}});
  json group = Grant(olivia_, "ledger", {{"principal", "group:finance"}, {"level", "write"}});

  std::multimap<std::string, json> gwen = Roles(gwen_);
  ASSERT_EQ(gwen.count("internal-read"), 1u);
  EXPECT_THAT(gwen.find("internal-read")->second["via"].get<std::string>(), StartsWith("grant "));
  EXPECT_THAT(gwen.find("internal-read")->second["via"].get<std::string>(), HasSubstr(" to group:employees"));
  ASSERT_EQ(gwen.count("ledger:read"), 1u);
  EXPECT_EQ(gwen.find("ledger:read")->second["via"],
            "grant " + std::to_string(personal["id"].get<int64_t>()) + " to user:gwen");
  EXPECT_EQ(gwen.find("ledger:read")->second["expires_at"], personal["expires_at"]);
  EXPECT_EQ(gwen.size(), 2u);

  std::multimap<std::string, json> finn = Roles(finn_);
  ASSERT_EQ(finn.count("ledger:write"), 1u);
  EXPECT_EQ(finn.find("ledger:write")->second["via"],
            "grant " + std::to_string(group["id"].get<int64_t>()) + " to group:finance");
  EXPECT_FALSE(finn.find("ledger:write")->second.contains("expires_at"));
  EXPECT_EQ(t_->Get("/v1/whoami", finn_).Json()["groups"], json::array({"employees", "finance"}));

  std::multimap<std::string, json> olivia = Roles(olivia_);
  auto has = [](const std::multimap<std::string, json>& roles, const std::string& role, const std::string& via) {
    auto [begin, end] = roles.equal_range(role);
    for (auto it = begin; it != end; ++it) {
      if (it->second["via"] == via) return true;
    }
    return false;
  };
  for (const char* role : {"ledger:admin", "patients:admin", "genomes:admin"}) {
    EXPECT_TRUE(has(olivia, role, "owner of the dataset")) << role;
  }
  std::multimap<std::string, json> admin = Roles(t_->admin_token);
  EXPECT_TRUE(has(admin, "instance-admin", "the user is an instance admin"));
  EXPECT_TRUE(has(admin, "web-traffic:admin", "owner of the dataset"));

  EXPECT_EQ(Roles(mallory_).size(), 1u);  // internal-read only
  std::string contractor = t_->AddUser("contractor", {"--no-employee"});
  json outsider = t_->Get("/v1/whoami", contractor).Json();
  EXPECT_EQ(outsider["groups"], json::array());
  EXPECT_EQ(outsider["roles"], json::array());
}

TEST_F(AccessApi, BadInputsGetA400NamingTheProblem) {
  const std::string grants = "/v1/datasets/ledger/grants";
  const std::set<int64_t> from_file = GrantIds("ledger");
  const json valid = {{"principal", "user:gwen"}, {"level", "read"}};
  auto with = [&](const json& changes) {
    json body = valid;
    for (const auto& [key, value] : changes.items()) body[key] = value;
    return body;
  };
  ExpectApiError(t_->Send("POST", grants, olivia_, R"({"principal": "user:gwen", "level": )"), 400, "invalid_argument",
                 "not valid JSON");
  ExpectApiError(t_->Send("POST", grants, olivia_, ""), 400, "invalid_argument", "needs a JSON body");
  ExpectApiError(t_->Send("POST", grants, olivia_, R"(["user:gwen"])"), 400, "invalid_argument",
                 "must be a JSON object");
  ExpectApiError(Post(grants, olivia_, with({{"expires", "2030-01-01"}})), 400, "invalid_argument",
                 "unknown field 'expires'");
  ExpectApiError(Post(grants, olivia_, {{"principal", "user:gwen"}}), 400, "invalid_argument",
                 "field 'level' is required");
  ExpectApiError(Post(grants, olivia_, {{"level", "read"}}), 400, "invalid_argument", "field 'principal' is required");
  ExpectApiError(Post(grants, olivia_, with({{"level", 2}})), 400, "invalid_argument",
                 "field 'level' must be a string");
  ExpectApiError(Post(grants, olivia_, with({{"principal", json::array({"user:gwen"})}})), 400, "invalid_argument",
                 "field 'principal' must be a string");
  ExpectApiError(Post(grants, olivia_, with({{"justification", false}})), 400, "invalid_argument",
                 "field 'justification' must be a string");
  ExpectApiError(Post(grants, olivia_, with({{"level", "owner"}})), 400, "invalid_argument", "owner");
  ExpectApiError(Post(grants, olivia_, with({{"principal", "gwen"}})), 400, "invalid_argument", "KIND:NAME");
  ExpectApiError(Post(grants, olivia_, with({{"principal", "robot:r2"}})), 400, "invalid_argument", "robot");
  ExpectApiError(Post(grants, olivia_, with({{"principal", "user:Gwen!"}})), 400, "invalid_argument", "Gwen!");
  ExpectApiError(Post(grants, olivia_, with({{"days", -1}})), 400, "invalid_argument", "days must be from 1 to 3650");
  ExpectApiError(Post(grants, olivia_, with({{"days", 0}})), 400, "invalid_argument", "days must be from 1 to 3650");
  ExpectApiError(Post(grants, olivia_, with({{"days", 3651}})), 400, "invalid_argument", "days must be from 1 to 3650");
  ExpectApiError(Post(grants, olivia_, with({{"days", "30"}})), 400, "invalid_argument",
                 "field 'days' must be a whole number");
  ExpectApiError(Post(grants, olivia_, with({{"days", 1.5}})), 400, "invalid_argument", "field 'days' must be a whole");
  for (const char* huge : {"9223372036854775808", "18446744073709551615", "99999999999999999999999", "1e400"}) {
    SCOPED_TRACE(huge);
    Reply r = t_->Send("POST", grants, olivia_,
                       std::string(R"({"principal": "user:gwen", "level": "read", "days": )") + huge + "}");
    ExpectApiError(r, 400, "invalid_argument", "");
    EXPECT_THAT(r.body, ::testing::AnyOf(HasSubstr("'days'"), HasSubstr("number out of range")));
    EXPECT_THAT(r.body, Not(HasSubstr("got -")));  // never a wrapped-around number
  }
  ExpectApiError(Post(grants, olivia_, with({{"principal", "user:nobody"}})), 404, "not_found",
                 "user:nobody does not exist");
  EXPECT_EQ(GrantIds("ledger"), from_file);  // none of it granted anything

  // Ids in paths.
  json grant = Grant(olivia_, "ledger", valid);
  const std::string revoke = "/v1/grants/" + std::to_string(grant["id"].get<int64_t>()) + "/revoke";
  for (const char* id : {"abc", "0", "-3", "1x", "99999999999999999999"}) {
    SCOPED_TRACE(id);
    ExpectApiError(t_->Send("POST", std::string("/v1/grants/") + id + "/revoke", olivia_, ""), 400, "invalid_argument",
                   "the grant id must be a whole number");
    ExpectApiError(t_->Send("POST", std::string("/v1/access-requests/") + id + "/approve", olivia_, ""), 400,
                   "invalid_argument", "the access request id must be a whole number");
    ExpectApiError(Post(std::string("/v1/access-requests/") + id + "/deny", olivia_, {{"reason", "no"}}), 400,
                   "invalid_argument", "the access request id must be a whole number");
  }
  ExpectApiError(Post(revoke, olivia_, {{"reason", 5}}), 400, "invalid_argument", "field 'reason' must be a string");
  ExpectApiError(Post(revoke, olivia_, {{"why", "moved"}}), 400, "invalid_argument", "unknown field 'why'");
  ExpectApiError(t_->Send("POST", revoke, olivia_, "{"), 400, "invalid_argument", "not valid JSON");
  EXPECT_EQ(GrantIds("ledger"), Plus(from_file, {grant["id"].get<int64_t>()}));  // still active

  // Access requests: for oneself only, with a justification.
  const std::string ask = "/v1/datasets/ledger/access-requests";
  ExpectApiError(Post(ask, mallory_, {{"level", "read"}}), 400, "invalid_argument", "needs a justification");
  ExpectApiError(Post(ask, mallory_, {{"level", "root"}, {"justification", "x"}}), 400, "invalid_argument", "root");
  ExpectApiError(Post(ask, mallory_, {{"justification", "x"}}), 400, "invalid_argument", "field 'level' is required");
  ExpectApiError(Post(ask, mallory_, {{"level", "read"}, {"justification", "x"}, {"principal", "user:gwen"}}), 400,
                 "invalid_argument", "unknown field 'principal'");
  ExpectApiError(Post(ask, mallory_, {{"level", "read"}, {"justification", "x"}, {"days", -5}}), 400,
                 "invalid_argument", "days must be from 1 to 3650");
  ExpectApiError(Post(ask, mallory_, {{"level", "read"}, {"justification", json::object()}}), 400, "invalid_argument",
                 "field 'justification' must be a string");
  EXPECT_EQ(t_->Get("/v1/access-requests", mallory_).Json()["requests"].size(), 0u);

  // Query parameters.
  ExpectApiError(t_->Get("/v1/access-requests?state=maybe", olivia_), 400, "invalid_argument", "maybe");
  ExpectApiError(t_->Get("/v1/access-requests?limit=0", olivia_), 400, "invalid_argument", "limit");
  ExpectApiError(t_->Get("/v1/grants?principal=gwen", gwen_), 400, "invalid_argument", "KIND:NAME");
  ExpectApiError(t_->Get("/v1/grants?principal=team:x", gwen_), 400, "invalid_argument", "team");
  ExpectApiError(t_->Get("/v1/datasets/ledger/grants?include_revoked=yes", olivia_), 400, "invalid_argument",
                 "include_revoked must be true or false");
  ExpectApiError(t_->Get("/v1/audit?decision=maybe", t_->admin_token), 400, "invalid_argument",
                 "decision must be allow or deny");
  ExpectApiError(t_->Get("/v1/audit?format=csv", t_->admin_token), 400, "invalid_argument",
                 "format must be json or jsonl");
  ExpectApiError(t_->Get("/v1/audit?limit=5000", t_->admin_token), 400, "invalid_argument", "limit");
  ExpectApiError(t_->Get("/v1/audit?after=-1", t_->admin_token), 400, "invalid_argument", "after");
  ExpectApiError(t_->Get("/v1/audit?page_token=x", t_->admin_token), 400, "invalid_argument", "page_token");
  for (const char* bad : {"yesterday", "2026-13-01", "2026-11-29T25:00:00Z", "2026-11-29 08:00:00", "1969-12-31"}) {
    ExpectApiError(t_->Get(std::string("/v1/audit?since=") + bad, t_->admin_token), 400, "invalid_argument",
                   "since must be a UTC time");
  }
  ExpectApiError(t_->Get("/v1/audit?until=soon", t_->admin_token), 400, "invalid_argument", "until must be a UTC time");
  EXPECT_EQ(t_->Get("/healthz", "").status, 200);
}

}  // namespace
}  // namespace edl
