#include "ingest/qc.h"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "testing/status_testing.h"
#include "testing/temp_dir.h"

// Suites are named Qc* and Delta* so that `ctest -R` selects them.
namespace edl {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;


// Orders over two Parquet files:
//   order_id: 1..6 with 3 twice (rows 3 and 4) and one NULL
//   status:   new/paid/shipped plus one 'lost' and one NULL
//   amount:   0.5 .. 250 with one negative
//   email:    two malformed
class QcFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = {Make("data/part-1.parquet",
                   "SELECT * FROM (VALUES "
                   "(1, 'new', 10.0, 'a@example.com', 'I'), "
                   "(2, 'paid', 0.5, 'b@example.com', 'U'), "
                   "(3, 'shipped', 250.0, 'not-an-email', 'I'), "
                   "(3, 'lost', -1.0, 'c@example.com', 'D')) "
                   "t(order_id, status, amount, email, op)"),
              Make("data/part-2.parquet",
                   "SELECT * FROM (VALUES "
                   "(5, NULL, 20.0, NULL, 'X'), "
                   "(NULL, 'paid', 30.0, 'also bad', 'U'), "
                   "(6, 'new', 40.0, 'd@example.com', NULL)) "
                   "t(order_id, status, amount, email, op)")};
  }

  fs::path Make(const std::string& relative, const std::string& select) {
    fs::path path = dir_.path() / relative;
    fs::create_directories(path.parent_path());
    DatabaseOptions options;
    options.temp_directory = "";
    auto db = Database::Open(options);
    EXPECT_TRUE(db.ok());
    auto connection = (*db)->Connect();
    EXPECT_TRUE(connection.ok());
    Status copied = (*connection)->Execute("COPY (" + select + ") TO " + SqlString(path.string()) + " (FORMAT parquet)");
    EXPECT_TRUE(copied.ok()) << copied.ToString();
    return path;
  }

  QcOutcome RunOne(const QcCheck& check) {
    auto outcomes = RunQcChecks({check}, files_, limits_);
    EXPECT_TRUE(outcomes.ok()) << outcomes.status().ToString();
    if (!outcomes.ok() || outcomes->size() != 1) return {};
    return (*outcomes)[0];
  }

  static QcCheck Check(std::string kind, std::vector<std::string> columns = {}) {
    QcCheck check;
    check.check = std::move(kind);
    check.columns = std::move(columns);
    return check;
  }

  testing::TempDir dir_;
  std::vector<fs::path> files_;
  QcLimits limits_{.memory_limit_bytes = 256LL << 20, .threads = 1, .sample_rows = 5};
};

using QcChecks = QcFixture;

TEST_F(QcChecks, NotNullPassesAndFails) {
  QcOutcome passing = RunOne(Check("not_null", {"amount"}));
  EXPECT_TRUE(passing.passed);
  EXPECT_EQ(passing.failing_rows, 0);
  EXPECT_THAT(passing.sample, IsEmpty());
  EXPECT_EQ(passing.description, "not_null(amount)");
  EXPECT_EQ(passing.error, "");

  QcOutcome failing = RunOne(Check("not_null", {"order_id"}));
  EXPECT_FALSE(failing.passed);
  EXPECT_EQ(failing.failing_rows, 1);
  EXPECT_THAT(failing.sample,
              ElementsAre(R"({"order_id":null,"status":"paid","amount":30.0,"email":"also bad","op":"U"})"));
  EXPECT_EQ(failing.description, "not_null(order_id)");
}

TEST_F(QcChecks, NotNullOverSeveralColumnsCountsRowsFailingAny) {
  QcOutcome outcome = RunOne(Check("not_null", {"order_id", "status", "email"}));
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.failing_rows, 2);
  EXPECT_THAT(outcome.sample, SizeIs(2));
  EXPECT_EQ(outcome.description, "not_null(order_id, status, email)");
}

TEST_F(QcChecks, UniqueSingleColumn) {
  QcOutcome outcome = RunOne(Check("unique", {"order_id"}));
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.failing_rows, 2);  // both rows holding 3; the NULL key is not_null's business
  ASSERT_THAT(outcome.sample, SizeIs(2));
  EXPECT_THAT(outcome.sample[0], HasSubstr("\"order_id\":3"));
  EXPECT_THAT(outcome.sample[1], HasSubstr("\"order_id\":3"));
  EXPECT_TRUE(RunOne(Check("unique", {"amount"})).passed);
}

TEST_F(QcChecks, UniqueCompositeKey) {
  EXPECT_TRUE(RunOne(Check("unique", {"order_id", "status"})).passed);
  QcOutcome outcome = RunOne(Check("unique", {"status", "op"}));  // (paid, U) twice
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.failing_rows, 2);
  EXPECT_EQ(outcome.description, "unique(status, op)");
}

TEST_F(QcChecks, AcceptedValues) {
  QcCheck check = Check("accepted_values", {"status"});
  check.values = {"new", "paid", "shipped"};
  QcOutcome outcome = RunOne(check);
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.failing_rows, 1);  // 'lost'; NULL is not_null's business
  ASSERT_THAT(outcome.sample, SizeIs(1));
  EXPECT_THAT(outcome.sample[0], HasSubstr("\"status\":\"lost\""));
  EXPECT_EQ(outcome.description, "accepted_values(status in ['new', 'paid', 'shipped'])");

  check.values.push_back("lost");
  EXPECT_TRUE(RunOne(check).passed);
}

TEST_F(QcChecks, AcceptedValuesCompareNumbersAsText) {
  QcCheck check = Check("accepted_values", {"order_id"});
  check.values = {"1", "2", "3", "5", "6"};
  EXPECT_TRUE(RunOne(check).passed);
}

TEST_F(QcChecks, RangeWithMinMaxOrBoth) {
  QcCheck check = Check("range", {"amount"});
  check.min = 0;
  QcOutcome min_only = RunOne(check);
  EXPECT_FALSE(min_only.passed);
  EXPECT_EQ(min_only.failing_rows, 1);
  EXPECT_THAT(min_only.sample[0], HasSubstr("\"amount\":-1.0"));
  EXPECT_EQ(min_only.description, "range(amount, min 0)");

  check.max = 100;
  QcOutcome both = RunOne(check);
  EXPECT_EQ(both.failing_rows, 2);  // -1 and 250
  EXPECT_EQ(both.description, "range(amount, min 0, max 100)");

  check.min.reset();
  check.max = 1000;
  EXPECT_TRUE(RunOne(check).passed);
}

TEST_F(QcChecks, RangeOnTextColumnIsAnError) {
  QcCheck check = Check("range", {"status"});
  check.min = 0;
  QcOutcome outcome = RunOne(check);
  EXPECT_FALSE(outcome.passed);
  EXPECT_THAT(outcome.error, HasSubstr("'status' is VARCHAR"));
}

TEST_F(QcChecks, RegexNullsPass) {
  QcCheck check = Check("regex", {"email"});
  check.pattern = R"([^@\s]+@[^@\s]+\.[a-z]+)";
  QcOutcome outcome = RunOne(check);
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.failing_rows, 2);  // "not-an-email", "also bad"; the NULL passes
  EXPECT_THAT(outcome.sample, SizeIs(2));

  QcCheck numbers = Check("regex", {"order_id"});
  numbers.pattern = "[0-9]+";
  EXPECT_TRUE(RunOne(numbers).passed);
}

TEST_F(QcChecks, InvalidRegexIsAnError) {
  QcCheck check = Check("regex", {"email"});
  check.pattern = "([a-z";
  QcOutcome outcome = RunOne(check);
  EXPECT_FALSE(outcome.passed);
  EXPECT_FALSE(outcome.error.empty());
}

TEST_F(QcChecks, RowCount) {
  QcCheck check = Check("row_count");
  check.min = 1;
  check.max = 10;
  QcOutcome passing = RunOne(check);
  EXPECT_TRUE(passing.passed);
  EXPECT_EQ(passing.failing_rows, 7);  // the row count found
  EXPECT_EQ(passing.description, "row_count(min 1, max 10)");

  check.min = 100;
  check.max.reset();
  QcOutcome failing = RunOne(check);
  EXPECT_FALSE(failing.passed);
  EXPECT_EQ(failing.failing_rows, 7);
  EXPECT_THAT(failing.sample, IsEmpty());
}

TEST_F(QcChecks, SampleIsCappedBySampleRows) {
  limits_.sample_rows = 2;
  QcCheck check = Check("sql");
  check.sql = "SELECT * FROM data";
  QcOutcome outcome = RunOne(check);
  EXPECT_EQ(outcome.failing_rows, 7);
  EXPECT_THAT(outcome.sample, SizeIs(2));
}

TEST_F(QcChecks, CustomSqlCountsAndSamplesFailingRows) {
  QcCheck check = Check("sql");
  check.sql = "SELECT order_id, amount FROM data WHERE amount > 25 ORDER BY amount;  ";
  QcOutcome outcome = RunOne(check);
  EXPECT_FALSE(outcome.passed);
  EXPECT_EQ(outcome.error, "");
  EXPECT_EQ(outcome.failing_rows, 3);
  EXPECT_THAT(outcome.sample, ElementsAre(R"({"order_id":null,"amount":30.0})", R"({"order_id":6,"amount":40.0})",
                                          R"({"order_id":3,"amount":250.0})"));

  check.sql = "SELECT * FROM data WHERE amount > 1000 -- nothing";
  EXPECT_TRUE(RunOne(check).passed);
}

TEST_F(QcChecks, CustomSqlWithSyntaxErrorIsAnError) {
  QcCheck check = Check("sql");
  check.sql = "SELEKT * FROM data";
  QcOutcome outcome = RunOne(check);
  EXPECT_FALSE(outcome.passed);
  EXPECT_THAT(outcome.error, HasSubstr("syntax error"));
}

TEST_F(QcChecks, CustomSqlCannotReadOtherFiles) {
  QcCheck check = Check("sql");
  check.sql = "SELECT * FROM read_csv('/etc/passwd')";
  QcOutcome outcome = RunOne(check);
  EXPECT_FALSE(outcome.passed);
  EXPECT_THAT(outcome.error, AllOf(HasSubstr("Permission Error"), HasSubstr("/etc/passwd")));
}

TEST_F(QcChecks, CustomSqlCannotWrite) {
  const std::string before = testing::ReadFile(files_[0]);
  QcCheck check = Check("sql");
  for (const std::string& sql :
       {"COPY (SELECT 1) TO " + SqlString((dir_.path() / "x.csv").string()),
        // Even the data files, which the sandbox may otherwise write:
        "COPY (SELECT 1 AS order_id) TO " + SqlString(files_[0].string()) + " (FORMAT parquet)",
        "SELECT 1; COPY (SELECT 1) TO " + SqlString(files_[0].string()), "ATTACH " + SqlString((dir_.path() / "x.db").string())}) {
    check.sql = sql;
    QcOutcome outcome = RunOne(check);
    EXPECT_FALSE(outcome.passed) << sql;
    EXPECT_THAT(outcome.error, HasSubstr("single SELECT")) << sql;
  }
  EXPECT_EQ(testing::ReadFile(files_[0]), before);
  EXPECT_FALSE(fs::exists(dir_.path() / "x.csv"));
  EXPECT_FALSE(fs::exists(dir_.path() / "x.db"));
}

TEST_F(QcChecks, CustomSqlCannotRunHiddenSqlOrLogging) {
  QcCheck check = Check("sql");
  for (const std::string& sql :
       {std::string("SELECT * FROM query('SELECT 1')"),
        std::string("SELECT * FROM data WHERE order_id IN (SELECT * FROM Query_Table('data'))"),
        std::string("SELECT * FROM enable_logging('/tmp/x.log')")}) {
    check.sql = sql;
    QcOutcome outcome = RunOne(check);
    EXPECT_FALSE(outcome.passed) << sql;
    EXPECT_THAT(outcome.error, HasSubstr("may not call")) << sql;
  }
}

TEST_F(QcChecks, MissingColumnFailsThatCheckOnly) {
  QcCheck missing = Check("not_null", {"order_id", "customer"});
  QcCheck fine = Check("not_null", {"amount"});
  QcCheck other = Check("unique", {"Nope"});
  ASSERT_OK_AND_ASSIGN(std::vector<QcOutcome> outcomes, RunQcChecks({missing, fine, other}, files_, limits_));
  ASSERT_THAT(outcomes, SizeIs(3));
  EXPECT_FALSE(outcomes[0].passed);
  EXPECT_THAT(outcomes[0].error,
              AllOf(HasSubstr("column 'customer' not found"), HasSubstr("order_id, status, amount")));
  EXPECT_TRUE(outcomes[1].passed);
  EXPECT_FALSE(outcomes[2].passed);
  EXPECT_THAT(outcomes[2].error, HasSubstr("'Nope'"));
}

TEST_F(QcChecks, ColumnNamesMatchIgnoringCase) {
  EXPECT_TRUE(RunOne(Check("not_null", {"AMOUNT"})).passed);
}

TEST_F(QcChecks, AllChecksRunInOrder) {
  QcCheck row_count = Check("row_count");
  row_count.min = 1;
  QcCheck sql = Check("sql");
  sql.sql = "SELECT * FROM data WHERE op = 'X'";
  ASSERT_OK_AND_ASSIGN(
      std::vector<QcOutcome> outcomes,
      RunQcChecks({Check("not_null", {"order_id"}), row_count, sql, Check("unique", {"email"})}, files_, limits_));
  ASSERT_THAT(outcomes, SizeIs(4));
  EXPECT_EQ(outcomes[0].description, "not_null(order_id)");
  EXPECT_FALSE(outcomes[0].passed);
  EXPECT_TRUE(outcomes[1].passed);
  EXPECT_EQ(outcomes[2].failing_rows, 1);
  EXPECT_EQ(outcomes[2].description, "sql(SELECT * FROM data WHERE op = 'X')");
  EXPECT_TRUE(outcomes[3].passed);
}

TEST_F(QcChecks, SpecialColumnNamesAreQuoted) {
  std::vector<fs::path> files = {
      Make("odd/p.parquet", "SELECT 1 AS \"order id\", NULL AS \"say \"\"hi\"\"\", 'x' AS \"it's\"")};
  ASSERT_OK_AND_ASSIGN(
      std::vector<QcOutcome> outcomes,
      RunQcChecks({Check("not_null", {"order id", "it's"}), Check("not_null", {"say \"hi\""})}, files, limits_));
  EXPECT_TRUE(outcomes[0].passed) << outcomes[0].error;
  EXPECT_FALSE(outcomes[1].passed);
  EXPECT_EQ(outcomes[1].failing_rows, 1);
}

TEST_F(QcChecks, LongTextIsCutInSamples) {
  std::vector<fs::path> files = {Make("long/p.parquet", "SELECT repeat('x', 100000) AS text, NULL::INTEGER AS n")};
  ASSERT_OK_AND_ASSIGN(std::vector<QcOutcome> outcomes, RunQcChecks({Check("not_null", {"n"})}, files, limits_));
  ASSERT_THAT(outcomes[0].sample, SizeIs(1));
  EXPECT_LT(outcomes[0].sample[0].size(), 1100u);
  EXPECT_THAT(outcomes[0].sample[0], HasSubstr("xxx..."));
}

TEST_F(QcChecks, UnknownCheckIsAnError) {
  QcOutcome outcome = RunOne(Check("sorted", {"order_id"}));
  EXPECT_FALSE(outcome.passed);
  EXPECT_THAT(outcome.error, HasSubstr("unknown check 'sorted'"));
}

TEST_F(QcChecks, NoDataFailsEveryCheck) {
  ASSERT_OK_AND_ASSIGN(std::vector<QcOutcome> outcomes, RunQcChecks({Check("not_null", {"a"})}, {}, limits_));
  ASSERT_THAT(outcomes, SizeIs(1));
  EXPECT_FALSE(outcomes[0].passed);
  EXPECT_THAT(outcomes[0].error, HasSubstr("no Parquet data"));
}

TEST_F(QcChecks, UnreadableDataIsAnError) {
  std::vector<fs::path> files = {dir_.WriteFile("bad.parquet", "not parquet")};
  auto outcomes = RunQcChecks({Check("not_null", {"a"})}, files, limits_);
  EXPECT_FALSE(outcomes.ok());
}

// ---- ValidateDelta ----

using DeltaValidation = QcFixture;

UpdateConvention Delta(std::vector<std::string> keys, std::string op) {
  UpdateConvention convention;
  convention.kind = UpdateKind::kDelta;
  convention.keys = std::move(keys);
  convention.op_column = std::move(op);
  return convention;
}

TEST_F(DeltaValidation, GoodDeltaPasses) {
  std::vector<fs::path> files = {Make("good/p.parquet",
                                      "SELECT * FROM (VALUES (1, 'a', 'I'), (2, 'b', 'U'), (1, 'a', 'D')) t(id, "
                                      "region, op)")};
  EXPECT_OK(ValidateDelta(Delta({"id"}, "op"), files, limits_));
  EXPECT_OK(ValidateDelta(Delta({"id", "region"}, "op"), files, limits_));
}

TEST_F(DeltaValidation, MissingColumnsAreNamedWithTheColumnsPresent) {
  Status status = ValidateDelta(Delta({"order_id", "customer"}, "operation"), files_, limits_);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("key column 'customer'"), HasSubstr("op column 'operation'"),
                                      HasSubstr("columns present: order_id, status, amount, email, op")));
  EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("'order_id'")));
}

TEST_F(DeltaValidation, BadOpsAndNullKeysAreCountedAndSampled) {
  Status status = ValidateDelta(Delta({"order_id"}, "op"), files_, limits_);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("1 row has a null key (order_id)"),
                    HasSubstr("2 rows have an op other than I, U or D (column op)"), HasSubstr("sample: "),
                    HasSubstr(R"("op":"X")"), HasSubstr(R"("op":null)"), HasSubstr(R"("order_id":null)")));
}

TEST_F(DeltaValidation, OnlyBadOps) {
  std::vector<fs::path> files = {
      Make("ops/p.parquet", "SELECT * FROM (VALUES (1, 'I'), (2, 'i'), (3, 'upsert')) t(id, op)")};
  Status status = ValidateDelta(Delta({"id"}, "op"), files, limits_);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("2 rows have an op other than I, U or D"));
  EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("null key")));
}

TEST_F(DeltaValidation, OnlyNullKeysInCompositeKey) {
  std::vector<fs::path> files = {
      Make("keys/p.parquet", "SELECT * FROM (VALUES (1, NULL, 'I'), (2, 'b', 'U')) t(id, region, op)")};
  Status status = ValidateDelta(Delta({"id", "region"}, "op"), files, limits_);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("1 row has a null key (id, region)"), HasSubstr(R"("region":null)")));
}

TEST_F(DeltaValidation, SampleHasAtMostFiveRows) {
  std::vector<fs::path> files = {Make("many/p.parquet", "SELECT range AS id, 'Z' AS op FROM range(50)")};
  Status status = ValidateDelta(Delta({"id"}, "op"), files, limits_);
  EXPECT_THAT(status.message(), HasSubstr("50 rows have an op other than"));
  size_t rows = 0;
  for (size_t at = status.message().find("\"op\":\"Z\""); at != std::string::npos;
       at = status.message().find("\"op\":\"Z\"", at + 1)) {
    ++rows;
  }
  EXPECT_EQ(rows, 5u);
}

TEST_F(DeltaValidation, ConventionWithoutKeysOrOpIsRefused) {
  EXPECT_EQ(ValidateDelta(Delta({}, "op"), files_, limits_).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDelta(Delta({"order_id"}, ""), files_, limits_).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDelta(Delta({"order_id"}, "op"), {}, limits_).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edl
