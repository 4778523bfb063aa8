#include "catalog_test_support.h"

#include <algorithm>
#include <vector>

#include <sqlite3.h>

namespace edl::testing {

using namespace std::chrono_literals;

DatasetSpec FullSpec(std::string name) {
  DatasetSpec spec;
  spec.name = std::move(name);
  spec.tier = Tier::kSensitive;
  spec.region = "eu-central-1";
  spec.description = "Orders from the \"EU\" web shop — ünïcödé, quotes ' and\nnew lines";
  spec.owners = {"alice", "bob"};
  spec.policy.classification = "confidential";
  spec.policy.contains_pii = true;
  spec.policy.retention_days = 3650;
  spec.policy.allowed_purposes = {"analytics", "finance-reporting"};
  spec.policy.legal_basis = "contract";
  spec.policy.max_grant_days = 90;
  spec.updates.kind = UpdateKind::kDelta;
  spec.updates.keys = {"order_id", "line"};
  spec.updates.op_column = "op";
  spec.updates.order_by = "changed_at";
  spec.format.type = "csv";
  spec.format.delimiter = ";";
  spec.format.quote = "'";
  spec.format.escape = "\\";
  spec.format.header = false;
  spec.format.null_strings = {"", "NULL"};
  spec.format.date_format = "%d/%m/%Y";
  spec.format.timestamp_format = "%d/%m/%Y %H:%M";
  spec.format.column_types = {{"amount", "DECIMAL(18,2)"}, {"order_id", "BIGINT"}};
  spec.schema_changes = SchemaChangePolicy::kFail;
  QcCheck not_null;
  not_null.check = "not_null";
  not_null.columns = {"order_id"};
  QcCheck accepted;
  accepted.check = "accepted_values";
  accepted.columns = {"op"};
  accepted.values = {"I", "U", "D"};
  QcCheck range;
  range.check = "range";
  range.columns = {"amount"};
  range.min = -0.1;
  range.max = 1e9;
  QcCheck regex;
  regex.check = "regex";
  regex.columns = {"country"};
  regex.pattern = "^[A-Z]{2}$";
  QcCheck sql;
  sql.check = "sql";
  sql.sql = "SELECT * FROM data WHERE amount < 0";
  spec.qc = {not_null, accepted, range, regex, sql};
  spec.grants = {{Principal{PrincipalKind::kGroup, "finance"}, AccessLevel::kRead},
                 {Principal{PrincipalKind::kUser, "carol"}, AccessLevel::kAdmin}};
  spec.triggers = {{"orders-daily"}, {"orders-qc"}};
  spec.require_conversion = true;
  return spec;
}

DatasetRecord SimpleDataset(std::string name) {
  DatasetRecord record;
  record.spec.name = std::move(name);
  record.spec.tier = Tier::kRestricted;
  record.spec.region = "eu-west-1";
  record.spec.owners = {"alice"};
  record.bucket = "datalake-dev01-restricted-eu-west-1";
  return record;
}

namespace {

struct RawDb {
  explicit RawDb(const std::filesystem::path& file) {
    int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << "open " << file << ": " << sqlite3_errmsg(db);
    sqlite3_busy_timeout(db, 5000);
  }
  ~RawDb() { sqlite3_close(db); }
  sqlite3* db = nullptr;
};

}  // namespace

void RawExec(const std::filesystem::path& file, const std::string& sql) {
  RawDb raw(file);
  char* error = nullptr;
  int rc = sqlite3_exec(raw.db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (error != nullptr ? error : "");
  sqlite3_free(error);
}

std::string RawExecError(const std::filesystem::path& file, const std::string& sql) {
  RawDb raw(file);
  char* error = nullptr;
  int rc = sqlite3_exec(raw.db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = rc == SQLITE_OK ? std::string() : (error != nullptr ? error : "error without a message");
  sqlite3_free(error);
  return message;
}

std::string RawQuery(const std::filesystem::path& file, const std::string& sql) {
  RawDb raw(file);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(raw.db, sql.c_str(), -1, &stmt, nullptr);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << sqlite3_errmsg(raw.db);
  std::string out;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) out = reinterpret_cast<const char*>(text);
  } else {
    EXPECT_EQ(rc, SQLITE_DONE) << sql << ": " << sqlite3_errmsg(raw.db);
  }
  sqlite3_finalize(stmt);
  return out;
}

std::string ListFolder(const std::filesystem::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : " ") + name;
  return out;
}

}  // namespace edl::testing
