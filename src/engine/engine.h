// engine: EDL's one SQL engine (design.md §7), a thin RAII layer over DuckDB's stable C API, and
// OpenSandbox(), the locked-down instance in which every untrusted SQL runs.
// Ownership: each object owns one DuckDB handle and releases it in its destructor. A Connection must
// not outlive its Database, a PreparedStatement, QueryResult or Appender its Connection, nor a
// DataChunk its QueryResult (its strings may point into the result's memory).
// Thread-safety: Database is thread-safe (Connect() from any thread); every other class is used by
// one thread at a time, so give each thread its own Connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/status.h"

// DuckDB's opaque handle types (duckdb.h); only the engine's .cc files include duckdb.h. The names
// are DuckDB's, reserved or not.
// NOLINTBEGIN(bugprone-reserved-identifier)
struct _duckdb_database;
struct _duckdb_connection;
struct _duckdb_prepared_statement;
struct _duckdb_appender;
struct _duckdb_data_chunk;
// NOLINTEND(bugprone-reserved-identifier)

namespace edl {

// Every DuckDB error becomes a Status whose message is DuckDB's own text (e.g. "Parser Error: syntax
// error at or near ..."). The code follows DuckDB's error type:
//   Parser, Syntax, Binder, Catalog, Invalid Input, Conversion, Out of Range, Mismatch Type, Divide
//   by Zero, Not implemented, Parameter ..., Settings, Dependency, Missing Extension, ... -> InvalidArgument
//   Permission (sandbox refusals: files, extensions)                                   -> PermissionDenied
//   Constraint, TransactionContext (write-write conflicts)                              -> Conflict
//   IO, Out of Memory, Network, HTTP, INTERRUPT, Extension Autoloading                  -> Unavailable
//   anything else (INTERNAL, FATAL, ...)                                                -> Internal
// A refused SET on a locked configuration is DuckDB's "Invalid Input Error", so InvalidArgument.

class Connection;
class DataChunk;
class QueryResult;

// Lets std::make_unique reach the engine's public constructors while only the engine can call them.
class EngineKey {
  EngineKey() = default;
  friend class Database;
  friend class Connection;
  friend class PreparedStatement;
  friend class QueryResult;
};

struct DatabaseOptions {
  std::string path;  // database file; empty: in-memory
  int64_t memory_limit_bytes = EngineConfig{}.memory_limit_bytes;
  int threads = EngineConfig{}.threads;
  // With external access off, SQL reaches only the paths below (and spill files in temp_directory).
  bool enable_external_access = true;
  std::vector<std::string> allowed_directories;  // absolute folders, everything beneath them
  std::vector<std::string> allowed_paths;        // absolute single files
  // nullopt: DuckDB's default ("<path>.tmp", or ".tmp" in the working directory when in-memory).
  // "": never spill to disk. DuckDB adds this folder to the allowed directories.
  std::optional<std::string> temp_directory;
  bool lock_configuration = false;  // SQL can change no setting afterwards
};

DatabaseOptions DatabaseOptionsFromConfig(const EngineConfig& config);

// Quoting for SQL that EDL builds from untrusted text (file and column names, values).
// 'text' with every ' doubled: a string literal for any text.
std::string SqlString(std::string_view text);
// "name" with every " doubled: an identifier for any column name.
std::string SqlIdentifier(std::string_view name);
// ['a', 'b']: a DuckDB list of string literals.
std::string SqlStringList(const std::vector<std::string>& items);

// The DuckDB library version EDL runs on, e.g. "v1.4.4".
std::string EngineVersion();

// One DuckDB instance. Extensions are never installed or loaded on demand
// (autoinstall_known_extensions, autoload_known_extensions, allow_community_extensions all false) and
// persistent secrets in the home folder are neither read nor written (allow_persistent_secrets false).
class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const DatabaseOptions& options);

  Database(EngineKey, _duckdb_database* database);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Result<std::unique_ptr<Connection>> Connect();

 private:
  _duckdb_database* database_;
};

// What a sandbox may touch. Paths must be absolute. DuckDB checks the path text, so a symbolic link
// inside an allowed folder reaches its target: list only folders whose contents EDL controls.
// DuckDB grants reading AND writing (COPY TO, ATTACH) within the allowed paths; list only paths where
// writing is harmless, or make them read-only on disk.
struct SandboxOptions {
  int64_t memory_limit_bytes = EngineConfig{}.memory_limit_bytes;
  int threads = EngineConfig{}.threads;
  std::vector<std::string> allowed_directories;  // folders SQL may read, everything beneath them
  std::vector<std::string> allowed_files;        // single files SQL may read
  // Where larger-than-memory work spills; empty: never spill (such queries fail out of memory).
  // SQL can read and write this folder too, so give each sandbox its own.
  std::string spill_directory;
};

SandboxOptions SandboxOptionsFromConfig(const EngineConfig& config);

// An in-memory Database for untrusted SQL: external access off except the listed paths, no extension
// install or load, and lock_configuration on, so no SET/RESET/PRAGMA can widen any of it.
// Known gap in DuckDB 1.4.4: the enable_logging() table function ignores the lock. Given a file path
// outside the allowed ones, every later statement fails and closing the instance can abort the whole
// process (an exception escapes a destructor). Text filters cannot stop it (query() with escaped
// strings builds the call), so untrusted SQL that must not be able to crash its host belongs in a
// separate process.
Result<std::unique_ptr<Database>> OpenSandbox(const SandboxOptions& options);

class PreparedStatement;
class Appender;

class Connection {
 public:
  Connection(EngineKey, _duckdb_connection* connection);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more ';'-separated statements and discards their results.
  Status Execute(std::string_view sql);
  // Runs one or more statements; the result is the last statement's, fully materialized.
  Result<QueryResult> Query(std::string_view sql);
  Result<std::unique_ptr<PreparedStatement>> Prepare(std::string_view sql);
  // An empty schema means "main".
  Result<std::unique_ptr<Appender>> CreateAppender(std::string_view schema, std::string_view table);

 private:
  _duckdb_connection* connection_;
};

// Parameters are numbered from 1, like $1 in the SQL. Bindings persist across Execute() calls.
class PreparedStatement {
 public:
  PreparedStatement(EngineKey, _duckdb_prepared_statement* statement);
  ~PreparedStatement();
  PreparedStatement(const PreparedStatement&) = delete;
  PreparedStatement& operator=(const PreparedStatement&) = delete;

  size_t parameter_count() const;

  // Distinct names rather than Bind() overloads: Bind(1, "x") would silently pick bool.
  Status BindInt64(size_t index, int64_t value);
  Status BindDouble(size_t index, double value);
  Status BindBool(size_t index, bool value);
  Status BindString(size_t index, std::string_view value);
  Status BindNull(size_t index);

  Result<QueryResult> Execute();

 private:
  _duckdb_prepared_statement* statement_;
};

using TextRows = std::vector<std::vector<std::optional<std::string>>>;  // nullopt: NULL

// The rows of one statement, read chunk by chunk. Movable, not copyable; a moved-from QueryResult
// may only be destroyed or assigned to.
class QueryResult {
 public:
  struct State;  // owns the duckdb_result; defined in engine/query_result_state.h
  QueryResult(EngineKey, std::unique_ptr<State> state);
  ~QueryResult();
  QueryResult(QueryResult&&) noexcept;
  QueryResult& operator=(QueryResult&&) noexcept;

  size_t column_count() const;
  const std::vector<std::string>& column_names() const;
  // DuckDB's spelling: "BIGINT", "VARCHAR", "DECIMAL(18,3)", "INTEGER[]", "STRUCT(a INTEGER)", ...
  const std::vector<std::string>& column_types() const;
  int64_t rows_changed() const;  // INSERT/UPDATE/DELETE; 0 for queries

  // The next chunk of rows (up to 2048), or nullptr once all rows were read.
  Result<std::unique_ptr<DataChunk>> NextChunk();
  // Every remaining row, each value formatted by DataChunk::ValueAsText.
  Result<TextRows> FetchAllAsText();

 private:
  std::unique_ptr<State> state_;
};

// A block of rows. Typed getters read a column of the type they name: GetInt64 any integer type
// (TINYINT..BIGINT, UTINYINT..UBIGINT, HUGEINT, UHUGEINT; values outside int64 wrap), GetDouble those
// and FLOAT, DOUBLE, DECIMAL, GetBool BOOLEAN, GetString VARCHAR and BLOB (raw bytes). On NULL, a
// column of another type, or an index out of range they return 0 / false / "": check IsNull() and
// the column type first, or use ValueAsText.
class DataChunk {
 public:
  struct Column;  // one vector's data, validity and type; defined in query_result.cc
  DataChunk(EngineKey, _duckdb_data_chunk* chunk);
  ~DataChunk();
  DataChunk(const DataChunk&) = delete;
  DataChunk& operator=(const DataChunk&) = delete;

  size_t row_count() const;
  size_t column_count() const;
  bool IsNull(size_t column, size_t row) const;  // also true out of range
  int64_t GetInt64(size_t column, size_t row) const;
  double GetDouble(size_t column, size_t row) const;
  bool GetBool(size_t column, size_t row) const;
  std::string GetString(size_t column, size_t row) const;
  // The value as DuckDB's CAST(... AS VARCHAR) spells it, nullopt for NULL. Supports BOOLEAN, the
  // integer types, FLOAT, DOUBLE, DECIMAL, VARCHAR, BLOB, DATE and TIMESTAMP; any other type is an
  // InvalidArgument naming it (CAST to VARCHAR in the SQL instead).
  Result<std::optional<std::string>> ValueAsText(size_t column, size_t row) const;

 private:
  _duckdb_data_chunk* chunk_;
  size_t row_count_ = 0;
  std::vector<std::unique_ptr<Column>> columns_;
};

// Appends rows to one table, faster than INSERT. Values go left to right, then EndRow(). Rows become
// visible on Flush() or Close(); destruction without Close() flushes and drops any error.
class Appender {
 public:
  Appender(EngineKey, _duckdb_appender* appender);
  ~Appender();
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;

  Status AppendInt64(int64_t value);
  Status AppendDouble(double value);
  Status AppendBool(bool value);
  Status AppendString(std::string_view value);
  Status AppendNull();
  Status EndRow();
  Status Flush();
  Status Close();  // flushes; the Appender accepts nothing afterwards

 private:
  _duckdb_appender* appender_;
};

}  // namespace edl
