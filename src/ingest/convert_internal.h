// Private to ingest: quoting untrusted text (file names, column names, values) into DuckDB SQL, and
// small query helpers shared by convert.cc (which defines them) and qc.cc. Stateless functions, safe
// from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/engine.h"

namespace edl {

class Connection;

namespace ingest_internal {

// SqlString, SqlIdentifier and SqlStringList come from engine/engine.h.
using ::edl::SqlIdentifier;
using ::edl::SqlString;
using ::edl::SqlStringList;
// A DOUBLE literal that survives any value (inf and nan included).
std::string SqlDouble(double value);

// True for a type name that may be pasted into SQL as it is: words, digits, spaces, parentheses,
// commas and [] — "BIGINT", "DECIMAL(18,3)", "TIMESTAMP WITH TIME ZONE", "VARCHAR[]". No quotes,
// semicolons or comments, so it cannot end the statement it sits in.
bool IsPlainTypeName(std::string_view type);

struct NamedType {
  std::string name;
  std::string type;
};

// The result columns of `select_sql` (a SELECT statement), by DESCRIBE.
Result<std::vector<NamedType>> DescribeColumns(Connection& connection, const std::string& select_sql);

// The single value of a one-row, one-column query as text; nullopt for NULL.
Result<std::optional<std::string>> QuerySingleValue(Connection& connection, const std::string& sql);

// DuckDB's multi-line error text on one line: the message and its details, without the hints,
// the dump of reader options, the statement excerpt or the (possibly huge) offending input line.
std::string CondenseEngineMessage(std::string_view message);

// Shortest text that reads back as `value` ("0.5", "1e+20", "inf").
std::string FormatNumber(double value);

// ASCII case folding, the way DuckDB matches identifiers.
std::string AsciiLower(std::string_view text);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// The integer in `text`, 0 when there is none (DuckDB prints integers; this never throws).
int64_t ToInt64(const std::optional<std::string>& text);

// Cuts `text` to at most `max_bytes` without splitting a UTF-8 sequence, adding "..." when cut.
std::string TruncateUtf8(std::string_view text, size_t max_bytes);

}  // namespace ingest_internal
}  // namespace edl
