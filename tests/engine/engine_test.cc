#include "engine/engine.h"

#include <filesystem>
#include <string>
#include <utility>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_testing.h"
#include "testing/temp_dir.h"

// Suites are named Engine* so that `ctest -R Engine` selects them.
namespace edl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
namespace fs = std::filesystem;


std::string Lit(const std::string& text) { return SqlString(text); }

std::string Lit(const fs::path& path) {
  return Lit(path.string());
}

Result<TextRows> QueryText(Connection& connection, std::string_view sql) {
  ASSIGN_OR_RETURN(QueryResult result, connection.Query(sql));
  return result.FetchAllAsText();
}

// The single value of a one-row, one-column query, as text.
Result<std::string> QueryValue(Connection& connection, std::string_view sql) {
  ASSIGN_OR_RETURN(TextRows rows, QueryText(connection, sql));
  if (rows.size() != 1 || rows[0].size() != 1 || !rows[0][0].has_value()) {
    return Internal("expected one non-NULL value from: " + std::string(sql));
  }
  return *rows[0][0];
}

DatabaseOptions SmallOptions() {
  DatabaseOptions options;
  options.memory_limit_bytes = 256LL << 20;
  options.threads = 1;
  return options;
}

class EngineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(database_, Database::Open(SmallOptions()));
    ASSERT_OK_AND_ASSIGN(connection_, database_->Connect());
  }

  testing::TempDir tmp_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<Connection> connection_;
};

// ---- Database ----

using EngineDatabase = EngineFixture;

TEST_F(EngineDatabase, AppliesMemoryLimitAndThreads) {
  DatabaseOptions options = SmallOptions();
  options.memory_limit_bytes = 300LL << 20;
  options.threads = 3;
  ASSERT_OK_AND_ASSIGN(auto database, Database::Open(options));
  ASSERT_OK_AND_ASSIGN(auto connection, database->Connect());
  EXPECT_THAT(QueryValue(*connection, "SELECT current_setting('threads')::VARCHAR").value(), "3");
  EXPECT_THAT(QueryValue(*connection, "SELECT current_setting('memory_limit')").value(), "300.0 MiB");
}

TEST_F(EngineDatabase, DisablesExtensionAutoinstallAndAutoload) {
  ASSERT_OK_AND_ASSIGN(TextRows rows, QueryText(*connection_,
                                                "SELECT current_setting('autoinstall_known_extensions'), "
                                                "current_setting('autoload_known_extensions'), "
                                                "current_setting('allow_community_extensions'), "
                                                "current_setting('allow_persistent_secrets')"));
  EXPECT_THAT(rows, ElementsAre(ElementsAre("false", "false", "false", "false")));
}

TEST_F(EngineDatabase, DoesNotFetchAnExtensionAQueryNeeds) {
  // With autoinstall/autoload on, DuckDB would try to download httpfs here.
  Result<QueryResult> result = connection_->Query("SELECT * FROM 'https://example.invalid/x.csv'");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
  EXPECT_THAT(result.status().message(), HasSubstr("httpfs"));
}

TEST_F(EngineDatabase, PersistsToAFileAcrossReopening) {
  DatabaseOptions options = SmallOptions();
  options.path = (tmp_.path() / "lake.duckdb").string();
  {
    ASSERT_OK_AND_ASSIGN(auto database, Database::Open(options));
    ASSERT_OK_AND_ASSIGN(auto connection, database->Connect());
    ASSERT_OK(connection->Execute("CREATE TABLE t AS SELECT 42 AS answer"));
  }
  ASSERT_OK_AND_ASSIGN(auto database, Database::Open(options));
  ASSERT_OK_AND_ASSIGN(auto connection, database->Connect());
  EXPECT_EQ(QueryValue(*connection, "SELECT answer FROM t").value(), "42");
}

TEST_F(EngineDatabase, OpenFailureCarriesDuckDBMessage) {
  DatabaseOptions options = SmallOptions();
  options.path = (tmp_.path() / "missing-folder" / "lake.duckdb").string();
  Result<std::unique_ptr<Database>> database = Database::Open(options);
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.status().code(), StatusCode::kUnavailable) << database.status().ToString();
  EXPECT_THAT(database.status().message(), HasSubstr("IO Error"));
  EXPECT_THAT(database.status().message(), HasSubstr("missing-folder"));
}

TEST_F(EngineDatabase, RejectsNonsensicalOptions) {
  DatabaseOptions options = SmallOptions();
  options.threads = 0;
  EXPECT_EQ(Database::Open(options).status().code(), StatusCode::kInvalidArgument);
  options = SmallOptions();
  options.memory_limit_bytes = -1;
  EXPECT_EQ(Database::Open(options).status().code(), StatusCode::kInvalidArgument);
  options = SmallOptions();
  options.allowed_directories = {"relative/folder"};
  EXPECT_EQ(Database::Open(options).status().code(), StatusCode::kInvalidArgument);
}

TEST(EngineOptions, ComeFromEngineConfig) {
  EngineConfig config;
  config.memory_limit_bytes = 123LL << 20;
  config.threads = 5;
  const DatabaseOptions database = DatabaseOptionsFromConfig(config);
  EXPECT_EQ(database.memory_limit_bytes, 123LL << 20);
  EXPECT_EQ(database.threads, 5);
  EXPECT_TRUE(database.path.empty());
  const SandboxOptions sandbox = SandboxOptionsFromConfig(config);
  EXPECT_EQ(sandbox.memory_limit_bytes, 123LL << 20);
  EXPECT_EQ(sandbox.threads, 5);
  EXPECT_TRUE(sandbox.allowed_directories.empty());
}

// ---- Connection errors ----

using EngineErrors = EngineFixture;

TEST_F(EngineErrors, SyntaxErrorCarriesDuckDBMessage) {
  Status status = connection_->Execute("SELEC 1");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("Parser Error: syntax error at or near \"SELEC\""));
}

TEST_F(EngineErrors, UnknownTableIsInvalidArgumentNamingIt) {
  Status status = connection_->Execute("SELECT * FROM no_such_table");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("Catalog Error"));
  EXPECT_THAT(status.message(), HasSubstr("no_such_table"));
}

TEST_F(EngineErrors, ConstraintViolationIsConflict) {
  ASSERT_OK(connection_->Execute("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)"));
  Status status = connection_->Execute("INSERT INTO t VALUES (1)");
  EXPECT_EQ(status.code(), StatusCode::kConflict) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("Constraint Error"));
}

TEST_F(EngineErrors, MissingFileIsUnavailable) {
  Status status = connection_->Execute("SELECT * FROM read_csv(" + Lit(tmp_.path() / "absent.csv") + ")");
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("absent.csv"));
}

// ---- Query results ----

using EngineQuery = EngineFixture;

TEST_F(EngineQuery, ReportsColumnNamesAndTypesAsDuckDBSpellsThem) {
  ASSERT_OK_AND_ASSIGN(QueryResult result,
                       connection_->Query("SELECT 1::BIGINT AS id, 'x' AS name, 1.5::DECIMAL(10,3) AS price, "
                                          "[1, 2] AS list, {'a': 1, 'my col': 'x'} AS s, MAP {'k': 1} AS m, "
                                          "'a'::ENUM('a', 'b') AS e, TIMESTAMPTZ '2020-01-01' AS tz, "
                                          "'{}'::JSON AS j, [1, 2]::INTEGER[2] AS arr"));
  EXPECT_THAT(result.column_names(), ElementsAre("id", "name", "price", "list", "s", "m", "e", "tz", "j", "arr"));
  EXPECT_THAT(result.column_types(),
              ElementsAre("BIGINT", "VARCHAR", "DECIMAL(10,3)", "INTEGER[]", "STRUCT(a INTEGER, \"my col\" VARCHAR)",
                          "MAP(VARCHAR, INTEGER)", "ENUM('a', 'b')", "TIMESTAMP WITH TIME ZONE", "JSON", "INTEGER[2]"));
  EXPECT_EQ(result.column_count(), 10u);
}

TEST_F(EngineQuery, CountsRowsChanged) {
  ASSERT_OK(connection_->Execute("CREATE TABLE t (x INTEGER)"));
  ASSERT_OK_AND_ASSIGN(QueryResult inserted, connection_->Query("INSERT INTO t SELECT * FROM range(7)"));
  EXPECT_EQ(inserted.rows_changed(), 7);
  ASSERT_OK_AND_ASSIGN(QueryResult deleted, connection_->Query("DELETE FROM t WHERE x < 3"));
  EXPECT_EQ(deleted.rows_changed(), 3);
}

TEST_F(EngineQuery, IteratesEveryRowAcrossChunks) {
  ASSERT_OK_AND_ASSIGN(QueryResult result, connection_->Query("SELECT range AS i FROM range(5000) ORDER BY i"));
  int64_t expected = 0;
  int chunks = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DataChunk> chunk, result.NextChunk());
    if (chunk == nullptr) break;
    ++chunks;
    ASSERT_EQ(chunk->column_count(), 1u);
    for (size_t row = 0; row < chunk->row_count(); ++row) {
      ASSERT_EQ(chunk->GetInt64(0, row), expected) << "row " << expected;
      ++expected;
    }
  }
  EXPECT_EQ(expected, 5000);
  EXPECT_GE(chunks, 3);  // 2048 rows per chunk at most
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DataChunk> after_end, result.NextChunk());
  EXPECT_EQ(after_end, nullptr);
}

TEST_F(EngineQuery, ReadsEveryIntegerTypeAsInt64) {
  ASSERT_OK_AND_ASSIGN(QueryResult result,
                       connection_->Query("SELECT -5::TINYINT, -300::SMALLINT, -70000::INTEGER, "
                                          "-5000000000::BIGINT, 200::UTINYINT, 60000::USMALLINT, "
                                          "4000000000::UINTEGER, 9000000000::UBIGINT, -12345678901::HUGEINT, "
                                          "sum(x) FROM (VALUES (40), (2)) v(x)"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DataChunk> chunk, result.NextChunk());
  ASSERT_NE(chunk, nullptr);
  EXPECT_EQ(result.column_types()[9], "HUGEINT");  // what sum() of integers gives
  const int64_t expected[] = {-5, -300, -70000, -5000000000, 200, 60000, 4000000000, 9000000000, -12345678901, 42};
  for (size_t column = 0; column < 10; ++column) {
    EXPECT_EQ(chunk->GetInt64(column, 0), expected[column]) << result.column_types()[column];
  }
}

TEST_F(EngineQuery, ReadsDoublesBoolsAndNulls) {
  ASSERT_OK_AND_ASSIGN(
      QueryResult result,
      connection_->Query("SELECT * FROM (VALUES (2.5::DOUBLE, 1.25::FLOAT, 3.14::DECIMAL(5,2), true, 7), "
                         "(NULL, NULL, NULL, NULL, NULL), (-1e300, -0.5::FLOAT, -0.01, false, 0))"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DataChunk> chunk, result.NextChunk());
  ASSERT_NE(chunk, nullptr);
  ASSERT_EQ(chunk->row_count(), 3u);
  EXPECT_DOUBLE_EQ(chunk->GetDouble(0, 0), 2.5);
  EXPECT_DOUBLE_EQ(chunk->GetDouble(1, 0), 1.25);
  EXPECT_DOUBLE_EQ(chunk->GetDouble(2, 0), 3.14);
  EXPECT_TRUE(chunk->GetBool(3, 0));
  EXPECT_DOUBLE_EQ(chunk->GetDouble(4, 0), 7.0);  // an INTEGER column read as a double
  for (size_t column = 0; column < 5; ++column) {
    EXPECT_FALSE(chunk->IsNull(column, 0));
    EXPECT_TRUE(chunk->IsNull(column, 1));
    EXPECT_FALSE(chunk->IsNull(column, 2));
  }
  EXPECT_DOUBLE_EQ(chunk->GetDouble(0, 2), -1e300);
  EXPECT_DOUBLE_EQ(chunk->GetDouble(1, 2), -0.5);
  EXPECT_DOUBLE_EQ(chunk->GetDouble(2, 2), -0.01);
  EXPECT_FALSE(chunk->GetBool(3, 2));
  EXPECT_TRUE(chunk->IsNull(0, 3)) << "out of range counts as NULL";
  EXPECT_TRUE(chunk->IsNull(5, 0)) << "out of range counts as NULL";
}

TEST_F(EngineQuery, ReadsInlinedAndOutOfLineStringsAndBlobs) {
  const std::string long_text = "a string well beyond the twelve inlined bytes";
  ASSERT_OK_AND_ASSIGN(QueryResult result, connection_->Query("SELECT * FROM (VALUES ('short', " + Lit(long_text) +
                                                              ", '\\x00\\xFFab'::BLOB, ''))"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DataChunk> chunk, result.NextChunk());
  ASSERT_NE(chunk, nullptr);
  EXPECT_EQ(chunk->GetString(0, 0), "short");
  EXPECT_EQ(chunk->GetString(1, 0), long_text);
  EXPECT_EQ(chunk->GetString(2, 0), std::string("\x00\xFF"
                                                "ab",
                                                4));
  EXPECT_EQ(chunk->GetString(3, 0), "");
  EXPECT_FALSE(chunk->IsNull(3, 0));
}

TEST_F(EngineQuery, ValueAsTextMatchesDuckDBCast) {
  // Each expression is shown by ValueAsText and by DuckDB's own CAST; the two must agree.
  const std::string expressions[] = {"42::TINYINT",
                                     "-7::INTEGER",
                                     "9223372036854775807::BIGINT",
                                     "18446744073709551615::UBIGINT",
                                     "-170141183460469231731687303715884105727::HUGEINT",
                                     "340282366920938463463374607431768211455::UHUGEINT",
                                     "true",
                                     "false",
                                     "2.5::DOUBLE",
                                     "3.0::DOUBLE",
                                     "0.1::DOUBLE",
                                     "100000::DOUBLE",
                                     "1e15::DOUBLE",
                                     "1e16::DOUBLE",
                                     "1e-4::DOUBLE",
                                     "1e-5::DOUBLE",
                                     "-123.456::DOUBLE",
                                     "'nan'::DOUBLE",
                                     "'-inf'::DOUBLE",
                                     "0.1::FLOAT",
                                     "1.5::FLOAT",
                                     "1e7::FLOAT",
                                     "1.50::DECIMAL(4,2)",
                                     "(-0.05)::DECIMAL(4,2)",
                                     "123456789012345678.123::DECIMAL(38,3)",
                                     "7::DECIMAL(3,0)",
                                     "'text'",
                                     "'\\x00\\x7Fa''\"b'::BLOB",
                                     "DATE '2024-02-29'",
                                     "DATE '0050-01-01'",
                                     "'infinity'::DATE",
                                     "TIMESTAMP '2024-01-02 03:04:05'",
                                     "TIMESTAMP '2024-01-02 03:04:05.5'",
                                     "TIMESTAMP '2024-01-02 03:04:05.000120'",
                                     "'-infinity'::TIMESTAMP"};
  for (const std::string& expression : expressions) {
    ASSERT_OK_AND_ASSIGN(QueryResult result,
                         connection_->Query("SELECT " + expression + ", (" + expression + ")::VARCHAR"));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DataChunk> chunk, result.NextChunk());
    ASSERT_NE(chunk, nullptr);
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> mine, chunk->ValueAsText(0, 0));
    EXPECT_EQ(mine, std::optional<std::string>(chunk->GetString(1, 0))) << expression;
  }
}

TEST_F(EngineQuery, ValueAsTextNamesAnUnsupportedType) {
  ASSERT_OK_AND_ASSIGN(QueryResult result, connection_->Query("SELECT [1, 2] AS l"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DataChunk> chunk, result.NextChunk());
  ASSERT_NE(chunk, nullptr);
  Result<std::optional<std::string>> text = chunk->ValueAsText(0, 0);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("INTEGER[]"));
  EXPECT_FALSE(chunk->ValueAsText(1, 0).ok()) << "column out of range";
}

TEST_F(EngineQuery, FetchAllAsTextKeepsNullsApartFromText) {
  ASSERT_OK_AND_ASSIGN(
      TextRows rows,
      QueryText(*connection_, "SELECT * FROM (VALUES (1, 'NULL', 1.5), (NULL, NULL, NULL)) v(a, b, c) ORDER BY a"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[0],
              ElementsAre(Optional(std::string("1")), Optional(std::string("NULL")), Optional(std::string("1.5"))));
  EXPECT_THAT(rows[1], ElementsAre(std::nullopt, std::nullopt, std::nullopt));
}

TEST_F(EngineQuery, ResultsMove) {
  ASSERT_OK_AND_ASSIGN(QueryResult first, connection_->Query("SELECT 'moved' AS word"));
  QueryResult second = std::move(first);
  EXPECT_THAT(second.column_names(), ElementsAre("word"));
  ASSERT_OK_AND_ASSIGN(TextRows rows, second.FetchAllAsText());
  EXPECT_THAT(rows, ElementsAre(ElementsAre("moved")));
}

// ---- Prepared statements ----

using EnginePrepared = EngineFixture;

TEST_F(EnginePrepared, BindsEveryKindAndRoundTrips) {
  ASSERT_OK(connection_->Execute("CREATE TABLE t (i BIGINT, d DOUBLE, b BOOLEAN, s VARCHAR, n VARCHAR)"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedStatement> insert,
                       connection_->Prepare("INSERT INTO t VALUES ($1, $2, $3, $4, $5)"));
  EXPECT_EQ(insert->parameter_count(), 5u);
  const std::string text("it's got\0a NUL", 14);
  ASSERT_OK(insert->BindInt64(1, -9007199254740993));
  ASSERT_OK(insert->BindDouble(2, 0.25));
  ASSERT_OK(insert->BindBool(3, true));
  ASSERT_OK(insert->BindString(4, text));
  ASSERT_OK(insert->BindNull(5));
  ASSERT_OK_AND_ASSIGN(QueryResult inserted, insert->Execute());
  EXPECT_EQ(inserted.rows_changed(), 1);

  ASSERT_OK_AND_ASSIGN(QueryResult result, connection_->Query("SELECT * FROM t"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DataChunk> chunk, result.NextChunk());
  ASSERT_NE(chunk, nullptr);
  ASSERT_EQ(chunk->row_count(), 1u);
  EXPECT_EQ(chunk->GetInt64(0, 0), -9007199254740993);
  EXPECT_EQ(chunk->GetDouble(1, 0), 0.25);
  EXPECT_TRUE(chunk->GetBool(2, 0));
  EXPECT_EQ(chunk->GetString(3, 0), text);
  EXPECT_TRUE(chunk->IsNull(4, 0));
}

TEST_F(EnginePrepared, ReexecutesWithNewBindings) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedStatement> square,
                       connection_->Prepare("SELECT $1::BIGINT * $1::BIGINT"));
  EXPECT_EQ(square->parameter_count(), 1u);
  for (int64_t i : {3, 12}) {
    ASSERT_OK(square->BindInt64(1, i));
    ASSERT_OK_AND_ASSIGN(QueryResult result, square->Execute());
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DataChunk> chunk, result.NextChunk());
    ASSERT_NE(chunk, nullptr);
    EXPECT_EQ(chunk->GetInt64(0, 0), i * i);
  }
}

TEST_F(EnginePrepared, RefusesAParameterOutOfRange) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedStatement> statement, connection_->Prepare("SELECT $1::INTEGER"));
  Status status = statement->BindInt64(2, 1);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("$2"));
  EXPECT_EQ(statement->BindInt64(0, 1).code(), StatusCode::kInvalidArgument);
}

TEST_F(EnginePrepared, PrepareErrorCarriesDuckDBMessage) {
  Result<std::unique_ptr<PreparedStatement>> statement = connection_->Prepare("SELECT * FROM nowhere WHERE x = $1");
  ASSERT_FALSE(statement.ok());
  EXPECT_EQ(statement.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(statement.status().message(), HasSubstr("Catalog Error"));
  EXPECT_THAT(statement.status().message(), HasSubstr("nowhere"));
}

TEST_F(EnginePrepared, ExecutionErrorCarriesDuckDBMessage) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PreparedStatement> statement, connection_->Prepare("SELECT $1::INTEGER"));
  ASSERT_OK(statement->BindString(1, "not a number"));
  Result<QueryResult> result = statement->Execute();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("Conversion Error"));
  EXPECT_THAT(result.status().message(), HasSubstr("not a number"));
}

// ---- Appender ----

using EngineAppender = EngineFixture;

TEST_F(EngineAppender, RoundTripsRows) {
  ASSERT_OK(connection_->Execute("CREATE TABLE t (i BIGINT, d DOUBLE, b BOOLEAN, s VARCHAR)"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Appender> appender, connection_->CreateAppender("", "t"));
  for (int64_t i = 0; i < 3000; ++i) {
    ASSERT_OK(appender->AppendInt64(i));
    ASSERT_OK(appender->AppendDouble(static_cast<double>(i) / 2));
    ASSERT_OK(appender->AppendBool(i % 2 == 0));
    if (i % 3 == 0) {
      ASSERT_OK(appender->AppendNull());
    } else {
      ASSERT_OK(appender->AppendString("row " + std::to_string(i)));
    }
    ASSERT_OK(appender->EndRow());
  }
  ASSERT_OK(appender->Close());
  EXPECT_THAT(QueryText(*connection_,
                        "SELECT count(*), sum(i), sum(d), count(*) FILTER (b), count(s), "
                        "max(s) FILTER (i = 1) FROM t")
                  .value(),
              ElementsAre(ElementsAre("3000", "4498500", "2249250.0", "1500", "2000", "row 1")));
}

TEST_F(EngineAppender, FlushMakesRowsVisible) {
  ASSERT_OK(connection_->Execute("CREATE SCHEMA s; CREATE TABLE s.t (x BIGINT)"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Appender> appender, connection_->CreateAppender("s", "t"));
  ASSERT_OK(appender->AppendInt64(5));
  ASSERT_OK(appender->EndRow());
  EXPECT_EQ(QueryValue(*connection_, "SELECT count(*) FROM s.t").value(), "0");
  ASSERT_OK(appender->Flush());
  EXPECT_EQ(QueryValue(*connection_, "SELECT count(*) FROM s.t").value(), "1");
}

TEST_F(EngineAppender, ErrorsCarryDuckDBMessage) {
  ASSERT_OK(connection_->Execute("CREATE TABLE t (x INTEGER, y INTEGER)"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Appender> appender, connection_->CreateAppender("", "t"));
  ASSERT_OK(appender->AppendInt64(1));
  Status status = appender->EndRow();  // one value short
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("Invalid Input Error"));
  EXPECT_THAT(status.message(), HasSubstr("EndRow"));
}

TEST_F(EngineAppender, RefusesAMissingTable) {
  Result<std::unique_ptr<Appender>> appender = connection_->CreateAppender("", "absent");
  ASSERT_FALSE(appender.ok());
  EXPECT_EQ(appender.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(appender.status().message(), HasSubstr("Catalog Error"));
  EXPECT_THAT(appender.status().message(), HasSubstr("absent"));
}

// ---- Sandbox ----

// Layout: allowed/ (listed), allowed2/ and other/ (siblings, not listed), file.csv (listed alone).
class EngineSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    allowed_csv_ = tmp_.WriteFile("allowed/people.csv", "id,name\n1,ann\n2,bob\n");
    sibling_csv_ = tmp_.WriteFile("allowed2/people.csv", "id,name\n3,cat\n");
    other_csv_ = tmp_.WriteFile("other/people.csv", "id,name\n4,dan\n");
    single_csv_ = tmp_.WriteFile("file.csv", "id\n7\n");
    allowed_dir_ = tmp_.path() / "allowed";

    SandboxOptions options;
    options.memory_limit_bytes = 256LL << 20;
    options.threads = 2;
    options.allowed_directories = {allowed_dir_.string()};
    options.allowed_files = {single_csv_.string()};
    ASSERT_OK_AND_ASSIGN(sandbox_, OpenSandbox(options));
    ASSERT_OK_AND_ASSIGN(sql_, sandbox_->Connect());
  }

  // Runs `sql` in the sandbox and expects DuckDB's permission refusal.
  void ExpectRefused(const std::string& sql) {
    Status status = sql_->Execute(sql);
    EXPECT_EQ(status.code(), StatusCode::kPermissionDenied) << sql << " -> " << status.ToString();
    EXPECT_THAT(status.message(), HasSubstr("Permission Error")) << sql;
  }

  // Runs `sql` and expects the locked configuration to refuse it.
  void ExpectLocked(const std::string& sql) {
    Status status = sql_->Execute(sql);
    EXPECT_FALSE(status.ok()) << sql;
    EXPECT_THAT(status.message(), HasSubstr("the configuration has been locked")) << sql;
  }

  testing::TempDir tmp_;
  fs::path allowed_dir_, allowed_csv_, sibling_csv_, other_csv_, single_csv_;
  std::unique_ptr<Database> sandbox_;
  std::unique_ptr<Connection> sql_;
};

TEST_F(EngineSandbox, RefusesReadingEtcPasswd) {
  ExpectRefused("SELECT * FROM read_csv('/etc/passwd', sep = ':')");
  ExpectRefused("SELECT * FROM read_text('/etc/passwd')");
}

TEST_F(EngineSandbox, ReadsAFileInAnAllowedFolder) {
  EXPECT_THAT(QueryText(*sql_, "SELECT id, name FROM read_csv(" + Lit(allowed_csv_) + ") ORDER BY id").value(),
              ElementsAre(ElementsAre("1", "ann"), ElementsAre("2", "bob")));
  EXPECT_EQ(QueryValue(*sql_, "SELECT count(*) FROM glob(" + Lit(allowed_dir_ / "*.csv") + ")").value(), "1");
}

TEST_F(EngineSandbox, ReadsAnAllowedSingleFile) {
  EXPECT_EQ(QueryValue(*sql_, "SELECT id FROM read_csv(" + Lit(single_csv_) + ")").value(), "7");
}

TEST_F(EngineSandbox, ReadsParquetWrittenByAnOrdinaryDatabase) {
  const fs::path parquet = allowed_dir_ / "numbers.parquet";
  {
    ASSERT_OK_AND_ASSIGN(auto writer, Database::Open(SmallOptions()));
    ASSERT_OK_AND_ASSIGN(auto connection, writer->Connect());
    ASSERT_OK(connection->Execute("COPY (SELECT range AS n, 'v' || range AS label FROM range(10)) TO " + Lit(parquet) +
                                  " (FORMAT parquet)"));
  }
  ASSERT_TRUE(fs::exists(parquet));
  EXPECT_THAT(
      QueryText(*sql_, "SELECT count(*), sum(n), max(label) FROM read_parquet(" + Lit(allowed_dir_ / "*.parquet") + ")")
          .value(),
      ElementsAre(ElementsAre("10", "45", "v9")));
}

TEST_F(EngineSandbox, RefusesFilesInSiblingFolders) {
  // An ordinary database reads all three, so the refusals below are the sandbox's doing.
  ASSERT_OK_AND_ASSIGN(auto open, Database::Open(SmallOptions()));
  ASSERT_OK_AND_ASSIGN(auto connection, open->Connect());
  ASSERT_OK(connection->Execute("SELECT * FROM read_csv(" + Lit(sibling_csv_) + ")"));
  ASSERT_OK(connection->Execute("SELECT * FROM read_csv(" + Lit(other_csv_) + ")"));

  ExpectRefused("SELECT * FROM read_csv(" + Lit(sibling_csv_) + ")");  // shares the name prefix
  ExpectRefused("SELECT * FROM read_csv(" + Lit(other_csv_) + ")");
  ExpectRefused("SELECT * FROM read_csv(" + Lit(allowed_dir_.string() + "/../other/people.csv") + ")");
  ExpectRefused("SELECT * FROM glob(" + Lit(tmp_.path() / "*") + ")");
}

TEST_F(EngineSandbox, RefusesCopyToAFileOutside) {
  const fs::path target = tmp_.path() / "other" / "x.csv";
  ExpectRefused("COPY (SELECT 1) TO " + Lit(target));
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(EngineSandbox, RefusesAttachingADatabaseFile) {
  const fs::path target = tmp_.path() / "other.db";
  ExpectRefused("ATTACH " + Lit(target));
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(EngineSandbox, RefusesInstallingAndLoadingExtensions) {
  ExpectRefused("INSTALL httpfs");
  ExpectRefused("LOAD httpfs");
  ExpectRefused("LOAD " + Lit(allowed_dir_ / "evil.duckdb_extension"));
}

TEST_F(EngineSandbox, RefusesReenablingExternalAccess) {
  ExpectLocked("SET enable_external_access = true");
  ExpectLocked("SET GLOBAL enable_external_access = true");
  ExpectLocked("PRAGMA enable_external_access = true");
  ExpectRefused("SELECT * FROM read_csv(" + Lit(other_csv_) + ")");
}

TEST_F(EngineSandbox, RefusesUnlockingTheConfiguration) {
  ExpectLocked("SET lock_configuration = false");
  ExpectLocked("RESET lock_configuration");
  EXPECT_FALSE(sql_->Execute("RESET ALL").ok());
  ExpectLocked("SET enable_external_access = true");
}

TEST_F(EngineSandbox, RefusesWideningAnyLimit) {
  ExpectLocked("SET allowed_directories = ['/']");
  ExpectLocked("SET allowed_paths = ['/etc/passwd']");
  ExpectLocked("SET temp_directory = '/tmp'");
  ExpectLocked("SET memory_limit = '100GB'");
  ExpectLocked("SET threads = 64");
  ExpectLocked("SET autoinstall_known_extensions = true");
  ExpectLocked("SET autoload_known_extensions = true");
  ExpectLocked("SET allow_unsigned_extensions = true");
  ExpectLocked("SET allow_community_extensions = true");
  ExpectLocked("SET log_query_path = " + Lit(tmp_.path() / "queries.log"));
  EXPECT_EQ(QueryValue(*sql_, "SELECT current_setting('threads')::VARCHAR").value(), "2");
  EXPECT_EQ(QueryValue(*sql_, "SELECT current_setting('memory_limit')").value(), "256.0 MiB");
}

TEST_F(EngineSandbox, AllowsExactlyTheListedPaths) {
  // DuckDB's default temp directory (".tmp" under the working directory) would otherwise be
  // allowed silently; the sandbox turns spilling off instead.
  EXPECT_EQ(QueryValue(*sql_, "SELECT current_setting('allowed_directories')::VARCHAR").value(),
            "[" + allowed_dir_.string() + "/]");
  EXPECT_EQ(QueryValue(*sql_, "SELECT current_setting('temp_directory')").value(), "");
  ExpectRefused("COPY (SELECT 1) TO '.tmp/x.csv'");
  EXPECT_THAT(QueryText(*sql_,
                        "SELECT current_setting('enable_external_access'), "
                        "current_setting('lock_configuration'), "
                        "current_setting('autoinstall_known_extensions'), "
                        "current_setting('autoload_known_extensions'), "
                        "current_setting('allow_community_extensions'), "
                        "current_setting('allow_persistent_secrets')")
                  .value(),
              ElementsAre(ElementsAre("false", "true", "false", "false", "false", "false")));
}

TEST_F(EngineSandbox, SpillDirectoryIsTheOnlyExtraFolder) {
  SandboxOptions options;
  options.memory_limit_bytes = 256LL << 20;
  options.threads = 1;
  options.spill_directory = (tmp_.path() / "spill").string();
  ASSERT_OK_AND_ASSIGN(auto sandbox, OpenSandbox(options));
  ASSERT_OK_AND_ASSIGN(auto connection, sandbox->Connect());
  EXPECT_EQ(QueryValue(*connection, "SELECT current_setting('allowed_directories')::VARCHAR").value(),
            "[" + options.spill_directory + "/]");
  Status status = connection->Execute("SELECT * FROM read_csv(" + Lit(allowed_csv_) + ")");
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied) << status.ToString();
}

TEST_F(EngineSandbox, QuotesPathsSafely) {
  const fs::path csv = tmp_.WriteFile("it's here/q.csv", "v\nquoted\n");
  SandboxOptions options;
  options.memory_limit_bytes = 256LL << 20;
  options.threads = 1;
  options.allowed_directories = {(tmp_.path() / "it's here").string()};
  ASSERT_OK_AND_ASSIGN(auto sandbox, OpenSandbox(options));
  ASSERT_OK_AND_ASSIGN(auto connection, sandbox->Connect());
  EXPECT_EQ(QueryValue(*connection, "SELECT v FROM read_csv(" + Lit(csv) + ")").value(), "quoted");
}

TEST_F(EngineSandbox, RejectsRelativePaths) {
  SandboxOptions options;
  options.allowed_directories = {"data"};
  EXPECT_EQ(OpenSandbox(options).status().code(), StatusCode::kInvalidArgument);
  options = SandboxOptions();
  options.allowed_files = {"data/x.csv"};
  EXPECT_EQ(OpenSandbox(options).status().code(), StatusCode::kInvalidArgument);
  options = SandboxOptions();
  options.spill_directory = "spill";
  EXPECT_EQ(OpenSandbox(options).status().code(), StatusCode::kInvalidArgument);
}

// DuckDB has no read-only allowance: what SQL may read it may also write. engine.h documents this;
// the test notices if DuckDB ever changes it.
TEST_F(EngineSandbox, AllowedFolderIsWritableToo) {
  const fs::path target = allowed_dir_ / "written.csv";
  ASSERT_OK(sql_->Execute("COPY (SELECT 1 AS x) TO " + Lit(target)));
  EXPECT_TRUE(fs::exists(target));
}

}  // namespace
}  // namespace edl
