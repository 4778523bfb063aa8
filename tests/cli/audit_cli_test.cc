// `edl audit verify` against a catalog that a real server filled with changes and access decisions,
// then tampered with the way someone holding the catalog file could: an access decision turned from
// deny into allow, a record deleted, a record's hash recomputed. Each is caught, naming the first
// broken record.
#include <sqlite3.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/server_fixture.h"

namespace edl {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;
using testing::CommandResult;
using testing::ServerTest;

class AuditVerifyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    t_.DeployDataset("name: finance-ledger\ntier: restricted\nowners: [admin]\ndescription: The ledger\n");
    t_.StartServer();
    // alice is refused, then granted and allowed: decisions of both kinds.
    EXPECT_EQ(t_.Get("/v1/datasets/finance-ledger/updates", t_.alice_token).status, 403);
    EXPECT_EQ(t_.Send("POST", "/v1/datasets/finance-ledger/grants", t_.admin_token,
                      json{{"principal", "user:alice"}, {"level", "read"}}.dump())
                  .status,
              201);
    EXPECT_EQ(t_.Get("/v1/datasets/finance-ledger/updates", t_.alice_token).status, 200);
    t_.StopServer();  // SIGTERM: every queued decision is written
    CommandResult verify = t_.Edl({"audit", "verify"});
    ASSERT_EQ(verify.exit_code, 0) << verify.err;
  }

  std::string Catalog() const { return (t_.dir.path() / "data" / "catalog.db").string(); }

  void Sql(const std::string& sql) const {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Catalog().c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }
  std::string Query(const std::string& sql) const {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(Catalog().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }
  // The seq of alice's denied read.
  std::string DeniedSeq() const {
    return Query("SELECT seq FROM audit WHERE actor = 'user:alice' AND decision = 'deny' AND action = 'access.read'");
  }

  ServerTest t_;
};

TEST_F(AuditVerifyCli, TheCatalogItselfRefusesToChangeTheLog) {
  std::string seq = DeniedSeq();
  ASSERT_FALSE(seq.empty());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Catalog().c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_NE(sqlite3_exec(db, ("UPDATE audit SET decision = 'allow' WHERE seq = " + seq).c_str(), nullptr, nullptr,
                         &error),
            SQLITE_OK);
  EXPECT_THAT(std::string(error ? error : ""), HasSubstr("append-only"));
  sqlite3_free(error);
  sqlite3_close(db);
  EXPECT_EQ(t_.Edl({"audit", "verify"}).exit_code, 0);
}

TEST_F(AuditVerifyCli, ADenialRewrittenAsAnAllowIsCaught) {
  std::string seq = DeniedSeq();
  ASSERT_FALSE(seq.empty());
  Sql("DROP TRIGGER audit_no_update; UPDATE audit SET decision = 'allow' WHERE seq = " + seq);
  CommandResult verify = t_.Edl({"audit", "verify"});
  EXPECT_NE(verify.exit_code, 0);
  EXPECT_THAT(verify.err, HasSubstr("audit log broken at seq " + seq));
}

TEST_F(AuditVerifyCli, ADeletedRecordIsCaught) {
  std::string seq = DeniedSeq();
  Sql("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = " + seq);
  CommandResult verify = t_.Edl({"audit", "verify"});
  EXPECT_NE(verify.exit_code, 0);
  EXPECT_THAT(verify.err, HasSubstr("audit log broken at seq " + seq));
}

TEST_F(AuditVerifyCli, ARewrittenRecordWithAForgedHashIsCaught) {
  // A forged hash does not match the record; a correctly recomputed one would break the next link
  // instead (tests/catalog/audit_test.cc covers that).
  std::string seq = DeniedSeq();
  Sql("DROP TRIGGER audit_no_update; UPDATE audit SET reason = 'fine', hash = '" + std::string(64, 'a') +
      "' WHERE seq = " + seq);
  CommandResult verify = t_.Edl({"audit", "verify"});
  EXPECT_NE(verify.exit_code, 0);
  EXPECT_THAT(verify.err, HasSubstr("audit log broken at seq " + seq));
}

}  // namespace
}  // namespace edl
