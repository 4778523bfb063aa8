// The dataset routes answer from a memo of their texts (src/http/render_memo.h). Through the real
// `edl serve`: every change that shows in a dataset — its spec, a new update, a delete and create
// again under the same name, the caller's access — shows in the next GET of the dataset and of the
// listing, and the listing's body is byte for byte what nlohmann prints for its tree.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "http/server_fixture.h"

namespace edl {
namespace {

using nlohmann::json;
using testing::Reply;
using testing::ServerTest;

constexpr char kOrders[] = R"(name: sales-orders
tier: restricted
description: Orders from the EU web shop
owners: [admin]
qc:
  - {check: not_null, column: order_id}
)";

constexpr char kTraffic[] = R"(name: web-traffic
tier: internal
description: "Page views — «café» \"quoted\" \\ back\tslash 日本語"
owners: [admin]
)";

class DatasetText : public ::testing::Test {
 protected:
  void SetUp() override {
    t_ = std::make_unique<ServerTest>();
    t_->DeployDataset(kOrders);
    t_->DeployDataset(kTraffic);
    t_->StartServer();
  }

  // The dataset as `token` sees it, from GET /v1/datasets/{name} and from the listing, which
  // must agree.
  json Shown(const std::string& name, const std::string& token) {
    Reply one = t_->Get("/v1/datasets/" + name, token);
    EXPECT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(one.Header("content-type"), "application/json");
    Reply list = t_->Get("/v1/datasets", token);
    EXPECT_EQ(list.status, 200) << list.body;
    json all = list.Json(), listed;
    for (const json& d : all["datasets"]) {
      if (d["name"] == name) listed = d;
    }
    EXPECT_EQ(listed, one.Json()) << "the listing shows " << name << " otherwise than GET";
    return one.Json();
  }

  // Runs SQL on the server's catalog, as an operator with the sqlite3 shell would.
  void CatalogSql(const std::string& sql) {
    std::filesystem::path path = t_->dir.path() / "data" / "catalog.db";
    ASSERT_TRUE(std::filesystem::exists(path));
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
    ServerTest::AwaitOtherProcessChanges();  // this connection is not the server's: another process to it
  }

  std::unique_ptr<ServerTest> t_;
};

TEST_F(DatasetText, ASpecChangeShowsAtOnce) {
  json before = Shown("sales-orders", t_->admin_token);
  EXPECT_EQ(before["description"], "Orders from the EU web shop");
  EXPECT_EQ(before["generation"], 1);
  std::string changed = kOrders;
  changed.replace(changed.find("the EU web shop"), 15, "every shop");
  t_->DeployDataset(changed);
  json after = Shown("sales-orders", t_->admin_token);
  EXPECT_EQ(after["description"], "Orders from every shop");
  EXPECT_EQ(after["generation"], 2);
}

TEST_F(DatasetText, ANewUpdateShowsAtOnce) {
  EXPECT_EQ(Shown("sales-orders", t_->admin_token)["updates_count"], 0);
  Reply upload = t_->Send("POST", "/v1/uploads", t_->admin_token, "");
  ASSERT_EQ(upload.status, 201) << upload.body;
  std::string id = upload.Json()["id"];
  Reply put = t_->Send("PUT", "/v1/uploads/" + id + "/files/orders.csv", t_->admin_token, "order_id,amount\n1,10\n",
                       "text/csv");
  ASSERT_EQ(put.status, 201) << put.body;
  Reply job =
      t_->Send("POST", "/v1/datasets/sales-orders/ingest", t_->admin_token, json{{"sources", {"upload:" + id}}}.dump());
  ASSERT_EQ(job.status, 202) << job.body;
  ASSERT_EQ(t_->WaitForJob(job.Json()["id"], t_->admin_token)["state"], "succeeded");
  EXPECT_EQ(Shown("sales-orders", t_->admin_token)["updates_count"], 1);
}

TEST_F(DatasetText, ADeleteAndCreateAgainShowsAtOnce) {
  json before = Shown("sales-orders", t_->admin_token);
  // Deleted and created again with the same name, generation and times (as within one clock
  // tick): only the stored spec differs. EDL has no delete; an operator's SQL is the way there.
  CatalogSql(
      "CREATE TEMP TABLE old AS SELECT * FROM datasets WHERE name = 'sales-orders';"
      "DELETE FROM datasets WHERE name = 'sales-orders';"
      "INSERT INTO datasets SELECT id, name, tier, region, bucket, "
      "  replace(spec_json, 'Orders from the EU web shop', 'Orders, created again'), generation, "
      "  next_update_number, created_at, updated_at FROM old;");
  json after = Shown("sales-orders", t_->admin_token);
  EXPECT_EQ(after["description"], "Orders, created again");
  EXPECT_EQ(after["generation"], before["generation"]);
  EXPECT_EQ(after["created_at"], before["created_at"]);
  EXPECT_EQ(after["updated_at"], before["updated_at"]);
}

TEST_F(DatasetText, TheCallersAccessShowsAtOnce) {
  json limited = Shown("sales-orders", t_->alice_token);
  EXPECT_EQ(limited["access"], "none");
  EXPECT_FALSE(limited.contains("updates_count"));
  EXPECT_FALSE(limited.contains("qc"));
  EXPECT_EQ(Shown("sales-orders", t_->admin_token)["access"], "admin");  // another caller, same dataset

  Reply granted = t_->Send("POST", "/v1/datasets/sales-orders/grants", t_->admin_token,
                           R"({"principal": "user:alice", "level": "write"})");
  ASSERT_EQ(granted.status, 201) << granted.body;
  json full = Shown("sales-orders", t_->alice_token);
  EXPECT_EQ(full["access"], "write");
  EXPECT_EQ(full["updates_count"], 0);
  EXPECT_EQ(full["qc"].size(), 1u);

  Reply revoked = t_->Send("POST", "/v1/grants/" + std::to_string(granted.Json()["id"].get<int64_t>()) + "/revoke",
                           t_->admin_token, R"({"reason": "done"})");
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(Shown("sales-orders", t_->alice_token), limited);
}

TEST_F(DatasetText, TheListingIsWhatNlohmannPrints) {
  for (const std::string& token : {t_->admin_token, t_->alice_token}) {
    for (const char* query : {"", "?limit=1", "?limit=1&page_token=sales-orders", "?name=none-such"}) {
      for (int round = 0; round < 2; ++round) {  // printed, then from the memo
        Reply r = t_->Get(std::string("/v1/datasets") + query, token);
        ASSERT_EQ(r.status, 200) << r.body;
        json tree = r.Json();
        ASSERT_TRUE(tree.is_object()) << r.body;
        EXPECT_EQ(r.body, tree.dump()) << query;
      }
    }
  }
  // And the text in it is the one deployed, escapes and all.
  json listed = t_->Get("/v1/datasets?name=web-", t_->alice_token).Json();
  ASSERT_EQ(listed["datasets"].size(), 1u);
  EXPECT_EQ(listed["datasets"][0]["description"], "Page views — «café» \"quoted\" \\ back\tslash 日本語");
  EXPECT_EQ(listed["next_page_token"], nullptr);
  json first = t_->Get("/v1/datasets?limit=1", t_->alice_token).Json();
  EXPECT_EQ(first["next_page_token"], "sales-orders");
}

}  // namespace
}  // namespace edl
