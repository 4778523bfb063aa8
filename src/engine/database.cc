// Database, Connection, PreparedStatement and Appender: each owns one DuckDB C API handle.

#include <duckdb.h>

#include <string>
#include <utility>

#include "engine/duckdb_error.h"
#include "engine/engine.h"
#include "engine/query_result_state.h"

namespace edl {
namespace {

using engine_internal::StatusFromDuckDBMessage;
using engine_internal::StatusFromDuckDBRaw;

// Settings every EDL instance gets at start-up: no extension is fetched or loaded behind the
// caller's back, and no secret is read from or written to the home folder.
constexpr std::pair<const char*, const char*> kFixedSettings[] = {
    {"autoinstall_known_extensions", "false"}, {"autoload_known_extensions", "false"},
    {"allow_community_extensions", "false"},   {"allow_unsigned_extensions", "false"},
    {"allow_persistent_secrets", "false"},
};

// Owns a duckdb_config until duckdb_open_ext has copied it.
class ConfigHandle {
 public:
  ConfigHandle() = default;
  ~ConfigHandle() { duckdb_destroy_config(&config_); }
  ConfigHandle(const ConfigHandle&) = delete;
  ConfigHandle& operator=(const ConfigHandle&) = delete;

  Status Create() {
    if (duckdb_create_config(&config_) == DuckDBError) return Internal("cannot create DuckDB config");
    return Status::Ok();
  }
  Status Set(const std::string& name, const std::string& value) {
    if (duckdb_set_config(config_, name.c_str(), value.c_str()) == DuckDBError) {
      return InvalidArgument("DuckDB rejected setting " + name + " = '" + value + "'");
    }
    return Status::Ok();
  }
  duckdb_config get() const { return config_; }

 private:
  duckdb_config config_ = nullptr;
};


Status CheckAbsolute(const std::vector<std::string>& paths, std::string_view what) {
  for (const std::string& path : paths) {
    if (path.empty() || path.front() != '/') {
      return InvalidArgument(std::string(what) + " must be absolute paths, got '" + path + "'");
    }
  }
  return Status::Ok();
}

Status ValidateOptions(const DatabaseOptions& options) {
  if (options.memory_limit_bytes <= 0) {
    return InvalidArgument("memory_limit_bytes must be positive, got " + std::to_string(options.memory_limit_bytes));
  }
  if (options.threads <= 0) {
    return InvalidArgument("threads must be positive, got " + std::to_string(options.threads));
  }
  RETURN_IF_ERROR(CheckAbsolute(options.allowed_directories, "allowed_directories"));
  RETURN_IF_ERROR(CheckAbsolute(options.allowed_paths, "allowed_paths"));
  return Status::Ok();
}

// Statements run on a fresh instance before anyone else can reach it. Order matters: DuckDB
// accepts allowed_directories/allowed_paths only while external access is still on, and nothing at
// all once the configuration is locked.
std::vector<std::string> StartupStatements(const DatabaseOptions& options) {
  std::vector<std::string> statements;
  if (!options.allowed_directories.empty()) {
    statements.push_back("SET allowed_directories = " + SqlStringList(options.allowed_directories));
  }
  if (!options.allowed_paths.empty()) {
    statements.push_back("SET allowed_paths = " + SqlStringList(options.allowed_paths));
  }
  if (options.temp_directory.has_value()) {
    statements.push_back("SET temp_directory = " + SqlString(*options.temp_directory));
  }
  if (!options.enable_external_access) statements.push_back("SET enable_external_access = false");
  if (options.lock_configuration) statements.push_back("SET lock_configuration = true");
  return statements;
}

// The error an appender holds, with DuckDB's "<Type> Error: " prefix restored.
Status AppenderStatus(duckdb_appender appender) {
  if (appender == nullptr) return Internal("cannot create appender");
  duckdb_error_data error = duckdb_appender_error_data(appender);
  Status status = duckdb_error_data_has_error(error)
                      ? StatusFromDuckDBRaw(duckdb_error_data_error_type(error), duckdb_error_data_message(error))
                      : Internal("appender failed without an error message");
  duckdb_destroy_error_data(&error);
  return status;
}

Status AppenderResult(duckdb_state state, duckdb_appender appender) {
  if (state == DuckDBSuccess) return Status::Ok();
  return AppenderStatus(appender);
}

}  // namespace

DatabaseOptions DatabaseOptionsFromConfig(const EngineConfig& config) {
  DatabaseOptions options;
  options.memory_limit_bytes = config.memory_limit_bytes;
  options.threads = config.threads;
  return options;
}

// ---- Database ----

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  ConfigHandle config;
  RETURN_IF_ERROR(config.Create());
  RETURN_IF_ERROR(config.Set("memory_limit", std::to_string(options.memory_limit_bytes) + " bytes"));
  RETURN_IF_ERROR(config.Set("threads", std::to_string(options.threads)));
  for (const auto& [name, value] : kFixedSettings) RETURN_IF_ERROR(config.Set(name, value));

  duckdb_database handle = nullptr;
  char* error = nullptr;
  const char* path = options.path.empty() ? nullptr : options.path.c_str();
  if (duckdb_open_ext(path, &handle, config.get(), &error) == DuckDBError) {
    Status status = StatusFromDuckDBMessage(error != nullptr ? error : "cannot open database");
    duckdb_free(error);
    return status.WithContext("opening DuckDB database '" +
                              (options.path.empty() ? std::string(":memory:") : options.path) + "'");
  }
  auto database = std::make_unique<Database>(EngineKey(), handle);

  const std::vector<std::string> statements = StartupStatements(options);
  if (!statements.empty()) {
    ASSIGN_OR_RETURN(std::unique_ptr<Connection> setup, database->Connect());
    for (const std::string& statement : statements) {
      RETURN_IF_ERROR(setup->Execute(statement).WithContext("configuring DuckDB"));
    }
  }
  return database;
}

Database::Database(EngineKey, _duckdb_database* database) : database_(database) {}

Database::~Database() {
  duckdb_close(&database_);
}

Result<std::unique_ptr<Connection>> Database::Connect() {
  duckdb_connection handle = nullptr;
  if (duckdb_connect(database_, &handle) == DuckDBError) {
    return Unavailable("cannot connect to DuckDB database");
  }
  return std::make_unique<Connection>(EngineKey(), handle);
}

// ---- Connection ----

Connection::Connection(EngineKey, _duckdb_connection* connection) : connection_(connection) {}

Connection::~Connection() {
  duckdb_disconnect(&connection_);
}

Status Connection::Execute(std::string_view sql) {
  return Query(sql).status();
}

Result<QueryResult> Connection::Query(std::string_view sql) {
  const std::string text(sql);
  auto state = std::make_unique<QueryResult::State>();
  RETURN_IF_ERROR(state->Finish(duckdb_query(connection_, text.c_str(), &state->result)));
  return QueryResult(EngineKey(), std::move(state));
}

Result<std::unique_ptr<PreparedStatement>> Connection::Prepare(std::string_view sql) {
  const std::string text(sql);
  duckdb_prepared_statement handle = nullptr;
  // duckdb_prepare hands out a statement even on failure, carrying the error; it must be destroyed.
  const duckdb_state state = duckdb_prepare(connection_, text.c_str(), &handle);
  auto statement = std::make_unique<PreparedStatement>(EngineKey(), handle);
  if (state == DuckDBError) {
    const char* error = handle != nullptr ? duckdb_prepare_error(handle) : nullptr;
    return StatusFromDuckDBMessage(error != nullptr ? error : "cannot prepare statement");
  }
  return statement;
}

Result<std::unique_ptr<Appender>> Connection::CreateAppender(std::string_view schema, std::string_view table) {
  const std::string schema_name(schema);
  const std::string table_name(table);
  duckdb_appender handle = nullptr;
  const duckdb_state state = duckdb_appender_create(connection_, schema_name.empty() ? nullptr : schema_name.c_str(),
                                                    table_name.c_str(), &handle);
  // As with prepare, a failed create still yields a handle that holds the error.
  auto appender = std::make_unique<Appender>(EngineKey(), handle);
  if (state == DuckDBError) {
    return AppenderStatus(handle).WithContext(
        "appender for " + (schema_name.empty() ? std::string("main") : schema_name) + "." + table_name);
  }
  return appender;
}

// ---- PreparedStatement ----

PreparedStatement::PreparedStatement(EngineKey, _duckdb_prepared_statement* statement) : statement_(statement) {}

PreparedStatement::~PreparedStatement() {
  duckdb_destroy_prepare(&statement_);
}

size_t PreparedStatement::parameter_count() const {
  return duckdb_nparams(statement_);
}

namespace {

// duckdb_bind_* report failure without a message; name the parameter ourselves.
Status BindResult(duckdb_state state, const PreparedStatement& statement, size_t index, std::string_view kind) {
  if (state == DuckDBSuccess) return Status::Ok();
  if (index == 0 || index > statement.parameter_count()) {
    return InvalidArgument("cannot bind parameter $" + std::to_string(index) + ": the statement has " +
                           std::to_string(statement.parameter_count()) + " parameters");
  }
  return InvalidArgument("cannot bind " + std::string(kind) + " to parameter $" + std::to_string(index));
}

}  // namespace

Status PreparedStatement::BindInt64(size_t index, int64_t value) {
  return BindResult(duckdb_bind_int64(statement_, index, value), *this, index, "BIGINT");
}

Status PreparedStatement::BindDouble(size_t index, double value) {
  return BindResult(duckdb_bind_double(statement_, index, value), *this, index, "DOUBLE");
}

Status PreparedStatement::BindBool(size_t index, bool value) {
  return BindResult(duckdb_bind_boolean(statement_, index, value), *this, index, "BOOLEAN");
}

Status PreparedStatement::BindString(size_t index, std::string_view value) {
  return BindResult(duckdb_bind_varchar_length(statement_, index, value.data(), value.size()), *this, index, "VARCHAR");
}

Status PreparedStatement::BindNull(size_t index) {
  return BindResult(duckdb_bind_null(statement_, index), *this, index, "NULL");
}

Result<QueryResult> PreparedStatement::Execute() {
  auto state = std::make_unique<QueryResult::State>();
  RETURN_IF_ERROR(state->Finish(duckdb_execute_prepared(statement_, &state->result)));
  return QueryResult(EngineKey(), std::move(state));
}

// ---- Appender ----

Appender::Appender(EngineKey, _duckdb_appender* appender) : appender_(appender) {}

// duckdb_appender_destroy flushes; a failure here has nobody to report to (see Close()).
Appender::~Appender() {
  duckdb_appender_destroy(&appender_);
}

Status Appender::AppendInt64(int64_t value) {
  return AppenderResult(duckdb_append_int64(appender_, value), appender_);
}

Status Appender::AppendDouble(double value) {
  return AppenderResult(duckdb_append_double(appender_, value), appender_);
}

Status Appender::AppendBool(bool value) {
  return AppenderResult(duckdb_append_bool(appender_, value), appender_);
}

Status Appender::AppendString(std::string_view value) {
  return AppenderResult(duckdb_append_varchar_length(appender_, value.data(), value.size()), appender_);
}

Status Appender::AppendNull() {
  return AppenderResult(duckdb_append_null(appender_), appender_);
}

Status Appender::EndRow() {
  return AppenderResult(duckdb_appender_end_row(appender_), appender_);
}

Status Appender::Flush() {
  return AppenderResult(duckdb_appender_flush(appender_), appender_);
}

Status Appender::Close() {
  return AppenderResult(duckdb_appender_close(appender_), appender_);
}

std::string SqlString(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) {
    quoted += c;
    if (c == '\'') quoted += '\'';
  }
  return quoted + "'";
}

std::string SqlIdentifier(std::string_view name) {
  std::string quoted = "\"";
  for (char c : name) {
    quoted += c;
    if (c == '"') quoted += '"';
  }
  return quoted + "\"";
}

std::string SqlStringList(const std::vector<std::string>& items) {
  std::string list = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) list += ", ";
    list += SqlString(items[i]);
  }
  return list + "]";
}

std::string EngineVersion() { return duckdb_library_version(); }

}  // namespace edl
