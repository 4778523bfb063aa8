// Jobs (design.md §2): long work — ingests now, pipeline runs and compactions later — queued
// persistently in the catalog, leased by workers with a heartbeat, with progress, a log and a final
// result. JobService is what frontends call: submit, look, cancel. WorkerPool runs jobs: it leases
// them, renews the lease while a job runs, takes over jobs whose worker died (lease expired), and
// stops cleanly. Both borrow the catalog, store and clock; both are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "core/model.h"
#include "core/status.h"
#include "ingest/ingest.h"

namespace edl {

class Clock;
class ObjectStore;
class UploadStore;

inline constexpr std::string_view kIngestJobKind = "ingest";

// An ingest submitted through the API. Sources a remote user may name: http(s):// URLs, "drop:" (the
// dataset's drop bucket) and "upload:<id>" (files the same user uploaded). Local paths on the server
// are refused: the server's files are not the caller's to read.
struct IngestJobSpec {
  std::string dataset;
  std::vector<std::string> sources;
  std::optional<UpdateKind> kind;
  std::optional<std::string> format;
};

// The result a finished ingest job records (result_json), typed.
struct IngestJobResult {
  int64_t update = 0;
  std::string state;  // the update's state: "complete" or "failed"
  int64_t rows = 0;
  int64_t data_files = 0;
  int64_t raw_files = 0;
  uint64_t fetched_bytes = 0;
  uint64_t parquet_bytes = 0;
  double seconds = 0;
  std::vector<std::string> warnings;
};

std::string IngestJobSpecToJson(const IngestJobSpec& spec);
Result<IngestJobSpec> IngestJobSpecFromJson(std::string_view json);
std::string IngestJobResultToJson(const IngestJobResult& result);
Result<IngestJobResult> IngestJobResultFromJson(std::string_view json);

class JobService {
 public:
  JobService(Catalog& catalog, UploadStore& uploads, const Clock& clock, const JobsConfig& config);

  // Validates (dataset exists, sources allowed as above, uploads exist and belong to `actor`) and
  // queues the job; audited as "job.submit". InvalidArgument naming the bad source; NotFound.
  Result<JobRecord> SubmitIngest(const IngestJobSpec& spec, std::string_view actor);
  Result<JobRecord> Get(int64_t id);
  Result<std::vector<JobRecord>> List(const JobFilter& filter);
  // Queued: cancelled at once. Running: its worker is told at its next heartbeat and stops the
  // ingest (which fails its update) unless it is already committing. Conflict when finished.
  Result<JobRecord> Cancel(int64_t id, std::string_view actor);
  Result<std::vector<JobLogLine>> Logs(int64_t id, int64_t after_seq, int64_t limit);
  // How many jobs are in each state, every state listed (for /metrics).
  Result<std::vector<std::pair<JobState, int64_t>>> CountByState();

 private:
  Catalog& catalog_;
  UploadStore& uploads_;
  const Clock& clock_;
  JobsConfig config_;
};

struct WorkerSettings {
  int workers = 2;
  std::chrono::milliseconds lease{std::chrono::seconds(60)};  // renewed every lease/3
  std::chrono::milliseconds poll_interval{500};
  std::string owner_prefix;  // "host:pid"; workers are "<prefix>/worker-N"
  // Asked before every attempt whether the job's creator may still write to its dataset (grants
  // can be revoked while a job waits in the queue). A refusal fails the job with its message, for
  // good. Unset: every job may run (tests of the pool itself).
  std::function<Status(const JobRecord& job, const std::string& dataset)> authorize;
};

WorkerSettings WorkerSettingsFor(const InstanceConfig& config);

class WorkerPool {
 public:
  WorkerPool(const InstanceConfig& config, Catalog& catalog, ObjectStore& store, UploadStore& uploads,
             const Clock& clock, IngestSettings ingest_settings, WorkerSettings settings);
  ~WorkerPool();  // Stop(0)
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts the worker threads. Before the first lease, jobs held by dead processes of this host
  // (by host and pid in lease_owner) are released so they run again without waiting for their lease.
  Status Start();
  // Stops leasing; lets running jobs finish for up to `grace`, then stops them and releases their
  // leases (the jobs go back to queued and their staging updates are failed). Returns when every
  // worker thread has ended. Safe to call twice.
  void Stop(std::chrono::milliseconds grace);
  // Jobs running in this pool now.
  int Running() const;
  // Bytes fetched by the ingest jobs this pool completed (for /metrics).
  uint64_t IngestedBytes() const;
  bool Started() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edl
