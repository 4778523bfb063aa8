// Integration tests of `edl serve`: the real binary on a loopback port, a real instance in a
// temporary folder, requests through cpp-httplib's client and raw sockets (curl and edl-api have
// their own tests). Covers authentication, the error shape, request ids, every bad input of the
// server issue, datasets, uploads, ingest jobs, admin routes, metrics, SIGTERM and SIGKILL.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/api_server.h"
#include "http/server_fixture.h"

namespace edl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;
using testing::Reply;
using testing::ServerTest;

constexpr char kInternalDataset[] = R"(name: web-traffic
tier: internal
description: Page views of the public web site
owners: [admin]
)";

constexpr char kRestrictedDataset[] = R"(name: sales-orders
tier: restricted
description: Orders from the EU web shop
owners: [admin]
updates: {kind: snapshot}
qc:
  - {check: not_null, column: order_id}
)";

class ApiServer : public ::testing::Test {
 protected:
  void SetUp() override {
    t_ = std::make_unique<ServerTest>(extra_config_);
    t_->DeployDataset(kInternalDataset);
    t_->DeployDataset(kRestrictedDataset);
    t_->StartServer();
  }
  void TearDown() override {
    // Whatever a test did, no secret may have reached the log.
    std::string log = t_->ServerLog();
    EXPECT_THAT(log, Not(HasSubstr(t_->admin_token)));
    EXPECT_THAT(log, Not(HasSubstr(t_->alice_token)));
  }

  // Creates an upload holding one file and returns its id.
  std::string Upload(const std::string& token, const std::string& name, const std::string& content) {
    Reply created = t_->Send("POST", "/v1/uploads", token, "");
    EXPECT_EQ(created.status, 201) << created.body;
    std::string id = created.Json().value("id", "");
    Reply put = t_->Send("PUT", "/v1/uploads/" + id + "/files/" + name, token, content, "text/csv");
    EXPECT_EQ(put.status, 201) << put.body;
    return id;
  }
  json IngestUpload(const std::string& token, const std::string& dataset, const std::string& upload) {
    Reply r = t_->Send("POST", "/v1/datasets/" + dataset + "/ingest", token,
                       json{{"sources", {"upload:" + upload}}}.dump());
    EXPECT_EQ(r.status, 202) << r.body;
    return r.Json();
  }
  static void ExpectError(const Reply& r, int status, const std::string& code, const std::string& message_part) {
    testing::ExpectApiError(r, status, code, message_part);
  }

  std::string extra_config_;
  std::unique_ptr<ServerTest> t_;
};

TEST_F(ApiServer, UpdatesArePagedByNumber) {
  for (int n = 1; n <= 3; ++n) {
    json job = IngestUpload(t_->admin_token, "sales-orders",
                            Upload(t_->admin_token, "orders.csv", "order_id\n" + std::to_string(n) + "\n"));
    EXPECT_EQ(t_->WaitForJob(job["id"], t_->admin_token)["state"], "succeeded");
  }
  std::vector<int64_t> seen;
  std::string token;
  int pages = 0;
  do {
    Reply page = t_->Get("/v1/datasets/sales-orders/updates?limit=2" + (token.empty() ? "" : "&page_token=" + token),
                         t_->admin_token);
    ASSERT_EQ(page.status, 200) << page.body;
    json body = page.Json();
    EXPECT_LE(body["updates"].size(), 2u);
    for (const json& u : body["updates"]) seen.push_back(u["number"]);
    token = body["next_page_token"].is_string() ? body["next_page_token"].get<std::string>() : "";
    ++pages;
  } while (!token.empty() && pages < 5);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(pages, 2);
  // Without a limit, one page of up to 100 and no next page.
  json all = t_->Get("/v1/datasets/sales-orders/updates", t_->admin_token).Json();
  EXPECT_EQ(all["updates"].size(), 3u);
  EXPECT_TRUE(all["next_page_token"].is_null());
  ExpectError(t_->Get("/v1/datasets/sales-orders/updates?page_token=x", t_->admin_token), 400, "invalid_argument",
              "page_token");
  ExpectError(t_->Get("/v1/datasets/sales-orders/updates?limit=0", t_->admin_token), 400, "invalid_argument", "limit");
}

TEST_F(ApiServer, HealthNeedsNoTokenEverythingElseDoes) {
  Reply health = t_->Get("/healthz", "");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Json()["status"], "ok");
  EXPECT_EQ(t_->Get("/readyz", "").status, 200);
  for (const std::string path : {"/v1/datasets", "/metrics", "/v1/openapi.json", "/v1/whoami", "/v1/jobs"}) {
    Reply r = t_->Get(path, "");
    ExpectError(r, 401, "unauthenticated", "Authorization: Bearer");
    EXPECT_EQ(r.Header("www-authenticate"), "Bearer");
  }
}

TEST_F(ApiServer, UnknownMalformedAndRevokedTokensGet401) {
  ExpectError(t_->Get("/v1/whoami", "edl_" + std::string(43, 'A')), 401, "unauthenticated", "unknown, expired or revoked");
  ExpectError(t_->Get("/v1/whoami", "not-a-token"), 401, "unauthenticated", "unknown, expired or revoked");
  Reply basic = t_->Send("GET", "/v1/whoami", "", "", "", {{"Authorization", "Basic YWxpY2U6eA=="}});
  ExpectError(basic, 401, "unauthenticated", "Bearer");

  std::string bob = t_->AddUser("bob");
  EXPECT_EQ(t_->Get("/v1/whoami", bob).status, 200);
  json tokens = t_->Get("/v1/tokens", bob).Json();
  int64_t id = tokens["tokens"][0]["id"];
  EXPECT_EQ(t_->Send("DELETE", "/v1/tokens/" + std::to_string(id), bob, "").status, 200);
  ExpectError(t_->Get("/v1/whoami", bob), 401, "unauthenticated", "revoked");
  EXPECT_THAT(t_->ServerLog(), HasSubstr("was revoked"));  // the reason is logged, not told
  EXPECT_THAT(t_->ServerLog(), Not(HasSubstr(bob)));
}

TEST_F(ApiServer, ExpiredTokenGets401) {
  // A token made by `edl tokens create --expires-in-days 1` with the clock a year back is expired now.
  testing::CommandResult r = t_->Edl({"tokens", "create", "alice", "--expires-in-days", "1", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string token = json::parse(r.out)["token"];
  EXPECT_EQ(t_->Get("/v1/whoami", token).status, 200);
  // Expire it by editing its record the way a year passing would: through sqlite3 on the catalog.
  testing::CommandResult sql = testing::RunCommand(
      {"/usr/bin/sqlite3", "-cmd", ".timeout 5000", (t_->dir.path() / "data/catalog.db").string(),
       "UPDATE tokens SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = " +
           std::to_string(json::parse(r.out)["id"].get<int64_t>())});
  ASSERT_EQ(sql.exit_code, 0) << sql.err;
  ServerTest::AwaitOtherProcessChanges();
  ExpectError(t_->Get("/v1/whoami", token), 401, "unauthenticated", "expired");
}

// A revocation by another process (`edl tokens revoke`, an operator disabling a user in the
// catalog) holds for the server's requests once its window has passed (docs/security.md), though
// the server answered from its identity cache a moment before.
TEST_F(ApiServer, RevocationsByAnotherProcessHold) {
  std::string bob = t_->AddUser("bob");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t_->Get("/v1/whoami", bob).status, 200);  // cached from the 2nd on
  json tokens = json::parse(t_->Edl({"tokens", "list", "bob", "-o", "json"}).out);
  int64_t id = 0;
  for (const json& token : tokens) {
    if (token["user"] == "bob") id = token["id"];
  }
  ASSERT_NE(id, 0) << tokens.dump();
  testing::CommandResult revoked = t_->Edl({"tokens", "revoke", std::to_string(id)});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  ExpectError(t_->Get("/v1/whoami", bob), 401, "unauthenticated", "unknown, expired or revoked");

  std::string carol = t_->AddUser("carol");
  EXPECT_EQ(t_->Get("/v1/whoami", carol).status, 200);
  EXPECT_EQ(t_->Get("/v1/whoami", carol).status, 200);
  testing::CommandResult disabled = testing::RunCommand(
      {"/usr/bin/sqlite3", "-cmd", ".timeout 5000", (t_->dir.path() / "data/catalog.db").string(),
       "UPDATE users SET disabled = 1 WHERE name = 'carol'"});
  ASSERT_EQ(disabled.exit_code, 0) << disabled.err;
  ServerTest::AwaitOtherProcessChanges();
  ExpectError(t_->Get("/v1/whoami", carol), 401, "unauthenticated", "unknown, expired or revoked");
  EXPECT_THAT(t_->ServerLog(), HasSubstr("is disabled"));
}

TEST_F(ApiServer, TokenInQueryStringIsRefused) {
  ExpectError(t_->Get("/v1/datasets?token=" + t_->alice_token, ""), 400, "invalid_argument", "query string");
  ExpectError(t_->Get("/v1/datasets?access_token=x", t_->alice_token), 400, "invalid_argument", "query string");
  ExpectError(t_->Get("/v1/datasets?name=" + t_->alice_token, t_->alice_token), 400, "invalid_argument",
              "query string");
  ExpectError(t_->Get("/healthz?api_key=abc", ""), 400, "invalid_argument", "query string");
}

TEST_F(ApiServer, WhoamiShowsUserGroupsAndToken) {
  json me = t_->Get("/v1/whoami", t_->alice_token).Json();
  EXPECT_EQ(me["user"], "alice");
  EXPECT_EQ(me["admin"], false);
  EXPECT_EQ(me["groups"], json::array({"employees"}));
  EXPECT_GT(me["token"]["id"].get<int64_t>(), 0);
  EXPECT_EQ(t_->Get("/v1/whoami", t_->admin_token).Json()["admin"], true);
}

TEST_F(ApiServer, RequestIdsAreEchoedWhenPlainAndReplacedOtherwise) {
  Reply mine = t_->Send("GET", "/v1/whoami", t_->alice_token, "", "", {{"X-Request-Id", "trace-42.a_b"}});
  EXPECT_EQ(mine.Header("x-request-id"), "trace-42.a_b");
  EXPECT_THAT(t_->ServerLog(), HasSubstr("trace-42.a_b"));
  Reply odd = t_->Send("GET", "/v1/whoami", t_->alice_token, "", "", {{"X-Request-Id", "<script>alert(1)</script>"}});
  EXPECT_NE(odd.Header("x-request-id"), "");
  EXPECT_THAT(odd.Header("x-request-id"), Not(HasSubstr("<")));
  Reply longer = t_->Send("GET", "/v1/whoami", t_->alice_token, "", "", {{"X-Request-Id", std::string(100, 'a')}});
  EXPECT_NE(longer.Header("x-request-id"), std::string(100, 'a'));
  // Every response has one, errors too, and the error body names the same id.
  Reply missing = t_->Get("/v1/datasets/nope", t_->alice_token);
  ExpectError(missing, 404, "not_found", "dataset 'nope' does not exist");
}

TEST_F(ApiServer, HeaderInjectionDoesNotReachTheResponse) {
  // A bare CR inside a header value must not start a new response header.
  std::string raw = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\rSet-Cookie: stolen=1\r\n"
                    "Connection: close\r\n\r\n";
  std::string response = t_->Raw(raw);
  EXPECT_THAT(response, Not(HasSubstr("Set-Cookie")));
  EXPECT_THAT(response, Not(HasSubstr("stolen")));
  EXPECT_EQ(t_->Get("/healthz", "").status, 200);
}

TEST_F(ApiServer, RequestsThatAreNotHttpGet400AndTheServerStaysUp) {
  for (const std::string& bad : {std::string("NOT HTTP AT ALL\r\n\r\n"),
                                 std::string("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n"),
                                 std::string("GET /healthz HTTP/1.1\r\nHost x\r\n\r\n"),
                                 std::string("PUT /v1/uploads/u/files/a HTTP/1.1\r\nHost: x\r\n"
                                             "Transfer-Encoding: gzip\r\n\r\n")}) {
    std::string response = t_->Raw(bad);
    EXPECT_THAT(response, HasSubstr("400 Bad Request")) << bad;
    EXPECT_THAT(response, HasSubstr("the request is not valid HTTP/1.1")) << bad;
    EXPECT_THAT(response, HasSubstr("\"code\":\"invalid_argument\"")) << bad;
  }
  EXPECT_EQ(t_->Get("/healthz", "").status, 200);
}

TEST_F(ApiServer, UnknownRoutesAndMethods) {
  ExpectError(t_->Get("/v1/nothing", t_->alice_token), 404, "not_found", "no API route GET /v1/nothing");
  Reply wrong = t_->Send("DELETE", "/v1/datasets", t_->alice_token, "");
  ExpectError(wrong, 405, "method_not_allowed", "DELETE is not allowed");
  EXPECT_EQ(wrong.Header("allow"), "GET");
}

TEST_F(ApiServer, ListsVisibleDatasetsWithTheCallersAccessFiltersAndPaging) {
  json alice = t_->Get("/v1/datasets", t_->alice_token).Json();
  // The internal one she reads through employees; the restricted one is listed so she can ask for
  // it, with what asking needs and nothing about its contents.
  ASSERT_EQ(alice["datasets"].size(), 2u) << alice.dump();
  EXPECT_TRUE(alice["next_page_token"].is_null());
  const json& restricted_view = alice["datasets"][0];
  EXPECT_EQ(restricted_view["name"], "sales-orders");
  EXPECT_EQ(restricted_view["tier"], "restricted");
  EXPECT_EQ(restricted_view["access"], "none");
  EXPECT_EQ(restricted_view["description"], "Orders from the EU web shop");
  std::set<std::string> keys;
  for (const auto& [key, value] : restricted_view.items()) keys.insert(key);
  EXPECT_EQ(keys, (std::set<std::string>{"name", "tier", "region", "description", "owners", "policy", "created_at",
                                          "updated_at", "access"}));
  const json& internal_view = alice["datasets"][1];
  EXPECT_EQ(internal_view["name"], "web-traffic");
  EXPECT_EQ(internal_view["tier"], "internal");
  EXPECT_EQ(internal_view["access"], "read");
  EXPECT_EQ(internal_view["updates_count"], 0);
  EXPECT_TRUE(internal_view.contains("bucket"));

  for (int i = 0; i < 5; ++i) {
    t_->DeployDataset("name: extra-" + std::to_string(i) + "\ntier: internal\ndescription: Extra number " +
                      std::to_string(i) + "\nowners: [admin]\n");
  }
  json all = t_->Get("/v1/datasets", t_->admin_token).Json();
  EXPECT_EQ(all["datasets"].size(), 7u);
  for (const json& d : all["datasets"]) EXPECT_EQ(d["access"], "admin") << d.dump();
  json restricted = t_->Get("/v1/datasets?tier=restricted", t_->admin_token).Json();
  ASSERT_EQ(restricted["datasets"].size(), 1u);
  EXPECT_EQ(restricted["datasets"][0]["name"], "sales-orders");
  EXPECT_EQ(restricted["datasets"][0]["qc"].size(), 1u);  // admins get the whole dataset
  EXPECT_EQ(t_->Get("/v1/datasets?name=extra-", t_->admin_token).Json()["datasets"].size(), 5u);
  EXPECT_EQ(t_->Get("/v1/datasets?q=NUMBER%203", t_->admin_token).Json()["datasets"][0]["name"], "extra-3");
  EXPECT_EQ(t_->Get("/v1/datasets?owner=nobody", t_->admin_token).Json()["datasets"].size(), 0u);
  EXPECT_EQ(t_->Get("/v1/datasets?tier=restricted", t_->alice_token).Json()["datasets"].size(), 1u);

  std::vector<std::string> names;
  std::string token;
  for (int pages = 0; pages < 10; ++pages) {
    json page = t_->Get("/v1/datasets?limit=3" + (token.empty() ? "" : "&page_token=" + token), t_->admin_token).Json();
    for (const json& d : page["datasets"]) names.push_back(d["name"]);
    if (page["next_page_token"].is_null()) break;
    token = page["next_page_token"];
  }
  EXPECT_EQ(names.size(), 7u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));

  ExpectError(t_->Get("/v1/datasets?tier=secret", t_->admin_token), 400, "invalid_argument", "secret");
  ExpectError(t_->Get("/v1/datasets?limit=0", t_->admin_token), 400, "invalid_argument", "limit");
  ExpectError(t_->Get("/v1/datasets?limit=abc", t_->admin_token), 400, "invalid_argument", "limit");
}

TEST_F(ApiServer, ReadingOrWritingARestrictedDatasetNeedsAGrant) {
  // Alice sees that it exists and what to ask for, not what is in it.
  Reply shown = t_->Get("/v1/datasets/sales-orders", t_->alice_token);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(shown.Json()["access"], "none");
  EXPECT_EQ(shown.Json()["owners"], json::array({"admin"}));
  for (const char* hidden : {"qc", "updates", "updates_count", "bucket", "grants", "format", "generation"}) {
    EXPECT_FALSE(shown.Json().contains(hidden)) << hidden << " in " << shown.body;
  }
  EXPECT_THAT(shown.body, Not(HasSubstr("order_id")));  // the QC check's column
  ExpectError(t_->Get("/v1/datasets/sales-orders/updates", t_->alice_token), 403, "permission_denied",
              "sales-orders:read");
  ExpectError(t_->Get("/v1/datasets/sales-orders/updates/1", t_->alice_token), 403, "permission_denied",
              "sales-orders:read");
  ExpectError(t_->Send("POST", "/v1/datasets/sales-orders/ingest", t_->alice_token, R"({"sources":["drop:"]})"), 403,
              "permission_denied", "sales-orders:write");
  EXPECT_EQ(t_->Get("/v1/datasets/sales-orders", t_->admin_token).Json()["access"], "admin");
  EXPECT_EQ(t_->Get("/v1/datasets/sales-orders/updates", t_->admin_token).status, 200);
  EXPECT_EQ(t_->Get("/v1/datasets/web-traffic", t_->alice_token).Json()["access"], "read");
  EXPECT_EQ(t_->Get("/v1/datasets/web-traffic/updates", t_->alice_token).status, 200);
  // Writing an internal dataset needs more than internal-read.
  ExpectError(t_->Send("POST", "/v1/datasets/web-traffic/ingest", t_->alice_token, R"({"sources":["drop:"]})"), 403,
              "permission_denied", "web-traffic:write");

  // A read grant opens the dataset for reading, and only for reading.
  Reply granted = t_->Send("POST", "/v1/datasets/sales-orders/grants", t_->admin_token,
                           R"({"principal": "user:alice", "level": "read"})");
  ASSERT_EQ(granted.status, 201) << granted.body;
  json full = t_->Get("/v1/datasets/sales-orders", t_->alice_token).Json();
  EXPECT_EQ(full["access"], "read");
  EXPECT_EQ(full["qc"].size(), 1u);
  EXPECT_EQ(full["updates_count"], 0);
  EXPECT_EQ(t_->Get("/v1/datasets/sales-orders/updates", t_->alice_token).status, 200);
  ExpectError(t_->Send("POST", "/v1/datasets/sales-orders/ingest", t_->alice_token, R"({"sources":["drop:"]})"), 403,
              "permission_denied", "sales-orders:write");
}

TEST_F(ApiServer, PathTraversalInNamesIsRefused) {
  for (const std::string path : {"/v1/datasets/..%2F..%2Fetc%2Fpasswd", "/v1/datasets/%2e%2e", "/v1/datasets/a%00b",
                                 "/v1/datasets/../../etc/passwd"}) {
    Reply r = t_->Get(path, t_->admin_token);
    EXPECT_TRUE(r.status == 404 || r.status == 400) << path << " -> " << r.status << " " << r.body;
    EXPECT_THAT(r.body, Not(HasSubstr("root:")));
  }
  Reply created = t_->Send("POST", "/v1/uploads", t_->alice_token, "");
  std::string id = created.Json()["id"];
  for (const std::string name : {"..%2F..%2Fescape.csv", "..", ".hidden", "a%5Cb.csv", "x%0D%0Ay.csv"}) {
    Reply r = t_->Send("PUT", "/v1/uploads/" + id + "/files/" + name, t_->alice_token, "a\n1\n", "text/csv");
    EXPECT_TRUE(r.status == 400 || r.status == 404) << name << " -> " << r.status << " " << r.body;
  }
  EXPECT_FALSE(std::filesystem::exists(t_->dir.path() / "data/.uploads/escape.csv"));
  EXPECT_FALSE(std::filesystem::exists(t_->dir.path() / "data/escape.csv"));
  EXPECT_EQ(t_->Get("/v1/uploads/" + id, t_->alice_token).Json()["files"].size(), 0u);
  // Uploads belong to their owner.
  EXPECT_EQ(t_->Get("/v1/uploads/" + id, t_->admin_token).status, 404);
}

TEST_F(ApiServer, BadJsonBodiesGetClearErrors) {
  const std::string path = "/v1/datasets/sales-orders/ingest";
  const std::string& token = t_->admin_token;
  ExpectError(t_->Send("POST", path, token, "{\"sources\": [\"drop:\""), 400, "invalid_argument", "not valid JSON");
  ExpectError(t_->Send("POST", path, token, ""), 400, "invalid_argument", "needs a JSON body");
  ExpectError(t_->Send("POST", path, token, "[1,2]"), 400, "invalid_argument", "must be a JSON object");
  ExpectError(t_->Send("POST", path, token, R"({"sources": "drop:"})"), 400, "invalid_argument",
              "field 'sources' must be a list of strings");
  ExpectError(t_->Send("POST", path, token, R"({"sources": [1]})"), 400, "invalid_argument", "field 'sources[0]'");
  ExpectError(t_->Send("POST", path, token, R"({"sources": ["drop:"], "knd": "delta"})"), 400, "invalid_argument",
              "unknown field 'knd'");
  ExpectError(t_->Send("POST", path, token, R"({"sources": ["drop:"], "kind": "monthly"})"), 400, "invalid_argument",
              "monthly");
  ExpectError(t_->Send("POST", path, token, R"({"kind": "delta"})"), 400, "invalid_argument", "'sources' is required");
  ExpectError(t_->Send("POST", path, token, R"({"sources": ["/etc/passwd"]})"), 400, "invalid_argument",
              "not allowed through the API");
  ExpectError(t_->Send("POST", path, token, R"({"sources": ["file:///etc/passwd"]})"), 400, "invalid_argument",
              "not allowed through the API");
  ExpectError(t_->Send("POST", "/v1/users", token, R"({"name": 7})"), 400, "invalid_argument",
              "field 'name' must be a string");
  ExpectError(t_->Send("POST", "/v1/tokens", token, R"({"expires_in_days": "soon"})"), 400, "invalid_argument",
              "expires_in_days");
  EXPECT_EQ(t_->Get("/healthz", "").status, 200);
}

TEST_F(ApiServer, OversizedBodyGets413) {
  std::string big = R"({"sources": [")" + std::string(2 << 20, 'a') + R"("]})";
  Reply r = t_->Send("POST", "/v1/datasets/sales-orders/ingest", t_->admin_token, big);
  EXPECT_EQ(r.status, 413) << r.body.substr(0, 300);
  EXPECT_EQ(t_->Get("/healthz", "").status, 200);
}

TEST_F(ApiServer, UploadAndIngestRunAsAJob) {
  std::string upload = Upload(t_->admin_token, "orders.csv", "order_id,amount\n1,10.5\n2,20\n3,7\n");
  json upload_info = t_->Get("/v1/uploads/" + upload, t_->admin_token).Json();
  ASSERT_EQ(upload_info["files"].size(), 1u);
  EXPECT_EQ(upload_info["files"][0]["size"], 32);
  json job = IngestUpload(t_->admin_token, "sales-orders", upload);
  EXPECT_EQ(job["kind"], "ingest");
  EXPECT_EQ(job["dataset"], "sales-orders");
  json done = t_->WaitForJob(job["id"], t_->admin_token);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["update"], 1);
  EXPECT_EQ(done["result"]["rows"], 3);
  EXPECT_EQ(done["attempts"], 1);
  EXPECT_EQ(done["progress"]["phase"], "done");
  EXPECT_EQ(done["progress"]["files_done"], done["progress"]["files_total"]);

  json update = t_->Get("/v1/datasets/sales-orders/updates/1", t_->admin_token).Json();
  EXPECT_EQ(update["state"], "complete");
  EXPECT_FALSE(update["files"].empty());
  EXPECT_EQ(update["metadata"]["sources"][0]["uri"].get<std::string>().rfind("upload:", 0), 0u);
  json logs = t_->Get("/v1/jobs/" + std::to_string(job["id"].get<int64_t>()) + "/logs", t_->admin_token).Json();
  EXPECT_GE(logs["lines"].size(), 2u);
  EXPECT_EQ(logs["lines"][0]["seq"], 1);
  json later = t_->Get("/v1/jobs/" + std::to_string(job["id"].get<int64_t>()) + "/logs?after=1", t_->admin_token).Json();
  EXPECT_EQ(later["lines"].size(), logs["lines"].size() - 1);

  // Jobs belong to their creator: alice sees none of the admin's.
  EXPECT_EQ(t_->Get("/v1/jobs", t_->alice_token).Json()["jobs"].size(), 0u);
  EXPECT_EQ(t_->Get("/v1/jobs/" + std::to_string(job["id"].get<int64_t>()), t_->alice_token).status, 404);
  EXPECT_EQ(t_->Get("/v1/jobs", t_->admin_token).Json()["jobs"].size(), 1u);
  EXPECT_EQ(t_->Get("/v1/jobs?state=succeeded", t_->admin_token).Json()["jobs"].size(), 1u);
  EXPECT_EQ(t_->Get("/v1/jobs?state=failed", t_->admin_token).Json()["jobs"].size(), 0u);
}

TEST_F(ApiServer, CredentialsInSourceUrlsAreNeverShown) {
  Reply r = t_->Send("POST", "/v1/datasets/sales-orders/ingest", t_->admin_token,
                     R"({"sources": ["https://bob:s3cret@127.0.0.1:1/orders.csv?sig=t0ps3cret"]})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.Json()["spec"]["sources"][0], "https://127.0.0.1:1/orders.csv");
  json done = t_->WaitForJob(r.Json()["id"], t_->admin_token);
  EXPECT_EQ(done["state"], "failed");  // nothing listens on port 1
  std::string everything = done.dump() + t_->Get("/v1/audit?limit=1000", t_->admin_token).body +
                           t_->Get("/v1/jobs/" + std::to_string(done["id"].get<int64_t>()) + "/logs", t_->admin_token).body +
                           t_->Get("/v1/datasets/sales-orders/updates", t_->admin_token).body + t_->ServerLog();
  EXPECT_THAT(everything, Not(HasSubstr("s3cret")));
  EXPECT_THAT(everything, Not(HasSubstr("t0ps3cret")));
}

TEST_F(ApiServer, ApiIngestsCannotFetchFromTheServersOwnNetwork) {
  std::string own = "http://127.0.0.1:" + std::to_string(t_->server->port()) + "/healthz";
  Reply r = t_->Send("POST", "/v1/datasets/sales-orders/ingest", t_->admin_token,
                     json{{"sources", {own}}}.dump());
  ASSERT_EQ(r.status, 202) << r.body;
  json done = t_->WaitForJob(r.Json()["id"], t_->admin_token);
  EXPECT_EQ(done["state"], "failed");
  EXPECT_THAT(done["error"].get<std::string>(), HasSubstr("refused to fetch from 127.0.0.1"));
}

TEST_F(ApiServer, RequestsThatCouldExhaustMemoryOrForgeLogsAreRefused) {
  // A GET announcing a body is refused before the body is read.
  std::string response = t_->Raw("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 300000000\r\n\r\nxx",
                                 std::chrono::milliseconds(2000));
  EXPECT_THAT(response, HasSubstr("413"));
  EXPECT_THAT(response, HasSubstr("take no body"));
  // Control characters from a client never start a new log line.
  t_->Send("POST", "/v1/datasets/sales-orders/ingest", t_->admin_token,
           "{\"sources\": [\"drop:\"], \"x\\nFORGED LINE\": 1}");  // an unknown field, named in the error
  t_->Get("/v1/nothing%0AFORGED%20PATH", t_->alice_token);  // an unmatched path is logged as sent
  std::string log = t_->ServerLog();
  EXPECT_THAT(log, Not(HasSubstr("\nFORGED LINE")));
  EXPECT_THAT(log, Not(HasSubstr("\nFORGED PATH")));
  EXPECT_THAT(log, HasSubstr("x\\x0aFORGED LINE"));  // kept, escaped
  EXPECT_THAT(log, HasSubstr("/v1/nothing\\x0aFORGED PATH 404"));
  EXPECT_EQ(t_->Get("/healthz", "").status, 200);
}

TEST_F(ApiServer, TheBearerSchemeIsCaseInsensitive) {
  Reply r = t_->Send("GET", "/v1/whoami", "", "", "", {{"Authorization", "bearer " + t_->alice_token}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ApiServer, ATokenCannotMintALongerLivedOne) {
  testing::CommandResult made = t_->Edl({"tokens", "create", "alice", "--expires-in-days", "2"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string short_lived = made.out.substr(0, made.out.find('\n'));
  Reply forever = t_->Send("POST", "/v1/tokens", short_lived, R"({"description": "forever"})");
  ASSERT_EQ(forever.status, 201) << forever.body;
  EXPECT_FALSE(forever.Json()["expires_at"].is_null());  // inherits the 2-day expiry
  ExpectError(t_->Send("POST", "/v1/tokens", short_lived, R"({"expires_in_days": 30})"), 400, "invalid_argument",
              "after the token making it");
}

TEST_F(ApiServer, SensitiveDatasetsDoNotExistForThoseWhoCannotReadThem) {
  t_->DeployDataset("name: patient-visits\ntier: sensitive\nowners: [admin]\npolicy: {max_grant_days: 30}\n");
  ExpectError(t_->Get("/v1/datasets/patient-visits", t_->alice_token), 404, "not_found", "does not exist");
  EXPECT_EQ(t_->Get("/v1/datasets/patient-visits", t_->admin_token).status, 200);
  ExpectError(t_->Send("POST", "/v1/datasets/sales-orders/ingest", t_->admin_token,
                       R"({"sources": ["drop:"], "format": "bogus"})"),
              400, "invalid_argument", "format 'bogus'");
}

TEST_F(ApiServer, BadDataFailsTheJobWithTheReason) {
  std::string upload = Upload(t_->admin_token, "orders.csv", "order_id,amount\n,10.5\n");  // QC: not_null
  json job = IngestUpload(t_->admin_token, "sales-orders", upload);
  json done = t_->WaitForJob(job["id"], t_->admin_token);
  EXPECT_EQ(done["state"], "failed") << done.dump();
  EXPECT_THAT(done["error"].get<std::string>(), HasSubstr("order_id"));
  EXPECT_EQ(t_->Get("/healthz", "").status, 200);
}

TEST_F(ApiServer, CancelOfAFinishedJobIsAConflict) {
  std::string upload = Upload(t_->admin_token, "orders.csv", "order_id,amount\n1,10.5\n");
  json job = IngestUpload(t_->admin_token, "sales-orders", upload);
  std::string id = std::to_string(job["id"].get<int64_t>());
  ASSERT_EQ(t_->WaitForJob(job["id"], t_->admin_token)["state"], "succeeded");
  ExpectError(t_->Send("POST", "/v1/jobs/" + id + "/cancel", t_->admin_token, ""), 409, "conflict", "succeeded");
  ExpectError(t_->Send("POST", "/v1/jobs/999/cancel", t_->admin_token, ""), 404, "not_found", "999");
  ExpectError(t_->Get("/v1/jobs/abc", t_->admin_token), 400, "invalid_argument", "job id");
}

TEST_F(ApiServer, ConcurrentCancelAndCompleteLeaveOneConsistentOutcome) {
  // Jobs are cancelled while they may be completing: whatever wins, a succeeded job has exactly
  // its complete update, and a cancelled job has none.
  std::vector<int64_t> ids;
  for (int i = 0; i < 8; ++i) {
    std::string upload = Upload(t_->admin_token, "orders.csv", "order_id,amount\n" + std::to_string(i) + ",1\n");
    ids.push_back(IngestUpload(t_->admin_token, "sales-orders", upload)["id"]);
  }
  std::vector<std::thread> cancellers;
  for (size_t i = 0; i < ids.size(); ++i) {
    cancellers.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(40 * static_cast<int>(i)));
      Reply r = t_->Send("POST", "/v1/jobs/" + std::to_string(ids[i]) + "/cancel", t_->admin_token, "");
      EXPECT_TRUE(r.status == 200 || r.status == 409) << r.body;
    });
  }
  for (std::thread& t : cancellers) t.join();
  std::vector<json> jobs;
  for (int64_t id : ids) jobs.push_back(t_->WaitForJob(id, t_->admin_token));
  std::set<int64_t> complete_updates;
  Reply first = t_->Get("/v1/datasets/sales-orders/updates", t_->admin_token);
  ASSERT_EQ(first.status, 200) << first.body.substr(0, 500);
  const json first_updates = first.Json()["updates"];  // not a loop over a temporary's member
  for (const json& u : first_updates) {
    if (u["state"] == "complete") complete_updates.insert(u["number"].get<int64_t>());
  }
  size_t succeeded = 0;
  for (const json& job : jobs) {
    std::string state = job["state"];
    ASSERT_TRUE(state == "succeeded" || state == "cancelled") << job.dump();
    if (state == "succeeded") {
      ++succeeded;
      EXPECT_EQ(complete_updates.count(job["update"].get<int64_t>()), 1u) << job.dump();
    } else if (!job["update"].is_null()) {
      EXPECT_EQ(complete_updates.count(job["update"].get<int64_t>()), 0u) << job.dump();
    }
  }
  // Re-read after every job finished: as many complete updates as succeeded jobs.
  complete_updates.clear();
  Reply listing = t_->Get("/v1/datasets/sales-orders/updates", t_->admin_token);
  ASSERT_EQ(listing.status, 200) << listing.body.substr(0, 500);
  const json updates = listing.Json()["updates"];
  for (const json& u : updates) {
    if (u["state"] == "complete") complete_updates.insert(u["number"].get<int64_t>());
  }
  EXPECT_EQ(complete_updates.size(), succeeded);
}

TEST_F(ApiServer, UploadCutOffHalfWayKeepsNothing) {
  Reply created = t_->Send("POST", "/v1/uploads", t_->alice_token, "");
  std::string id = created.Json()["id"];
  std::string head = "PUT /v1/uploads/" + id + "/files/part.csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     t_->alice_token + "\r\nContent-Length: 100000\r\n\r\n" + std::string(5000, 'x');
  t_->Raw(head, std::chrono::milliseconds(0), /*close_after_send=*/true);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  json info = t_->Get("/v1/uploads/" + id, t_->alice_token).Json();
  EXPECT_EQ(info["files"].size(), 0u) << info.dump();
  std::vector<std::string> leftovers;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(t_->dir.path() / "data/.uploads")) {
    if (entry.is_regular_file() && entry.path().filename() != "upload.json") leftovers.push_back(entry.path());
  }
  EXPECT_TRUE(leftovers.empty()) << leftovers.front();
  EXPECT_EQ(t_->Get("/healthz", "").status, 200);
  // The same name can be uploaded whole afterwards.
  EXPECT_EQ(t_->Send("PUT", "/v1/uploads/" + id + "/files/part.csv", t_->alice_token, "a\n1\n", "text/csv").status, 201);
}

TEST_F(ApiServer, OversizedHeadersAre431AndExpectContinueIsAnswered) {
  std::string huge = "GET /v1/datasets?q=" + std::string(70000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string refused = t_->Raw(huge);
  EXPECT_THAT(refused, HasSubstr("431 "));
  EXPECT_THAT(refused, HasSubstr("\"code\":\"header_too_large\""));
  // A client that waits for "100 Continue" before its body gets it, then its answer.
  std::string id = t_->Send("POST", "/v1/uploads", t_->alice_token, "").Json()["id"];
  std::string put = t_->Raw("PUT /v1/uploads/" + id + "/files/c.csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                t_->alice_token + "\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
                            std::chrono::milliseconds(500));
  EXPECT_THAT(put, HasSubstr("HTTP/1.1 100 Continue"));
  EXPECT_EQ(t_->Get("/healthz", "").status, 200);
}

class ApiServerShortTimeouts : public ApiServer {
 protected:
  ApiServerShortTimeouts() { extra_config_ = "server: {read_timeout_seconds: 1, write_timeout_seconds: 1}\n"; }
};

TEST_F(ApiServerShortTimeouts, SlowClientIsDisconnectedAndOthersAreServed) {
  // Headers never finished: after the 1 s read timeout the server answers 400 and moves on.
  std::string response = t_->Raw("GET /healthz HTTP/1.1\r\nHost: x\r\n", std::chrono::milliseconds(2500));
  EXPECT_THAT(response, HasSubstr("400 Bad Request"));
  EXPECT_THAT(response, HasSubstr("\"code\":\"invalid_argument\""));
  // A body that stops half way is cut off the same way, and the upload keeps nothing.
  std::string id = t_->Send("POST", "/v1/uploads", t_->alice_token, "").Json()["id"];
  std::string slow = t_->Raw("PUT /v1/uploads/" + id + "/files/slow.csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                 t_->alice_token + "\r\nContent-Length: 1000\r\n\r\nabc",
                             std::chrono::milliseconds(2500));
  EXPECT_THAT(slow, HasSubstr("400 Bad Request"));
  EXPECT_THAT(slow, HasSubstr("cut off"));
  EXPECT_EQ(t_->Get("/v1/uploads/" + id, t_->alice_token).Json()["files"].size(), 0u);
  EXPECT_EQ(t_->Get("/healthz", "").status, 200);
}

// The server keeps what it read of datasets and the rendered listing pages between requests; a
// change made by another process (edl deploy-dataset, an ingest, a grant) shows on the next request.
TEST_F(ApiServer, CachedDatasetViewsFollowChangesMadeElsewhere) {
  auto description = [&](const std::string& path, const std::string& token) {
    json body = t_->Get(path, token).Json();
    if (body.contains("datasets")) {
      for (const json& d : body["datasets"]) {
        if (d["name"] == "web-traffic") return d.dump();
      }
      return std::string("(not listed)");
    }
    return body.dump();
  };
  const std::string one = "/v1/datasets/web-traffic";
  const std::string list = "/v1/datasets?limit=10";
  for (int i = 0; i < 3; ++i) {  // read more than once: later reads come from the caches
    EXPECT_THAT(description(one, t_->alice_token), HasSubstr("Page views of the public web site"));
    EXPECT_THAT(description(list, t_->alice_token), HasSubstr("Page views of the public web site"));
  }
  t_->DeployDataset("name: web-traffic\ntier: internal\ndescription: Page views, new wording\nowners: [admin]\n");
  EXPECT_THAT(description(one, t_->alice_token), HasSubstr("Page views, new wording"));
  EXPECT_THAT(description(list, t_->alice_token), HasSubstr("Page views, new wording"));

  // An update moves the count in both views.
  IngestUpload(t_->admin_token, "web-traffic", Upload(t_->admin_token, "views.csv", "page,views\n/a,1\n"));
  for (int i = 0; i < 200 && t_->Get(one, t_->alice_token).Json()["updates_count"] != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(t_->Get(one, t_->alice_token).Json()["updates_count"], 1);
  EXPECT_THAT(description(list, t_->alice_token), HasSubstr("\"updates_count\":1"));

  // A grant changes the access the listing shows at once.
  auto sales = [&] {
    json body = t_->Get(list, t_->alice_token).Json();
    for (const json& d : body["datasets"]) {
      if (d["name"] == "sales-orders") return d["access"].get<std::string>();
    }
    return std::string("(not listed)");
  };
  EXPECT_EQ(sales(), "none");
  Reply granted = t_->Send("POST", "/v1/datasets/sales-orders/grants", t_->admin_token,
                           R"({"principal":"user:alice","level":"read"})");
  ASSERT_EQ(granted.status, 201) << granted.body;
  EXPECT_EQ(sales(), "read");
  ASSERT_EQ(t_->Send("POST", "/v1/grants/" + std::to_string(granted.Json()["id"].get<int64_t>()) + "/revoke",
                     t_->admin_token, "")
                .status,
            200);
  EXPECT_EQ(sales(), "none");

  // Every listing request is audited, cached or not.
  t_->Get("/v1/datasets?limit=7", t_->alice_token);
  t_->Get("/v1/datasets?limit=7", t_->alice_token);
  json audit = t_->Get("/v1/audit?action=dataset.list&principal=user:alice&limit=1000", t_->admin_token).Json();
  ASSERT_TRUE(audit.contains("events")) << audit.dump();
  EXPECT_GE(audit["events"].size(), 2u + 4u);
}

TEST_F(ApiServer, AdminRoutesNeedAnAdmin) {
  ExpectError(t_->Get("/v1/users", t_->alice_token), 403, "permission_denied", "admin");
  ExpectError(t_->Get("/v1/audit", t_->alice_token), 403, "permission_denied", "admin");
  ExpectError(t_->Send("POST", "/v1/users", t_->alice_token, R"({"name":"eve"})"), 403, "permission_denied", "admin");
  ExpectError(t_->Send("POST", "/v1/tokens", t_->alice_token, R"({"user":"admin"})"), 403, "permission_denied", "admin");
  ExpectError(t_->Get("/v1/tokens?user=admin", t_->alice_token), 403, "permission_denied", "admin");
  ExpectError(t_->Get("/v1/users/admin", t_->alice_token), 403, "permission_denied", "admin");
  EXPECT_EQ(t_->Get("/v1/users/alice", t_->alice_token).status, 200);

  Reply added = t_->Send("POST", "/v1/users", t_->admin_token, R"({"name":"carol","groups":["finance"]})");
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(added.Json()["groups"], json::array({"employees", "finance"}));
  ExpectError(t_->Send("POST", "/v1/users", t_->admin_token, R"({"name":"carol"})"), 409, "already_exists", "carol");
  ExpectError(t_->Send("POST", "/v1/users", t_->admin_token, R"({"name":"Carol!"})"), 400, "invalid_argument",
              "user name");
  Reply token = t_->Send("POST", "/v1/tokens", t_->admin_token, R"({"user":"carol","expires_in_days":30})");
  ASSERT_EQ(token.status, 201) << token.body;
  std::string carol = token.Json()["token"];
  EXPECT_EQ(t_->Get("/v1/whoami", carol).Json()["user"], "carol");
  EXPECT_FALSE(token.Json()["expires_at"].is_null());
  // The secret is never listed again, nor its hash.
  std::string listing = t_->Get("/v1/tokens?user=carol", t_->admin_token).body;
  EXPECT_THAT(listing, Not(HasSubstr(carol)));
  EXPECT_THAT(listing, Not(HasSubstr("sha256")));

  Reply member = t_->Send("PUT", "/v1/groups/finance/members/alice", t_->admin_token, "");
  EXPECT_EQ(member.Json()["added"], true);
  EXPECT_EQ(t_->Send("PUT", "/v1/groups/finance/members/alice", t_->admin_token, "").Json()["added"], false);
  EXPECT_EQ(t_->Send("DELETE", "/v1/groups/finance/members/alice", t_->admin_token, "").Json()["removed"], true);

  json audit = t_->Get("/v1/audit?limit=1000", t_->admin_token).Json();
  std::set<std::string> actions;
  for (const json& e : audit["events"]) actions.insert(e["action"]);
  EXPECT_TRUE(actions.count("user.add"));
  EXPECT_TRUE(actions.count("token.create"));
  EXPECT_TRUE(actions.count("group.add_member"));
  EXPECT_THAT(audit.dump(), Not(HasSubstr(carol)));
}

TEST_F(ApiServer, MetricsCountRequestsByRoute) {
  t_->Get("/v1/datasets/web-traffic", t_->alice_token);
  t_->Get("/v1/datasets/nope", t_->alice_token);
  Reply metrics = t_->Get("/metrics", t_->alice_token);
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.Header("content-type"), HasSubstr("text/plain"));
  EXPECT_THAT(metrics.body, HasSubstr(R"(edl_http_requests_total{route="/v1/datasets/{name}",method="GET",status="200"} 1)"));
  EXPECT_THAT(metrics.body, HasSubstr(R"(edl_http_requests_total{route="/v1/datasets/{name}",method="GET",status="404"} 1)"));
  EXPECT_THAT(metrics.body, HasSubstr(R"(edl_http_request_duration_seconds_bucket{route="/v1/datasets/{name}",le="+Inf"} 2)"));
  EXPECT_THAT(metrics.body, HasSubstr(R"(edl_jobs{state="queued"} 0)"));
  EXPECT_THAT(metrics.body, HasSubstr("edl_ingested_bytes_total"));
}

TEST_F(ApiServer, OpenApiDocumentIsServed) {
  Reply doc = t_->Get("/v1/openapi.json", t_->alice_token);
  ASSERT_EQ(doc.status, 200);
  EXPECT_EQ(doc.Json()["openapi"].get<std::string>().substr(0, 2), "3.");
}

TEST_F(ApiServer, SigtermWithNothingRunningExitsZero) {
  EXPECT_EQ(t_->server->Signal(SIGTERM), 0);
  EXPECT_THAT(t_->ServerLog(), HasSubstr("SIGTERM received"));
  t_->server.reset();
}

// The document and the server's route table list the same routes.
TEST(OpenApi, EveryRouteIsDocumentedAndEveryDocumentedRouteExists) {
  json doc = json::parse(OpenApiDocument());
  std::set<std::string> documented;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (upper == "PARAMETERS") continue;
      documented.insert(upper + " " + path);
    }
  }
  std::set<std::string> served;
  for (const RouteInfo& route : ApiRoutes()) served.insert(route.method + " " + route.path);
  EXPECT_EQ(documented, served);
  EXPECT_GE(served.size(), 25u);
}

}  // namespace
}  // namespace edl
