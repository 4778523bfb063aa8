// Internal to catalog/: thin RAII wrappers over the sqlite3 C API that turn every SQLite result code
// into a Status naming the catalog file and what the statement was for. A Connection owns one
// sqlite3* and the Statements prepared on it (each must die before its Connection). Not
// synchronized: one thread uses a Connection (and its Statements) at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>
#include <utility>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace edl::sqlite {

class Connection;

// Converts a non-OK SQLite result code into a Status with the code of design.md §5:
// busy/locked -> Unavailable, unique/primary key -> AlreadyExists, foreign key -> Conflict,
// check/not null -> InvalidArgument, read-only -> PermissionDenied, full/I/O -> Unavailable,
// not-a-database -> InvalidArgument, anything else -> Internal.
Status StatusFromCode(int rc, std::string_view message);

class Statement {
 public:
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;

  // Bind parameters 1, 2, ... in order. A bind failure is remembered and returned by Step()/Run().
  template <typename... Args>
  Statement& Bind(Args&&... args) {
    int index = 0;
    (BindOne(++index, std::forward<Args>(args)), ...);
    return *this;
  }

  // Binds parameters first, first + 1, ... in order, and SQLite reads text straight from the
  // caller's buffers instead of copying it: every value must stay alive and unchanged until the
  // statement has run. For hot statements kept across many rows (the audit log's INSERT).
  template <typename... Args>
  Statement& BindBorrowedFrom(int first, Args&&... args) {
    borrow_text_ = true;
    int index = first - 1;
    (BindOne(++index, std::forward<Args>(args)), ...);
    borrow_text_ = false;
    return *this;
  }

  // Binds one text parameter by position, for statements whose WHERE clause is built at run time.
  Statement& BindAt(int index, std::string_view value) {
    BindOne(index, value);
    return *this;
  }
  Statement& BindAt(int index, int64_t value) {
    BindOne(index, value);
    return *this;
  }

  // Makes a statement that has run ready to bind and run again, for callers that keep one for many
  // rows (cheaper than preparing it each time, even from the cache). Bindings stay until rebound.
  void Reset();

  // Advances the statement: true when a row is available, false when it is done.
  Result<bool> Step();
  // Steps until done, ignoring rows (for INSERT/UPDATE/DDL).
  Status Run();

  // Columns of the current row, numbered from 0.
  bool IsNull(int column) const;
  int64_t Int(int column) const;
  std::string Text(int column) const;
  // NULL reads as nullopt.
  std::optional<std::string> OptionalText(int column) const;

 private:
  friend class Connection;
  // Gives a cached statement back to its connection (reset, bindings cleared), else finalizes.
  struct Finalizer {
    const Connection* cache = nullptr;
    std::string sql;
    void operator()(sqlite3_stmt* stmt) const;
  };
  Statement(const Connection& connection, sqlite3_stmt* stmt, std::string sql, std::string purpose);

  void BindOne(int index, std::string_view value);
  void BindOne(int index, const std::string& value) { BindOne(index, std::string_view(value)); }
  void BindOne(int index, const char* value) { BindOne(index, std::string_view(value)); }
  void BindOne(int index, int64_t value);
  void BindOne(int index, int value) { BindOne(index, static_cast<int64_t>(value)); }
  void BindOne(int index, std::nullopt_t);
  void BindOne(int index, const std::optional<int64_t>& value) {
    if (value) {
      BindOne(index, *value);
    } else {
      BindOne(index, std::nullopt);
    }
  }
  void BindOne(int index, const std::optional<std::string>& value) {
    if (value) {
      BindOne(index, std::string_view(*value));
    } else {
      BindOne(index, std::nullopt);
    }
  }
  void Remember(int rc, int index);

  const Connection* connection_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  std::string purpose_;
  Status bind_status_;
  bool borrow_text_ = false;  // inside BindBorrowed
};

class Connection {
 public:
  enum class Mode { kReadWriteCreate, kReadWrite };

  // Opens `path` (an absolute file path; never a URI or ":memory:") and sets the busy timeout.
  // The caller has already checked that the file, if present, starts with an SQLite header.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, Mode mode,
                                                  std::chrono::milliseconds busy_timeout);
  // Takes ownership of an open `db`; use Open().
  Connection(sqlite3* db, std::string path, std::chrono::milliseconds busy_timeout)
      : db_(db), path_(std::move(path)), busy_timeout_(busy_timeout) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // `purpose` says what the statement is for ("insert dataset 'x'") and goes into error messages.
  // Statements are cached per connection by their SQL text: preparing was most of the cost of a
  // catalog read (bench/api). A Statement must not outlive its Connection.
  Result<Statement> Prepare(std::string_view sql, std::string_view purpose) const;
  // Runs one or more statements that return no rows we need (DDL, PRAGMA, BEGIN/COMMIT).
  Status Exec(std::string_view sql, std::string_view purpose) const;
  // Runs a statement returning a single text value, e.g. "PRAGMA journal_mode=WAL".
  Result<std::string> QueryText(std::string_view sql, std::string_view purpose) const;
  // Runs a statement returning a single integer, e.g. "SELECT COUNT(*) FROM audit".
  Result<int64_t> QueryInt(std::string_view sql, std::string_view purpose) const;

  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t Changes() const;
  int64_t LastInsertRowId() const;
  // True while a transaction is open (SQLite can end one on its own after some errors).
  bool InTransaction() const;

  // The Status for `rc` from the last call on this connection: "catalog 'PATH': PURPOSE: errmsg".
  Status Error(int rc, std::string_view purpose) const;
  const std::string& path() const { return path_; }

 private:
  friend struct Statement::Finalizer;
  void Return(const std::string& sql, sqlite3_stmt* stmt) const;

  sqlite3* db_;
  std::string path_;
  std::chrono::milliseconds busy_timeout_;
  // Idle prepared statements by SQL text. Mutable: caching does not change what the connection is.
  // Not locked: a connection is used by one thread at a time.
  mutable std::unordered_multimap<std::string, sqlite3_stmt*> cached_;
};

// An open transaction on a Connection: rolled back when destroyed unless Commit() succeeded.
// Move-only; the Connection must outlive it.
class Transaction {
 public:
  enum class Kind {
    kDeferred,   // BEGIN: takes a read snapshot at the first read
    kImmediate,  // BEGIN IMMEDIATE: takes the write lock now, waiting up to the busy timeout
  };

  static Result<Transaction> Begin(const Connection& connection, Kind kind, std::string_view purpose);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  Status Commit();
  // Ends the transaction without keeping its changes. Safe to call when SQLite already ended it.
  Status Rollback();

 private:
  Transaction(const Connection& connection, std::string purpose)
      : connection_(&connection), purpose_(std::move(purpose)) {}

  const Connection* connection_;  // null once committed, rolled back or moved from
  std::string purpose_;
};

}  // namespace edl::sqlite
