// Catalog: EDL's metadata store — instance resources, datasets, updates, files, principals, roles,
// grants, jobs and the audit log. Callers see domain records only, never SQL, so an SQLite and a
// PostgreSQL implementation serve the same callers. All reads and writes happen inside a
// transaction passed to a callback; a Write callback that returns an error rolls everything back.
// Catalog implementations are thread-safe; a CatalogTransaction belongs to the one callback
// invocation that receives it and must not escape it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
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

struct DatasetFilter {
  std::optional<Tier> tier;
  std::string name_prefix;
  std::string after_name;  // names greater than this (paging)
  int64_t limit = 1000;
};

struct JobFilter {
  std::optional<JobState> state;
  std::optional<std::string> dataset;
  std::optional<std::string> created_by;
  int64_t before_id = 0;  // > 0: only jobs with id < before_id (paging, newest first)
  int64_t limit = 100;
};

struct AuditQuery {
  int64_t after_seq = 0;  // events with seq > after_seq
  int64_t limit = 1000;
  std::optional<std::string> target;
  std::optional<std::string> actor;    // "user:alice"
  std::optional<std::string> dataset;  // events about the dataset: target "dataset:D" or a role "role:D:…"
  std::optional<std::string> action;   // exact ("grant.add") or a prefix ending in '.' ("access.")
  std::optional<std::string> since;    // RFC 3339; events at or after
  std::optional<std::string> until;    // RFC 3339; events before
  std::optional<std::string> decision; // "allow" or "deny"
};

struct AccessRequestFilter {
  std::optional<std::string> dataset;
  std::optional<AccessRequestState> state;
  std::optional<std::string> requested_by;  // "user:alice"
  int64_t after_id = 0;                     // requests with id > after_id (paging)
  int64_t limit = 1000;
};

// Change counters of the catalog (see CatalogTransaction::Epochs).
struct CatalogEpochs {
  int64_t access = 0;
  int64_t data = 0;
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
  // Datasets by name, filtered in the catalog (one page; see DatasetFilter).
  virtual Result<std::vector<DatasetRecord>> ListDatasetsFiltered(const DatasetFilter& filter) = 0;
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
  virtual Result<std::optional<GrantRecord>> GetGrant(int64_t grant_id) = 0;

  // Access requests. Insert assigns id and requested_at (when empty); the dataset and grantee must
  // exist. Update replaces the decision fields of a request that is still pending (Conflict when it
  // is not: two admins deciding at once cannot both win).
  virtual Result<int64_t> InsertAccessRequest(const AccessRequestRecord& request) = 0;
  virtual Result<std::optional<AccessRequestRecord>> GetAccessRequest(int64_t id) = 0;
  virtual Result<std::vector<AccessRequestRecord>> ListAccessRequests(const AccessRequestFilter& filter) = 0;
  virtual Status UpdateAccessRequest(const AccessRequestRecord& request) = 0;

  // A counter that changes whenever users, tokens, groups, grants or datasets change, in any
  // process. Callers that cache access facts compare it before trusting the cache.
  virtual Result<int64_t> AccessEpoch() = 0;
  // The access epoch and a second counter that changes whenever datasets or their updates change,
  // read together. Callers that cache what they show of datasets compare `data`.
  virtual Result<CatalogEpochs> Epochs() = 0;

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
  // At most `limit` updates of the dataset numbered above `after_number`, by number (paging).
  virtual Result<std::vector<UpdateRecord>> ListUpdatesPage(std::string_view dataset, int64_t after_number,
                                                            int64_t limit) = 0;
  // Updates of every dataset in `state`, oldest first (recovery, garbage collection).
  virtual Result<std::vector<UpdateRecord>> ListUpdatesInState(UpdateState state) = 0;
  virtual Result<std::vector<UpdateFile>> ListUpdateFiles(std::string_view dataset, int64_t number) = 0;

  // Pending trigger events (consumed by the pipeline runner in a later issue).
  virtual Status InsertTriggerEvent(std::string_view dataset, int64_t update_number, std::string_view pipeline) = 0;
  virtual Result<std::vector<TriggerEvent>> ListTriggerEvents(std::optional<std::string_view> dataset) = 0;

  // ---- Users, groups and tokens.
  // Records the user (created_at from the clock when empty), its principal "user:<name>", and its
  // memberships of user.groups (group principals are created as needed). AlreadyExists if taken.
  virtual Status InsertUser(const UserRecord& user) = 0;
  // With groups filled in, sorted.
  virtual Result<std::optional<UserRecord>> GetUser(std::string_view name) = 0;
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  // Sets admin and disabled; NotFound if absent. Groups are changed with the two calls below.
  virtual Status UpdateUser(const UserRecord& user) = 0;
  // Creates the group principal when needed; returns false when the user already was a member.
  // NotFound for an unknown user.
  virtual Result<bool> AddGroupMember(std::string_view group, std::string_view user) = 0;
  // Returns false when the user was not a member.
  virtual Result<bool> RemoveGroupMember(std::string_view group, std::string_view user) = 0;
  // Members of a group, sorted; empty for an unknown group.
  virtual Result<std::vector<std::string>> ListGroupMembers(std::string_view group) = 0;

  // Records a token (created_at from the clock when empty); the user must exist. Returns its id.
  // AlreadyExists if the hash is taken.
  virtual Result<int64_t> InsertToken(const TokenRecord& token) = 0;
  virtual Result<std::optional<TokenRecord>> FindTokenBySecretHash(std::string_view secret_sha256) = 0;
  virtual Result<std::optional<TokenRecord>> GetToken(int64_t id) = 0;
  // Tokens of one user, or of everyone; by id.
  virtual Result<std::vector<TokenRecord>> ListTokens(std::optional<std::string_view> user) = 0;
  // Sets revoked_at/by; NotFound if absent, Conflict if already revoked.
  virtual Status RevokeToken(int64_t id, std::string_view revoked_by) = 0;

  // ---- Jobs. Lease times are RFC 3339 strings from the caller's clock (they sort as text).
  // Records a queued job (created_at from the clock, attempts 0); returns its id (1, 2, 3 ...).
  virtual Result<int64_t> InsertJob(const JobRecord& job) = 0;
  virtual Result<std::optional<JobRecord>> GetJob(int64_t id) = 0;
  // Newest first.
  virtual Result<std::vector<JobRecord>> ListJobs(const JobFilter& filter) = 0;
  // How many jobs are in each state (states with none are absent).
  virtual Result<std::vector<std::pair<JobState, int64_t>>> CountJobsByState() = 0;
  // Takes the oldest job that is queued, or running with a lease that expired at or before `now`:
  // sets it running, leased to `owner` until `lease_expires_at`, attempts + 1, started_at when
  // unset. An expired job that already used max_attempts is marked failed instead ("its worker
  // stopped N times") and not returned. A running job with cancel_requested whose lease expired is
  // marked cancelled. nullopt when there is nothing to do.
  virtual Result<std::optional<JobRecord>> LeaseJob(std::string_view owner, std::string_view now,
                                                    std::string_view lease_expires_at) = 0;
  // Extends the lease and returns the job as it is now (the worker reads cancel_requested).
  // Conflict when `owner` no longer holds it (it expired and was taken over, or it finished).
  virtual Result<JobRecord> RenewJobLease(int64_t id, std::string_view owner, std::string_view lease_expires_at) = 0;
  // Conflict when `owner` does not hold the job.
  virtual Status SetJobProgress(int64_t id, std::string_view owner, const JobProgress& progress) = 0;
  virtual Status SetJobUpdate(int64_t id, std::string_view owner, int64_t update_number) = 0;
  // running -> succeeded | failed | cancelled, lease cleared, finished_at set. Conflict when `owner`
  // does not hold it; InvalidArgument for a state that is not final.
  virtual Status FinishJob(int64_t id, std::string_view owner, JobState state, std::string_view result_json,
                           std::string_view error) = 0;
  // running -> queued, lease cleared and the attempt not counted (a clean shutdown is not a failure).
  // Conflict when `owner` does not hold it.
  virtual Status ReleaseJob(int64_t id, std::string_view owner) = 0;
  // queued -> cancelled at once; running -> cancel_requested (its worker stops it). Returns the job
  // as it is now. NotFound if absent; Conflict for a finished job (the message names its state).
  virtual Result<JobRecord> RequestJobCancel(int64_t id, std::string_view requested_by) = 0;
  // Appends a line to the job's log (seq 1, 2, 3 ... per job; `at` from the clock). NotFound if no job.
  virtual Status AppendJobLog(int64_t id, std::string_view level, std::string_view message) = 0;
  // Lines with seq > after_seq, oldest first, at most `limit`.
  virtual Result<std::vector<JobLogLine>> ListJobLogs(int64_t id, int64_t after_seq, int64_t limit) = 0;

  // Appends to the hash-chained audit log; assigns seq and `at` (when empty). Returns seq.
  // InvalidArgument, appending nothing, for an event without actor or action or with details that
  // are not JSON.
  virtual Result<int64_t> AppendAudit(const AuditEvent& event) = 0;
  // Appends `events` in order as AppendAudit would one by one, with less work per event (the audit
  // writer's batches). Checks them all first: InvalidArgument for the first refused one, appending
  // none. Returns the last seq (the head's seq for no events). On any other error an unknown prefix
  // may be appended, the chain intact: roll the transaction back.
  virtual Result<int64_t> AppendAuditBatch(std::span<const AuditEvent> events) = 0;
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
  Status Write(const std::function<Status(CatalogTransaction&)>& fn);

  // The catalog's epochs (CatalogTransaction::Epochs) as a read transaction begun less than
  // `max_age` ago, and after the last write any Catalog in this process committed, saw them; read
  // afresh otherwise. So a change committed by this process is seen at once, and one committed by
  // another process (the CLI, a second server) at most `max_age` after its commit. For the server's
  // per-request check of its caches, where a read transaction per request would be the largest
  // cost. Thread-safe.
  Result<CatalogEpochs> RecentEpochs(std::chrono::microseconds max_age);

 protected:
  // Write as the implementation does it; Write itself counts the commits RecentEpochs looks at.
  virtual Status WriteTransaction(const std::function<Status(CatalogTransaction&)>& fn) = 0;

 private:
  struct EpochsSeen {
    CatalogEpochs epochs;
    std::chrono::steady_clock::time_point read_at{};  // before the read transaction began
    uint64_t commits = 0;                               // this process's commits before it began
    bool valid = false;
  };
  std::mutex epochs_mu_;
  EpochsSeen epochs_seen_;  // guarded by epochs_mu_
};

// The newest catalog schema version this build knows. Opening a catalog at a newer version fails
// with a message saying the catalog was written by a newer EDL.
inline constexpr int kCatalogSchemaVersion = 6;

// Opens (creating when absent) the catalog at `url` and applies pending migrations.
// Supported: "sqlite:PATH" (PATH absolute, or relative to the working directory).
Result<std::unique_ptr<Catalog>> OpenCatalog(std::string_view url, const Clock& clock);

}  // namespace edl
