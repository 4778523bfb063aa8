// QC checks and delta validation as SQL over a view `data` in a DuckDB sandbox that can read only
// the update's Parquet. Each check is phrased as "the failing rows" (a SELECT), then counted and
// sampled; a check that cannot run records its error and the others still run.

#include "ingest/qc.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "engine/engine.h"
#include "ingest/convert_internal.h"

namespace edl {
namespace {

namespace fs = std::filesystem;
using ingest_internal::CondenseEngineMessage;
using ingest_internal::DescribeColumns;
using ingest_internal::EqualsIgnoreCase;
using ingest_internal::FormatNumber;
using ingest_internal::NamedType;
using ingest_internal::QuerySingleValue;
using ingest_internal::SqlDouble;
using ingest_internal::SqlIdentifier;
using ingest_internal::SqlString;
using ingest_internal::SqlStringList;
using ingest_internal::ToInt64;
using ingest_internal::TruncateUtf8;

// Long text values are cut in samples so that a 64 MB field cannot end up in the catalog.
constexpr size_t kSampleValueBytes = 1000;

// Table functions a custom check may not call: they run SQL text that the checks above cannot see
// (query, query_table), or reach DuckDB's logging, which ignores the sandbox's locked configuration
// (see engine.h).
constexpr std::string_view kForbiddenFunctions[] = {"query", "query_table", "enable_logging", "disable_logging",
                                                    "truncate_duckdb_logs"};

// An opened sandbox with the view `data` over the files.
struct DataSandbox {
  std::unique_ptr<Database> database;
  std::unique_ptr<Connection> connection;
  std::vector<NamedType> columns;
};

Result<DataSandbox> OpenData(const std::vector<fs::path>& files, const QcLimits& limits) {
  SandboxOptions options;
  options.memory_limit_bytes = limits.memory_limit_bytes;
  options.threads = limits.threads;
  std::vector<std::string> paths;
  for (const fs::path& file : files) {
    std::error_code ignored;
    fs::path absolute = fs::absolute(file, ignored);
    paths.push_back((absolute.empty() ? file : absolute).lexically_normal().string());
  }
  options.allowed_files = paths;
  options.spill_directory = "";  // QC never writes: no spill folder that SQL could write into
  DataSandbox sandbox;
  ASSIGN_OR_RETURN(sandbox.database, OpenSandbox(options));
  ASSIGN_OR_RETURN(sandbox.connection, sandbox.database->Connect());
  RETURN_IF_ERROR(
      sandbox.connection->Execute("CREATE VIEW data AS SELECT * FROM read_parquet(" + SqlStringList(paths) + ")"));
  ASSIGN_OR_RETURN(sandbox.columns, DescribeColumns(*sandbox.connection, "SELECT * FROM data"));
  return sandbox;
}

std::string ColumnList(const std::vector<NamedType>& columns) {
  std::string list;
  for (const NamedType& column : columns) list += (list.empty() ? "" : ", ") + column.name;
  return list;
}

// The data's spelling of `name` (DuckDB matches identifiers ignoring case), or nullptr.
const NamedType* FindColumn(const std::vector<NamedType>& columns, const std::string& name) {
  for (const NamedType& column : columns) {
    if (column.name == name) return &column;
  }
  for (const NamedType& column : columns) {
    if (EqualsIgnoreCase(column.name, name)) return &column;
  }
  return nullptr;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string joined;
  for (size_t i = 0; i < items.size(); ++i) joined += (i > 0 ? std::string(separator) : "") + items[i];
  return joined;
}

std::string Describe(const QcCheck& check) {
  const std::string columns = Join(check.columns, ", ");
  std::vector<std::string> bounds;
  if (check.min) bounds.push_back("min " + FormatNumber(*check.min));
  if (check.max) bounds.push_back("max " + FormatNumber(*check.max));
  if (check.check == "accepted_values") {
    std::vector<std::string> values;
    for (const std::string& value : check.values) values.push_back("'" + value + "'");
    return "accepted_values(" + columns + " in [" + Join(values, ", ") + "])";
  }
  if (check.check == "range") return "range(" + columns + ", " + Join(bounds, ", ") + ")";
  if (check.check == "regex") return "regex(" + columns + " ~ '" + check.pattern + "')";
  if (check.check == "row_count") return "row_count(" + Join(bounds, ", ") + ")";
  if (check.check == "sql") return "sql(" + TruncateUtf8(check.sql, 80) + ")";
  return check.check + "(" + columns + ")";
}

bool IsNumericType(const std::string& type) {
  static constexpr std::string_view kNumeric[] = {"TINYINT",   "SMALLINT", "INTEGER", "BIGINT",   "HUGEINT", "UTINYINT",
                                                  "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT",   "DOUBLE"};
  return std::find(std::begin(kNumeric), std::end(kNumeric), type) != std::end(kNumeric) ||
         type.starts_with("DECIMAL(");
}

// The failing rows of a check as a SELECT, plus an ORDER BY for the sample (so duplicates show up
// side by side).
struct FailingRows {
  std::string select;
  std::string sample_order;
};

// `cond(column)` for each column, OR-ed: a row fails if any listed column fails.
template <typename Condition>
std::string AnyColumn(const std::vector<const NamedType*>& columns, Condition cond) {
  std::string where;
  for (const NamedType* column : columns) where += (where.empty() ? "" : " OR ") + ("(" + cond(column) + ")");
  return where;
}

Result<FailingRows> FailingRowsOf(const QcCheck& check, const std::vector<const NamedType*>& columns) {
  if (check.check == "not_null") {
    return FailingRows{"SELECT * FROM data WHERE " +
                           AnyColumn(columns, [](const NamedType* c) { return SqlIdentifier(c->name) + " IS NULL"; }),
                       ""};
  }
  if (check.check == "unique") {
    // Rows whose key (all listed columns) occurs more than once. Keys with a null part are left to
    // not_null, as in SQL's UNIQUE.
    std::vector<std::string> keys;
    std::vector<std::string> join;
    std::vector<std::string> not_null;
    for (const NamedType* column : columns) {
      const std::string key = SqlIdentifier(column->name);
      keys.push_back(key);
      join.push_back("edl_rows_." + key + " = edl_dups_." + key);
      not_null.push_back(key + " IS NOT NULL");
    }
    return FailingRows{"SELECT edl_rows_.* FROM data AS edl_rows_ SEMI JOIN (SELECT " + Join(keys, ", ") +
                           " FROM data WHERE " + Join(not_null, " AND ") +
                           " GROUP BY ALL HAVING count(*) > 1) AS "
                           "edl_dups_ ON " +
                           Join(join, " AND "),
                       Join(keys, ", ")};
  }
  if (check.check == "accepted_values") {
    if (check.values.empty()) return InvalidArgument("accepted_values needs values");
    // Compared as text, the way DuckDB spells the value (CAST(... AS VARCHAR)).
    return FailingRows{"SELECT * FROM data WHERE " + AnyColumn(columns,
                                                               [&](const NamedType* c) {
                                                                 const std::string column = SqlIdentifier(c->name);
                                                                 std::vector<std::string> values;
                                                                 for (const std::string& value : check.values)
                                                                   values.push_back(SqlString(value));
                                                                 return column + " IS NOT NULL AND CAST(" + column +
                                                                        " AS VARCHAR) NOT IN (" + Join(values, ", ") +
                                                                        ")";
                                                               }),
                       ""};
  }
  if (check.check == "range") {
    if (!check.min && !check.max) return InvalidArgument("range needs min, max or both");
    for (const NamedType* column : columns) {
      if (!IsNumericType(column->type)) {
        return InvalidArgument("range compares numbers, but column '" + column->name + "' is " + column->type);
      }
    }
    return FailingRows{
        "SELECT * FROM data WHERE " + AnyColumn(columns,
                                                [&](const NamedType* c) {
                                                  const std::string column = SqlIdentifier(c->name);
                                                  std::vector<std::string> outside;
                                                  if (check.min)
                                                    outside.push_back(column + " < " + SqlDouble(*check.min));
                                                  if (check.max)
                                                    outside.push_back(column + " > " + SqlDouble(*check.max));
                                                  return column + " IS NOT NULL AND (" + Join(outside, " OR ") + ")";
                                                }),
        ""};
  }
  if (check.check == "regex") {
    if (check.pattern.empty()) return InvalidArgument("regex needs a pattern");
    return FailingRows{
        "SELECT * FROM data WHERE " + AnyColumn(columns,
                                                [&](const NamedType* c) {
                                                  const std::string column = SqlIdentifier(c->name);
                                                  return column + " IS NOT NULL AND NOT regexp_full_match(CAST(" +
                                                         column + " AS VARCHAR), " + SqlString(check.pattern) + ")";
                                                }),
        ""};
  }
  return InvalidArgument("unknown check '" + check.check +
                         "' (expected one of: not_null, unique, accepted_values, range, regex, row_count, sql)");
}

std::string EngineError(const Status& status) {
  return CondenseEngineMessage(status.message());
}

// Up to `limit` rows of `select` as JSON object text, long text values cut.
Result<std::vector<std::string>> SampleRows(Connection& connection, const std::string& select, const std::string& order,
                                            int limit) {
  std::vector<std::string> sample;
  if (limit <= 0) return sample;
  ASSIGN_OR_RETURN(std::vector<NamedType> columns,
                   DescribeColumns(connection, "SELECT * FROM (" + select + ") AS edl_failing_"));
  std::string projection;
  for (const NamedType& column : columns) {
    const std::string name = SqlIdentifier(column.name);
    std::string value = name;
    if (column.type == "VARCHAR") {
      value = "CASE WHEN strlen(" + name + ") > " + std::to_string(kSampleValueBytes) + " THEN left(" + name + ", " +
              std::to_string(kSampleValueBytes) + ") || '...' ELSE " + name + " END";
    }
    projection += (projection.empty() ? "" : ", ") + value + " AS " + name;
  }
  if (projection.empty()) return sample;
  const std::string sql = "SELECT CAST(to_json(edl_sample_) AS VARCHAR) FROM (SELECT " + projection + " FROM (" +
                          select + ") AS edl_failing_" + (order.empty() ? "" : " ORDER BY " + order) + " LIMIT " +
                          std::to_string(limit) + ") AS edl_sample_";
  ASSIGN_OR_RETURN(QueryResult result, connection.Query(sql));
  ASSIGN_OR_RETURN(TextRows rows, result.FetchAllAsText());
  for (const auto& row : rows) sample.push_back(row.empty() ? "null" : row[0].value_or("null"));
  return sample;
}

// Counts and samples the failing rows into `outcome`.
Status Evaluate(Connection& connection, const FailingRows& failing, int sample_rows, QcOutcome& outcome) {
  ASSIGN_OR_RETURN(std::optional<std::string> count,
                   QuerySingleValue(connection, "SELECT count(*) FROM (" + failing.select + ") AS edl_failing_"));
  outcome.failing_rows = ToInt64(count);
  outcome.passed = outcome.failing_rows == 0;
  if (!outcome.passed) {
    ASSIGN_OR_RETURN(outcome.sample, SampleRows(connection, failing.select, failing.sample_order, sample_rows));
  }
  return Status::Ok();
}

// A custom check must be exactly one SELECT (so it cannot COPY, ATTACH or change anything, not
// even the allowed files) and must not call the forbidden table functions. DuckDB's own parser
// decides, through json_serialize_sql, which serializes SELECT statements only.
Status CheckCustomQuery(Connection& connection, const std::string& sql) {
  const std::string query =
      "SELECT (j->>'error')::BOOLEAN, j->>'error_message', coalesce(json_array_length(j->'statements'), 0), "
      "(SELECT string_agg(DISTINCT lower(value->>'$'), ', ') FROM json_tree(j) WHERE key = 'function_name' AND "
      "lower(value->>'$') IN (SELECT unnest(" +
      SqlStringList(std::vector<std::string>(std::begin(kForbiddenFunctions), std::end(kForbiddenFunctions))) +
      "))) FROM (SELECT json_serialize_sql(" + SqlString(sql) + ") AS j)";
  ASSIGN_OR_RETURN(QueryResult result, connection.Query(query));
  ASSIGN_OR_RETURN(TextRows rows, result.FetchAllAsText());
  if (rows.size() != 1 || rows[0].size() != 4) return Internal("json_serialize_sql returned no row");
  const auto& row = rows[0];
  if (row[0] == std::optional<std::string>("true")) {
    const std::string error = row[1].value_or("cannot parse");
    if (error.find("Only SELECT") != std::string::npos) {
      return InvalidArgument("a sql check must be a single SELECT query returning the failing rows");
    }
    return InvalidArgument("cannot parse the sql check: " + error);
  }
  if (ToInt64(row[2]) != 1) {
    return InvalidArgument("a sql check must be a single SELECT query returning the failing rows, got " +
                           row[2].value_or("0") + " statements");
  }
  if (row[3]) return InvalidArgument("a sql check may not call " + *row[3]);
  return Status::Ok();
}

std::string WithoutTrailingSemicolons(std::string sql) {
  while (!sql.empty() && (sql.back() == ';' || std::isspace(static_cast<unsigned char>(sql.back())))) sql.pop_back();
  return sql;
}

// A custom check runs in a sandbox of its own, so that nothing it does can influence the others.
void RunCustomCheck(const std::vector<fs::path>& files, const QcLimits& limits, QcOutcome& outcome) {
  Result<DataSandbox> sandbox = OpenData(files, limits);
  if (!sandbox.ok()) {
    outcome.error = EngineError(sandbox.status());
    return;
  }
  Connection& connection = *sandbox->connection;
  const std::string sql = WithoutTrailingSemicolons(outcome.check.sql);
  if (Status valid = CheckCustomQuery(connection, sql); !valid.ok()) {
    outcome.error = valid.message();
    return;
  }
  // New lines around the query keep a trailing "-- comment" from swallowing the parenthesis.
  Status evaluated = Evaluate(connection, FailingRows{"\n" + sql + "\n", ""}, limits.sample_rows, outcome);
  if (!evaluated.ok()) {
    outcome.passed = false;
    outcome.error = EngineError(evaluated);
  }
}

void RunRowCount(Connection& connection, QcOutcome& outcome) {
  Result<std::optional<std::string>> count = QuerySingleValue(connection, "SELECT count(*) FROM data");
  if (!count.ok()) {
    outcome.error = EngineError(count.status());
    return;
  }
  // failing_rows holds the row count found, in range or not.
  outcome.failing_rows = ToInt64(*count);
  const auto rows = static_cast<double>(outcome.failing_rows);
  outcome.passed =
      (!outcome.check.min || rows >= *outcome.check.min) && (!outcome.check.max || rows <= *outcome.check.max);
}

void RunColumnCheck(DataSandbox& sandbox, int sample_rows, QcOutcome& outcome) {
  const QcCheck& check = outcome.check;
  static constexpr std::string_view kColumnChecks[] = {"not_null", "unique", "accepted_values", "range", "regex"};
  if (std::find(std::begin(kColumnChecks), std::end(kColumnChecks), check.check) == std::end(kColumnChecks)) {
    outcome.error = "unknown check '" + check.check +
                    "' (expected one of: not_null, unique, accepted_values, range, regex, row_count, sql)";
    return;
  }
  if (check.columns.empty()) {
    outcome.error = "check " + check.check + " names no column";
    return;
  }
  std::vector<const NamedType*> columns;
  std::vector<std::string> missing;
  for (const std::string& name : check.columns) {
    const NamedType* column = FindColumn(sandbox.columns, name);
    if (column == nullptr) {
      missing.push_back("'" + name + "'");
    } else {
      columns.push_back(column);
    }
  }
  if (!missing.empty()) {
    outcome.error = std::string(missing.size() == 1 ? "column " : "columns ") + Join(missing, ", ") +
                    " not found in the data (columns: " + ColumnList(sandbox.columns) + ")";
    return;
  }
  Result<FailingRows> failing = FailingRowsOf(check, columns);
  if (!failing.ok()) {
    outcome.error = failing.status().message();
    return;
  }
  Status evaluated = Evaluate(*sandbox.connection, *failing, sample_rows, outcome);
  if (!evaluated.ok()) {
    outcome.passed = false;
    outcome.failing_rows = 0;
    outcome.sample.clear();
    outcome.error = EngineError(evaluated);
  }
}

}  // namespace

Result<std::vector<QcOutcome>> RunQcChecks(const std::vector<QcCheck>& checks,
                                           const std::vector<fs::path>& parquet_files, const QcLimits& limits) {
  std::vector<QcOutcome> outcomes;
  if (checks.empty()) return outcomes;
  std::optional<DataSandbox> sandbox;
  if (!parquet_files.empty()) {
    Result<DataSandbox> opened = OpenData(parquet_files, limits);
    if (!opened.ok()) return opened.status().WithContext("opening the update's Parquet for QC");
    sandbox = std::move(*opened);
  }
  for (const QcCheck& check : checks) {
    QcOutcome outcome;
    outcome.check = check;
    outcome.description = Describe(check);
    if (!sandbox) {
      outcome.error = "the update has no Parquet data to check";
    } else if (check.check == "row_count") {
      RunRowCount(*sandbox->connection, outcome);
    } else if (check.check == "sql") {
      RunCustomCheck(parquet_files, limits, outcome);
    } else {
      RunColumnCheck(*sandbox, limits.sample_rows, outcome);
    }
    if (!outcome.error.empty()) outcome.passed = false;
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

Status ValidateDelta(const UpdateConvention& convention, const std::vector<fs::path>& parquet_files,
                     const QcLimits& limits) {
  if (convention.keys.empty()) return InvalidArgument("a delta update needs key columns (updates.keys)");
  if (convention.op_column.empty())
    return InvalidArgument("a delta update needs an operation column (updates.op_column)");
  if (parquet_files.empty()) return InvalidArgument("the delta update has no Parquet data to validate");
  ASSIGN_OR_RETURN(DataSandbox sandbox, OpenData(parquet_files, limits));

  std::vector<std::string> missing;
  std::vector<std::string> keys;
  for (const std::string& key : convention.keys) {
    const NamedType* column = FindColumn(sandbox.columns, key);
    if (column == nullptr) {
      missing.push_back("key column '" + key + "'");
    } else {
      keys.push_back(SqlIdentifier(column->name));
    }
  }
  const NamedType* op = FindColumn(sandbox.columns, convention.op_column);
  if (op == nullptr) missing.push_back("op column '" + convention.op_column + "'");
  if (!missing.empty()) {
    return InvalidArgument("the delta update lacks " + Join(missing, " and ") +
                           " (columns present: " + ColumnList(sandbox.columns) + ")");
  }

  std::vector<std::string> null_key_terms;
  null_key_terms.reserve(keys.size());
  for (const std::string& key : keys) null_key_terms.push_back(key + " IS NULL");
  const std::string null_key = "(" + Join(null_key_terms, " OR ") + ")";
  const std::string op_column = SqlIdentifier(op->name);
  const std::string bad_op = "(" + op_column + " IS NULL OR CAST(" + op_column + " AS VARCHAR) NOT IN ('I', 'U', 'D'))";
  ASSIGN_OR_RETURN(QueryResult counted,
                   sandbox.connection->Query("SELECT count(*) FILTER (WHERE " + null_key +
                                             "), count(*) FILTER (WHERE " + bad_op + ") FROM data"));
  ASSIGN_OR_RETURN(TextRows counts, counted.FetchAllAsText());
  if (counts.size() != 1 || counts[0].size() != 2) return Internal("delta validation returned no counts");
  const int64_t null_keys = ToInt64(counts[0][0]);
  const int64_t bad_ops = ToInt64(counts[0][1]);
  if (null_keys == 0 && bad_ops == 0) return Status::Ok();

  std::vector<std::string> problems;
  if (null_keys > 0) {
    problems.push_back(std::to_string(null_keys) + (null_keys == 1 ? " row has" : " rows have") + " a null key (" +
                       Join(convention.keys, ", ") + ")");
  }
  if (bad_ops > 0) {
    problems.push_back(std::to_string(bad_ops) + (bad_ops == 1 ? " row has" : " rows have") +
                       " an op other than I, U or D (column " + op->name + ")");
  }
  std::string message = "the delta update has invalid rows: " + Join(problems, "; ");
  Result<std::vector<std::string>> sample =
      SampleRows(*sandbox.connection, "SELECT * FROM data WHERE " + null_key + " OR " + bad_op, "",
                 std::min(limits.sample_rows, 5));
  if (sample.ok() && !sample->empty()) {
    std::vector<std::string> shown;
    for (const std::string& row : *sample) shown.push_back(TruncateUtf8(row, 500));
    message += "; sample: " + Join(shown, ", ");
  }
  return InvalidArgument(message);
}

}  // namespace edl
