// Internal to catalog/: the SQLite catalog's schema history and the code that recognises an EDL
// catalog file and brings it up to date. Adding a schema change is one more entry at the end of
// the migration list in sqlite_schema.cc plus bumping kCatalogSchemaVersion (a static_assert ties
// the two). Functions run on a Connection the caller owns; not synchronized.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/status.h"

namespace edl {

class Clock;

namespace sqlite {
class Connection;
}

struct CatalogMigration {
  int version;                   // 1, 2, 3 ... in order
  std::string_view description;  // recorded in error messages
  std::string_view sql;          // one or more statements, run in the migration transaction
};

// Every migration this build knows, oldest first.
std::span<const CatalogMigration> CatalogMigrations();

// Stored in the SQLite header (PRAGMA application_id) so EDL catalogs are recognisable as such
// (and by file(1)); "EDL1" in ASCII.
inline constexpr int32_t kSqliteCatalogApplicationId = 0x45444c31;

// The schema version of the database on `db`: 0 for an empty database, the highest applied
// migration for an EDL catalog. InvalidArgument "is not an EDL catalog" for any other database;
// Conflict for a catalog at a version newer than this build knows. Changes nothing. Call inside a
// transaction so the answer is consistent.
Result<int> ReadSchemaVersion(const sqlite::Connection& db);

// Applies the pending migrations in one BEGIN IMMEDIATE transaction (so concurrent openers of a
// fresh file do not race) and returns the resulting version. Fails as ReadSchemaVersion does,
// changing nothing then.
Result<int> MigrateSchema(const sqlite::Connection& db, const Clock& clock);

}  // namespace edl
