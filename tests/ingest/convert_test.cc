#include "ingest/convert.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "testing/status_testing.h"
#include "testing/temp_dir.h"

// Suites are named Convert*, Format*, Parquet* and Schema* so that `ctest -R` selects them.
namespace edl {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::SizeIs;


// A work folder (raw/ and out/) and the sandbox ConvertToParquet runs in, as the ingest service
// sets them up: the sandbox reaches only the work folder.
class ConvertFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    SandboxOptions options;
    options.memory_limit_bytes = 512LL << 20;
    options.threads = 2;
    options.allowed_directories = {work_.path().string()};
    auto sandbox = OpenSandbox(options);
    ASSERT_TRUE(sandbox.ok()) << sandbox.status().ToString();
    db_ = std::move(sandbox).value();
    fs::create_directories(out_dir());
  }

  fs::path out_dir() const { return work_.path() / "out"; }
  fs::path Raw(const std::string& name, std::string_view content) const {
    return work_.WriteFile("raw/" + name, content);
  }

  Result<ConvertResult> Convert(const std::string& name, std::string_view content, const ConvertOptions& options = {}) {
    return ConvertToParquet(*db_, Raw(name, content), name, out_dir(), options);
  }

  // Rows of a query against the produced Parquet, in a separate, unrestricted database.
  TextRows Query(const std::string& sql) {
    DatabaseOptions options;
    options.temp_directory = "";
    auto db = Database::Open(options);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    auto connection = (*db)->Connect();
    EXPECT_TRUE(connection.ok());
    auto result = (*connection)->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    if (!result.ok()) return {};
    auto rows = result->FetchAllAsText();
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : TextRows{};
  }

  // Writes a Parquet file from a query, outside the sandbox.
  fs::path MakeParquet(const std::string& relative, const std::string& select) {
    fs::path path = work_.path() / relative;
    fs::create_directories(path.parent_path());
    Query("COPY (" + select + ") TO " + SqlString(path.string()) + " (FORMAT parquet)");
    return path;
  }

  std::vector<std::string> OutFiles() const {
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(out_dir())) {
      files.push_back(fs::relative(entry.path(), out_dir()).generic_string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  void ExpectInvalid(const Result<ConvertResult>& result, const std::string& needle) {
    ASSERT_FALSE(result.ok()) << "converted although it should not";
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
    EXPECT_THAT(result.status().message(), HasSubstr(needle));
    EXPECT_THAT(OutFiles(), ::testing::IsEmpty()) << "a failed conversion left files behind";
  }

  testing::TempDir work_;
  std::unique_ptr<Database> db_;
};

std::vector<std::string> Names(const std::vector<ColumnSchema>& schema) {
  std::vector<std::string> names;
  names.reserve(schema.size());
  for (const ColumnSchema& column : schema) names.push_back(column.name);
  return names;
}

std::vector<std::string> Types(const std::vector<ColumnSchema>& schema) {
  std::vector<std::string> types;
  types.reserve(schema.size());
  for (const ColumnSchema& column : schema) types.push_back(column.type);
  return types;
}

// ---- CSV round trips ----

using ConvertCsv = ConvertFixture;

TEST_F(ConvertCsv, SniffsDialectAndTypes) {
  ASSERT_OK_AND_ASSIGN(
      ConvertResult result,
      Convert("sub/file1.csv",
              "id,name,price,day\n1,apple,1.5,2024-01-02\n2,\"pear, green\",2.25,2024-02-03\n3,,3,\n"));
  EXPECT_EQ(result.format, RawFormat::kCsv);
  EXPECT_EQ(result.rows, 3);
  EXPECT_THAT(Names(result.schema), ElementsAre("id", "name", "price", "day"));
  EXPECT_THAT(Types(result.schema), ElementsAre("BIGINT", "VARCHAR", "DOUBLE", "DATE"));
  EXPECT_TRUE(result.schema[0].nullable);
  ASSERT_THAT(result.outputs, SizeIs(1));
  EXPECT_EQ(result.outputs[0].name, "sub/file1.parquet");
  EXPECT_EQ(result.outputs[0].path, out_dir() / "sub/file1.parquet");
  EXPECT_EQ(result.outputs[0].rows, 3);
  EXPECT_EQ(result.outputs[0].bytes, fs::file_size(out_dir() / "sub/file1.parquet"));
  EXPECT_THAT(OutFiles(), ElementsAre("sub", "sub/file1.parquet"));

  TextRows rows = Query("SELECT id, name, price, day FROM read_parquet(" +
                        SqlString((out_dir() / "sub/file1.parquet").string()) + ") ORDER BY id");
  ASSERT_THAT(rows, SizeIs(3));
  EXPECT_EQ(rows[1][1], std::optional<std::string>("pear, green"));
  EXPECT_EQ(rows[2][1], std::nullopt);
  EXPECT_EQ(rows[2][3], std::nullopt);
  EXPECT_THAT(Query("SELECT DISTINCT compression FROM parquet_metadata(" +
                    SqlString((out_dir() / "sub/file1.parquet").string()) + ")"),
              ElementsAre(ElementsAre(Optional(std::string("ZSTD")))));
}

TEST_F(ConvertCsv, TabSeparatedByExtension) {
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("t.tsv", "a\tb\n1\tx y\n2\tz\n"));
  EXPECT_THAT(Names(result.schema), ElementsAre("a", "b"));
  EXPECT_EQ(result.rows, 2);
  EXPECT_EQ(result.outputs[0].name, "t.parquet");
}

TEST_F(ConvertCsv, TabSeparatedByFormatType) {
  ConvertOptions options;
  options.format.type = "tsv";
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("export.dat", "a\tb\n1\t2\n", options));
  EXPECT_THAT(Names(result.schema), ElementsAre("a", "b"));
  EXPECT_THAT(Types(result.schema), ElementsAre("BIGINT", "BIGINT"));
}

TEST_F(ConvertCsv, PipeDelimited) {
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("p.psv", "a|b|c\n1|x|2.5\n2|y|3.5\n"));
  EXPECT_THAT(Names(result.schema), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Types(result.schema), ElementsAre("BIGINT", "VARCHAR", "DOUBLE"));
}

TEST_F(ConvertCsv, DatasetOverrides) {
  ConvertOptions options;
  options.format.delimiter = ";";
  options.format.header = false;
  options.format.null_strings = {"NA", ""};
  options.format.date_format = "%d/%m/%Y";
  options.format.column_types = {{"column0", "VARCHAR"}, {"column3", "DECIMAL(10,2)"}};
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("o.csv", "007;02/01/2024;NA;1.5\n008;31/12/2024;x;2\n", options));
  EXPECT_EQ(result.rows, 2);  // header false: the first line is data
  EXPECT_THAT(Names(result.schema), ElementsAre("column0", "column1", "column2", "column3"));
  EXPECT_THAT(Types(result.schema), ElementsAre("VARCHAR", "DATE", "VARCHAR", "DECIMAL(10,2)"));
  TextRows rows =
      Query("SELECT column0, CAST(column1 AS VARCHAR), column2, CAST(column3 AS VARCHAR) FROM read_parquet(" +
            SqlString(result.outputs[0].path.string()) + ") ORDER BY column0");
  ASSERT_THAT(rows, SizeIs(2));
  EXPECT_EQ(rows[0][0], std::optional<std::string>("007"));  // leading zeros kept as VARCHAR
  EXPECT_EQ(rows[0][1], std::optional<std::string>("2024-01-02"));
  EXPECT_EQ(rows[0][2], std::nullopt);  // "NA"
  EXPECT_EQ(rows[0][3], std::optional<std::string>("1.50"));
  EXPECT_EQ(rows[1][1], std::optional<std::string>("2024-12-31"));
}

TEST_F(ConvertCsv, TabDelimiterOverrideSpelledBackslashT) {
  ConvertOptions options;
  options.format.delimiter = "\\t";
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("x.csv", "a\tb\n1\t2\n", options));
  EXPECT_THAT(Names(result.schema), ElementsAre("a", "b"));
}

TEST_F(ConvertCsv, TimestampFormatOverride) {
  ConvertOptions options;
  options.format.timestamp_format = "%d.%m.%Y %H:%M";
  ASSERT_OK_AND_ASSIGN(ConvertResult result,
                       Convert("ts.csv", "at,n\n02.01.2024 13:45,1\n03.01.2024 08:00,2\n", options));
  EXPECT_THAT(Types(result.schema), ElementsAre("TIMESTAMP", "BIGINT"));
  TextRows rows =
      Query("SELECT CAST(min(\"at\") AS VARCHAR) FROM read_parquet(" + SqlString(result.outputs[0].path.string()) + ")");
  EXPECT_THAT(rows, ElementsAre(ElementsAre(Optional(std::string("2024-01-02 13:45:00")))));
}

TEST_F(ConvertCsv, ExplicitTypeForUnknownColumnIsRefused) {
  ConvertOptions options;
  options.format.column_types = {{"nope", "INTEGER"}};
  ExpectInvalid(Convert("a.csv", "a,b\n1,2\n", options), "nope");
}

TEST_F(ConvertCsv, QuotedNewlinesInFields) {
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("q.csv", "id,text\n1,\"line one\nline two\"\n2,\"x\"\n"));
  EXPECT_EQ(result.rows, 2);
  TextRows rows = Query("SELECT text FROM read_parquet(" + SqlString(result.outputs[0].path.string()) + ") ORDER BY id");
  EXPECT_EQ(rows[0][0], std::optional<std::string>("line one\nline two"));
}

// Lines starting with '#' are data, not comments that the sniffer may choose to drop.
TEST_F(ConvertCsv, HashLinesAreData) {
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("hash.csv", "tag,n\n#red,1\n#blue,2\nplain,3\n"));
  EXPECT_EQ(result.rows, 3);
  EXPECT_THAT(Names(result.schema), ElementsAre("tag", "n"));
}

TEST_F(ConvertCsv, ByteOrderMarkIsNotPartOfTheFirstName) {
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("bom.csv", "\xEF\xBB\xBFid,name\n1,a\n2,b\n"));
  EXPECT_THAT(Names(result.schema), ElementsAre("id", "name"));
  EXPECT_EQ(result.schema[0].type, "BIGINT");
  TextRows names =
      Query("SELECT name FROM parquet_schema(" + SqlString(result.outputs[0].path.string()) + ") WHERE num_children IS NULL");
  EXPECT_THAT(names, ElementsAre(ElementsAre(Optional(std::string("id"))), ElementsAre(Optional(std::string("name")))));
}

TEST_F(ConvertCsv, NamesWithSpacesDotsAndUnicodeRoundTrip) {
  ASSERT_OK_AND_ASSIGN(ConvertResult result,
                       Convert("names.csv", "\"order id\",x.y,naïve,日本,\"say \"\"hi\"\"\",it's\n1,2,3,4,5,6\n"));
  const std::vector<std::string> expected = {"order id", "x.y", "naïve", "日本", "say \"hi\"", "it's"};
  EXPECT_EQ(Names(result.schema), expected);
  TextRows names =
      Query("SELECT name FROM parquet_schema(" + SqlString(result.outputs[0].path.string()) + ") WHERE num_children IS NULL");
  std::vector<std::string> in_parquet;
  for (const auto& row : names) in_parquet.push_back(row[0].value_or(""));
  EXPECT_EQ(in_parquet, expected);
}

TEST_F(ConvertCsv, FileNamesWithQuotesAreQuoted) {
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("o'brien \"x\"; DROP.csv", "a\n1\n"));
  EXPECT_EQ(result.rows, 1);
  EXPECT_EQ(result.outputs[0].name, "o'brien \"x\"; DROP.parquet");
  EXPECT_TRUE(fs::exists(out_dir() / "o'brien \"x\"; DROP.parquet"));
}

TEST_F(ConvertCsv, TenMegabyteSingleLine) {
  const std::string huge(10 << 20, 'x');
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("huge.csv", "id,text\n1," + huge + "\n2,y\n"));
  EXPECT_EQ(result.rows, 2);
  EXPECT_THAT(Query("SELECT max(strlen(text)) FROM read_parquet(" + SqlString(result.outputs[0].path.string()) + ")"),
              ElementsAre(ElementsAre(Optional(std::to_string(10 << 20)))));
}

// The sniffer types columns from a sample (20480 rows); a value after it that does not fit the
// sampled type makes EDL scan the whole file for types instead of failing.
TEST_F(ConvertCsv, ValueBeyondTheSniffSampleWidensTheType) {
  std::string csv = "a,b\n";
  for (int i = 0; i < 30000; ++i) csv += std::to_string(i) + ",x\n";
  csv += "abc,y\n";
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("late.csv", csv));
  EXPECT_EQ(result.rows, 30001);
  EXPECT_THAT(Types(result.schema), ElementsAre("VARCHAR", "VARCHAR"));
}

TEST_F(ConvertCsv, SameStemAsAnotherOutputIsRefused) {
  ASSERT_OK(Convert("a.csv", "x\n1\n").status());
  auto second = Convert("a.json", "[{\"x\": 1}]");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(second.status().message(), HasSubstr("a.parquet"));
}

TEST_F(ConvertCsv, RawNameMustStayInsideTheUpdate) {
  fs::path raw = Raw("a.csv", "x\n1\n");
  for (const char* name : {"../a.csv", "/abs/a.csv", ""}) {
    auto result = ConvertToParquet(*db_, raw, name, out_dir(), {});
    ASSERT_FALSE(result.ok()) << name;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(ConvertCsv, MissingRawFileIsNotFound) {
  auto result = ConvertToParquet(*db_, work_.path() / "raw/none.csv", "none.csv", out_dir(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("none.csv"));
}

TEST_F(ConvertCsv, FileOutsideTheSandboxIsRefused) {
  testing::TempDir elsewhere;
  fs::path raw = elsewhere.WriteFile("a.csv", "x\n1\n");
  auto result = ConvertToParquet(*db_, raw, "a.csv", out_dir(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kPermissionDenied) << result.status().ToString();
}

// ---- Splitting ----

using ConvertSplit = ConvertFixture;

TEST_F(ConvertSplit, LargeOutputIsSplitIntoNumberedParts) {
  std::string csv = "id,text\n";
  for (int i = 0; i < 100000; ++i) csv += std::to_string(i) + ",row number " + std::to_string(i * 7919 % 100003) + "\n";
  ConvertOptions options;
  options.target_file_bytes = 100 << 10;
  options.row_group_rows = 10000;
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("dir/big.csv", csv, options));
  EXPECT_EQ(result.rows, 100000);
  ASSERT_GE(result.outputs.size(), 3u);
  int64_t rows = 0;
  for (size_t i = 0; i < result.outputs.size(); ++i) {
    std::string number = std::to_string(i + 1);
    number.insert(0, 5 - number.size(), '0');
    EXPECT_EQ(result.outputs[i].name, "dir/big-" + number + ".parquet");
    EXPECT_TRUE(fs::exists(result.outputs[i].path));
    EXPECT_EQ(result.outputs[i].bytes, fs::file_size(result.outputs[i].path));
    EXPECT_GT(result.outputs[i].rows, 0);
    rows += result.outputs[i].rows;
  }
  EXPECT_EQ(rows, 100000);
  // Parts follow the input's order.
  EXPECT_THAT(Query("SELECT min(id) FROM read_parquet(" + SqlString(result.outputs[0].path.string()) + ")"),
              ElementsAre(ElementsAre(Optional(std::string("0")))));
  EXPECT_THAT(Query("SELECT max(id) FROM read_parquet(" + SqlString(result.outputs.back().path.string()) + ")"),
              ElementsAre(ElementsAre(Optional(std::string("99999")))));
  // Nothing else is left in the folder (no scratch folder).
  EXPECT_EQ(OutFiles().size(), result.outputs.size() + 1);
}

TEST_F(ConvertSplit, SmallOutputIsOneFileNamedAfterTheRawFile) {
  ConvertOptions options;
  options.target_file_bytes = 1 << 20;
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("small.csv", "a\n1\n2\n", options));
  ASSERT_THAT(result.outputs, SizeIs(1));
  EXPECT_EQ(result.outputs[0].name, "small.parquet");
}

// ---- Bad input ----

using ConvertBadInput = ConvertFixture;

TEST_F(ConvertBadInput, EmptyFile) {
  ExpectInvalid(Convert("empty.csv", ""), "'empty.csv' is empty");
}

TEST_F(ConvertBadInput, WhiteSpaceOnlyFile) {
  ExpectInvalid(Convert("blank.csv", "\n \n\r\n"), "'blank.csv' is empty");
}

TEST_F(ConvertBadInput, HeaderOnly) {
  ExpectInvalid(Convert("header.csv", "id,name\n"), "'header.csv' has a header but no data rows");
}

TEST_F(ConvertBadInput, RaggedRowWithTooManyFields) {
  ExpectInvalid(Convert("ragged.csv", "a,b\n1,2\n3,4,5\n6,7\n"), "'ragged.csv' has ragged rows: line 3 has 3 fields");
}

TEST_F(ConvertBadInput, RaggedRowWithTooFewFields) {
  ExpectInvalid(Convert("ragged.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n"),
                "'ragged.csv' has ragged rows: line 3 has 2 fields");
}

// DuckDB's sniffer would take the first rows for a preamble and skip them (skip=2), keeping only the
// last, longer row.
TEST_F(ConvertBadInput, RaggedLastRowDoesNotSwallowTheRowsBeforeIt) {
  ExpectInvalid(Convert("ragged.csv", "a,b\n1,2\n3,4,5\n"), "'ragged.csv' has ragged rows: line 3 has 3 fields");
}

TEST_F(ConvertBadInput, RaggedRowAfterTheSniffSample) {
  std::string csv = "a,b,c\n";
  for (int i = 0; i < 30000; ++i) csv += std::to_string(i) + ",x,y\n";
  csv += "1,2,3,4\n";
  ExpectInvalid(Convert("late.csv", csv),
                "'late.csv' has ragged rows: line 30002 has 4 fields where the first line has 3");
}

TEST_F(ConvertBadInput, RaggedRowWithDelimiterOverride) {
  ConvertOptions options;
  options.format.delimiter = ";";
  ExpectInvalid(Convert("ragged.csv", "a;b\n1;2\n3\n", options), "'ragged.csv' has ragged rows: line 3 has 1 field");
}

TEST_F(ConvertBadInput, InvalidUtf8) {
  auto result = Convert("bad.csv", "id,name\n1,ok\n2,b\xFF\xFE\n3,c\n");
  ExpectInvalid(result, "'bad.csv' is not valid UTF-8 at line 3");
}

TEST_F(ConvertBadInput, Latin1IsRefusedWithAHintToConvert) {
  auto result = Convert("latin1.csv", "id,name\n1,caf\xE9\n2,na\xEFve\n");
  ExpectInvalid(result, "'latin1.csv' is not valid UTF-8");
  EXPECT_THAT(result.status().message(), HasSubstr("iconv"));
}

TEST_F(ConvertBadInput, InvalidUtf8AfterTheSniffSample) {
  std::string csv = "a,b\n";
  for (int i = 0; i < 30000; ++i) csv += std::to_string(i) + ",x\n";
  csv += "1,caf\xE9\n";
  ExpectInvalid(Convert("late.csv", csv), "'late.csv' is not valid UTF-8 at line 30002");
}

TEST_F(ConvertBadInput, DuplicateColumnNames) {
  ExpectInvalid(Convert("dup.csv", "a,b,a\n1,2,3\n"), "'dup.csv' has duplicate column names (ignoring case): 'a', 'a'");
}

TEST_F(ConvertBadInput, DuplicateColumnNamesDifferingInCase) {
  ExpectInvalid(Convert("dup.csv", "Id,name,ID\n1,2,3\n"), "'Id', 'ID'");
}

TEST_F(ConvertBadInput, LineOverTheLimitFailsClearly) {
  // Just over 64 MiB: refused with the limit named, not a crash or a silent cut.
  std::string csv = "id,text\n1,";
  csv.append((64 << 20) + 16, 'x');
  csv += "\n2,y\n";
  ExpectInvalid(Convert("toolong.csv", csv), "'toolong.csv' has a line of 67108882 bytes, over the limit of 64 MiB");
}

TEST_F(ConvertBadInput, MalformedJson) {
  ExpectInvalid(Convert("bad.json", "[{\"a\": 1}, {\"a\": "), "cannot read 'bad.json' as JSON");
}

TEST_F(ConvertBadInput, InvalidUtf8InJson) {
  ExpectInvalid(Convert("bad.json", "{\"a\": \"caf\xE9\"}\n"), "'bad.json' is not valid UTF-8");
}

TEST_F(ConvertBadInput, EmptyJsonArray) {
  ExpectInvalid(Convert("none.json", "[]"), "'none.json' holds no JSON records");
}

TEST_F(ConvertBadInput, JsonKeysDifferingOnlyInCase) {
  ExpectInvalid(Convert("keys.json", "{\"Id\": 1}\n{\"ID\": 2}\n"), "'ID', 'Id'");
}

TEST_F(ConvertBadInput, CorruptParquet) {
  ExpectInvalid(Convert("broken.parquet", "PAR1 this is not really parquet PAR1"),
                "'broken.parquet' is not a valid Parquet file");
}

TEST_F(ConvertBadInput, TruncatedParquet) {
  fs::path good = MakeParquet("made/t.parquet", "SELECT range AS id FROM range(1000)");
  std::string bytes = testing::ReadFile(good);
  ExpectInvalid(Convert("cut.parquet", bytes.substr(0, bytes.size() / 2)), "'cut.parquet' is not a valid Parquet file");
}

// ---- JSON ----

using ConvertJson = ConvertFixture;

TEST_F(ConvertJson, Array) {
  ASSERT_OK_AND_ASSIGN(ConvertResult result,
                       Convert("a.json", R"([{"id": 1, "name": "x", "tags": ["a", "b"]}, {"id": 2, "name": null}])"));
  EXPECT_EQ(result.format, RawFormat::kJson);
  EXPECT_EQ(result.rows, 2);
  EXPECT_THAT(Names(result.schema), ElementsAre("id", "name", "tags"));
  EXPECT_THAT(Types(result.schema), ElementsAre("BIGINT", "VARCHAR", "VARCHAR[]"));
  EXPECT_EQ(result.outputs[0].name, "a.parquet");
}

TEST_F(ConvertJson, NewlineDelimited) {
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("n.ndjson", "{\"id\": 1, \"v\": 1.5}\n{\"id\": 2, \"v\": 2}\n"));
  EXPECT_EQ(result.rows, 2);
  EXPECT_THAT(Types(result.schema), ElementsAre("BIGINT", "DOUBLE"));
}

TEST_F(ConvertJson, ExplicitTypes) {
  ConvertOptions options;
  options.format.column_types = {{"id", "VARCHAR"}, {"amount", "DECIMAL(10,2)"}};
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("t.jsonl", "{\"id\": 1, \"amount\": 1.5}\n", options));
  EXPECT_THAT(Types(result.schema), ElementsAre("VARCHAR", "DECIMAL(10,2)"));
}

TEST_F(ConvertJson, ExplicitTypeThatIsNotATypeNameIsRefused) {
  ConvertOptions options;
  options.format.column_types = {{"id", "INTEGER); DROP TABLE x; --"}};
  ExpectInvalid(Convert("t.json", "{\"id\": 1}\n", options), "is not a type name");
}

// ---- Parquet ----

using ConvertParquet = ConvertFixture;

TEST_F(ConvertParquet, ValidFileIsPassedThrough) {
  fs::path made = MakeParquet("made/p.parquet", "SELECT range AS id, 'x' || range AS name FROM range(10)");
  std::string bytes = testing::ReadFile(made);
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("in/p.parquet", bytes));
  EXPECT_EQ(result.format, RawFormat::kParquet);
  EXPECT_EQ(result.rows, 10);
  ASSERT_THAT(result.outputs, SizeIs(1));
  EXPECT_EQ(result.outputs[0].name, "in/p.parquet");
  EXPECT_EQ(result.outputs[0].rows, 10);
  EXPECT_EQ(testing::ReadFile(result.outputs[0].path), bytes);
  EXPECT_THAT(Names(result.schema), ElementsAre("id", "name"));
  EXPECT_THAT(Types(result.schema), ElementsAre("BIGINT", "VARCHAR"));
}

TEST_F(ConvertParquet, RecognisedByContentWithoutExtension) {
  fs::path made = MakeParquet("made/p.parquet", "SELECT 1 AS id");
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("export.bin", testing::ReadFile(made)));
  EXPECT_EQ(result.format, RawFormat::kParquet);
  EXPECT_EQ(result.outputs[0].name, "export.parquet");
}

// ---- Format detection ----

using FormatDetection = ConvertFixture;

TEST_F(FormatDetection, ByOverrideThenExtensionThenContent) {
  FormatOptions none;
  FormatOptions json;
  json.type = "json";
  EXPECT_EQ(DetectFormat(Raw("a.csv", "a,b\n1,2\n"), none), RawFormat::kCsv);
  EXPECT_EQ(DetectFormat(Raw("a.txt", "a,b\n1,2\n"), none), RawFormat::kCsv);
  EXPECT_EQ(DetectFormat(Raw("a.tsv", "a\tb\n"), none), RawFormat::kCsv);
  EXPECT_EQ(DetectFormat(Raw("a.json", "[]"), none), RawFormat::kJson);
  EXPECT_EQ(DetectFormat(Raw("a.jsonl", "{}"), none), RawFormat::kJson);
  EXPECT_EQ(DetectFormat(Raw("a.parquet", "x"), none), RawFormat::kParquet);
  EXPECT_EQ(DetectFormat(Raw("data.csv", "{\"a\": 1}\n"), json), RawFormat::kJson);
  EXPECT_EQ(DetectFormat(Raw("noext1", "{\"a\": 1}\n"), none), RawFormat::kJson);
  EXPECT_EQ(DetectFormat(Raw("noext2", "a;b\n1;2\n3;4\n"), none), RawFormat::kCsv);
  EXPECT_EQ(DetectFormat(Raw("noext3", std::string("PAR1\x15\x04", 6)), none), RawFormat::kParquet);
  EXPECT_EQ(DetectFormat(Raw("readme", "Just some prose.\nNothing tabular here\n"), none), RawFormat::kRawOnly);
  EXPECT_EQ(DetectFormat(Raw("blob.bin", std::string("\x01\x02\x00\x03\xFF", 5)), none), RawFormat::kRawOnly);
}

TEST_F(FormatDetection, PdfAndImagesAreRawOnlyWithAReason) {
  const std::pair<std::string, std::string> files[] = {
      {"doc.pdf", "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n"},
      {"pic.png", std::string("\x89PNG\r\n\x1A\n\0\0\0\rIHDR", 16)},
      {"pic.jpg", "\xFF\xD8\xFF\xE0\0\x10JFIF"},
      {"unknown.bin", std::string("\x00\x01\x02\x03\x04\x05", 6)},
  };
  for (const auto& [name, content] : files) {
    ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert(name, content));
    EXPECT_EQ(result.format, RawFormat::kRawOnly) << name;
    EXPECT_TRUE(result.outputs.empty());
    EXPECT_THAT(result.raw_only_reason, HasSubstr("EDL converts CSV/TSV, JSON and Parquet")) << name;
  }
  EXPECT_THAT(OutFiles(), ::testing::IsEmpty());
}

TEST_F(FormatDetection, PdfStaysRawOnlyEvenInACsvDataset) {
  ConvertOptions options;
  options.format.type = "csv";
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("manual.pdf", "%PDF-1.4\n", options));
  EXPECT_EQ(result.format, RawFormat::kRawOnly);
  EXPECT_THAT(result.raw_only_reason, HasSubstr("PDF"));
}

TEST(FormatNames, AreStable) {
  EXPECT_EQ(RawFormatName(RawFormat::kCsv), "csv");
  EXPECT_EQ(RawFormatName(RawFormat::kJson), "json");
  EXPECT_EQ(RawFormatName(RawFormat::kParquet), "parquet");
  EXPECT_EQ(RawFormatName(RawFormat::kRawOnly), "raw-only");
}

// ---- DescribeParquet ----

using ParquetStats = ConvertFixture;

const ColumnStats* Find(const UpdateStats& stats, const std::string& name) {
  for (const ColumnStats& column : stats.columns) {
    if (column.name == name) return &column;
  }
  return nullptr;
}

TEST_F(ParquetStats, NullCountsAndTypedMinMaxAcrossFiles) {
  // Two files; "9" < "10" as numbers but not as text, so min/max must compare typed values.
  fs::path a = MakeParquet("data/a.parquet",
                           "SELECT * FROM (VALUES (9, 1.5::DOUBLE, DATE '2024-03-01', 'pear', NULL::INTEGER), "
                           "(10, -2.25, NULL, 'apple', NULL)) t(i, d, day, s, empty)");
  fs::path b = MakeParquet("data/b.parquet",
                           "SELECT * FROM (VALUES (100, 0.5::DOUBLE, DATE '2023-12-31', NULL, NULL::INTEGER), "
                           "(2, 10.0, DATE '2025-01-01', 'zebra', NULL)) t(i, d, day, s, empty)");
  ASSERT_OK_AND_ASSIGN(UpdateStats stats, DescribeParquet(*db_, {a, b}));
  EXPECT_EQ(stats.rows, 4);
  ASSERT_THAT(stats.columns, SizeIs(5));

  const ColumnStats* i = Find(stats, "i");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->type, "INTEGER");
  EXPECT_EQ(i->null_count, 0);
  EXPECT_FALSE(i->nullable);
  EXPECT_EQ(i->min, std::optional<std::string>("2"));
  EXPECT_EQ(i->max, std::optional<std::string>("100"));

  const ColumnStats* d = Find(stats, "d");
  EXPECT_EQ(d->type, "DOUBLE");
  EXPECT_EQ(d->min, std::optional<std::string>("-2.25"));
  EXPECT_EQ(d->max, std::optional<std::string>("10.0"));

  const ColumnStats* day = Find(stats, "day");
  EXPECT_EQ(day->type, "DATE");
  EXPECT_EQ(day->null_count, 1);
  EXPECT_TRUE(day->nullable);
  EXPECT_EQ(day->min, std::optional<std::string>("2023-12-31"));
  EXPECT_EQ(day->max, std::optional<std::string>("2025-01-01"));

  const ColumnStats* s = Find(stats, "s");
  EXPECT_EQ(s->type, "VARCHAR");
  EXPECT_EQ(s->null_count, 1);
  EXPECT_EQ(s->min, std::optional<std::string>("apple"));
  EXPECT_EQ(s->max, std::optional<std::string>("zebra"));

  const ColumnStats* empty = Find(stats, "empty");
  EXPECT_EQ(empty->null_count, 4);
  EXPECT_TRUE(empty->nullable);
  EXPECT_EQ(empty->min, std::nullopt);
  EXPECT_EQ(empty->max, std::nullopt);
}

TEST_F(ParquetStats, DecimalsTimestampsAndNestedColumns) {
  fs::path a = MakeParquet("data/n.parquet",
                           "SELECT 12.50::DECIMAL(10,2) AS amount, TIMESTAMP '2024-01-02 03:04:05' AS at, "
                           "{'x': 1} AS nested, [1, 2] AS list");
  ASSERT_OK_AND_ASSIGN(UpdateStats stats, DescribeParquet(*db_, {a}));
  EXPECT_EQ(Find(stats, "amount")->type, "DECIMAL(10,2)");
  EXPECT_EQ(Find(stats, "amount")->min, std::optional<std::string>("12.50"));
  EXPECT_EQ(Find(stats, "at")->max, std::optional<std::string>("2024-01-02 03:04:05"));
  EXPECT_EQ(Find(stats, "nested")->type, "STRUCT(x INTEGER)");
  EXPECT_EQ(Find(stats, "nested")->min, std::nullopt);
  EXPECT_TRUE(Find(stats, "nested")->nullable);
  EXPECT_EQ(Find(stats, "list")->type, "INTEGER[]");
}

TEST_F(ParquetStats, StatisticsOfConvertedCsv) {
  ASSERT_OK_AND_ASSIGN(ConvertResult result, Convert("c.csv", "id,name\n3,b\n1,\n2,a\n"));
  std::vector<fs::path> files;
  for (const ParquetOutput& output : result.outputs) files.push_back(output.path);
  ASSERT_OK_AND_ASSIGN(UpdateStats stats, DescribeParquet(*db_, files));
  EXPECT_EQ(stats.rows, 3);
  EXPECT_EQ(Find(stats, "id")->min, std::optional<std::string>("1"));
  EXPECT_EQ(Find(stats, "id")->max, std::optional<std::string>("3"));
  EXPECT_EQ(Find(stats, "name")->null_count, 1);
}

TEST_F(ParquetStats, DifferentSchemasAreRefusedNamingBothFiles) {
  fs::path a = MakeParquet("data/a.parquet", "SELECT 1 AS id, 'x' AS name");
  fs::path b = MakeParquet("data/b.parquet", "SELECT 'one' AS id, 'x' AS name");
  auto stats = DescribeParquet(*db_, {a, b});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(stats.status().message(), AllOf(HasSubstr("a.parquet"), HasSubstr("b.parquet"), HasSubstr("'id' INTEGER"),
                                              HasSubstr("'id' VARCHAR")));
}

TEST_F(ParquetStats, NoFilesDescribeNothing) {
  ASSERT_OK_AND_ASSIGN(UpdateStats stats, DescribeParquet(*db_, {}));
  EXPECT_EQ(stats.rows, 0);
  EXPECT_TRUE(stats.columns.empty());
}

// ---- DiffSchemas ----

TEST(SchemaDiff, AddedRemovedAndRetypedByName) {
  const std::vector<ColumnSchema> before = {{"id", "BIGINT", true}, {"name", "VARCHAR", true}, {"old", "DATE", true}};
  const std::vector<ColumnSchema> after = {{"name", "VARCHAR", true}, {"id", "VARCHAR", true}, {"new", "DOUBLE", true}};
  SchemaChange change = DiffSchemas(before, after);
  EXPECT_FALSE(change.empty());
  ASSERT_THAT(change.added, SizeIs(1));
  EXPECT_EQ(change.added[0].name, "new");
  ASSERT_THAT(change.removed, SizeIs(1));
  EXPECT_EQ(change.removed[0].name, "old");
  ASSERT_THAT(change.retyped, SizeIs(1));
  EXPECT_EQ(change.retyped[0].name, "id");
  EXPECT_EQ(change.retyped[0].old_type, "BIGINT");
  EXPECT_EQ(change.retyped[0].new_type, "VARCHAR");
}

TEST(SchemaDiff, ReorderedColumnsAreNoChange) {
  const std::vector<ColumnSchema> before = {{"a", "BIGINT", true}, {"b", "VARCHAR", true}};
  const std::vector<ColumnSchema> after = {{"b", "VARCHAR", true}, {"a", "BIGINT", false}};
  EXPECT_TRUE(DiffSchemas(before, after).empty());
  EXPECT_TRUE(DiffSchemas({}, {}).empty());
  EXPECT_THAT(DiffSchemas({}, after).added, SizeIs(2));
}

}  // namespace
}  // namespace edl
