#include "catalog/sqlite_catalog.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "catalog/audit_chain.h"
#include "catalog/sqlite_connection.h"
#include "catalog/sqlite_schema.h"
#include "core/clock.h"
#include "core/serialize.h"

namespace edl {
namespace {

using sqlite::Connection;
using sqlite::Statement;

// Idle read connections kept for reuse; more are opened when more threads read at once.
constexpr size_t kMaxIdleReaders = 8;

// ---- Opening ----

// The 16 bytes every SQLite database file starts with.
constexpr char kSqliteHeader[] = "SQLite format 3";  // plus its terminating NUL

// Checks, before SQLite touches the file, that `path` is absent, empty, or starts like an SQLite
// database, so that opening a wrong file (a YAML config, a CSV) cannot modify it.
Status CheckFileLooksLikeSqlite(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Ok();  // a new catalog
    return ErrnoStatus(errno, "open catalog", path);
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};
  struct stat info {};
  if (fstat(fd, &info) != 0) return ErrnoStatus(errno, "inspect catalog", path);
  if (S_ISDIR(info.st_mode)) return InvalidArgument(fmt::format("catalog '{}' is a folder, not a file", path));
  if (info.st_size == 0) return Status::Ok();  // SQLite treats an empty file as an empty database
  char header[sizeof(kSqliteHeader)] = {};
  size_t got = 0;
  while (got < sizeof(header)) {
    ssize_t n = read(fd, header + got, sizeof(header) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "read catalog", path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != sizeof(header) || std::memcmp(header, kSqliteHeader, sizeof(header)) != 0) {
    return InvalidArgument(fmt::format("'{}' is not an EDL catalog (not an SQLite database)", path));
  }
  return Status::Ok();
}

// synchronous=FULL: in WAL mode NORMAL can lose the last commits on power loss (the database stays
// consistent). The catalog's commits are promises to users — an update is complete, a grant is
// revoked, an audit record exists — and they are few, so one fsync per commit is cheap insurance.
// foreign_keys is off by default in SQLite and is per connection.
Status ConfigureWriter(const Connection& db) {
  RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = FULL", "set synchronous mode"));
  return db.Exec("PRAGMA foreign_keys = ON", "enable foreign keys");
}

// query_only: a Read transaction cannot write even if the transaction object is misused.
Status ConfigureReader(const Connection& db) {
  RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON", "enable foreign keys"));
  return db.Exec("PRAGMA query_only = ON", "make the connection read-only");
}

// ---- Rows ----

Result<std::string> SpecJson(const DatasetSpec& spec) {
  try {
    return ToJson(spec).dump();
  } catch (const nlohmann::json::exception& e) {  // e.g. text that is not UTF-8
    return InvalidArgument(fmt::format("dataset '{}' cannot be stored: {}", spec.name, e.what()));
  }
}

constexpr std::string_view kDatasetColumns = "name, spec_json, bucket, generation, created_at, updated_at";
constexpr int64_t kReservedRecords = 256;  // at most, for a page of datasets

// Parsed dataset specs by their stored JSON text, for every catalog in the process: listing and
// reading datasets is the server's most frequent catalog work, and parsing the JSON was most of
// it. Keyed by the exact text, so a changed spec (or another catalog's) can never be served from
// here; bounded by clearing it when full.
constexpr size_t kMaxCachedSpecs = 20000;
std::shared_mutex spec_cache_mutex;
std::unordered_map<std::string, DatasetSpec>& SpecCache() {
  static auto* cache = new std::unordered_map<std::string, DatasetSpec>();  // never destroyed: used at exit
  return *cache;
}

bool CachedSpec(const std::string& text, DatasetSpec& out) {
  std::shared_lock lock(spec_cache_mutex);
  auto it = SpecCache().find(text);
  if (it == SpecCache().end()) return false;
  out = it->second;
  return true;
}

void RememberSpec(std::string text, const DatasetSpec& spec) {
  std::unique_lock lock(spec_cache_mutex);
  if (SpecCache().size() >= kMaxCachedSpecs) SpecCache().clear();
  SpecCache().emplace(std::move(text), spec);
}

Result<DatasetRecord> ReadDataset(const Connection& db, const Statement& row) {
  std::string name = row.Text(0);
  auto damaged = [&](std::string_view why) {
    return Internal(fmt::format("catalog '{}' is damaged: dataset '{}': {}", db.path(), name, why));
  };
  std::string text = row.Text(1);
  DatasetRecord record;
  if (!CachedSpec(text, record.spec)) {
    nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return damaged("the stored spec is not valid JSON");
    Result<DatasetSpec> spec = DatasetSpecFromJson(json);
    if (!spec.ok()) return damaged(spec.status().message());
    record.spec = std::move(spec).value();
    RememberSpec(std::move(text), record.spec);
  }
  record.bucket = row.Text(2);
  record.generation = row.Int(3);
  record.created_at = row.Text(4);
  record.updated_at = row.Text(5);
  return record;
}

constexpr std::string_view kGrantSelect =
    "SELECT g.id, p.kind, p.name, g.role_name, g.granted_by, g.granted_at, g.reason, g.expires_at, "
    "g.revoked_at, g.revoked_by, g.revoke_reason FROM grants g JOIN principals p ON p.id = g.principal_id";

Result<GrantRecord> ReadGrant(const Statement& row) {
  GrantRecord grant;
  grant.id = row.Int(0);
  ASSIGN_OR_RETURN(grant.principal.kind, ParsePrincipalKind(row.Text(1)));
  grant.principal.name = row.Text(2);
  grant.role = row.Text(3);
  grant.granted_by = row.Text(4);
  grant.granted_at = row.Text(5);
  grant.reason = row.Text(6);
  grant.expires_at = row.OptionalText(7);
  grant.revoked_at = row.OptionalText(8);
  grant.revoked_by = row.Text(9);
  grant.revoke_reason = row.Text(10);
  return grant;
}

constexpr std::string_view kTokenSelect =
    "SELECT t.id, u.name, t.description, t.secret_sha256, t.created_at, t.created_by, t.expires_at, t.revoked_at, "
    "t.revoked_by FROM tokens t JOIN users u ON u.id = t.user_id";

TokenRecord ReadToken(const Statement& row) {
  TokenRecord token;
  token.id = row.Int(0);
  token.user = row.Text(1);
  token.description = row.Text(2);
  token.secret_sha256 = row.Text(3);
  token.created_at = row.Text(4);
  token.created_by = row.Text(5);
  token.expires_at = row.OptionalText(6);
  token.revoked_at = row.OptionalText(7);
  token.revoked_by = row.Text(8);
  return token;
}

constexpr std::string_view kJobColumns =
    "id, kind, state, dataset, spec_json, created_by, created_at, started_at, finished_at, attempts, max_attempts, "
    "lease_owner, lease_expires_at, cancel_requested, cancel_requested_by, progress_phase, progress_bytes_done, "
    "progress_bytes_total, progress_files_done, progress_files_total, update_number, result_json, error";

Result<JobRecord> ReadJob(const Statement& row) {
  JobRecord job;
  job.id = row.Int(0);
  job.kind = row.Text(1);
  ASSIGN_OR_RETURN(job.state, ParseJobState(row.Text(2)));
  job.dataset = row.Text(3);
  job.spec_json = row.Text(4);
  job.created_by = row.Text(5);
  job.created_at = row.Text(6);
  job.started_at = row.OptionalText(7);
  job.finished_at = row.OptionalText(8);
  job.attempts = row.Int(9);
  job.max_attempts = row.Int(10);
  job.lease_owner = row.Text(11);  // NULL (not leased) reads as ""
  job.lease_expires_at = row.OptionalText(12);
  job.cancel_requested = row.Int(13) != 0;
  job.cancel_requested_by = row.OptionalText(14);
  job.progress.phase = row.Text(15);
  job.progress.bytes_done = static_cast<uint64_t>(row.Int(16));
  job.progress.bytes_total = static_cast<uint64_t>(row.Int(17));
  job.progress.files_done = row.Int(18);
  job.progress.files_total = row.Int(19);
  if (!row.IsNull(20)) job.update_number = row.Int(20);
  job.result_json = row.Text(21);
  job.error = row.Text(22);
  return job;
}

// The error a cancelled job carries.
std::string CancelledBy(const std::optional<std::string>& requested_by) {
  return fmt::format("cancelled by {}", requested_by.value_or("an unknown principal"));
}

constexpr std::string_view kAuditColumns = "seq, at, actor, action, target, details_json, decision, reason, request_id";

AuditEvent ReadAuditEvent(const Statement& row) {
  AuditEvent event;
  event.seq = row.Int(0);
  event.at = row.Text(1);
  event.actor = row.Text(2);
  event.action = row.Text(3);
  event.target = row.Text(4);
  event.details_json = row.Text(5);
  event.decision = row.Text(6);
  event.reason = row.Text(7);
  event.request_id = row.Text(8);
  return event;
}

constexpr std::string_view kAccessRequestSelect =
    "SELECT a.id, d.name, p.kind, p.name, a.level, a.justification, a.days, a.requested_by, a.requested_at, a.state, "
    "a.first_approved_by, a.first_approved_at, a.decided_by, a.decided_at, a.decision_reason, a.grant_id "
    "FROM access_requests a JOIN datasets d ON d.id = a.dataset_id JOIN principals p ON p.id = a.grantee_id";

Result<AccessRequestRecord> ReadAccessRequest(const Statement& row) {
  AccessRequestRecord r;
  r.id = row.Int(0);
  r.dataset = row.Text(1);
  ASSIGN_OR_RETURN(r.grantee.kind, ParsePrincipalKind(row.Text(2)));
  r.grantee.name = row.Text(3);
  ASSIGN_OR_RETURN(r.level, ParseAccessLevel(row.Text(4)));
  r.justification = row.Text(5);
  if (!row.IsNull(6)) r.days = row.Int(6);
  r.requested_by = row.Text(7);
  r.requested_at = row.Text(8);
  ASSIGN_OR_RETURN(r.state, ParseAccessRequestState(row.Text(9)));
  r.first_approved_by = row.Text(10);
  r.first_approved_at = row.Text(11);
  r.decided_by = row.Text(12);
  r.decided_at = row.Text(13);
  r.decision_reason = row.Text(14);
  if (!row.IsNull(15)) r.grant_id = row.Int(15);
  return r;
}

// ---- Transactions ----

class SqliteTransaction final : public CatalogTransaction {
 public:
  SqliteTransaction(const Connection& db, const Clock& clock, bool writable)
      : db_(db), clock_(clock), writable_(writable) {}

  Result<std::optional<std::string>> GetSetting(std::string_view key) override {
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("SELECT value FROM settings WHERE key = ?", fmt::format("read setting '{}'", key)));
    stmt.Bind(key);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(stmt.Text(0));
  }

  Status PutSetting(std::string_view key, std::string_view value) override {
    RETURN_IF_ERROR(RequireWrite("PutSetting"));
    if (key.empty()) return InvalidArgument("setting key is empty");
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("INSERT INTO settings (key, value) VALUES (?, ?) "
                                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                                 fmt::format("write setting '{}'", key)));
    return stmt.Bind(key, value).Run();
  }

  Result<std::vector<BucketRecord>> ListBuckets() override {
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("SELECT name, kind, tier, region FROM buckets ORDER BY name", "list buckets"));
    std::vector<BucketRecord> buckets;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return buckets;
      BucketRecord bucket;
      bucket.name = stmt.Text(0);
      bucket.drop = stmt.Text(1) == "drop";
      ASSIGN_OR_RETURN(bucket.tier, ParseTier(stmt.Text(2)));
      bucket.region = stmt.Text(3);
      buckets.push_back(std::move(bucket));
    }
  }

  Status InsertBucket(const BucketRecord& bucket) override {
    RETURN_IF_ERROR(RequireWrite("InsertBucket"));
    if (bucket.name.empty()) return InvalidArgument("bucket name is empty");
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("INSERT INTO buckets (name, kind, tier, region, created_at) VALUES (?, ?, ?, ?, ?)",
                                 fmt::format("insert bucket '{}'", bucket.name)));
    Status status =
        stmt.Bind(bucket.name, bucket.drop ? "drop" : "data", TierName(bucket.tier), bucket.region, Now()).Run();
    if (status.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists(fmt::format("bucket '{}' already exists in the catalog", bucket.name));
    }
    return status;
  }

  Result<std::optional<DatasetRecord>> GetDataset(std::string_view name) override {
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(fmt::format("SELECT {} FROM datasets WHERE name = ?", kDatasetColumns),
                                                 fmt::format("read dataset '{}'", name)));
    stmt.Bind(name);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<DatasetRecord>();
    ASSIGN_OR_RETURN(DatasetRecord record, ReadDataset(db_, stmt));
    return std::optional<DatasetRecord>(std::move(record));
  }

  Result<std::vector<DatasetRecord>> ListDatasets() override {
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(fmt::format("SELECT {} FROM datasets ORDER BY name", kDatasetColumns),
                                                 "list datasets"));
    std::vector<DatasetRecord> datasets;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return datasets;
      ASSIGN_OR_RETURN(DatasetRecord record, ReadDataset(db_, stmt));
      datasets.push_back(std::move(record));
    }
  }

  Result<std::vector<DatasetRecord>> ListDatasetsFiltered(const DatasetFilter& filter) override {
    // Numbers are formatted in; text is bound.
    std::string sql = fmt::format("SELECT {} FROM datasets WHERE name > ?", kDatasetColumns);
    if (filter.tier) sql += " AND tier = ?";
    if (!filter.name_prefix.empty()) sql += fmt::format(" AND substr(name, 1, {}) = ?", filter.name_prefix.size());
    sql += fmt::format(" ORDER BY name LIMIT {}", std::max<int64_t>(filter.limit, 1));
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(sql, "list datasets"));
    int index = 1;
    stmt.BindAt(index++, filter.after_name);
    if (filter.tier) stmt.BindAt(index++, TierName(*filter.tier));
    if (!filter.name_prefix.empty()) stmt.BindAt(index++, filter.name_prefix);
    std::vector<DatasetRecord> datasets;
    // A record is large to move: growing the vector row by row showed in the listing's profile.
    datasets.reserve(static_cast<size_t>(std::clamp<int64_t>(filter.limit, 1, kReservedRecords)));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return datasets;
      ASSIGN_OR_RETURN(DatasetRecord record, ReadDataset(db_, stmt));
      datasets.push_back(std::move(record));
    }
  }

  Status InsertDataset(const DatasetRecord& dataset) override {
    RETURN_IF_ERROR(RequireWrite("InsertDataset"));
    const std::string& name = dataset.spec.name;
    if (name.empty()) return InvalidArgument("dataset name is empty");
    ASSIGN_OR_RETURN(std::string spec_json, SpecJson(dataset.spec));
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("INSERT INTO datasets (name, tier, region, bucket, spec_json, generation, "
                                 "next_update_number, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?)",
                                 fmt::format("insert dataset '{}'", name)));
    std::string now = Now();
    Status status =
        stmt.Bind(name, TierName(dataset.spec.tier), dataset.spec.region, dataset.bucket, spec_json, now, now).Run();
    if (status.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists(fmt::format("dataset '{}' already exists", name));
    }
    return status;
  }

  Status UpdateDataset(const DatasetRecord& dataset) override {
    RETURN_IF_ERROR(RequireWrite("UpdateDataset"));
    const std::string& name = dataset.spec.name;
    ASSIGN_OR_RETURN(std::string spec_json, SpecJson(dataset.spec));
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("UPDATE datasets SET tier = ?, region = ?, bucket = ?, spec_json = ?, "
                                                 "generation = generation + 1, updated_at = ? WHERE name = ?",
                                                 fmt::format("update dataset '{}'", name)));
    RETURN_IF_ERROR(
        stmt.Bind(TierName(dataset.spec.tier), dataset.spec.region, dataset.bucket, spec_json, Now(), name).Run());
    if (db_.Changes() == 0) return NotFound(fmt::format("dataset '{}' does not exist", name));
    return Status::Ok();
  }

  // One statement (the listing counts every dataset on its page): no row when the dataset does not exist.
  Result<int64_t> CountUpdates(std::string_view dataset) override {
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("SELECT (SELECT COUNT(*) FROM updates u WHERE u.dataset_id = d.id) FROM datasets d "
                                 "WHERE d.name = ?",
                                 fmt::format("count the updates of dataset '{}'", dataset)));
    stmt.Bind(dataset);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return NotFound(fmt::format("dataset '{}' does not exist", dataset));
    return stmt.Int(0);
  }

  Result<bool> PrincipalExists(const Principal& principal) override {
    ASSIGN_OR_RETURN(std::optional<int64_t> id, PrincipalId(principal));
    return id.has_value();
  }

  Result<bool> EnsurePrincipal(const Principal& principal) override {
    RETURN_IF_ERROR(RequireWrite("EnsurePrincipal"));
    if (principal.name.empty()) return InvalidArgument("principal name is empty");
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("INSERT INTO principals (kind, name, created_at) VALUES (?, ?, ?) "
                                                 "ON CONFLICT (kind, name) DO NOTHING",
                                                 fmt::format("record principal '{}'", PrincipalRef(principal))));
    RETURN_IF_ERROR(stmt.Bind(PrincipalKindName(principal.kind), principal.name, Now()).Run());
    return db_.Changes() == 1;
  }

  Result<std::vector<Principal>> ListPrincipals() override {
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("SELECT kind, name FROM principals ORDER BY kind, name", "list principals"));
    std::vector<Principal> principals;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return principals;
      Principal principal;
      ASSIGN_OR_RETURN(principal.kind, ParsePrincipalKind(stmt.Text(0)));
      principal.name = stmt.Text(1);
      principals.push_back(std::move(principal));
    }
  }

  Result<std::vector<RoleRecord>> ListRoles(std::optional<std::string_view> dataset) override {
    std::string sql =
        "SELECT r.name, d.name, r.level, r.description FROM roles r LEFT JOIN datasets d ON d.id = r.dataset_id";
    if (dataset && dataset->empty()) {
      sql += " WHERE r.dataset_id IS NULL";
    } else if (dataset) {
      sql += " WHERE d.name = ?";
    }
    sql += " ORDER BY r.name";
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(sql, "list roles"));
    if (dataset && !dataset->empty()) stmt.Bind(*dataset);
    std::vector<RoleRecord> roles;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return roles;
      RoleRecord role;
      role.name = stmt.Text(0);
      role.dataset = stmt.Text(1);  // NULL (instance role) reads as ""
      ASSIGN_OR_RETURN(role.level, ParseAccessLevel(stmt.Text(2)));
      role.description = stmt.Text(3);
      roles.push_back(std::move(role));
    }
  }

  Status InsertRole(const RoleRecord& role) override {
    RETURN_IF_ERROR(RequireWrite("InsertRole"));
    if (role.name.empty()) return InvalidArgument("role name is empty");
    std::optional<int64_t> dataset_id;
    if (!role.dataset.empty()) {
      ASSIGN_OR_RETURN(dataset_id, RequireDatasetId(role.dataset));
    }
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("INSERT INTO roles (name, dataset_id, level, description, created_at) "
                                                 "VALUES (?, ?, ?, ?, ?)",
                                                 fmt::format("insert role '{}'", role.name)));
    Status status = stmt.Bind(role.name, dataset_id, AccessLevelName(role.level), role.description, Now()).Run();
    if (status.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists(fmt::format("role '{}' already exists", role.name));
    }
    return status;
  }

  Result<std::vector<GrantRecord>> ListGrants(const GrantFilter& filter) override {
    std::string sql(kGrantSelect);
    std::vector<std::string> params;
    if (filter.dataset) {
      sql += " JOIN roles r ON r.name = g.role_name JOIN datasets d ON d.id = r.dataset_id";
    }
    sql += " WHERE 1 = 1";
    if (filter.role) {
      sql += " AND g.role_name = ?";
      params.push_back(*filter.role);
    }
    if (filter.principal) {
      sql += " AND p.kind = ? AND p.name = ?";
      params.emplace_back(PrincipalKindName(filter.principal->kind));
      params.push_back(filter.principal->name);
    }
    if (filter.dataset) {
      sql += " AND d.name = ?";
      params.push_back(*filter.dataset);
    }
    if (!filter.include_revoked) sql += " AND g.revoked_at IS NULL";
    sql += " ORDER BY g.id";
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(sql, "list grants"));
    for (size_t i = 0; i < params.size(); ++i) stmt.BindAt(static_cast<int>(i + 1), params[i]);
    std::vector<GrantRecord> grants;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return grants;
      ASSIGN_OR_RETURN(GrantRecord grant, ReadGrant(stmt));
      grants.push_back(std::move(grant));
    }
  }

  Result<int64_t> InsertGrant(const GrantRecord& grant) override {
    RETURN_IF_ERROR(RequireWrite("InsertGrant"));
    std::string principal_ref = PrincipalRef(grant.principal);
    ASSIGN_OR_RETURN(std::optional<int64_t> principal_id, PrincipalId(grant.principal));
    if (!principal_id) {
      return NotFound(
          fmt::format("cannot grant role '{}' to '{}': the principal does not exist", grant.role, principal_ref));
    }
    ASSIGN_OR_RETURN(Statement role,
                     db_.Prepare("SELECT 1 FROM roles WHERE name = ?", fmt::format("look up role '{}'", grant.role)));
    role.Bind(grant.role);
    ASSIGN_OR_RETURN(bool role_exists, role.Step());
    if (!role_exists) {
      return NotFound(
          fmt::format("cannot grant role '{}' to '{}': the role does not exist", grant.role, principal_ref));
    }
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("INSERT INTO grants (principal_id, role_name, granted_by, granted_at, reason, "
                                 "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                                 fmt::format("grant role '{}' to '{}'", grant.role, principal_ref)));
    RETURN_IF_ERROR(stmt.Bind(*principal_id, grant.role, grant.granted_by,
                              grant.granted_at.empty() ? Now() : grant.granted_at, grant.reason, grant.expires_at)
                        .Run());
    return db_.LastInsertRowId();
  }

  Status RevokeGrant(int64_t grant_id, std::string_view revoked_by, std::string_view reason) override {
    RETURN_IF_ERROR(RequireWrite("RevokeGrant"));
    ASSIGN_OR_RETURN(Statement find, db_.Prepare("SELECT revoked_at, revoked_by FROM grants WHERE id = ?",
                                                 fmt::format("look up grant {}", grant_id)));
    find.Bind(grant_id);
    ASSIGN_OR_RETURN(bool found, find.Step());
    if (!found) return NotFound(fmt::format("grant {} does not exist", grant_id));
    if (!find.IsNull(0)) {
      return Conflict(fmt::format("grant {} was already revoked at {} by '{}'", grant_id, find.Text(0), find.Text(1)));
    }
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("UPDATE grants SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ?",
                                 fmt::format("revoke grant {}", grant_id)));
    return stmt.Bind(Now(), revoked_by, reason, grant_id).Run();
  }

  Result<std::optional<GrantRecord>> GetGrant(int64_t grant_id) override {
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(std::string(kGrantSelect) + " WHERE g.id = ?",
                                                 fmt::format("look up grant {}", grant_id)));
    stmt.Bind(grant_id);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<GrantRecord>();
    ASSIGN_OR_RETURN(GrantRecord grant, ReadGrant(stmt));
    return std::optional<GrantRecord>(std::move(grant));
  }

  // ---- Access requests ----

  Result<int64_t> InsertAccessRequest(const AccessRequestRecord& request) override {
    RETURN_IF_ERROR(RequireWrite("InsertAccessRequest"));
    ASSIGN_OR_RETURN(int64_t dataset_id, RequireDatasetId(request.dataset));
    ASSIGN_OR_RETURN(std::optional<int64_t> grantee_id, PrincipalId(request.grantee));
    if (!grantee_id) {
      return NotFound(fmt::format("cannot request access for '{}': the principal does not exist",
                                  PrincipalRef(request.grantee)));
    }
    ASSIGN_OR_RETURN(
        Statement stmt,
        db_.Prepare("INSERT INTO access_requests (dataset_id, grantee_id, level, justification, days, requested_by, "
                    "requested_at, state, first_approved_by, first_approved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    fmt::format("record an access request on dataset '{}'", request.dataset)));
    RETURN_IF_ERROR(stmt.Bind(dataset_id, *grantee_id, AccessLevelName(request.level), request.justification,
                              request.days, request.requested_by,
                              request.requested_at.empty() ? Now() : request.requested_at,
                              AccessRequestStateName(request.state), request.first_approved_by,
                              request.first_approved_at)
                        .Run());
    return db_.LastInsertRowId();
  }

  Result<std::optional<AccessRequestRecord>> GetAccessRequest(int64_t id) override {
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(std::string(kAccessRequestSelect) + " WHERE a.id = ?",
                                                 fmt::format("look up access request {}", id)));
    stmt.Bind(id);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<AccessRequestRecord>();
    ASSIGN_OR_RETURN(AccessRequestRecord request, ReadAccessRequest(stmt));
    return std::optional<AccessRequestRecord>(std::move(request));
  }

  Result<std::vector<AccessRequestRecord>> ListAccessRequests(const AccessRequestFilter& filter) override {
    std::string sql = std::string(kAccessRequestSelect) + " WHERE a.id > ?";
    std::vector<std::string> params;
    if (filter.dataset) {
      sql += " AND d.name = ?";
      params.push_back(*filter.dataset);
    }
    if (filter.state) {
      sql += " AND a.state = ?";
      params.emplace_back(AccessRequestStateName(*filter.state));
    }
    if (filter.requested_by) {
      sql += " AND a.requested_by = ?";
      params.push_back(*filter.requested_by);
    }
    sql += " ORDER BY a.id LIMIT ?";
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(sql, "list access requests"));
    stmt.BindAt(1, filter.after_id);
    for (size_t i = 0; i < params.size(); ++i) stmt.BindAt(static_cast<int>(i + 2), params[i]);
    stmt.BindAt(static_cast<int>(params.size() + 2), filter.limit);
    std::vector<AccessRequestRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return out;
      ASSIGN_OR_RETURN(AccessRequestRecord request, ReadAccessRequest(stmt));
      out.push_back(std::move(request));
    }
  }

  Status UpdateAccessRequest(const AccessRequestRecord& request) override {
    RETURN_IF_ERROR(RequireWrite("UpdateAccessRequest"));
    ASSIGN_OR_RETURN(
        Statement stmt,
        db_.Prepare("UPDATE access_requests SET state = ?, first_approved_by = ?, first_approved_at = ?, "
                    "decided_by = ?, decided_at = ?, decision_reason = ?, grant_id = ? "
                    "WHERE id = ? AND state = 'pending'",
                    fmt::format("decide access request {}", request.id)));
    RETURN_IF_ERROR(stmt.Bind(AccessRequestStateName(request.state), request.first_approved_by,
                              request.first_approved_at, request.decided_by, request.decided_at,
                              request.decision_reason, request.grant_id, request.id)
                        .Run());
    if (db_.Changes() == 1) return Status::Ok();
    ASSIGN_OR_RETURN(std::optional<AccessRequestRecord> current, GetAccessRequest(request.id));
    if (!current) return NotFound(fmt::format("access request {} does not exist", request.id));
    return Conflict(fmt::format("access request {} was already {} by '{}'", request.id,
                                AccessRequestStateName(current->state), current->decided_by));
  }

  Result<int64_t> AccessEpoch() override {
    return db_.QueryInt("SELECT epoch FROM access_epoch WHERE id = 1", "read the access epoch");
  }

  Result<CatalogEpochs> Epochs() override {
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("SELECT a.epoch, d.epoch FROM access_epoch a, data_epoch d "
                                                 "WHERE a.id = 1 AND d.id = 1",
                                                 "read the catalog epochs"));
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Internal("the catalog has no epochs row");
    return CatalogEpochs{stmt.Int(0), stmt.Int(1)};
  }

  // ---- Updates ----

  static constexpr std::string_view kUpdateColumns =
      "d.name, u.number, u.kind, u.state, u.created_by, u.created_at, u.completed_at, u.failure_reason, "
      "u.metadata_json, u.lease_owner, u.lease_expires_at, u.files_removed_at";

  static Result<UpdateRecord> ReadUpdate(const Statement& stmt) {
    UpdateRecord u;
    u.dataset = stmt.Text(0);
    u.number = stmt.Int(1);
    ASSIGN_OR_RETURN(u.kind, ParseUpdateKind(stmt.Text(2)));
    ASSIGN_OR_RETURN(u.state, ParseUpdateState(stmt.Text(3)));
    u.created_by = stmt.Text(4);
    u.created_at = stmt.Text(5);
    u.completed_at = stmt.OptionalText(6);
    u.failure_reason = stmt.OptionalText(7).value_or("");
    u.metadata_json = stmt.OptionalText(8).value_or("");
    u.lease_owner = stmt.OptionalText(9).value_or("");
    u.lease_expires_at = stmt.OptionalText(10);
    u.files_removed_at = stmt.OptionalText(11);
    return u;
  }

  template <typename... Args>
  Result<std::vector<UpdateRecord>> QueryUpdates(std::string_view where, std::string_view purpose, Args&&... args) {
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare(fmt::format("SELECT {} FROM updates u JOIN datasets d ON d.id = u.dataset_id WHERE {}",
                                             kUpdateColumns, where),
                                 std::string(purpose)));
    stmt.Bind(std::forward<Args>(args)...);
    std::vector<UpdateRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(UpdateRecord u, ReadUpdate(stmt));
      out.push_back(std::move(u));
    }
    return out;
  }

  // The update's state, or NotFound naming it.
  Result<UpdateState> RequireUpdateState(int64_t dataset_id, std::string_view dataset, int64_t number) {
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("SELECT state FROM updates WHERE dataset_id = ? AND number = ?",
                                                 fmt::format("look up update {} of dataset '{}'", number, dataset)));
    stmt.Bind(dataset_id, number);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return NotFound(fmt::format("update {} of dataset '{}' does not exist", number, dataset));
    return ParseUpdateState(stmt.Text(0));
  }

  Status RequireStaging(int64_t dataset_id, std::string_view dataset, int64_t number, std::string_view doing) {
    ASSIGN_OR_RETURN(UpdateState state, RequireUpdateState(dataset_id, dataset, number));
    if (state != UpdateState::kStaging) {
      return Conflict(fmt::format("cannot {} update {} of dataset '{}': it is {}, not staging", doing, number, dataset,
                                  UpdateStateName(state)));
    }
    return Status::Ok();
  }

  Result<int64_t> ReserveUpdate(std::string_view dataset, UpdateKind kind, std::string_view created_by,
                                std::string_view lease_owner, std::string_view lease_expires_at) override {
    RETURN_IF_ERROR(RequireWrite("ReserveUpdate"));
    ASSIGN_OR_RETURN(int64_t dataset_id, RequireDatasetId(dataset));
    ASSIGN_OR_RETURN(Statement next, db_.Prepare("SELECT next_update_number FROM datasets WHERE id = ?",
                                                 fmt::format("reserve an update number for dataset '{}'", dataset)));
    next.Bind(dataset_id);
    RETURN_IF_ERROR(next.Step().status());
    int64_t number = next.Int(0);
    ASSIGN_OR_RETURN(Statement bump, db_.Prepare("UPDATE datasets SET next_update_number = ? WHERE id = ?",
                                                 fmt::format("reserve update {} of dataset '{}'", number, dataset)));
    RETURN_IF_ERROR(bump.Bind(number + 1, dataset_id).Run());
    ASSIGN_OR_RETURN(Statement insert,
                     db_.Prepare("INSERT INTO updates (dataset_id, number, kind, state, created_by, created_at, "
                                 "lease_owner, lease_expires_at) VALUES (?, ?, ?, 'staging', ?, ?, ?, ?)",
                                 fmt::format("record staging update {} of dataset '{}'", number, dataset)));
    RETURN_IF_ERROR(insert.Bind(dataset_id, number, UpdateKindName(kind), created_by, Now(), lease_owner,
                                lease_expires_at).Run());
    return number;
  }

  Status RenewUpdateLease(std::string_view dataset, int64_t number, std::string_view lease_expires_at) override {
    RETURN_IF_ERROR(RequireWrite("RenewUpdateLease"));
    ASSIGN_OR_RETURN(int64_t dataset_id, RequireDatasetId(dataset));
    RETURN_IF_ERROR(RequireStaging(dataset_id, dataset, number, "renew the lease of"));
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("UPDATE updates SET lease_expires_at = ? WHERE dataset_id = ? AND number = ?",
                                 fmt::format("renew the lease of update {} of dataset '{}'", number, dataset)));
    return stmt.Bind(lease_expires_at, dataset_id, number).Run();
  }

  Status CompleteUpdate(std::string_view dataset, int64_t number, std::string_view metadata_json,
                        const std::vector<UpdateFile>& files) override {
    RETURN_IF_ERROR(RequireWrite("CompleteUpdate"));
    ASSIGN_OR_RETURN(int64_t dataset_id, RequireDatasetId(dataset));
    RETURN_IF_ERROR(RequireStaging(dataset_id, dataset, number, "complete"));
    std::string purpose = fmt::format("complete update {} of dataset '{}'", number, dataset);
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("UPDATE updates SET state = 'complete', completed_at = ?, "
                                                 "metadata_json = ?, lease_owner = NULL, lease_expires_at = NULL "
                                                 "WHERE dataset_id = ? AND number = ?",
                                                 purpose));
    RETURN_IF_ERROR(stmt.Bind(Now(), metadata_json, dataset_id, number).Run());
    for (const UpdateFile& file : files) {
      ASSIGN_OR_RETURN(Statement insert,
                       db_.Prepare("INSERT INTO files (dataset_id, update_number, area, key, size, sha256, rows) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   purpose + ": record file " + file.key));
      RETURN_IF_ERROR(insert.Bind(dataset_id, number, file.area, file.key, static_cast<int64_t>(file.size),
                                  file.sha256, file.rows).Run());
    }
    return Status::Ok();
  }

  Status FailUpdate(std::string_view dataset, int64_t number, std::string_view reason,
                    std::string_view metadata_json) override {
    RETURN_IF_ERROR(RequireWrite("FailUpdate"));
    ASSIGN_OR_RETURN(int64_t dataset_id, RequireDatasetId(dataset));
    RETURN_IF_ERROR(RequireStaging(dataset_id, dataset, number, "fail"));
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("UPDATE updates SET state = 'failed', completed_at = ?, "
                                                 "failure_reason = ?, metadata_json = ?, lease_owner = NULL, "
                                                 "lease_expires_at = NULL WHERE dataset_id = ? AND number = ?",
                                                 fmt::format("fail update {} of dataset '{}'", number, dataset)));
    return stmt.Bind(Now(), reason, metadata_json, dataset_id, number).Run();
  }

  Status MarkUpdateFilesRemoved(std::string_view dataset, int64_t number) override {
    RETURN_IF_ERROR(RequireWrite("MarkUpdateFilesRemoved"));
    ASSIGN_OR_RETURN(int64_t dataset_id, RequireDatasetId(dataset));
    ASSIGN_OR_RETURN(UpdateState state, RequireUpdateState(dataset_id, dataset, number));
    if (state != UpdateState::kFailed) {
      return Conflict(fmt::format("update {} of dataset '{}' is {}; only a failed update's files are removed", number,
                                  dataset, UpdateStateName(state)));
    }
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("UPDATE updates SET files_removed_at = ? WHERE dataset_id = ? AND number = ?",
                                 fmt::format("mark the files of update {} of dataset '{}' removed", number, dataset)));
    return stmt.Bind(Now(), dataset_id, number).Run();
  }

  Result<std::optional<UpdateRecord>> GetUpdate(std::string_view dataset, int64_t number) override {
    ASSIGN_OR_RETURN(auto updates, QueryUpdates(fmt::format("d.name = ? AND u.number = {}", number),
                                                fmt::format("read update {} of dataset '{}'", number, dataset),
                                                dataset));
    if (updates.empty()) return std::optional<UpdateRecord>();
    return std::optional<UpdateRecord>(std::move(updates.front()));
  }

  Result<std::vector<UpdateRecord>> ListUpdates(std::string_view dataset) override {
    RETURN_IF_ERROR(RequireDatasetId(dataset).status());
    return QueryUpdates("d.name = ? ORDER BY u.number", fmt::format("list the updates of dataset '{}'", dataset),
                        dataset);
  }

  Result<std::vector<UpdateRecord>> ListUpdatesPage(std::string_view dataset, int64_t after_number,
                                                    int64_t limit) override {
    if (limit < 0) return InvalidArgument(fmt::format("update page limit {} is negative", limit));
    RETURN_IF_ERROR(RequireDatasetId(dataset).status());
    return QueryUpdates("d.name = ? AND u.number > ? ORDER BY u.number LIMIT ?",
                        fmt::format("list the updates of dataset '{}'", dataset), dataset, after_number, limit);
  }

  Result<std::vector<UpdateRecord>> ListUpdatesInState(UpdateState state) override {
    return QueryUpdates("u.state = ? ORDER BY u.created_at, d.name, u.number",
                        fmt::format("list {} updates", UpdateStateName(state)), UpdateStateName(state));
  }

  Result<std::vector<UpdateFile>> ListUpdateFiles(std::string_view dataset, int64_t number) override {
    ASSIGN_OR_RETURN(int64_t dataset_id, RequireDatasetId(dataset));
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("SELECT area, key, size, sha256, rows FROM files WHERE dataset_id = ? AND "
                                 "update_number = ? ORDER BY area, key",
                                 fmt::format("list the files of update {} of dataset '{}'", number, dataset)));
    stmt.Bind(dataset_id, number);
    std::vector<UpdateFile> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      UpdateFile f;
      f.area = stmt.Text(0);
      f.key = stmt.Text(1);
      f.size = static_cast<uint64_t>(stmt.Int(2));
      f.sha256 = stmt.Text(3);
      if (!stmt.IsNull(4)) f.rows = stmt.Int(4);
      out.push_back(std::move(f));
    }
    return out;
  }

  Status InsertTriggerEvent(std::string_view dataset, int64_t update_number, std::string_view pipeline) override {
    RETURN_IF_ERROR(RequireWrite("InsertTriggerEvent"));
    ASSIGN_OR_RETURN(int64_t dataset_id, RequireDatasetId(dataset));
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("INSERT INTO trigger_events (dataset_id, update_number, pipeline, state, created_at) "
                                 "VALUES (?, ?, ?, 'pending', ?)",
                                 fmt::format("record trigger '{}' for update {} of dataset '{}'", pipeline,
                                             update_number, dataset)));
    return stmt.Bind(dataset_id, update_number, pipeline, Now()).Run();
  }

  Result<std::vector<TriggerEvent>> ListTriggerEvents(std::optional<std::string_view> dataset) override {
    std::string sql =
        "SELECT t.id, d.name, t.update_number, t.pipeline, t.state, t.created_at FROM trigger_events t "
        "JOIN datasets d ON d.id = t.dataset_id";
    if (dataset) sql += " WHERE d.name = ?";
    sql += " ORDER BY t.id";
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(sql, "list trigger events"));
    if (dataset) stmt.Bind(*dataset);
    std::vector<TriggerEvent> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      out.push_back({stmt.Int(0), stmt.Text(1), stmt.Int(2), stmt.Text(3), stmt.Text(4), stmt.Text(5)});
    }
    return out;
  }

  // ---- Users, groups and tokens ----

  Status InsertUser(const UserRecord& user) override {
    RETURN_IF_ERROR(RequireWrite("InsertUser"));
    if (user.name.empty()) return InvalidArgument("user name is empty");
    Principal principal{PrincipalKind::kUser, user.name};
    RETURN_IF_ERROR(EnsurePrincipal(principal).status());
    ASSIGN_OR_RETURN(std::optional<int64_t> principal_id, PrincipalId(principal));
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("INSERT INTO users (principal_id, name, admin, disabled, created_at, created_by) "
                                 "VALUES (?, ?, ?, ?, ?, ?)",
                                 fmt::format("insert user '{}'", user.name)));
    Status status = stmt.Bind(principal_id, user.name, user.admin ? 1 : 0, user.disabled ? 1 : 0,
                              user.created_at.empty() ? Now() : user.created_at, user.created_by)
                        .Run();
    if (status.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists(fmt::format("user '{}' already exists", user.name));
    }
    RETURN_IF_ERROR(status);
    for (const std::string& group : user.groups) {
      RETURN_IF_ERROR(AddMembership(group, user.name, *principal_id).status());
    }
    return Status::Ok();
  }

  Result<std::optional<UserRecord>> GetUser(std::string_view name) override {
    ASSIGN_OR_RETURN(std::vector<UserRecord> users, QueryUsers(name));
    if (users.empty()) return std::optional<UserRecord>();
    return std::optional<UserRecord>(std::move(users.front()));
  }

  Result<std::vector<UserRecord>> ListUsers() override { return QueryUsers(std::nullopt); }

  Status UpdateUser(const UserRecord& user) override {
    RETURN_IF_ERROR(RequireWrite("UpdateUser"));
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("UPDATE users SET admin = ?, disabled = ? WHERE name = ?",
                                                 fmt::format("update user '{}'", user.name)));
    RETURN_IF_ERROR(stmt.Bind(user.admin ? 1 : 0, user.disabled ? 1 : 0, user.name).Run());
    if (db_.Changes() == 0) return NotFound(fmt::format("user '{}' does not exist", user.name));
    return Status::Ok();
  }

  Result<bool> AddGroupMember(std::string_view group, std::string_view user) override {
    RETURN_IF_ERROR(RequireWrite("AddGroupMember"));
    ASSIGN_OR_RETURN(Statement find, db_.Prepare("SELECT principal_id FROM users WHERE name = ?",
                                                 fmt::format("look up user '{}'", user)));
    find.Bind(user);
    ASSIGN_OR_RETURN(bool found, find.Step());
    if (!found) {
      return NotFound(fmt::format("cannot add user '{}' to group '{}': the user does not exist", user, group));
    }
    return AddMembership(group, user, find.Int(0));
  }

  Result<bool> RemoveGroupMember(std::string_view group, std::string_view user) override {
    RETURN_IF_ERROR(RequireWrite("RemoveGroupMember"));
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("DELETE FROM group_members WHERE "
                                 "group_id = (SELECT id FROM principals WHERE kind = 'group' AND name = ?) AND "
                                 "member_id = (SELECT principal_id FROM users WHERE name = ?)",
                                 fmt::format("remove user '{}' from group '{}'", user, group)));
    RETURN_IF_ERROR(stmt.Bind(group, user).Run());
    return db_.Changes() == 1;
  }

  Result<std::vector<std::string>> ListGroupMembers(std::string_view group) override {
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("SELECT m.name FROM group_members gm JOIN principals g ON g.id = gm.group_id "
                                 "JOIN principals m ON m.id = gm.member_id "
                                 "WHERE g.kind = 'group' AND g.name = ? AND m.kind = 'user' ORDER BY m.name",
                                 fmt::format("list the members of group '{}'", group)));
    stmt.Bind(group);
    std::vector<std::string> members;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return members;
      members.push_back(stmt.Text(0));
    }
  }

  Result<int64_t> InsertToken(const TokenRecord& token) override {
    RETURN_IF_ERROR(RequireWrite("InsertToken"));
    if (token.secret_sha256.empty()) {
      return InvalidArgument(fmt::format("token for user '{}' has no secret hash", token.user));
    }
    ASSIGN_OR_RETURN(Statement find,
                     db_.Prepare("SELECT id FROM users WHERE name = ?", fmt::format("look up user '{}'", token.user)));
    find.Bind(token.user);
    ASSIGN_OR_RETURN(bool found, find.Step());
    if (!found) {
      return NotFound(fmt::format("cannot create a token for user '{}': the user does not exist", token.user));
    }
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("INSERT INTO tokens (user_id, description, secret_sha256, created_at, created_by, "
                                 "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                                 fmt::format("insert a token for user '{}'", token.user)));
    Status status = stmt.Bind(find.Int(0), token.description, token.secret_sha256,
                              token.created_at.empty() ? Now() : token.created_at, token.created_by, token.expires_at)
                        .Run();
    if (status.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists(
          fmt::format("cannot create a token for user '{}': a token with the same secret hash exists", token.user));
    }
    RETURN_IF_ERROR(status);
    return db_.LastInsertRowId();
  }

  Result<std::optional<TokenRecord>> FindTokenBySecretHash(std::string_view secret_sha256) override {
    ASSIGN_OR_RETURN(std::vector<TokenRecord> tokens,
                     QueryTokens("t.secret_sha256 = ?", "find a token by its secret hash", secret_sha256));
    if (tokens.empty()) return std::optional<TokenRecord>();
    return std::optional<TokenRecord>(std::move(tokens.front()));
  }

  Result<std::optional<TokenRecord>> GetToken(int64_t id) override {
    ASSIGN_OR_RETURN(std::vector<TokenRecord> tokens,
                     QueryTokens(fmt::format("t.id = {}", id), fmt::format("read token {}", id), std::nullopt));
    if (tokens.empty()) return std::optional<TokenRecord>();
    return std::optional<TokenRecord>(std::move(tokens.front()));
  }

  Result<std::vector<TokenRecord>> ListTokens(std::optional<std::string_view> user) override {
    if (user) {
      return QueryTokens("u.name = ? ORDER BY t.id", fmt::format("list the tokens of user '{}'", *user), user);
    }
    return QueryTokens("1 = 1 ORDER BY t.id", "list tokens", std::nullopt);
  }

  Status RevokeToken(int64_t id, std::string_view revoked_by) override {
    RETURN_IF_ERROR(RequireWrite("RevokeToken"));
    ASSIGN_OR_RETURN(Statement find, db_.Prepare("SELECT revoked_at, revoked_by FROM tokens WHERE id = ?",
                                                 fmt::format("look up token {}", id)));
    find.Bind(id);
    ASSIGN_OR_RETURN(bool found, find.Step());
    if (!found) return NotFound(fmt::format("token {} does not exist", id));
    if (!find.IsNull(0)) {
      return Conflict(fmt::format("token {} was already revoked at {} by '{}'", id, find.Text(0), find.Text(1)));
    }
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("UPDATE tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?",
                                                 fmt::format("revoke token {}", id)));
    return stmt.Bind(Now(), revoked_by, id).Run();
  }

  // ---- Jobs ----

  Result<int64_t> InsertJob(const JobRecord& job) override {
    RETURN_IF_ERROR(RequireWrite("InsertJob"));
    if (job.kind.empty()) return InvalidArgument("job kind is empty");
    if (job.max_attempts < 1) {
      return InvalidArgument(fmt::format("{} job on dataset '{}': max_attempts is {}, must be at least 1", job.kind,
                                         job.dataset, job.max_attempts));
    }
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("INSERT INTO jobs (kind, state, dataset, spec_json, created_by, created_at, "
                                 "max_attempts) VALUES (?, 'queued', ?, ?, ?, ?, ?)",
                                 fmt::format("queue a {} job on dataset '{}'", job.kind, job.dataset)));
    RETURN_IF_ERROR(stmt.Bind(job.kind, job.dataset, job.spec_json, job.created_by, Now(), job.max_attempts).Run());
    return db_.LastInsertRowId();
  }

  Result<std::optional<JobRecord>> GetJob(int64_t id) override {
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(fmt::format("SELECT {} FROM jobs WHERE id = ?", kJobColumns),
                                                 fmt::format("read job {}", id)));
    stmt.Bind(id);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<JobRecord>();
    ASSIGN_OR_RETURN(JobRecord job, ReadJob(stmt));
    return std::optional<JobRecord>(std::move(job));
  }

  Result<std::vector<JobRecord>> ListJobs(const JobFilter& filter) override {
    if (filter.limit < 0) return InvalidArgument(fmt::format("job list limit {} is negative", filter.limit));
    std::string sql = fmt::format("SELECT {} FROM jobs WHERE 1 = 1", kJobColumns);
    std::vector<std::string> params;
    if (filter.state) {
      sql += " AND state = ?";
      params.emplace_back(JobStateName(*filter.state));
    }
    if (filter.dataset) {
      sql += " AND dataset = ?";
      params.push_back(*filter.dataset);
    }
    if (filter.created_by) {
      sql += " AND created_by = ?";
      params.push_back(*filter.created_by);
    }
    if (filter.before_id > 0) sql += fmt::format(" AND id < {}", filter.before_id);
    sql += fmt::format(" ORDER BY id DESC LIMIT {}", filter.limit);
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(sql, "list jobs"));
    for (size_t i = 0; i < params.size(); ++i) stmt.BindAt(static_cast<int>(i + 1), params[i]);
    std::vector<JobRecord> jobs;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return jobs;
      ASSIGN_OR_RETURN(JobRecord job, ReadJob(stmt));
      jobs.push_back(std::move(job));
    }
  }

  Result<std::vector<std::pair<JobState, int64_t>>> CountJobsByState() override {
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state", "count jobs by state"));
    std::vector<std::pair<JobState, int64_t>> counts;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(JobState state, ParseJobState(stmt.Text(0)));
      counts.emplace_back(state, stmt.Int(1));
    }
    // In lifecycle order (kAllJobStates), not the text order of the state names.
    std::sort(counts.begin(), counts.end());
    return counts;
  }

  Result<std::optional<JobRecord>> LeaseJob(std::string_view owner, std::string_view now,
                                            std::string_view lease_expires_at) override {
    RETURN_IF_ERROR(RequireWrite("LeaseJob"));
    if (owner.empty()) return InvalidArgument("cannot lease a job: the worker name is empty");
    // Each pass leases a job or finishes one whose worker died, so the loop ends.
    while (true) {
      ASSIGN_OR_RETURN(Statement find,
                       db_.Prepare(fmt::format("SELECT {} FROM jobs WHERE state = 'queued' OR "
                                               "(state = 'running' AND lease_expires_at <= ?) ORDER BY id LIMIT 1",
                                               kJobColumns),
                                   fmt::format("find a job for worker {}", owner)));
      find.Bind(now);
      ASSIGN_OR_RETURN(bool found, find.Step());
      if (!found) return std::optional<JobRecord>();
      ASSIGN_OR_RETURN(JobRecord job, ReadJob(find));
      bool ending = job.state == JobState::kRunning && (job.cancel_requested || job.attempts >= job.max_attempts);
      if (ending && job.update_number) {
        // Its worker died after reserving an update: a complete one means the job did its work (it
        // died before recording that); a staging one will never be finished by anybody now.
        ASSIGN_OR_RETURN(std::optional<UpdateRecord> update, GetUpdate(job.dataset, *job.update_number));
        if (update && update->state == UpdateState::kComplete) {
          RETURN_IF_ERROR(MarkJobFinished(job.id, JobState::kSucceeded,
                                          fmt::format(R"({{"update":{},"state":"complete"}})", update->number), ""));
          continue;
        }
        if (update && update->state == UpdateState::kStaging) {
          RETURN_IF_ERROR(FailUpdate(job.dataset, update->number,
                                     fmt::format("its job {} ended without finishing it", job.id), ""));
        }
      }
      if (job.state == JobState::kRunning && job.cancel_requested) {
        RETURN_IF_ERROR(MarkJobFinished(job.id, JobState::kCancelled, "", CancelledBy(job.cancel_requested_by)));
        continue;
      }
      if (job.state == JobState::kRunning && job.attempts >= job.max_attempts) {
        RETURN_IF_ERROR(MarkJobFinished(job.id, JobState::kFailed, "",
                                        fmt::format("its worker stopped {} times (lease expired)", job.attempts)));
        continue;
      }
      ASSIGN_OR_RETURN(Statement lease,
                       db_.Prepare("UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires_at = ?, "
                                   "attempts = attempts + 1, started_at = COALESCE(started_at, ?) WHERE id = ?",
                                   fmt::format("lease job {} to worker {}", job.id, owner)));
      RETURN_IF_ERROR(lease.Bind(owner, lease_expires_at, Now(), job.id).Run());
      ASSIGN_OR_RETURN(JobRecord leased, RequireJob(job.id));
      return std::optional<JobRecord>(std::move(leased));
    }
  }

  Result<JobRecord> RenewJobLease(int64_t id, std::string_view owner, std::string_view lease_expires_at) override {
    RETURN_IF_ERROR(RequireWrite("RenewJobLease"));
    RETURN_IF_ERROR(RequireHeldJob(id, owner).status());
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("UPDATE jobs SET lease_expires_at = ? WHERE id = ?",
                                                 fmt::format("renew the lease of job {}", id)));
    RETURN_IF_ERROR(stmt.Bind(lease_expires_at, id).Run());
    return RequireJob(id);
  }

  Status SetJobProgress(int64_t id, std::string_view owner, const JobProgress& progress) override {
    RETURN_IF_ERROR(RequireWrite("SetJobProgress"));
    RETURN_IF_ERROR(RequireHeldJob(id, owner).status());
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("UPDATE jobs SET progress_phase = ?, progress_bytes_done = ?, "
                                 "progress_bytes_total = ?, progress_files_done = ?, progress_files_total = ? "
                                 "WHERE id = ?",
                                 fmt::format("record the progress of job {}", id)));
    return stmt
        .Bind(progress.phase, static_cast<int64_t>(progress.bytes_done), static_cast<int64_t>(progress.bytes_total),
              progress.files_done, progress.files_total, id)
        .Run();
  }

  Status SetJobUpdate(int64_t id, std::string_view owner, int64_t update_number) override {
    RETURN_IF_ERROR(RequireWrite("SetJobUpdate"));
    RETURN_IF_ERROR(RequireHeldJob(id, owner).status());
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("UPDATE jobs SET update_number = ? WHERE id = ?",
                                                 fmt::format("record update {} on job {}", update_number, id)));
    return stmt.Bind(update_number, id).Run();
  }

  Status FinishJob(int64_t id, std::string_view owner, JobState state, std::string_view result_json,
                   std::string_view error) override {
    RETURN_IF_ERROR(RequireWrite("FinishJob"));
    if (!IsFinished(state)) {
      return InvalidArgument(
          fmt::format("cannot finish job {} as {}: not a final state (succeeded, failed or "
                      "cancelled)",
                      id, JobStateName(state)));
    }
    RETURN_IF_ERROR(RequireHeldJob(id, owner).status());
    return MarkJobFinished(id, state, result_json, error);
  }

  Status ReleaseJob(int64_t id, std::string_view owner) override {
    RETURN_IF_ERROR(RequireWrite("ReleaseJob"));
    ASSIGN_OR_RETURN(JobRecord job, RequireHeldJob(id, owner));
    // Queued jobs are cancelled at once (RequestJobCancel), so a released one with a pending
    // request is cancelled rather than queued again.
    if (job.cancel_requested)
      return MarkJobFinished(id, JobState::kCancelled, "", CancelledBy(job.cancel_requested_by));
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
                                 "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = ?",
                                 fmt::format("release job {} from worker {}", id, owner)));
    return stmt.Bind(id).Run();
  }

  Result<JobRecord> RequestJobCancel(int64_t id, std::string_view requested_by) override {
    RETURN_IF_ERROR(RequireWrite("RequestJobCancel"));
    ASSIGN_OR_RETURN(JobRecord job, RequireJob(id));
    if (IsFinished(job.state)) {
      return Conflict(fmt::format("job {} is already {}", id, JobStateName(job.state)));
    }
    if (!job.cancel_requested) {
      ASSIGN_OR_RETURN(Statement stmt,
                       db_.Prepare("UPDATE jobs SET cancel_requested = 1, cancel_requested_by = ? WHERE id = ?",
                                   fmt::format("request the cancellation of job {}", id)));
      RETURN_IF_ERROR(stmt.Bind(requested_by, id).Run());
    }
    if (job.state == JobState::kQueued) {
      RETURN_IF_ERROR(MarkJobFinished(id, JobState::kCancelled, "", CancelledBy(std::string(requested_by))));
    }
    return RequireJob(id);
  }

  Status AppendJobLog(int64_t id, std::string_view level, std::string_view message) override {
    RETURN_IF_ERROR(RequireWrite("AppendJobLog"));
    RETURN_IF_ERROR(RequireJob(id).status());
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("INSERT INTO job_logs (job_id, seq, at, level, message) "
                                 "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ? FROM job_logs WHERE job_id = ?",
                                 fmt::format("append to the log of job {}", id)));
    return stmt.Bind(id, Now(), level, message, id).Run();
  }

  Result<std::vector<JobLogLine>> ListJobLogs(int64_t id, int64_t after_seq, int64_t limit) override {
    if (limit < 0) return InvalidArgument(fmt::format("job log limit {} is negative", limit));
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("SELECT job_id, seq, at, level, message FROM job_logs "
                                                 "WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                                                 fmt::format("read the log of job {}", id)));
    stmt.Bind(id, after_seq, limit);
    std::vector<JobLogLine> lines;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return lines;
      lines.push_back({stmt.Int(0), stmt.Int(1), stmt.Text(2), stmt.Text(3), stmt.Text(4)});
    }
  }

  Result<int64_t> AppendAudit(const AuditEvent& event) override {
    return AppendAuditBatch(std::span<const AuditEvent>(&event, 1));
  }

  Result<int64_t> AppendAuditBatch(std::span<const AuditEvent> events) override {
    RETURN_IF_ERROR(RequireWrite("AppendAudit"));
    for (const AuditEvent& event : events) {
      if (event.actor.empty() || event.action.empty()) {
        return InvalidArgument("audit event needs an actor and an action");
      }
      // Empty details are stored as "{}".
      if (!event.details_json.empty() && !nlohmann::json::accept(event.details_json)) {
        return InvalidArgument(
            fmt::format("audit event '{}' on '{}': details are not valid JSON", event.action, event.target));
      }
    }
    if (audit_ == nullptr) {
      ASSIGN_OR_RETURN(audit_, StartAuditAppend());
    }
    AuditAppend& append = *audit_;
    // kAuditRowsPerInsert rows per INSERT while there are as many left, then one at a time. Within
    // one statement SQLite keeps its cursors where the last row went, so each row costs less.
    while (!events.empty()) {
      const size_t rows = events.size() >= kAuditRowsPerInsert ? kAuditRowsPerInsert : 1;
      Statement& insert = rows == 1 ? append.insert_one : append.insert_many;
      insert.Reset();
      int64_t seq = append.last_seq;
      for (size_t row = 0; row < rows; ++row) {
        const AuditEvent& event = events[row];
        // The event as stored: its own fields, with the next seq and, when empty, now and "{}".
        AuditFieldsView stored = FieldsOf(event);
        stored.seq = ++seq;
        if (stored.at.empty()) {
          append.now[row] = Now();
          stored.at = append.now[row];
        }
        if (stored.details_json.empty()) stored.details_json = "{}";
        const std::string& prev_hash = row == 0 ? append.last_hash : append.hash[row - 1];
        append.hash[row] = append.hasher.Hash(prev_hash, stored);
        // Borrowed: the events, append.now, last_hash and hash outlive the Run below.
        insert.BindBorrowedFrom(static_cast<int>(row * kAuditColumnCount + 1), stored.seq, stored.at, stored.actor,
                                stored.action, stored.target, stored.details_json, stored.decision, stored.reason,
                                stored.request_id, prev_hash, append.hash[row]);
      }
      Status inserted = insert.Run();
      if (!inserted.ok()) {
        return inserted.WithContext(
            rows == 1 ? fmt::format("append audit event '{}' on '{}'", events[0].action, events[0].target)
                      : fmt::format("append {} audit events, the first '{}' on '{}'", rows, events[0].action,
                                    events[0].target));
      }
      append.last_seq = seq;
      append.last_hash = append.hash[rows - 1];
      events = events.subspan(rows);
    }
    return append.last_seq;
  }

  Result<std::vector<AuditEvent>> ListAudit(const AuditQuery& query) override {
    if (query.limit < 0) return InvalidArgument(fmt::format("audit query limit {} is negative", query.limit));
    std::string sql = fmt::format("SELECT {} FROM audit WHERE seq > ?", kAuditColumns);
    std::vector<std::string> params;
    auto add = [&](std::string_view condition, std::string value) {
      sql += condition;
      params.push_back(std::move(value));
    };
    if (query.target) add(" AND target = ?", *query.target);
    if (query.actor) add(" AND actor = ?", *query.actor);
    if (query.dataset) {
      add(" AND (target = ?", "dataset:" + *query.dataset);
      // Role targets "role:D:read"; LIKE's wildcards cannot occur in dataset names ([a-z0-9-]).
      add(" OR target LIKE ?)", "role:" + *query.dataset + ":%");
    }
    if (query.action) {
      if (!query.action->empty() && query.action->back() == '.') {
        add(" AND substr(action, 1, length(?)) = ", *query.action);
        sql += "?";
        params.push_back(*query.action);
      } else {
        add(" AND action = ?", *query.action);
      }
    }
    if (query.since) add(" AND at >= ?", *query.since);
    if (query.until) add(" AND at < ?", *query.until);
    if (query.decision) add(" AND decision = ?", *query.decision);
    sql += " ORDER BY seq LIMIT ?";
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(sql, "list audit events"));
    stmt.BindAt(1, query.after_seq);
    for (size_t i = 0; i < params.size(); ++i) stmt.BindAt(static_cast<int>(i + 2), params[i]);
    stmt.BindAt(static_cast<int>(params.size() + 2), query.limit);
    std::vector<AuditEvent> events;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return events;
      events.push_back(ReadAuditEvent(stmt));
    }
  }

  Status VerifyAudit() override {
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare(fmt::format("SELECT {}, prev_hash, hash FROM audit ORDER BY seq", kAuditColumns),
                                 "read the audit log"));
    ASSIGN_OR_RETURN(AuditHasher hasher, AuditHasher::Create());
    std::string expected_prev(kAuditGenesisHash);
    int64_t expected_seq = 1;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      AuditEvent event = ReadAuditEvent(stmt);
      if (event.seq != expected_seq) {
        return Internal(fmt::format("audit log broken at seq {}: the event is missing (the next stored one is {})",
                                    expected_seq, event.seq));
      }
      if (stmt.Text(9) != expected_prev) {
        return Internal(fmt::format("audit log broken at seq {}: prev_hash does not match the hash of seq {}",
                                    event.seq, event.seq - 1));
      }
      std::string hash = hasher.Hash(expected_prev, event);
      std::string stored_hash = stmt.Text(10);
      if (hash != stored_hash) {
        return Internal(
            fmt::format("audit log broken at seq {}: the stored hash does not match the event's contents", event.seq));
      }
      expected_prev = std::move(stored_hash);
      ++expected_seq;
    }
  }

 private:
  Status RequireWrite(std::string_view operation) const {
    if (writable_) return Status::Ok();
    return Internal(fmt::format("{} needs a write transaction but was called inside Catalog::Read", operation));
  }

  std::string Now() const { return FormatTimestamp(clock_.Now()); }

  // Appending to the audit log, kept from a transaction's first append to its end: the chain's
  // head (the transaction holds the write lock, so nobody else appends meanwhile), the prepared
  // INSERTs and the hasher. A batch of access decisions thus reads the head and prepares once, and
  // neither copies events nor allocates much.
  static constexpr size_t kAuditRowsPerInsert = 16;
  static constexpr size_t kAuditColumnCount = 11;
  struct AuditAppend {
    int64_t last_seq = 0;
    std::string last_hash;
    Statement insert_one;   // one row
    Statement insert_many;  // kAuditRowsPerInsert rows
    AuditHasher hasher;
    std::array<std::string, kAuditRowsPerInsert> hash;  // of the rows being inserted
    std::array<std::string, kAuditRowsPerInsert> now;   // their time, when they came without one
  };

  static std::string AuditInsertSql(size_t rows) {
    std::string sql =
        "INSERT INTO audit (seq, at, actor, action, target, details_json, decision, reason, request_id, prev_hash, "
        "hash) VALUES ";
    for (size_t row = 0; row < rows; ++row) {
      if (row > 0) sql += ", ";
      sql += "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    }
    return sql;
  }

  Result<std::unique_ptr<AuditAppend>> StartAuditAppend() {
    ASSIGN_OR_RETURN(Statement last,
                     db_.Prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", "read the last audit event"));
    ASSIGN_OR_RETURN(bool has_last, last.Step());
    ASSIGN_OR_RETURN(Statement insert_one, db_.Prepare(AuditInsertSql(1), "append to the audit log"));
    ASSIGN_OR_RETURN(Statement insert_many,
                     db_.Prepare(AuditInsertSql(kAuditRowsPerInsert), "append to the audit log"));
    ASSIGN_OR_RETURN(AuditHasher hasher, AuditHasher::Create());
    AuditAppend append{
        0, std::string(kAuditGenesisHash), std::move(insert_one), std::move(insert_many), std::move(hasher), {}, {}};
    if (has_last) {
      append.last_seq = last.Int(0);
      append.last_hash = last.Text(1);
    }
    return std::make_unique<AuditAppend>(std::move(append));
  }

  Result<int64_t> RequireDatasetId(std::string_view name) {
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare("SELECT id FROM datasets WHERE name = ?", fmt::format("look up dataset '{}'", name)));
    stmt.Bind(name);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return NotFound(fmt::format("dataset '{}' does not exist", name));
    return stmt.Int(0);
  }

  Result<std::optional<int64_t>> PrincipalId(const Principal& principal) {
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("SELECT id FROM principals WHERE kind = ? AND name = ?",
                                                 fmt::format("look up principal '{}'", PrincipalRef(principal))));
    stmt.Bind(PrincipalKindName(principal.kind), principal.name);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<int64_t>();
    return std::optional<int64_t>(stmt.Int(0));
  }

  // Users with their groups, by name; only `name` when given.
  Result<std::vector<UserRecord>> QueryUsers(std::optional<std::string_view> name) {
    std::string sql =
        "SELECT u.name, u.admin, u.disabled, u.created_at, u.created_by, g.name FROM users u "
        "LEFT JOIN group_members gm ON gm.member_id = u.principal_id "
        "LEFT JOIN principals g ON g.id = gm.group_id AND g.kind = 'group'";
    if (name) sql += " WHERE u.name = ?";
    sql += " ORDER BY u.name, g.name";
    ASSIGN_OR_RETURN(Statement stmt,
                     db_.Prepare(sql, name ? fmt::format("read user '{}'", *name) : std::string("list users")));
    if (name) stmt.Bind(*name);
    std::vector<UserRecord> users;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return users;
      if (users.empty() || users.back().name != stmt.Text(0)) {  // one row per group, grouped by user
        UserRecord user;
        user.name = stmt.Text(0);
        user.admin = stmt.Int(1) != 0;
        user.disabled = stmt.Int(2) != 0;
        user.created_at = stmt.Text(3);
        user.created_by = stmt.Text(4);
        users.push_back(std::move(user));
      }
      if (!stmt.IsNull(5)) users.back().groups.push_back(stmt.Text(5));
    }
  }

  // Makes the principal `user_principal_id` a member of `group` (created when needed); false when
  // it already was one.
  Result<bool> AddMembership(std::string_view group, std::string_view user, int64_t user_principal_id) {
    if (group.empty())
      return InvalidArgument(fmt::format("cannot add user '{}' to a group: group name is empty", user));
    Principal principal{PrincipalKind::kGroup, std::string(group)};
    RETURN_IF_ERROR(EnsurePrincipal(principal).status());
    ASSIGN_OR_RETURN(std::optional<int64_t> group_id, PrincipalId(principal));
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("INSERT INTO group_members (group_id, member_id) VALUES (?, ?) "
                                                 "ON CONFLICT (group_id, member_id) DO NOTHING",
                                                 fmt::format("add user '{}' to group '{}'", user, group)));
    RETURN_IF_ERROR(stmt.Bind(group_id, user_principal_id).Run());
    return db_.Changes() == 1;
  }

  Result<std::vector<TokenRecord>> QueryTokens(std::string_view where, std::string_view purpose,
                                               std::optional<std::string_view> arg) {
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(fmt::format("{} WHERE {}", kTokenSelect, where), purpose));
    if (arg) stmt.Bind(*arg);
    std::vector<TokenRecord> tokens;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return tokens;
      tokens.push_back(ReadToken(stmt));
    }
  }

  Result<JobRecord> RequireJob(int64_t id) {
    ASSIGN_OR_RETURN(std::optional<JobRecord> job, GetJob(id));
    if (!job) return NotFound(fmt::format("job {} does not exist", id));
    return std::move(*job);
  }

  // The job, when `owner` holds its lease; Conflict naming who holds it, or its state, otherwise.
  Result<JobRecord> RequireHeldJob(int64_t id, std::string_view owner) {
    ASSIGN_OR_RETURN(JobRecord job, RequireJob(id));
    if (job.state == JobState::kRunning && job.lease_owner == owner) return job;
    std::string now_is = job.state == JobState::kRunning ? fmt::format("it is held by {}", job.lease_owner)
                                                         : fmt::format("it is {}", JobStateName(job.state));
    return Conflict(fmt::format("job {} is not held by worker {} ({})", id, owner, now_is));
  }

  // Ends the job in the final `state` with its lease cleared.
  Status MarkJobFinished(int64_t id, JobState state, std::string_view result_json, std::string_view error) {
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("UPDATE jobs SET state = ?, finished_at = ?, lease_owner = NULL, "
                                                 "lease_expires_at = NULL, result_json = ?, error = ? WHERE id = ?",
                                                 fmt::format("mark job {} {}", id, JobStateName(state))));
    return stmt.Bind(JobStateName(state), Now(), result_json, error, id).Run();
  }

  const Connection& db_;
  const Clock& clock_;
  const bool writable_;
  std::unique_ptr<AuditAppend> audit_;  // from the first AppendAudit on
};

}  // namespace

// ---- SqliteCatalog ----

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::Open(const std::filesystem::path& path, const Clock& clock,
                                                           const SqliteCatalogOptions& options) {
  if (path.empty()) return InvalidArgument("catalog path is empty");
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) return ErrnoStatus(error.value(), "resolve catalog path", path.string());
  absolute = absolute.lexically_normal();
  std::string file = absolute.string();

  std::filesystem::path folder = absolute.parent_path();
  struct stat info {};
  if (stat(folder.c_str(), &info) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return NotFound(fmt::format("cannot open catalog '{}': folder '{}' does not exist", file, folder.string()));
    }
    return ErrnoStatus(errno, "inspect catalog folder", folder.string());
  }
  if (!S_ISDIR(info.st_mode)) {
    return NotFound(fmt::format("cannot open catalog '{}': '{}' is not a folder", file, folder.string()));
  }
  RETURN_IF_ERROR(CheckFileLooksLikeSqlite(file));

  ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                   Connection::Open(file, Connection::Mode::kReadWriteCreate, options.busy_timeout));
  // Recognise the database before changing anything: even switching to WAL rewrites the header of
  // a database that may belong to someone else, or that a newer EDL manages.
  {
    ASSIGN_OR_RETURN(sqlite::Transaction look, sqlite::Transaction::Begin(*writer, sqlite::Transaction::Kind::kDeferred,
                                                                          "recognise the catalog"));
    RETURN_IF_ERROR(ReadSchemaVersion(*writer).status());
  }
  // Two openers of a fresh file can both hold a shared lock while each needs an exclusive one to
  // switch: SQLite then answers SQLITE_BUSY at once, without waiting (it would be a deadlock). One
  // of them must step back and try again; bounded by the busy timeout.
  Result<std::string> switched = writer->QueryText("PRAGMA journal_mode = WAL", "switch to write-ahead logging");
  auto give_up = std::chrono::steady_clock::now() + options.busy_timeout;
  for (int attempt = 1; !switched.ok() && switched.status().code() == StatusCode::kUnavailable &&
                        std::chrono::steady_clock::now() < give_up;
       ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5 * std::min(attempt, 20)));
    switched = writer->QueryText("PRAGMA journal_mode = WAL", "switch to write-ahead logging");
  }
  ASSIGN_OR_RETURN(std::string journal_mode, std::move(switched));
  if (journal_mode != "wal") {
    return Unavailable(fmt::format(
        "catalog '{}' cannot use write-ahead logging (journal mode stays '{}'); SQLite catalogs need a local "
        "file system",
        file, journal_mode));
  }
  RETURN_IF_ERROR(ConfigureWriter(*writer));
  ASSIGN_OR_RETURN(int version, MigrateSchema(*writer, clock));
  return std::make_unique<SqliteCatalog>(Key(), file, clock, options, std::move(writer), version);
}

SqliteCatalog::SqliteCatalog(Key, std::string path, const Clock& clock, const SqliteCatalogOptions& options,
                             std::unique_ptr<sqlite::Connection> writer, int schema_version)
    : path_(std::move(path)),
      clock_(clock),
      options_(options),
      schema_version_(schema_version),
      writer_(std::move(writer)) {}

SqliteCatalog::~SqliteCatalog() = default;

Status SqliteCatalog::Run(const sqlite::Connection& connection, bool write,
                          const std::function<Status(CatalogTransaction&)>& fn) {
  std::string_view what = write ? "write" : "read";
  ASSIGN_OR_RETURN(sqlite::Transaction txn,
                   sqlite::Transaction::Begin(
                       connection, write ? sqlite::Transaction::Kind::kImmediate : sqlite::Transaction::Kind::kDeferred,
                       write ? "write to the catalog" : "read the catalog"));
  SqliteTransaction transaction(connection, clock_, write);
  Status status;
  // The callback is the caller's code; an exception from it must still end the transaction.
  try {
    status = fn(transaction);
  } catch (const std::exception& e) {
    status = Internal(fmt::format("catalog {} transaction aborted by an exception: {}", what, e.what()));
  } catch (...) {
    status = Internal(fmt::format("catalog {} transaction aborted by an unknown exception", what));
  }
  if (!status.ok()) {
    txn.Rollback().IgnoreError();  // the callback's error is the one to report
    return status;
  }
  return txn.Commit();
}

Status SqliteCatalog::WriteTransaction(const std::function<Status(CatalogTransaction&)>& fn) {
  if (writer_thread_.load() == std::this_thread::get_id()) {
    return Internal(
        fmt::format("Catalog::Write on '{}' called inside another Write on the same thread; nested "
                    "write transactions are not supported",
                    path_));
  }
  std::lock_guard<std::mutex> lock(write_mutex_);
  writer_thread_.store(std::this_thread::get_id());
  struct ClearWriterThread {
    std::atomic<std::thread::id>& id;
    ~ClearWriterThread() { id.store(std::thread::id()); }
  } clear{writer_thread_};
  if (writer_->InTransaction()) {  // a failed rollback left one open
    RETURN_IF_ERROR(writer_->Exec("ROLLBACK", "end an abandoned transaction"));
  }
  return Run(*writer_, /*write=*/true, fn);
}

Status SqliteCatalog::Read(const std::function<Status(CatalogTransaction&)>& fn) {
  ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Connection> reader, AcquireReader());
  Status status = Run(*reader, /*write=*/false, fn);
  ReleaseReader(std::move(reader));
  return status;
}

Result<std::unique_ptr<sqlite::Connection>> SqliteCatalog::AcquireReader() {
  {
    std::lock_guard<std::mutex> lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<sqlite::Connection> reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Connection> reader,
                   Connection::Open(path_, Connection::Mode::kReadWrite, options_.busy_timeout));
  RETURN_IF_ERROR(ConfigureReader(*reader));
  return reader;
}

void SqliteCatalog::ReleaseReader(std::unique_ptr<sqlite::Connection> reader) {
  if (reader->InTransaction()) return;  // a failed rollback: drop the connection
  std::lock_guard<std::mutex> lock(readers_mutex_);
  if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(reader));
}

}  // namespace edl
