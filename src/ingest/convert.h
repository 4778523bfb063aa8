// Converting raw files to Parquet with DuckDB, and describing the result (schema, rows, column
// statistics, schema change). CSV/TSV/pipe-delimited (dialect sniffed, overridable from the dataset
// file), JSON arrays and newline-delimited JSON; Parquet is validated and passed through; anything
// else is "raw-only". Runs in a DuckDB sandbox that can reach only the work folder.
// Functions are thread-safe; a Database passed in is used by one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace edl {

class Database;

enum class RawFormat { kCsv, kJson, kParquet, kRawOnly };
std::string_view RawFormatName(RawFormat format);

struct ConvertOptions {
  FormatOptions format;                           // the dataset file's overrides
  uint64_t target_file_bytes = 512ULL << 20;      // larger outputs are split into numbered parts
  int64_t row_group_rows = 122880;                // rows per Parquet row group (DuckDB's default)
};

struct ColumnSchema {
  std::string name;
  std::string type;     // DuckDB type name, e.g. "BIGINT", "DECIMAL(18,3)", "VARCHAR"
  bool nullable = true;
  bool operator==(const ColumnSchema&) const = default;
};

struct ParquetOutput {
  std::string name;            // relative name for the update's data/ folder: "file1.parquet", "file1-00001.parquet"
  std::filesystem::path path;  // local file
  int64_t rows = 0;
  uint64_t bytes = 0;
};

struct ConvertResult {
  RawFormat format = RawFormat::kRawOnly;
  std::string raw_only_reason;          // why it was not converted (format not recognised)
  std::vector<ParquetOutput> outputs;   // empty for raw-only files
  std::vector<ColumnSchema> schema;
  int64_t rows = 0;
};

// Which format `path` holds: the dataset's format.type if set, else by extension and content
// (".csv", ".tsv", ".txt", ".psv" → CSV; ".json", ".ndjson", ".jsonl" → JSON; Parquet magic).
RawFormat DetectFormat(const std::filesystem::path& path, const FormatOptions& format);

// Converts `raw` (its update-relative name is `raw_name`, e.g. "sub/file1.csv") into Parquet files
// (zstd) under `out_dir`, named after it ("sub/file1.parquet"). InvalidArgument naming the file,
// and the line where DuckDB knows it, for unreadable content: empty file, header only (no rows),
// ragged rows, invalid UTF-8, duplicate column names, corrupt Parquet.
Result<ConvertResult> ConvertToParquet(Database& db, const std::filesystem::path& raw, const std::string& raw_name,
                                       const std::filesystem::path& out_dir, const ConvertOptions& options);

struct ColumnStats {
  std::string name;
  std::string type;
  bool nullable = true;
  int64_t null_count = 0;
  std::optional<std::string> min;  // as text; where Parquet statistics hold them
  std::optional<std::string> max;
};

struct UpdateStats {
  std::vector<ColumnStats> columns;
  int64_t rows = 0;
};

// Schema, row count and per-column statistics of a set of Parquet files with one schema, from
// their footers (cheap: no data scan). InvalidArgument when the files' schemas differ, naming both.
Result<UpdateStats> DescribeParquet(Database& db, const std::vector<std::filesystem::path>& files);

struct SchemaChange {
  std::vector<ColumnSchema> added;
  std::vector<ColumnSchema> removed;
  struct Retyped {
    std::string name;
    std::string old_type;
    std::string new_type;
  };
  std::vector<Retyped> retyped;
  bool empty() const { return added.empty() && removed.empty() && retyped.empty(); }
};

SchemaChange DiffSchemas(const std::vector<ColumnSchema>& before, const std::vector<ColumnSchema>& after);

}  // namespace edl
