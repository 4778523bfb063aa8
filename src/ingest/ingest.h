// Ingest: the service that turns files from outside into an immutable, queryable update of a
// dataset (design.md §6; the seed's import process). Used by `edl ingest` now and by the server's
// job workers later. One Ingest call: reserve update N (staging) → fetch sources into a private work
// folder → unpack → convert to Parquet → describe (schema, statistics, schema change) → validate
// deltas → QC → publish raw/, data/ and _manifest.json → mark complete (one catalog transaction with
// metadata, files, audit and trigger events) → seal the update's folders. Any failure marks the
// update failed with the reason; failed updates are never visible to readers. Recover() cleans up
// after crashed ingests; CollectGarbage() removes failed updates' files after a grace period.
// Ingestor borrows catalog, store and clock; several Ingest calls may run at once on one Ingestor.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "ingest/progress.h"
#include "ingest/source.h"
#include "ingest/unpack.h"

namespace edl {

class Catalog;
class Clock;
class ObjectStore;

struct IngestSettings {
  std::filesystem::path work_root;     // private work folders, on the storage root's file system
  std::filesystem::path uploads_root;  // UploadStore's root: the source "upload:<id>" reads from it
  FetchOptions fetch;
  UnpackLimits unpack;
  EngineConfig engine;
  std::chrono::seconds lease{60};           // a staging update's lease, renewed every lease/3
  uint64_t target_file_bytes = 512ULL << 20;
};

// The settings an instance config implies (work and uploads folders under the storage root, engine
// limits).
IngestSettings IngestSettingsFor(const InstanceConfig& config);

// "host:pid" of this process: how leases (a staging update's, a job's) name their holder.
std::string ProcessLeaseOwner();
// Whether the process a lease owner "host:pid[/...]" names is known to be gone. Only decidable on
// this host: false for owners on other hosts and for names that do not parse.
bool LeaseOwnerIsDead(std::string_view owner);

// What a user asks for. A source is what `edl ingest` takes: a path, folder, glob, file:// or
// http(s):// URL, "drop:" for the dataset's drop bucket, or "upload:<id>" for the files of an
// upload (ingest/uploads.h; recorded in lineage as "upload:<id>/<file>").
struct IngestRequest {
  std::string dataset;
  std::vector<std::string> sources;
  std::optional<UpdateKind> kind;    // default: the dataset's convention
  std::optional<std::string> format; // overrides the dataset's format.type
  std::string actor;                 // recorded as created_by and in the audit log
};

struct IngestOutcome {
  std::string dataset;
  int64_t update = 0;
  UpdateState state = UpdateState::kFailed;
  std::string failure_reason;       // failed only
  int64_t raw_files = 0;
  int64_t raw_only_files = 0;       // kept in raw/ but not converted
  int64_t data_files = 0;
  int64_t rows = 0;
  uint64_t fetched_bytes = 0;
  uint64_t parquet_bytes = 0;
  double seconds = 0;
  std::vector<std::string> warnings;  // e.g. schema changes under schema_changes: warn
  std::string metadata_json;          // what the catalog recorded
};

class Ingestor {
 public:
  Ingestor(const InstanceConfig& config, Catalog& catalog, ObjectStore& store, const Clock& clock,
           IngestSettings settings);

  // Errors before an update number is reserved (unknown dataset, unsupported source syntax, an
  // upload that does not exist) are returned as they are. Once reserved, a failure marks the update
  // failed and is returned as an error whose message starts "update N of dataset D failed: ". When
  // `progress` says Cancelled() the update fails with the reason "cancelled" (code Conflict); a
  // cancellation seen before reserving reserves nothing. Never throws.
  Result<IngestOutcome> Ingest(const IngestRequest& request, ProgressReporter& progress);

 private:
  const InstanceConfig& config_;
  Catalog& catalog_;
  ObjectStore& store_;
  const Clock& clock_;
  IngestSettings settings_;
};

struct RecoveryReport {
  std::vector<std::string> failed_updates;  // "dataset@N" marked failed (their writer died)
  std::vector<std::string> sealed_updates;  // complete updates whose folders were not yet sealed
  int64_t objects_removed = 0;
  int64_t work_folders_removed = 0;
  int64_t abandoned_uploads_removed = 0;  // the object store's temp files of crashed writers
};

// Finds staging updates whose writer is gone (its process on this host no longer runs, or its lease
// expired), removes their files and marks them failed; seals complete updates a crash left unsealed;
// removes work folders of dead ingests and uploads abandoned for longer than a lease. Safe to run
// while other ingests are in progress.
Result<RecoveryReport> Recover(Catalog& catalog, ObjectStore& store,
                               const Clock& clock, const IngestSettings& settings);

struct GarbageReport {
  std::vector<std::string> purged_updates;  // "dataset@N"
  int64_t objects_removed = 0;
};

// Removes the files of failed updates that failed more than `older_than` ago.
Result<GarbageReport> CollectGarbage(Catalog& catalog, ObjectStore& store,
                                     const Clock& clock, std::chrono::seconds older_than);

}  // namespace edl
