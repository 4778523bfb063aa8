// SqliteCatalog: the Catalog kept in one SQLite file — the embedded default for a laptop or a single
// server (design.md §8 names PostgreSQL for scale-out). Borrows the Clock, which must outlive it.
// Thread-safe. Writes use one connection behind a mutex and BEGIN IMMEDIATE: writers in this
// process queue on the mutex, writers in other processes on SQLite's file lock (up to the busy
// timeout, then Unavailable). Reads use a pool of read-only connections and see WAL snapshots, so
// they neither wait for a writer nor for each other. A Write callback must not call Write() on the
// same catalog (refused with Internal instead of deadlocking).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"

namespace edl {

namespace sqlite {
class Connection;
}

struct SqliteCatalogOptions {
  // How long a writer waits for another connection's write lock before Unavailable.
  std::chrono::milliseconds busy_timeout{5000};
};

class SqliteCatalog final : public Catalog {
 public:
  // Opens the catalog file at `path` (created when absent) and applies pending migrations.
  // Fails, leaving the file untouched: NotFound if the folder does not exist; InvalidArgument if
  // the file is not an SQLite database or is one holding something other than an EDL catalog;
  // Conflict if it was written by a newer EDL (schema version above kCatalogSchemaVersion).
  static Result<std::unique_ptr<SqliteCatalog>> Open(const std::filesystem::path& path, const Clock& clock,
                                                     const SqliteCatalogOptions& options = {});
  ~SqliteCatalog() override;
  SqliteCatalog(const SqliteCatalog&) = delete;
  SqliteCatalog& operator=(const SqliteCatalog&) = delete;

  int SchemaVersion() const override { return schema_version_; }
  std::string Describe() const override { return "sqlite:" + path_; }

  Status Read(const std::function<Status(CatalogTransaction&)>& fn) override;

  // The private constructor's key: only Open() makes a SqliteCatalog.
  class Key {
    friend class SqliteCatalog;
    Key() = default;
  };
  SqliteCatalog(Key, std::string path, const Clock& clock, const SqliteCatalogOptions& options,
                std::unique_ptr<sqlite::Connection> writer, int schema_version);

 protected:
  Status WriteTransaction(const std::function<Status(CatalogTransaction&)>& fn) override;

 private:
  Result<std::unique_ptr<sqlite::Connection>> AcquireReader();
  void ReleaseReader(std::unique_ptr<sqlite::Connection> reader);
  Status Run(const sqlite::Connection& connection, bool write, const std::function<Status(CatalogTransaction&)>& fn);

  const std::string path_;  // absolute
  const Clock& clock_;
  const SqliteCatalogOptions options_;
  const int schema_version_;

  std::mutex write_mutex_;
  std::unique_ptr<sqlite::Connection> writer_;  // guarded by write_mutex_
  // The thread inside Write(), to refuse nested writes; default id when none.
  std::atomic<std::thread::id> writer_thread_;

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<sqlite::Connection>> idle_readers_;  // guarded by readers_mutex_
};

}  // namespace edl
