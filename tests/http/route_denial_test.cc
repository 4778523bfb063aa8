// Every route of the API, asked by a user without rights (issue 5: "every REST route has a test that
// a user without rights gets 403, or 404 where existence is hidden, and receives no data"). The
// table below maps each route of ApiRoutes() to its case; the test walks the server's route table,
// so a new route without a case fails it. Routes every user may call have a case showing that they
// answer with the caller's own data only.
//
// One instance serves all cases: `olivia` owns a restricted, a sensitive and an internal dataset,
// with an update each (through her uploads and ingest jobs), a spare upload and a token; `gwen`
// (group finance) holds grants and has pending access requests. `mallory`, an employee holding
// nothing, makes the requests. Whatever she is refused must not carry any of what she may not know:
// descriptions of hidden datasets, QC columns, file names, other users' names, groups and
// justifications, ids of others' grants, jobs and requests.
#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/api_server.h"
#include "http/server_fixture.h"

namespace edl {
namespace {

using nlohmann::json;
using testing::ExpectApiError;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Reply;
using testing::ServerTest;

constexpr char kLedger[] = R"(name: ledger
tier: restricted
description: Ledger of the EU entities
owners: [olivia]
qc:
  - {check: not_null, column: entry_ref_q7}
)";
constexpr char kPatients[] = R"(name: patients
tier: sensitive
description: Patients-k9 cohort visits
owners: [olivia]
policy: {max_grant_days: 30}
)";
constexpr char kWebTraffic[] = R"(name: web-traffic
tier: internal
description: Page views of the public web site
owners: [olivia]
)";
constexpr char kMissingDataset[] = "no-such-dataset";
constexpr char kMissingUpload[] = "0123456789abcdef0123456789abcdef";
constexpr int64_t kMissingId = 987654;
// The fields a caller without read access sees of a restricted dataset (docs/security.md).
const std::set<std::string> kLimitedView = {"name",   "tier",       "region",     "description", "owners",
                                            "policy", "created_at", "updated_at", "access"};

std::set<std::string> Keys(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

// `number` in `text` as a whole number, not as part of a longer one.
bool ContainsNumber(const std::string& text, const std::string& number) {
  for (size_t at = text.find(number); at != std::string::npos; at = text.find(number, at + 1)) {
    bool digit_before = at > 0 && std::isdigit(static_cast<unsigned char>(text[at - 1]));
    size_t end = at + number.size();
    bool digit_after = end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]));
    if (!digit_before && !digit_after) return true;
  }
  return false;
}

class RouteDenial : public ::testing::Test {
 public:
  struct RouteCase {
    std::string route;   // "METHOD /path", as in ApiRoutes()
    std::string expect;  // what mallory gets
    std::function<void()> run;
  };
  // The table: every route and its case. The cases run against the instance SetUpTestSuite makes.
  static std::vector<RouteCase> Cases();

 protected:
  static void SetUpTestSuite() {
    t_ = std::make_unique<ServerTest>();
    olivia_ = t_->AddUser("olivia");
    gwen_ = t_->AddUser("gwen", {"--group", "finance"});
    mallory_ = t_->AddUser("mallory");
    for (const char* yaml : {kLedger, kPatients, kWebTraffic}) t_->DeployDataset(yaml);
    t_->StartServer();

    for (const char* dataset : {"ledger", "patients", "web-traffic"}) {
      std::string upload = Upload(olivia_, std::string(dataset) + "-q7.csv", "entry_ref_q7,amount\nR1,10\n");
      Reply ingest = Send(olivia_, "POST", std::string("/v1/datasets/") + dataset + "/ingest",
                          json{{"sources", {"upload:" + upload}}}.dump());
      ASSERT_EQ(ingest.status, 202) << ingest.body;
      int64_t job = ingest.Json()["id"];
      ASSERT_EQ(t_->WaitForJob(job, olivia_)["state"], "succeeded") << dataset;
      jobs_.push_back(job);
    }
    spare_upload_ = Upload(olivia_, "notes-q7.csv", "a\n1\n");

    ledger_grant_ = GrantAsOlivia("ledger", {{"principal", "user:gwen"}, {"level", "read"}});
    finance_grant_ = GrantAsOlivia("ledger", {{"principal", "group:finance"}, {"level", "write"}});
    patients_grant_ = GrantAsOlivia(
        "patients",
        {{"principal", "user:gwen"}, {"level", "read"}, {"justification", "cohort-review-q7"}, {"days", 10}});
    ledger_request_ = AskAsGwen("ledger", {{"level", "write"}, {"justification", "need-write-q7"}});
    patients_request_ =
        AskAsGwen("patients", {{"level", "write"}, {"justification", "patients-write-q7"}, {"days", 5}});

    Reply token = Send(olivia_, "POST", "/v1/tokens", R"({"description": "olivia-token-q7"})");
    ASSERT_EQ(token.status, 201) << token.body;
    olivia_token_id_ = token.Json()["id"];
    olivia_second_token_ = token.Json()["token"];

    // Every id of what mallory may not see: others' grants (those the deploy made for the owners
    // too), jobs, access requests and tokens.
    others_ids_ = {olivia_token_id_, ledger_request_, patients_request_};
    others_ids_.insert(others_ids_.end(), jobs_.begin(), jobs_.end());
    for (const char* dataset : {"ledger", "patients", "web-traffic"}) {
      json grants = Send(olivia_, "GET", std::string("/v1/datasets/") + dataset + "/grants").Json()["grants"];
      for (const json& g : grants) others_ids_.push_back(g["id"]);
    }
  }
  static void TearDownTestSuite() {
    std::string log = t_->ServerLog();
    for (const std::string* token : {&t_->admin_token, &olivia_, &gwen_, &mallory_, &olivia_second_token_}) {
      EXPECT_THAT(log, Not(HasSubstr(*token)));
    }
    t_.reset();
  }

  static Reply Send(const std::string& token, const std::string& method, const std::string& path,
                    const std::string& body = "") {
    return t_->Send(method, path, token, body);
  }
  static std::string Upload(const std::string& token, const std::string& name, const std::string& content) {
    Reply created = Send(token, "POST", "/v1/uploads");
    EXPECT_EQ(created.status, 201) << created.body;
    std::string id = created.Json().value("id", "");
    Reply put = t_->Send("PUT", "/v1/uploads/" + id + "/files/" + name, token, content, "text/csv");
    EXPECT_EQ(put.status, 201) << put.body;
    return id;
  }
  static int64_t GrantAsOlivia(const std::string& dataset, const json& body) {
    Reply r = Send(olivia_, "POST", "/v1/datasets/" + dataset + "/grants", body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json().value("id", int64_t{0});
  }
  static int64_t AskAsGwen(const std::string& dataset, const json& body) {
    Reply r = Send(gwen_, "POST", "/v1/datasets/" + dataset + "/access-requests", body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json().value("id", int64_t{0});
  }

  // What mallory may not learn, unless she wrote it into her request herself (a 404 may repeat the
  // name she asked for) or the case shows it on purpose (`allowed`, e.g. the owners of a dataset she
  // may see exists).
  static void ExpectNoSecrets(const std::string& body, const std::string& request,
                              const std::set<std::string>& allowed = {}) {
    std::vector<std::string> secrets = {
        "Patients-k9",    "patients", "entry_ref_q7",     "-q7.csv",       "notes-q7",          "olivia",
        "gwen",           "finance",  "cohort-review-q7", "need-write-q7", "patients-write-q7", "olivia-token-q7",
        "datalake-dev01", "sha256",   "update-0000",      spare_upload_,   olivia_second_token_};
    for (const std::string& secret : secrets) {
      if (allowed.count(secret) || request.find(secret) != std::string::npos) continue;
      EXPECT_THAT(body, Not(HasSubstr(secret))) << "in the answer to " << request;
    }
  }

  // Sends as mallory and expects a refusal: the error shape and nothing else, no secrets, and no id
  // of others' things she did not name herself.
  static Reply ExpectRefused(int status, const std::string& method, const std::string& path,
                             const std::string& body = "") {
    const std::string request = method + " " + path + " " + body;
    SCOPED_TRACE(request);
    Reply r = Send(mallory_, method, path, body);
    ExpectApiError(r, status, status == 403 ? "permission_denied" : "not_found", "");
    json error = r.Json();
    EXPECT_EQ(Keys(error), (std::set<std::string>{"error"})) << r.body;
    EXPECT_EQ(Keys(error["error"]), (std::set<std::string>{"code", "message", "details"})) << r.body;
    EXPECT_EQ(Keys(error["error"]["details"]), (std::set<std::string>{"request_id"})) << r.body;
    ExpectNoSecrets(r.body, request);
    std::string message = error["error"].value("message", "");
    for (int64_t id : others_ids_) {
      std::string number = std::to_string(id);
      if (ContainsNumber(request, number)) continue;
      EXPECT_FALSE(ContainsNumber(message, number)) << "id " << number << " in: " << message;
    }
    return r;
  }

  // A hidden thing answers exactly like a missing one: the same 404 and message, but for the name.
  static void ExpectHidden(const std::string& method, const std::string& path, const std::string& hidden,
                           const std::string& missing, const std::string& body = "") {
    auto with = [&](const std::string& name) {
      std::string out = path;
      out.replace(out.find("{}"), 2, name);
      return out;
    };
    Reply seen = ExpectRefused(404, method, with(hidden), body);
    Reply absent = ExpectRefused(404, method, with(missing), body);
    std::string seen_message = seen.Json()["error"].value("message", "");
    std::string absent_message = absent.Json()["error"].value("message", "");
    size_t at = seen_message.find(hidden);
    if (at != std::string::npos) seen_message.replace(at, hidden.size(), missing);
    EXPECT_EQ(seen_message, absent_message) << method << " " << path;
  }

  static std::unique_ptr<ServerTest> t_;
  static std::string olivia_, gwen_, mallory_, olivia_second_token_, spare_upload_;
  static std::vector<int64_t> jobs_;  // olivia's ingests: ledger, patients, web-traffic
  static int64_t ledger_grant_, finance_grant_, patients_grant_, ledger_request_, patients_request_, olivia_token_id_;
  static std::vector<int64_t> others_ids_;
};

std::unique_ptr<ServerTest> RouteDenial::t_;
std::string RouteDenial::olivia_, RouteDenial::gwen_, RouteDenial::mallory_, RouteDenial::olivia_second_token_,
    RouteDenial::spare_upload_;
std::vector<int64_t> RouteDenial::jobs_;
int64_t RouteDenial::ledger_grant_ = 0, RouteDenial::finance_grant_ = 0, RouteDenial::patients_grant_ = 0,
        RouteDenial::ledger_request_ = 0, RouteDenial::patients_request_ = 0, RouteDenial::olivia_token_id_ = 0;
std::vector<int64_t> RouteDenial::others_ids_;

std::vector<RouteDenial::RouteCase> RouteDenial::Cases() {
  const std::string missing = std::to_string(kMissingId);
  auto ledger_job = [] { return std::to_string(jobs_.at(0)); };
  return {
      // ---- Open to anyone, or to every user; nothing in them belongs to anyone.
      {"GET /healthz", "200 {status} without a token",
       [] {
         Reply r = t_->Get("/healthz", "");
         EXPECT_EQ(r.status, 200);
         EXPECT_EQ(r.Json(), (json{{"status", "ok"}}));
       }},
      {"GET /readyz", "200 {status} without a token",
       [] {
         Reply r = t_->Get("/readyz", "");
         EXPECT_EQ(r.status, 200);
         EXPECT_EQ(r.Json(), (json{{"status", "ready"}}));
       }},
      {"GET /metrics", "counts by route template, no names",
       [] {
         Reply r = Send(mallory_, "GET", "/metrics");
         EXPECT_EQ(r.status, 200);
         ExpectNoSecrets(r.body, "GET /metrics");
         EXPECT_THAT(r.body, Not(HasSubstr("ledger")));
       }},
      {"GET /v1/openapi.json", "the document compiled into the server, for everyone",
       [] {
         Reply r = Send(mallory_, "GET", "/v1/openapi.json");
         EXPECT_EQ(r.status, 200);
         EXPECT_EQ(r.body, std::string(OpenApiDocument()));
       }},

      // ---- The caller's own.
      {"GET /v1/whoami", "own: user, groups, roles, token",
       [] {
         Reply r = Send(mallory_, "GET", "/v1/whoami");
         ASSERT_EQ(r.status, 200) << r.body;
         json me = r.Json();
         EXPECT_EQ(me["user"], "mallory");
         EXPECT_EQ(me["groups"], json::array({"employees"}));
         ASSERT_EQ(me["roles"].size(), 1u) << r.body;
         EXPECT_EQ(me["roles"][0]["role"], "internal-read");
         ExpectNoSecrets(r.body, "GET /v1/whoami");
       }},
      {"GET /v1/datasets", "own view: sensitive left out, restricted limited",
       [] {
         Reply r = Send(mallory_, "GET", "/v1/datasets");
         ASSERT_EQ(r.status, 200) << r.body;
         json datasets = r.Json()["datasets"];
         ASSERT_EQ(datasets.size(), 2u) << r.body;
         EXPECT_EQ(datasets[0]["name"], "ledger");
         EXPECT_EQ(datasets[0]["access"], "none");
         EXPECT_EQ(Keys(datasets[0]), kLimitedView);
         EXPECT_EQ(datasets[1]["name"], "web-traffic");
         EXPECT_EQ(datasets[1]["access"], "read");
         // The owners are what she needs to ask for access; patients and its description are not there.
         ExpectNoSecrets(r.body, "GET /v1/datasets", {"olivia", "datalake-dev01"});
         ExpectNoSecrets(datasets[0].dump(), "GET /v1/datasets", {"olivia"});
         EXPECT_EQ(Send(mallory_, "GET", "/v1/datasets?tier=sensitive").Json()["datasets"].size(), 0u);
         EXPECT_EQ(Send(mallory_, "GET", "/v1/datasets?q=k9").Json()["datasets"].size(), 0u);
       }},
      {"GET /v1/datasets/{name}", "restricted: 200 limited view; sensitive: 404 as if missing",
       [] {
         Reply r = Send(mallory_, "GET", "/v1/datasets/ledger");
         ASSERT_EQ(r.status, 200) << r.body;
         EXPECT_EQ(Keys(r.Json()), kLimitedView);
         EXPECT_EQ(r.Json()["access"], "none");
         ExpectNoSecrets(r.body, "GET /v1/datasets/ledger", {"olivia"});
         ExpectHidden("GET", "/v1/datasets/{}", "patients", kMissingDataset);
       }},
      {"GET /v1/datasets/{name}/updates", "403 restricted; 404 sensitive",
       [] {
         ExpectRefused(403, "GET", "/v1/datasets/ledger/updates");
         ExpectHidden("GET", "/v1/datasets/{}/updates", "patients", kMissingDataset);
       }},
      {"GET /v1/datasets/{name}/updates/{n}", "403 restricted; 404 sensitive",
       [] {
         ExpectRefused(403, "GET", "/v1/datasets/ledger/updates/1");
         ExpectHidden("GET", "/v1/datasets/{}/updates/1", "patients", kMissingDataset);
       }},
      {"POST /v1/datasets/{name}/ingest", "403 restricted and internal; 404 sensitive; no job",
       [] {
         size_t jobs_before = Send(t_->admin_token, "GET", "/v1/jobs").Json()["jobs"].size();
         const std::string body = R"({"sources": ["drop:"]})";
         ExpectRefused(403, "POST", "/v1/datasets/ledger/ingest", body);
         ExpectRefused(403, "POST", "/v1/datasets/web-traffic/ingest", body);
         ExpectHidden("POST", "/v1/datasets/{}/ingest", "patients", kMissingDataset, body);
         EXPECT_EQ(Send(t_->admin_token, "GET", "/v1/jobs").Json()["jobs"].size(), jobs_before);
       }},

      // ---- Uploads: their owner's; to anyone else they do not exist.
      {"POST /v1/uploads", "own: a new empty upload of the caller's",
       [] {
         Reply r = Send(mallory_, "POST", "/v1/uploads");
         ASSERT_EQ(r.status, 201) << r.body;
         EXPECT_EQ(r.Json()["owner"], "user:mallory");
         EXPECT_EQ(r.Json()["files"], json::array());
         EXPECT_NE(r.Json()["id"], spare_upload_);
         ExpectNoSecrets(r.body, "POST /v1/uploads");
         EXPECT_EQ(Send(olivia_, "GET", "/v1/uploads/" + r.Json()["id"].get<std::string>()).status, 404);
       }},
      {"GET /v1/uploads/{id}", "404 for another user's upload",
       [] { ExpectHidden("GET", "/v1/uploads/{}", spare_upload_, kMissingUpload); }},
      {"PUT /v1/uploads/{id}/files/{filename}", "404 for another user's upload; nothing added",
       [] {
         Reply r = t_->Send("PUT", "/v1/uploads/" + spare_upload_ + "/files/extra.csv", mallory_, "a\n1\n", "text/csv");
         ExpectApiError(r, 404, "not_found", "does not exist");
         ExpectNoSecrets(r.body, "PUT /v1/uploads/" + spare_upload_ + "/files/extra.csv");
         json files = Send(olivia_, "GET", "/v1/uploads/" + spare_upload_).Json()["files"];
         ASSERT_EQ(files.size(), 1u);
         EXPECT_EQ(files[0]["name"], "notes-q7.csv");
       }},
      {"DELETE /v1/uploads/{id}", "404 for another user's upload; it stays",
       [] {
         ExpectHidden("DELETE", "/v1/uploads/{}", spare_upload_, kMissingUpload);
         EXPECT_EQ(Send(olivia_, "GET", "/v1/uploads/" + spare_upload_).status, 200);
       }},

      // ---- Jobs: their creator's and admins'.
      {"GET /v1/jobs", "own jobs only",
       [] {
         for (const std::string path : {"/v1/jobs", "/v1/jobs?dataset=ledger", "/v1/jobs?state=succeeded"}) {
           Reply r = Send(mallory_, "GET", path);
           ASSERT_EQ(r.status, 200) << r.body;
           EXPECT_EQ(r.Json()["jobs"], json::array()) << path;
         }
       }},
      {"GET /v1/jobs/{id}", "404 for another user's job",
       [ledger_job, missing] { ExpectHidden("GET", "/v1/jobs/{}", ledger_job(), missing); }},
      {"POST /v1/jobs/{id}/cancel", "404 for another user's job; untouched",
       [ledger_job, missing] {
         ExpectHidden("POST", "/v1/jobs/{}/cancel", ledger_job(), missing);
         json job = Send(olivia_, "GET", "/v1/jobs/" + ledger_job()).Json();
         EXPECT_EQ(job["state"], "succeeded");
         EXPECT_EQ(job["cancel_requested"], false);
       }},
      {"GET /v1/jobs/{id}/logs", "404 for another user's job",
       [ledger_job, missing] { ExpectHidden("GET", "/v1/jobs/{}/logs", ledger_job(), missing); }},

      // ---- Users, groups, tokens.
      {"GET /v1/users", "403: admins only", [] { ExpectRefused(403, "GET", "/v1/users"); }},
      {"POST /v1/users", "403: admins only; nobody created",
       [] {
         ExpectRefused(403, "POST", "/v1/users", R"({"name": "eve", "admin": true})");
         EXPECT_EQ(Send(t_->admin_token, "GET", "/v1/users/eve").status, 404);
       }},
      {"GET /v1/users/{name}", "403 for another user; own record only",
       [] {
         ExpectRefused(403, "GET", "/v1/users/olivia");
         ExpectRefused(403, "GET", "/v1/users/gwen");
         Reply own = Send(mallory_, "GET", "/v1/users/mallory");
         ASSERT_EQ(own.status, 200) << own.body;
         EXPECT_EQ(own.Json()["name"], "mallory");
         ExpectNoSecrets(own.body, "GET /v1/users/mallory");
       }},
      {"PUT /v1/groups/{group}/members/{user}", "403: admins only; nothing joined",
       [] {
         ExpectRefused(403, "PUT", "/v1/groups/finance/members/mallory");
         EXPECT_EQ(Send(mallory_, "GET", "/v1/whoami").Json()["groups"], json::array({"employees"}));
       }},
      {"DELETE /v1/groups/{group}/members/{user}", "403: admins only; nothing left",
       [] {
         ExpectRefused(403, "DELETE", "/v1/groups/finance/members/gwen");
         json groups = Send(t_->admin_token, "GET", "/v1/users/gwen").Json()["groups"];
         EXPECT_NE(std::find(groups.begin(), groups.end(), "finance"), groups.end()) << groups.dump();
       }},
      {"GET /v1/tokens", "own tokens; 403 for another user's",
       [] {
         Reply r = Send(mallory_, "GET", "/v1/tokens");
         ASSERT_EQ(r.status, 200) << r.body;
         json tokens = r.Json()["tokens"];
         EXPECT_FALSE(tokens.empty());
         for (const json& token : tokens) EXPECT_EQ(token["user"], "mallory") << token.dump();
         ExpectNoSecrets(r.body, "GET /v1/tokens");
         ExpectRefused(403, "GET", "/v1/tokens?user=olivia");
       }},
      {"POST /v1/tokens", "own token; 403 for another user",
       [] {
         size_t olivias = Send(t_->admin_token, "GET", "/v1/tokens?user=olivia").Json()["tokens"].size();
         Reply mine = Send(mallory_, "POST", "/v1/tokens", R"({"description": "mine"})");
         ASSERT_EQ(mine.status, 201) << mine.body;
         EXPECT_EQ(mine.Json()["user"], "mallory");
         ExpectNoSecrets(mine.body, "POST /v1/tokens");
         ExpectRefused(403, "POST", "/v1/tokens", R"({"user": "olivia"})");
         EXPECT_EQ(Send(t_->admin_token, "GET", "/v1/tokens?user=olivia").Json()["tokens"].size(), olivias);
       }},
      {"DELETE /v1/tokens/{id}", "404 for another user's token; it keeps working",
       [missing] {
         ExpectHidden("DELETE", "/v1/tokens/{}", std::to_string(olivia_token_id_), missing);
         EXPECT_EQ(Send(olivia_second_token_, "GET", "/v1/whoami").status, 200);
       }},

      // ---- Grants.
      {"GET /v1/datasets/{name}/grants", "403 restricted and internal; 404 sensitive",
       [] {
         ExpectRefused(403, "GET", "/v1/datasets/ledger/grants");
         ExpectRefused(403, "GET", "/v1/datasets/web-traffic/grants?include_revoked=true");
         ExpectHidden("GET", "/v1/datasets/{}/grants", "patients", kMissingDataset);
       }},
      {"POST /v1/datasets/{name}/grants", "403 restricted and internal; 404 sensitive; nothing granted",
       [] {
         ExpectRefused(403, "POST", "/v1/datasets/ledger/grants", R"({"principal": "user:mallory", "level": "read"})");
         ExpectRefused(403, "POST", "/v1/datasets/web-traffic/grants",
                       R"({"principal": "user:mallory", "level": "admin"})");
         ExpectHidden("POST", "/v1/datasets/{}/grants", "patients", kMissingDataset,
                      R"({"principal": "user:mallory", "level": "read", "justification": "x", "days": 5})");
         EXPECT_EQ(Send(mallory_, "GET", "/v1/datasets/ledger/updates").status, 403);
         EXPECT_EQ(Send(mallory_, "GET", "/v1/datasets/ledger").Json()["access"], "none");
       }},
      {"GET /v1/grants", "own and own groups' grants; 403 for others'",
       [] {
         Reply r = Send(mallory_, "GET", "/v1/grants");
         ASSERT_EQ(r.status, 200) << r.body;
         for (const json& grant : r.Json()["grants"].get<std::vector<json>>()) {
           EXPECT_TRUE(grant["principal"] == "user:mallory" || grant["principal"] == "group:employees") << grant.dump();
         }
         ExpectNoSecrets(r.body, "GET /v1/grants");
         ExpectRefused(403, "GET", "/v1/grants?principal=user:gwen");
         ExpectRefused(403, "GET", "/v1/grants?principal=group:finance");
       }},
      {"POST /v1/grants/{id}/revoke", "403 on restricted grants; 404 on sensitive ones; all stay",
       [missing] {
         ExpectRefused(403, "POST", "/v1/grants/" + std::to_string(ledger_grant_) + "/revoke");
         ExpectRefused(403, "POST", "/v1/grants/" + std::to_string(finance_grant_) + "/revoke", R"({"reason": "x"})");
         ExpectHidden("POST", "/v1/grants/{}/revoke", std::to_string(patients_grant_), missing);
         EXPECT_EQ(Send(gwen_, "GET", "/v1/datasets/ledger/updates").status, 200);
         EXPECT_EQ(Send(gwen_, "GET", "/v1/datasets/patients/updates").status, 200);
       }},

      // ---- Access requests.
      {"POST /v1/datasets/{name}/access-requests", "own request; 404 sensitive; for oneself only",
       [] {
         Reply r = Send(mallory_, "POST", "/v1/datasets/ledger/access-requests",
                        R"({"level": "read", "justification": "mine"})");
         ASSERT_EQ(r.status, 201) << r.body;
         EXPECT_EQ(r.Json()["grantee"], "user:mallory");
         EXPECT_EQ(r.Json()["requested_by"], "user:mallory");
         ExpectNoSecrets(r.body, "POST /v1/datasets/ledger/access-requests");
         ExpectHidden("POST", "/v1/datasets/{}/access-requests", "patients", kMissingDataset,
                      R"({"level": "read", "justification": "x", "days": 5})");
         ExpectApiError(Send(mallory_, "POST", "/v1/datasets/web-traffic/access-requests",
                             R"({"level": "write", "justification": "x", "principal": "user:gwen"})"),
                        400, "invalid_argument", "unknown field 'principal'");
       }},
      {"GET /v1/access-requests", "own requests only",
       [] {
         for (const std::string path :
              {"/v1/access-requests", "/v1/access-requests?state=pending", "/v1/access-requests?dataset=ledger"}) {
           Reply r = Send(mallory_, "GET", path);
           ASSERT_EQ(r.status, 200) << r.body;
           for (const json& request : r.Json()["requests"].get<std::vector<json>>()) {
             EXPECT_EQ(request["requested_by"], "user:mallory") << request.dump();
           }
           ExpectNoSecrets(r.body, path);
         }
       }},
      {"POST /v1/access-requests/{id}/approve", "404 for others' requests; 403 for her own; all stay pending",
       [missing] {
         ExpectHidden("POST", "/v1/access-requests/{}/approve", std::to_string(ledger_request_), missing);
         ExpectHidden("POST", "/v1/access-requests/{}/approve", std::to_string(patients_request_), missing);
         Reply own = Send(mallory_, "POST", "/v1/datasets/web-traffic/access-requests",
                          R"({"level": "admin", "justification": "mine"})");
         ASSERT_EQ(own.status, 201) << own.body;
         ExpectRefused(403, "POST",
                       "/v1/access-requests/" + std::to_string(own.Json()["id"].get<int64_t>()) + "/approve");
         std::set<int64_t> pending;
         for (const json& request :
              Send(olivia_, "GET", "/v1/access-requests?state=pending").Json()["requests"].get<std::vector<json>>()) {
           pending.insert(request["id"].get<int64_t>());
         }
         EXPECT_TRUE(pending.count(ledger_request_));
         EXPECT_TRUE(pending.count(patients_request_));
         EXPECT_TRUE(pending.count(own.Json()["id"].get<int64_t>()));
       }},
      {"POST /v1/access-requests/{id}/deny", "404 for others' requests; they stay pending",
       [missing] {
         const std::string reason = R"({"reason": "no"})";
         ExpectHidden("POST", "/v1/access-requests/{}/deny", std::to_string(ledger_request_), missing, reason);
         ExpectHidden("POST", "/v1/access-requests/{}/deny", std::to_string(patients_request_), missing, reason);
         json pending = Send(gwen_, "GET", "/v1/access-requests?state=pending").Json()["requests"];
         EXPECT_EQ(pending.size(), 2u) << pending.dump();
       }},

      // ---- Audit.
      {"GET /v1/audit", "403 without ?dataset= and for datasets she does not administer; 404 sensitive",
       [] {
         ExpectRefused(403, "GET", "/v1/audit");
         ExpectRefused(403, "GET", "/v1/audit?principal=user:gwen&format=jsonl");
         ExpectRefused(403, "GET", "/v1/audit?dataset=ledger");
         ExpectRefused(403, "GET", "/v1/audit?dataset=web-traffic&format=jsonl");
         ExpectHidden("GET", "/v1/audit?dataset={}", "patients", kMissingDataset);
       }},
  };
}

TEST_F(RouteDenial, EveryRouteRefusesACallerWithoutRightsAndShowsNoData) {
  std::vector<RouteCase> cases = Cases();
  for (const RouteInfo& route : ApiRoutes()) {
    const std::string key = route.method + " " + route.path;
    auto it = std::find_if(cases.begin(), cases.end(), [&](const RouteCase& c) { return c.route == key; });
    if (it == cases.end()) {
      ADD_FAILURE() << "route " << key << " has no case: add what a user without rights gets to "
                    << "RouteDenial::Cases() in tests/http/route_denial_test.cc";
      continue;
    }
    SCOPED_TRACE(key + ": " + it->expect);
    it->run();
  }
}

TEST(RouteDenialTable, EveryCaseNamesARouteTheServerHas) {
  std::set<std::string> served;
  for (const RouteInfo& route : ApiRoutes()) served.insert(route.method + " " + route.path);
  std::set<std::string> seen;
  for (const RouteDenial::RouteCase& c : RouteDenial::Cases()) {
    EXPECT_TRUE(served.count(c.route)) << c.route << " is not a route of the server";
    EXPECT_TRUE(seen.insert(c.route).second) << c.route << " has two cases";
  }
}

}  // namespace
}  // namespace edl
