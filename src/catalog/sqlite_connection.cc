#include "catalog/sqlite_connection.h"

#include <mutex>

#include <fmt/format.h>
#include <sqlite3.h>

namespace edl::sqlite {

Status StatusFromCode(int rc, std::string_view message) {
  std::string text(message);
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: return AlreadyExists(std::move(text));
    case SQLITE_CONSTRAINT_FOREIGNKEY: return Conflict(std::move(text));
    default: break;
  }
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_NOTADB: return InvalidArgument(std::move(text));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_NOLFS:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM: return Unavailable(std::move(text));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return PermissionDenied(std::move(text));
    default: return Internal(std::move(text));
  }
}

// ---- Statement ----

void Statement::Finalizer::operator()(sqlite3_stmt* stmt) const {
  if (cache != nullptr) {
    cache->Return(sql, stmt);
  } else {
    sqlite3_finalize(stmt);
  }
}

Statement::Statement(const Connection& connection, sqlite3_stmt* stmt, std::string sql, std::string purpose)
    : connection_(&connection), stmt_(stmt, Finalizer{&connection, std::move(sql)}), purpose_(std::move(purpose)) {}

void Statement::Remember(int rc, int index) {
  if (rc == SQLITE_OK || !bind_status_.ok()) return;
  bind_status_ = connection_->Error(rc, fmt::format("{} (binding parameter {})", purpose_, index));
}

void Statement::BindOne(int index, std::string_view value) {
  // SQLITE_TRANSIENT: SQLite copies the text, so callers may pass temporaries.
  Remember(sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(),
                               borrow_text_ ? SQLITE_STATIC : SQLITE_TRANSIENT, SQLITE_UTF8),
           index);
}

void Statement::BindOne(int index, int64_t value) {
  Remember(sqlite3_bind_int64(stmt_.get(), index, value), index);
}

void Statement::BindOne(int index, std::nullopt_t) {
  Remember(sqlite3_bind_null(stmt_.get(), index), index);
}

void Statement::Reset() {
  // sqlite3_reset repeats the error of a failed step, which Step already reported.
  sqlite3_reset(stmt_.get());
  bind_status_ = Status::Ok();
}

Result<bool> Statement::Step() {
  RETURN_IF_ERROR(bind_status_);
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return connection_->Error(rc, purpose_);
}

Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}

std::optional<std::string> Statement::OptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}

// ---- Connection ----

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, Mode mode,
                                                     std::chrono::milliseconds busy_timeout) {
  // Memory statistics make every SQLite allocation take one process-wide mutex; with many server
  // threads reading the catalog at once that mutex was the bottleneck (bench/api). Must be set
  // before SQLite initializes; if something initialized it earlier the call fails harmlessly.
  static std::once_flag configure;
  std::call_once(configure, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  // NOMUTEX: SQLite's own per-connection mutex is redundant, the catalog never shares a connection
  // between threads at the same time. No SQLITE_OPEN_URI: the path is always a plain file name.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (mode == Mode::kReadWriteCreate) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    int err = db != nullptr ? sqlite3_system_errno(db) : 0;
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    if (err != 0) return ErrnoStatus(err, "open catalog", path);
    return StatusFromCode(rc, fmt::format("cannot open catalog '{}': {}", path, message));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
  return std::make_unique<Connection>(db, path, busy_timeout);
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cached_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

void Connection::Return(const std::string& sql, sqlite3_stmt* stmt) const {
  constexpr size_t kMaxCached = 256;
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (cached_.size() >= kMaxCached) {
    sqlite3_finalize(stmt);
    return;
  }
  cached_.emplace(sql, stmt);
}

Result<Statement> Connection::Prepare(std::string_view sql, std::string_view purpose) const {
  std::string text(sql);
  auto cached = cached_.find(text);
  if (cached != cached_.end()) {
    sqlite3_stmt* stmt = cached->second;
    cached_.erase(cached);
    return Statement(*this, stmt, std::move(text), std::string(purpose));
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                              nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Error(rc, purpose);
  }
  if (stmt == nullptr) return Internal(fmt::format("catalog '{}': {}: empty SQL statement", path_, purpose));
  return Statement(*this, stmt, std::move(text), std::string(purpose));
}

Status Connection::Exec(std::string_view sql, std::string_view purpose) const {
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, purpose);
  return Status::Ok();
}

Result<std::string> Connection::QueryText(std::string_view sql, std::string_view purpose) const {
  ASSIGN_OR_RETURN(Statement stmt, Prepare(sql, purpose));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Internal(fmt::format("catalog '{}': {}: no result row", path_, purpose));
  return stmt.Text(0);
}

Result<int64_t> Connection::QueryInt(std::string_view sql, std::string_view purpose) const {
  ASSIGN_OR_RETURN(Statement stmt, Prepare(sql, purpose));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Internal(fmt::format("catalog '{}': {}: no result row", path_, purpose));
  return stmt.Int(0);
}

int64_t Connection::Changes() const {
  return sqlite3_changes64(db_);
}

int64_t Connection::LastInsertRowId() const {
  return sqlite3_last_insert_rowid(db_);
}

bool Connection::InTransaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

Status Connection::Error(int rc, std::string_view purpose) const {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(
          fmt::format("catalog '{}' is busy: {}: another connection (an EDL process or thread) held the lock longer "
                      "than the {} ms busy timeout",
                      path_, purpose, busy_timeout_.count()));
    case SQLITE_NOTADB:
      return InvalidArgument(fmt::format("'{}' is not an EDL catalog (not an SQLite database)", path_));
    case SQLITE_CORRUPT:
      return Internal(fmt::format("catalog '{}' is damaged: {}: {}", path_, purpose, sqlite3_errmsg(db_)));
    default: return StatusFromCode(rc, fmt::format("catalog '{}': {}: {}", path_, purpose, sqlite3_errmsg(db_)));
  }
}

// ---- Transaction ----

Result<Transaction> Transaction::Begin(const Connection& connection, Kind kind, std::string_view purpose) {
  std::string_view sql = kind == Kind::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN";
  // A cached statement: every catalog call begins and ends a transaction, so parsing BEGIN and
  // COMMIT each time shows in the server's profile.
  ASSIGN_OR_RETURN(Statement begin, connection.Prepare(sql, "begin a transaction"));
  Status status = begin.Run();
  if (!status.ok()) return status.WithContext(fmt::format("begin transaction to {}", purpose));
  return Transaction(connection, std::string(purpose));
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)), purpose_(std::move(other.purpose_)) {}

Transaction::~Transaction() {
  Rollback().IgnoreError();
}

Status Transaction::Commit() {
  if (connection_ == nullptr) return Internal("commit of a transaction that already ended");
  Status status;
  {
    Result<Statement> commit = connection_->Prepare("COMMIT", "commit a transaction");
    status = commit.ok() ? commit->Run() : commit.status();
  }  // the statement is reset (back in the cache) before a rollback
  if (!status.ok()) status = status.WithContext(fmt::format("commit transaction to {}", purpose_));
  if (!status.ok()) {
    Rollback().IgnoreError();
    return status;
  }
  connection_ = nullptr;
  return Status::Ok();
}

Status Transaction::Rollback() {
  const Connection* connection = std::exchange(connection_, nullptr);
  // After some errors (disk full, I/O) SQLite has already rolled back on its own.
  if (connection == nullptr || !connection->InTransaction()) return Status::Ok();
  return connection->Exec("ROLLBACK", fmt::format("roll back transaction to {}", purpose_));
}

}  // namespace edl::sqlite
