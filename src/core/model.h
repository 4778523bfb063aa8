// EDL's domain types (design.md §2, §9): the instance configuration, dataset specifications and the
// records the catalog keeps. Plain value types with no behaviour beyond naming; validation of files
// lives in core/config.h. Not synchronized.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace edl {

// Ordered by risk: internal < restricted < sensitive.
enum class Tier { kInternal = 0, kRestricted = 1, kSensitive = 2 };
inline constexpr Tier kAllTiers[] = {Tier::kInternal, Tier::kRestricted, Tier::kSensitive};
std::string_view TierName(Tier tier);
Result<Tier> ParseTier(std::string_view text);

enum class UpdateKind { kSnapshot, kDelta };
std::string_view UpdateKindName(UpdateKind kind);
Result<UpdateKind> ParseUpdateKind(std::string_view text);

enum class AccessLevel { kRead, kWrite, kAdmin };
std::string_view AccessLevelName(AccessLevel level);
Result<AccessLevel> ParseAccessLevel(std::string_view text);

enum class PrincipalKind { kUser, kGroup, kService };
std::string_view PrincipalKindName(PrincipalKind kind);
Result<PrincipalKind> ParsePrincipalKind(std::string_view text);

enum class SchemaChangePolicy { kAllow, kWarn, kFail };
std::string_view SchemaChangePolicyName(SchemaChangePolicy policy);
Result<SchemaChangePolicy> ParseSchemaChangePolicy(std::string_view text);

// ---- Instance configuration (edl.yaml) ----

struct StorageConfig {
  std::string backend = "local";  // "local" (an "s3" backend comes later)
  std::string root;               // local: absolute storage root folder
};

struct CatalogConfig {
  std::string url;  // "sqlite:/abs/path/catalog.db"
};

struct ServerConfig {
  std::string http = "127.0.0.1:8080";
  std::string pg = "127.0.0.1:5433";
  std::string s3 = "127.0.0.1:9000";
  std::string tls_cert;                        // PEM files; both set: the API speaks HTTPS only
  std::string tls_key;
  int64_t threads = 16;                        // HTTP event-loop threads (and as many for requests with a body)
  int64_t max_body_bytes = 1LL << 20;          // JSON request bodies
  int64_t max_upload_bytes = 1LL << 40;        // one uploaded file
  int64_t read_timeout_seconds = 30;           // a client silent this long is disconnected
  int64_t write_timeout_seconds = 30;
  int64_t shutdown_grace_seconds = 30;         // SIGTERM: how long running jobs may finish
  bool json_logs = false;
};

struct JobsConfig {
  int64_t workers = 2;                         // job workers inside `edl serve` (and `edl worker`)
  int64_t lease_seconds = 60;                  // a worker that stops heartbeating loses its job after this
  int64_t max_attempts = 3;                    // a job whose worker died this often fails
  int64_t poll_interval_ms = 500;              // idle workers look for queued jobs this often
};

struct EngineConfig {
  int64_t memory_limit_bytes = 4LL << 30;
  int threads = 2;
};

struct IngestConfig {
  int64_t max_source_bytes = 1LL << 40;        // per source of one ingest
  int64_t max_unpacked_bytes = 64LL << 30;     // per archive
  int64_t max_archive_entries = 100000;        // per archive
  int64_t http_timeout_seconds = 60;           // no byte for this long fails an HTTP transfer
  int64_t keep_failed_days = 7;                // `edl gc` removes failed updates' files after this
  bool allow_private_addresses = false;        // API ingests may fetch from loopback/private networks
};

struct InstanceConfig {
  std::string source_file;  // where it was read from, for messages
  std::string instance;
  std::string bucket_prefix = "datalake";
  std::vector<std::string> regions;
  std::string default_region;
  StorageConfig storage;
  CatalogConfig catalog;
  ServerConfig server;
  EngineConfig engine;
  IngestConfig ingest;
  JobsConfig jobs;
};

// ---- Dataset specification (dataset YAML file) ----

struct Principal {
  PrincipalKind kind = PrincipalKind::kUser;
  std::string name;
  bool operator==(const Principal&) const = default;
};
std::string PrincipalRef(const Principal& principal);  // "user:alice", "group:finance"
Result<Principal> ParsePrincipalRef(std::string_view text);

struct DatasetPolicy {
  std::string classification;
  bool contains_pii = false;
  std::optional<int64_t> retention_days;
  std::vector<std::string> allowed_purposes;
  std::string legal_basis;
  std::optional<int64_t> max_grant_days;  // sensitive: the longest a grant may run (default 90)
  bool two_person_approval = false;       // sensitive: a grant needs a second admin's approval
  bool operator==(const DatasetPolicy&) const = default;
};

struct UpdateConvention {
  UpdateKind kind = UpdateKind::kSnapshot;
  std::vector<std::string> keys;  // delta only
  std::string op_column;          // delta only
  std::string order_by;           // optional
  bool operator==(const UpdateConvention&) const = default;
};

// Overrides for reading raw files; unset fields are sniffed.
struct FormatOptions {
  std::string type;  // csv | tsv | json | parquet; empty: by extension
  std::optional<std::string> delimiter;
  std::optional<std::string> quote;
  std::optional<std::string> escape;
  std::optional<bool> header;
  std::vector<std::string> null_strings;
  std::optional<std::string> date_format;
  std::optional<std::string> timestamp_format;
  std::map<std::string, std::string> column_types;  // column -> DuckDB type
  bool operator==(const FormatOptions&) const = default;
};

struct QcCheck {
  std::string check;  // not_null | unique | accepted_values | range | regex | row_count | sql
  std::vector<std::string> columns;
  std::vector<std::string> values;  // accepted_values
  std::optional<double> min;
  std::optional<double> max;
  std::string pattern;  // regex
  std::string sql;      // sql: a query returning failing rows
  bool operator==(const QcCheck&) const = default;
};

struct DeclaredGrant {
  Principal principal;
  AccessLevel level = AccessLevel::kRead;
  std::string justification;          // required on sensitive datasets
  std::optional<std::string> until;   // "YYYY-MM-DD": expires at 00:00 UTC that day; required on sensitive
  bool operator==(const DeclaredGrant&) const = default;
};

struct Trigger {
  std::string pipeline;
  bool operator==(const Trigger&) const = default;
};

struct DatasetSpec {
  std::string name;
  Tier tier = Tier::kInternal;
  std::string region;
  std::string description;
  std::vector<std::string> owners;
  DatasetPolicy policy;
  UpdateConvention updates;
  FormatOptions format;
  SchemaChangePolicy schema_changes = SchemaChangePolicy::kWarn;
  std::vector<QcCheck> qc;
  std::vector<DeclaredGrant> grants;
  std::vector<Trigger> triggers;
  bool require_conversion = false;  // every raw file must convert to Parquet
  bool operator==(const DatasetSpec&) const = default;
};

// The three roles every dataset gets: "<dataset>:read", ":write", ":admin".
std::string DatasetRoleName(std::string_view dataset, AccessLevel level);
inline constexpr std::string_view kInternalReadRole = "internal-read";
inline constexpr std::string_view kEmployeesGroup = "employees";

// ---- Catalog records ----

struct DatasetRecord {
  DatasetSpec spec;
  std::string bucket;
  int64_t generation = 0;  // bumped on every change of the spec
  std::string created_at;  // RFC 3339 UTC
  std::string updated_at;
  bool operator==(const DatasetRecord&) const = default;
};

struct BucketRecord {
  std::string name;
  bool drop = false;
  Tier tier = Tier::kInternal;
  std::string region;
};

struct RoleRecord {
  std::string name;
  std::string dataset;  // empty for instance roles
  AccessLevel level = AccessLevel::kRead;
  std::string description;
};

struct GrantRecord {
  int64_t id = 0;
  Principal principal;
  std::string role;
  std::string granted_by;
  std::string granted_at;
  std::string reason;
  std::optional<std::string> expires_at;
  std::optional<std::string> revoked_at;
  std::string revoked_by;
  std::string revoke_reason;
};

struct AuditEvent {
  int64_t seq = 0;          // assigned by the catalog
  std::string at;           // assigned by the catalog when empty
  std::string actor;        // "user:alice", "system"
  std::string action;       // e.g. "dataset.create", "dataset.update", "grant.add"
  std::string target;       // e.g. "dataset:sales-orders"
  std::string details_json; // old and new values
  // Access decisions (design.md §2: every decision, allowed and denied, is audited):
  std::string decision;     // "allow" or "deny"; empty for records of changes
  std::string reason;       // why, in words; never data
  std::string request_id;   // the API request that led to it, when there was one
};

// ---- Access requests (self-service, and grants awaiting a second admin) ----

enum class AccessRequestState { kPending, kApproved, kDenied };
std::string_view AccessRequestStateName(AccessRequestState state);
Result<AccessRequestState> ParseAccessRequestState(std::string_view text);

struct AccessRequestRecord {
  int64_t id = 0;
  std::string dataset;
  Principal grantee;
  AccessLevel level = AccessLevel::kRead;
  std::string justification;
  std::optional<int64_t> days;       // how long the grant should run; none: until revoked
  std::string requested_by;          // "user:alice"
  std::string requested_at;
  AccessRequestState state = AccessRequestState::kPending;
  std::string first_approved_by;     // two-person approval: the first admin to approve
  std::string first_approved_at;
  std::string decided_by;            // the admin who approved (second) or denied
  std::string decided_at;
  std::string decision_reason;
  std::optional<int64_t> grant_id;   // the grant an approval made
};

// ---- Updates (design.md §2, §6) ----

// staging -> complete (visible, frozen forever) or failed (never visible).
enum class UpdateState { kStaging, kComplete, kFailed };
std::string_view UpdateStateName(UpdateState state);
Result<UpdateState> ParseUpdateState(std::string_view text);

struct UpdateFile {
  std::string area;  // "raw" or "data"
  std::string key;   // object key in the dataset's bucket
  uint64_t size = 0;
  std::string sha256;
  std::optional<int64_t> rows;  // data files
};

struct UpdateRecord {
  std::string dataset;
  int64_t number = 0;
  UpdateKind kind = UpdateKind::kSnapshot;
  UpdateState state = UpdateState::kStaging;
  std::string created_by;
  std::string created_at;
  std::optional<std::string> completed_at;  // complete or failed
  std::string failure_reason;
  std::string metadata_json;                // sources, files, schema, statistics, QC (ingest writes it)
  std::string lease_owner;                  // staging: "host:pid" of the process writing it
  std::optional<std::string> lease_expires_at;
  std::optional<std::string> files_removed_at;  // failed: when garbage collection removed its files
};

// A dataset trigger fired by a completed update, waiting for the pipeline runner.
struct TriggerEvent {
  int64_t id = 0;
  std::string dataset;
  int64_t update_number = 0;
  std::string pipeline;
  std::string state;  // "pending" or "consumed"
  std::string created_at;
};

// ---- Users and tokens (the server's principals) ----

struct UserRecord {
  std::string name;                 // also the principal "user:<name>"
  bool admin = false;               // instance admin
  bool disabled = false;
  std::string created_at;
  std::string created_by;
  std::vector<std::string> groups;  // group names, sorted; filled by GetUser/ListUsers
};

// A bearer token. Only the SHA-256 of its secret is stored; the secret is shown once at creation.
struct TokenRecord {
  int64_t id = 0;
  std::string user;
  std::string description;
  std::string secret_sha256;        // lower-case hex
  std::string created_at;
  std::string created_by;
  std::optional<std::string> expires_at;
  std::optional<std::string> revoked_at;
  std::string revoked_by;
};

// ---- Jobs (design.md §2): queued persistently, leased by a worker, with progress and a log ----

// queued -> running -> succeeded | failed | cancelled; queued -> cancelled. A running job whose
// lease expires goes back to be leased again (attempts counts leases).
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
inline constexpr JobState kAllJobStates[] = {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                                             JobState::kFailed, JobState::kCancelled};
std::string_view JobStateName(JobState state);
Result<JobState> ParseJobState(std::string_view text);
inline bool IsFinished(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed || state == JobState::kCancelled;
}

struct JobProgress {
  std::string phase;                // e.g. "fetch", "convert"; empty before the first report
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;         // 0 when unknown
  int64_t files_done = 0;
  int64_t files_total = 0;          // 0 when unknown
  bool operator==(const JobProgress&) const = default;
};

struct JobRecord {
  int64_t id = 0;
  std::string kind;                 // "ingest"
  JobState state = JobState::kQueued;
  std::string dataset;              // the dataset it works on
  std::string spec_json;            // the kind's request, written and read by the jobs service
  std::string created_by;           // "user:alice"
  std::string created_at;
  std::optional<std::string> started_at;   // first lease
  std::optional<std::string> finished_at;
  int64_t attempts = 0;             // leases taken so far
  int64_t max_attempts = 3;
  std::string lease_owner;          // running: "host:pid/worker-N"
  std::optional<std::string> lease_expires_at;
  bool cancel_requested = false;
  std::optional<std::string> cancel_requested_by;
  JobProgress progress;
  std::optional<int64_t> update_number;    // ingest: the update it reserved
  std::string result_json;          // finished: the kind's outcome
  std::string error;                // failed or cancelled: why
};

struct JobLogLine {
  int64_t job_id = 0;
  int64_t seq = 0;                  // 1, 2, 3 ... per job
  std::string at;
  std::string level;                // "info", "warn", "error"
  std::string message;
};

}  // namespace edl
