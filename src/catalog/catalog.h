// Catalog: EDL's metadata store — instance resources, datasets, updates, files, principals, roles,
// grants, jobs and the audit log. Callers see domain records only, never SQL, so an SQLite and a
// PostgreSQL implementation serve the same callers. All reads and writes happen inside a
// transaction passed to a callback; a Write callback that returns an error rolls everything back.
// Catalog implementations are thread-safe; a CatalogTransaction belongs to the one callback
// invocation that receives it and must not escape it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace edl {

class Clock;

struct GrantFilter {
  std::optional<std::string> role;
  std::optional<Principal> principal;
  std::optional<std::string> dataset;  // grants on any of the dataset's roles
  bool include_revoked = false;
};

struct AuditQuery {
  int64_t after_seq = 0;  // events with seq > after_seq
  int64_t limit = 1000;
  std::optional<std::string> target;
};

class CatalogTransaction {
 public:
  virtual ~CatalogTransaction() = default;

  // Instance settings: small key/value facts about the deployment (instance name, prefix...).
  virtual Result<std::optional<std::string>> GetSetting(std::string_view key) = 0;
  virtual Status PutSetting(std::string_view key, std::string_view value) = 0;

  virtual Result<std::vector<BucketRecord>> ListBuckets() = 0;
  // AlreadyExists if a bucket of that name is recorded.
  virtual Status InsertBucket(const BucketRecord& bucket) = 0;

  virtual Result<std::optional<DatasetRecord>> GetDataset(std::string_view name) = 0;
  virtual Result<std::vector<DatasetRecord>> ListDatasets() = 0;
  // Sets created_at/updated_at from the catalog's clock and generation to 1. AlreadyExists if taken.
  virtual Status InsertDataset(const DatasetRecord& dataset) = 0;
  // Replaces spec and bucket, bumps generation, sets updated_at. NotFound if absent.
  virtual Status UpdateDataset(const DatasetRecord& dataset) = 0;
  // Updates of the dataset in any state (staging, complete, failed).
  virtual Result<int64_t> CountUpdates(std::string_view dataset) = 0;

  virtual Result<bool> PrincipalExists(const Principal& principal) = 0;
  // Creates the principal if it does not exist; returns true when it was created.
  virtual Result<bool> EnsurePrincipal(const Principal& principal) = 0;
  virtual Result<std::vector<Principal>> ListPrincipals() = 0;

  // Roles of one dataset, or instance roles when `dataset` is empty; nullopt lists all roles.
  virtual Result<std::vector<RoleRecord>> ListRoles(std::optional<std::string_view> dataset) = 0;
  // AlreadyExists if a role of that name exists.
  virtual Status InsertRole(const RoleRecord& role) = 0;

  virtual Result<std::vector<GrantRecord>> ListGrants(const GrantFilter& filter) = 0;
  // Records a grant (granted_at from the clock when empty); the principal and role must exist.
  // Returns the new grant id.
  virtual Result<int64_t> InsertGrant(const GrantRecord& grant) = 0;
  // Revocation is an event: the row stays with revoked_at/by/reason set. Conflict if already revoked.
  virtual Status RevokeGrant(int64_t grant_id, std::string_view revoked_by, std::string_view reason) = 0;

  // ---- Updates (design.md §6). Numbers are reserved from datasets.next_update_number, so a
  // number is never reused, even after a failed update.
  // Reserves the next number and records the update as staging, leased to `lease_owner` until
  // `lease_expires_at`. NotFound for an unknown dataset.
  virtual Result<int64_t> ReserveUpdate(std::string_view dataset, UpdateKind kind, std::string_view created_by,
                                        std::string_view lease_owner, std::string_view lease_expires_at) = 0;
  // Extends a staging update's lease; Conflict if the update is no longer staging.
  virtual Status RenewUpdateLease(std::string_view dataset, int64_t number, std::string_view lease_expires_at) = 0;
  // staging -> complete with its metadata and files; Conflict unless staging.
  virtual Status CompleteUpdate(std::string_view dataset, int64_t number, std::string_view metadata_json,
                                const std::vector<UpdateFile>& files) = 0;
  // staging -> failed with the reason (and whatever metadata was gathered); Conflict unless staging.
  virtual Status FailUpdate(std::string_view dataset, int64_t number, std::string_view reason,
                            std::string_view metadata_json) = 0;
  // Records that garbage collection removed a failed update's files.
  virtual Status MarkUpdateFilesRemoved(std::string_view dataset, int64_t number) = 0;
  virtual Result<std::optional<UpdateRecord>> GetUpdate(std::string_view dataset, int64_t number) = 0;
  // Every update of the dataset, by number.
  virtual Result<std::vector<UpdateRecord>> ListUpdates(std::string_view dataset) = 0;
  // Updates of every dataset in `state`, oldest first (recovery, garbage collection).
  virtual Result<std::vector<UpdateRecord>> ListUpdatesInState(UpdateState state) = 0;
  virtual Result<std::vector<UpdateFile>> ListUpdateFiles(std::string_view dataset, int64_t number) = 0;

  // Pending trigger events (consumed by the pipeline runner in a later issue).
  virtual Status InsertTriggerEvent(std::string_view dataset, int64_t update_number, std::string_view pipeline) = 0;
  virtual Result<std::vector<TriggerEvent>> ListTriggerEvents(std::optional<std::string_view> dataset) = 0;

  // Appends to the hash-chained audit log; assigns seq and `at` (when empty). Returns seq.
  virtual Result<int64_t> AppendAudit(const AuditEvent& event) = 0;
  virtual Result<std::vector<AuditEvent>> ListAudit(const AuditQuery& query) = 0;
  // Recomputes the hash chain; Internal naming the first broken seq if it was tampered with.
  virtual Status VerifyAudit() = 0;
};

class Catalog {
 public:
  virtual ~Catalog() = default;

  // The schema version this catalog is at (after migrations) and the newest this build knows.
  virtual int SchemaVersion() const = 0;
  // Human-readable description of where it lives, e.g. "sqlite:/srv/edl/catalog.db".
  virtual std::string Describe() const = 0;

  // Runs `fn` in a read-only snapshot.
  virtual Status Read(const std::function<Status(CatalogTransaction&)>& fn) = 0;
  // Runs `fn` in a serialized write transaction: committed when fn returns OK, rolled back otherwise
  // (fn's error is returned). Waits for concurrent writers up to the busy timeout, then Unavailable.
  virtual Status Write(const std::function<Status(CatalogTransaction&)>& fn) = 0;
};

// The newest catalog schema version this build knows. Opening a catalog at a newer version fails
// with a message saying the catalog was written by a newer EDL.
inline constexpr int kCatalogSchemaVersion = 2;

// Opens (creating when absent) the catalog at `url` and applies pending migrations.
// Supported: "sqlite:PATH" (PATH absolute, or relative to the working directory).
Result<std::unique_ptr<Catalog>> OpenCatalog(std::string_view url, const Clock& clock);

}  // namespace edl
