// WorkerPool: threads that lease jobs from the catalog and run them. While a job runs, a heartbeat
// thread renews its lease every lease/3 and reads cancel_requested; the ingest polls one JobControl
// (through ProgressReporter::Cancelled) that the heartbeat, the progress recorder and Stop() set.
// Retries are idempotent through the job's update_number: an attempt that finds its update
// complete records success without ingesting again.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/serialize.h"
#include "ingest/uploads.h"
#include "jobs/jobs.h"

namespace edl {
namespace {

using nlohmann::json;

constexpr std::chrono::milliseconds kProgressInterval{500};
constexpr std::string_view kUploadPrefix = "upload:";

// Why a running job's ingest is being stopped. The first reason given wins.
enum class StopReason { kNone, kCancelRequested, kLeaseLost, kShutdown, kBroken };

// Shared by the threads around one running job. Thread-safe.
class JobControl {
 public:
  void Stop(StopReason reason, std::string detail) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (reason_ != StopReason::kNone) return;
    reason_ = reason;
    detail_ = std::move(detail);
    stopping_.store(true);
  }
  bool stopping() const { return stopping_.load(); }
  StopReason reason() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return reason_;
  }
  std::string detail() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return detail_;
  }

 private:
  mutable std::mutex mutex_;
  std::atomic<bool> stopping_{false};
  StopReason reason_ = StopReason::kNone;  // guarded by mutex_
  std::string detail_;                     // guarded by mutex_
};

// The lease and the cancellation request, checked every lease/3 on its own thread until destroyed.
class Heartbeat {
 public:
  Heartbeat(Catalog& catalog, const Clock& clock, int64_t job, std::string owner, std::chrono::milliseconds lease,
            JobControl& control)
      : catalog_(catalog),
        clock_(clock),
        job_(job),
        owner_(std::move(owner)),
        lease_(lease),
        control_(control),
        thread_([this] { Run(); }) {}
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, lease_ / 3, [this] { return stop_; })) {
      lock.unlock();
      Beat();
      lock.lock();
    }
  }

  void Beat() {
    std::string expires = FormatTimestamp(clock_.Now() + lease_);
    JobRecord now;
    Status renewed = catalog_.Write([&](CatalogTransaction& tx) -> Status {
      ASSIGN_OR_RETURN(now, tx.RenewJobLease(job_, owner_, expires));
      return Status::Ok();
    });
    if (renewed.code() == StatusCode::kConflict) {
      control_.Stop(StopReason::kLeaseLost, renewed.message());
    } else if (renewed.ok() && now.cancel_requested) {
      control_.Stop(StopReason::kCancelRequested,
                    fmt::format("cancelled by {}", now.cancel_requested_by.value_or("an unknown principal")));
    }
    // Other errors: the catalog may answer at the next beat, and the lease outlasts two missed ones.
  }

  Catalog& catalog_;
  const Clock& clock_;
  const int64_t job_;
  const std::string owner_;
  const std::chrono::milliseconds lease_;
  JobControl& control_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;   // guarded by mutex_
  std::thread thread_;  // last: starts after every member it uses exists
};

// Records an ingest's progress on its job: at each phase change (with a log line) and otherwise at
// most every kProgressInterval; records the update number as soon as it is reserved.
class JobProgressRecorder final : public ProgressReporter {
 public:
  JobProgressRecorder(Catalog& catalog, int64_t job, std::string owner, JobControl& control)
      : catalog_(catalog), job_(job), owner_(std::move(owner)), control_(control) {}

  void Report(const ProgressEvent& event) override {
    pending_ = {std::string(IngestPhaseName(event.phase)), event.bytes_done, event.bytes_total, event.files_done,
                event.files_total};
    bool new_phase = pending_.phase != written_.phase;
    if (!new_phase && std::chrono::steady_clock::now() - written_at_ < kProgressInterval) return;
    Write(new_phase ? std::optional<std::string>("phase " + pending_.phase) : std::nullopt);
  }

  void UpdateReserved(int64_t number) override {
    Status recorded = catalog_.Write([&](CatalogTransaction& tx) -> Status {
      RETURN_IF_ERROR(tx.SetJobUpdate(job_, owner_, number));
      return tx.AppendJobLog(job_, "info", fmt::format("reserved update {}", number));
    });
    reserved_ = number;
    // A retry must find the number, or it could ingest the same data twice: without it, stop.
    if (recorded.code() == StatusCode::kConflict) {
      control_.Stop(StopReason::kLeaseLost, recorded.message());
    } else if (!recorded.ok()) {
      control_.Stop(StopReason::kBroken,
                    fmt::format("recording update {} on the job failed: {}", number, recorded.message()));
    }
  }

  bool Cancelled() const override { return control_.stopping(); }
  // The update the ingest reserved; 0 before it reserved one.
  int64_t reserved() const { return reserved_; }

  // Writes what Report throttled away, so the job shows where the ingest ended.
  void Flush() {
    if (!(pending_ == written_)) Write(std::nullopt);
  }

 private:
  void Write(const std::optional<std::string>& log_line) {
    Status written = catalog_.Write([&](CatalogTransaction& tx) -> Status {
      RETURN_IF_ERROR(tx.SetJobProgress(job_, owner_, pending_));
      return log_line ? tx.AppendJobLog(job_, "info", *log_line) : Status::Ok();
    });
    written_at_ = std::chrono::steady_clock::now();
    if (written.ok()) written_ = pending_;
    // Progress is best effort, but a lost lease means another worker owns the job now.
    if (written.code() == StatusCode::kConflict) control_.Stop(StopReason::kLeaseLost, written.message());
  }

  Catalog& catalog_;
  const int64_t job_;
  const std::string owner_;
  JobControl& control_;
  JobProgress pending_;
  JobProgress written_;
  std::chrono::steady_clock::time_point written_at_{};
  int64_t reserved_ = 0;
};

IngestJobResult ResultOf(const IngestOutcome& outcome) {
  IngestJobResult result;
  result.update = outcome.update;
  result.state = std::string(UpdateStateName(outcome.state));
  result.rows = outcome.rows;
  result.data_files = outcome.data_files;
  result.raw_files = outcome.raw_files;
  result.fetched_bytes = outcome.fetched_bytes;
  result.parquet_bytes = outcome.parquet_bytes;
  result.seconds = outcome.seconds;
  result.warnings = outcome.warnings;
  return result;
}

// The result of an update an earlier attempt completed, from what the catalog recorded.
IngestJobResult ResultOf(const UpdateRecord& update, const std::vector<UpdateFile>& files) {
  IngestJobResult result;
  result.update = update.number;
  result.state = std::string(UpdateStateName(update.state));
  for (const UpdateFile& file : files) {
    if (file.area == "raw") ++result.raw_files;
    if (file.area != "data") continue;
    ++result.data_files;
    result.rows += file.rows.value_or(0);
    result.parquet_bytes += file.size;
  }
  json metadata = ParseStoredJson(update.metadata_json);
  if (metadata.contains("sources") && metadata["sources"].is_array()) {
    for (const json& source : metadata["sources"]) {
      if (source.contains("size") && source["size"].is_number_unsigned()) {
        result.fetched_bytes += source["size"].get<uint64_t>();
      }
    }
  }
  if (metadata.contains("warnings") && metadata["warnings"].is_array()) {
    for (const json& warning : metadata["warnings"]) {
      if (warning.is_string()) result.warnings.push_back(warning.get<std::string>());
    }
  }
  return result;
}

}  // namespace

struct WorkerPool::Impl {
  Impl(const InstanceConfig& config_in, Catalog& catalog_in, ObjectStore& store, UploadStore& uploads_in,
       const Clock& clock_in, IngestSettings ingest_settings, WorkerSettings settings_in)
      : config(config_in),
        catalog(catalog_in),
        uploads(uploads_in),
        clock(clock_in),
        settings(std::move(settings_in)),
        ingestor(config, catalog, store, clock, std::move(ingest_settings)) {}

  void WorkerLoop(int index);
  void RunGuarded(const JobRecord& job, const std::string& owner);
  void Run(const JobRecord& job, const std::string& owner, JobControl& control);
  // The job's update from an earlier attempt, if it completed; a staging one is failed first.
  Result<std::optional<IngestJobResult>> EarlierAttempt(const JobRecord& job, int64_t number);
  void Succeed(const JobRecord& job, const std::string& owner, const IngestJobResult& result,
               const IngestJobSpec& spec);
  void Fail(const JobRecord& job, const std::string& owner, const std::string& error, const std::string& result_json);
  // After an ingest that did not succeed: finish, release or leave the job, as `control` says.
  void Conclude(const JobRecord& job, const std::string& owner, const JobControl& control, const Status& error,
                int64_t update);
  Status ExpireLeasesOfDeadProcesses();
  void Log(int64_t job, std::string_view level, const std::string& message);

  const InstanceConfig config;
  Catalog& catalog;
  UploadStore& uploads;
  const Clock& clock;
  const WorkerSettings settings;
  Ingestor ingestor;

  std::mutex lifecycle_mutex;  // serializes Start and Stop; guards threads
  std::vector<std::thread> threads;

  mutable std::mutex mutex;
  std::condition_variable wake;   // stopping changed
  std::condition_variable idle;   // running shrank
  bool started = false;           // guarded by mutex
  bool stopping = false;          // guarded by mutex
  std::set<JobControl*> running;  // guarded by mutex
  std::atomic<uint64_t> ingested_bytes{0};
};

void WorkerPool::Impl::Log(int64_t job, std::string_view level, const std::string& message) {
  // The log is for people; a job whose log line is lost still runs.
  catalog.Write([&](CatalogTransaction& tx) { return tx.AppendJobLog(job, level, message); }).IgnoreError();
}

void WorkerPool::Impl::WorkerLoop(int index) {
  const std::string owner = fmt::format("{}/worker-{}", settings.owner_prefix, index);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping) return;
    }
    std::optional<JobRecord> job;
    Status leased;
    try {
      leased = catalog.Write([&](CatalogTransaction& tx) -> Status {
        auto now = clock.Now();
        ASSIGN_OR_RETURN(job, tx.LeaseJob(owner, FormatTimestamp(now), FormatTimestamp(now + settings.lease)));
        return Status::Ok();
      });
    } catch (const std::exception& e) {
      leased = Internal(fmt::format("unexpected error: {}", e.what()));
    }
    if (leased.ok() && job) {
      RunGuarded(*job, owner);
      continue;
    }
    if (!leased.ok()) std::fprintf(stderr, "edl: %s cannot lease jobs: %s\n", owner.c_str(), leased.ToString().c_str());
    std::unique_lock<std::mutex> lock(mutex);
    wake.wait_for(lock, settings.poll_interval, [this] { return stopping; });
  }
}

void WorkerPool::Impl::RunGuarded(const JobRecord& job, const std::string& owner) {
  JobControl control;
  {
    std::lock_guard<std::mutex> lock(mutex);
    running.insert(&control);
    // Leased while the pool was stopping: hand it back at once.
    if (stopping) control.Stop(StopReason::kShutdown, "");
  }
  try {
    Run(job, owner, control);
  } catch (const std::exception& e) {
    Fail(job, owner, fmt::format("unexpected error: {}", e.what()), "");
  } catch (...) {
    Fail(job, owner, "unexpected error", "");
  }
  std::lock_guard<std::mutex> lock(mutex);
  running.erase(&control);
  idle.notify_all();
}

void WorkerPool::Impl::Run(const JobRecord& job, const std::string& owner, JobControl& control) {
  Log(job.id, "info", fmt::format("attempt {} of {} by {}", job.attempts, job.max_attempts, owner));
  if (job.kind != kIngestJobKind) return Fail(job, owner, fmt::format("unknown job kind '{}'", job.kind), "");
  auto spec = IngestJobSpecFromJson(job.spec_json);
  if (!spec.ok()) return Fail(job, owner, spec.status().message(), "");
  if (settings.authorize) {
    Status allowed = settings.authorize(job, spec->dataset);
    if (!allowed.ok()) {
      return Fail(job, owner, fmt::format("the job may no longer run: {}", allowed.message()), "");
    }
  }

  std::optional<Heartbeat> heartbeat(std::in_place, catalog, clock, job.id, owner, settings.lease, control);
  if (job.update_number) {
    auto earlier = EarlierAttempt(job, *job.update_number);
    if (!earlier.ok()) {
      heartbeat.reset();
      return Fail(job, owner, earlier.status().WithContext("checking the update of an earlier attempt").message(), "");
    }
    if (const std::optional<IngestJobResult>& result = *earlier) {
      heartbeat.reset();
      Log(job.id, "info", fmt::format("update {} was completed by an earlier attempt", result->update));
      return Succeed(job, owner, *result, *spec);
    }
  }

  IngestRequest request;
  request.dataset = spec->dataset;
  request.sources = spec->sources;
  request.kind = spec->kind;
  request.format = spec->format;
  request.actor = job.created_by;
  JobProgressRecorder progress(catalog, job.id, owner, control);
  Result<IngestOutcome> outcome = ingestor.Ingest(request, progress);
  progress.Flush();
  heartbeat.reset();
  if (outcome.ok()) {
    ingested_bytes.fetch_add(outcome->fetched_bytes);
    return Succeed(job, owner, ResultOf(*outcome), *spec);
  }
  Conclude(job, owner, control, outcome.status(), progress.reserved());
}

Result<std::optional<IngestJobResult>> WorkerPool::Impl::EarlierAttempt(const JobRecord& job, int64_t number) {
  std::optional<UpdateRecord> update;
  std::vector<UpdateFile> files;
  // One write transaction: a still-running earlier attempt either completed before it (we see
  // complete) or finds its update failed when it tries to complete.
  RETURN_IF_ERROR(catalog.Write([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(update, tx.GetUpdate(job.dataset, number));
    if (!update) return Status::Ok();
    if (update->state == UpdateState::kStaging) {
      std::string reason = fmt::format("its job {} was taken over by another worker", job.id);
      RETURN_IF_ERROR(tx.FailUpdate(job.dataset, number, reason, update->metadata_json));
      AuditEvent event;
      event.actor = fmt::format("job:{}", job.id);
      event.action = "update.fail";
      event.target = "dataset:" + job.dataset;
      event.details_json = json{{"update", number}, {"reason", reason}}.dump();
      RETURN_IF_ERROR(tx.AppendAudit(event).status());
      update->state = UpdateState::kFailed;
      return tx.AppendJobLog(job.id, "warn",
                             fmt::format("update {} of an earlier attempt was left staging: "
                                         "marked failed, ingesting anew",
                                         number));
    }
    if (update->state != UpdateState::kComplete) return Status::Ok();
    ASSIGN_OR_RETURN(files, tx.ListUpdateFiles(job.dataset, number));
    return Status::Ok();
  }));
  if (!update || update->state != UpdateState::kComplete) return std::optional<IngestJobResult>();
  return std::optional<IngestJobResult>(ResultOf(*update, files));
}

void WorkerPool::Impl::Succeed(const JobRecord& job, const std::string& owner, const IngestJobResult& result,
                               const IngestJobSpec& spec) {
  Status finished = catalog.Write([&](CatalogTransaction& tx) -> Status {
    // The last progress report came before the commit finished; the job's progress ends whole.
    JobProgress done{"done", result.fetched_bytes, result.fetched_bytes, result.data_files, result.data_files};
    RETURN_IF_ERROR(tx.SetJobProgress(job.id, owner, done));
    RETURN_IF_ERROR(tx.FinishJob(job.id, owner, JobState::kSucceeded, IngestJobResultToJson(result), ""));
    return tx.AppendJobLog(job.id, "info",
                           fmt::format("succeeded: update {} is complete with {} rows", result.update, result.rows));
  });
  if (!finished.ok()) {
    // The update is complete either way; whoever holds the job now finds it so.
    Log(job.id, "warn", fmt::format("{} could not record the success: {}", owner, finished.message()));
    return;
  }
  // The uploads are in the update's raw/ now. Kept when the job fails, so the user can retry.
  for (const std::string& source : spec.sources) {
    if (source.rfind(kUploadPrefix, 0) != 0) continue;
    Status removed = uploads.Remove(source.substr(kUploadPrefix.size()), job.created_by);
    if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
      Log(job.id, "warn", fmt::format("removing {} failed: {}", source, removed.message()));
    }
  }
}

void WorkerPool::Impl::Fail(const JobRecord& job, const std::string& owner, const std::string& error,
                            const std::string& result_json) {
  Status finished = catalog.Write([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(tx.FinishJob(job.id, owner, JobState::kFailed, result_json, error));
    return tx.AppendJobLog(job.id, "error", "failed: " + error);
  });
  if (!finished.ok())
    Log(job.id, "warn", fmt::format("{} could not record the failure: {}", owner, finished.message()));
}

void WorkerPool::Impl::Conclude(const JobRecord& job, const std::string& owner, const JobControl& control,
                                const Status& error, int64_t update) {
  std::string result_json;
  if (update > 0) {
    IngestJobResult result;
    result.update = update;
    result.state = std::string(UpdateStateName(UpdateState::kFailed));
    result_json = IngestJobResultToJson(result);
  }
  Status recorded;
  switch (control.reason()) {
    case StopReason::kLeaseLost:
      // Another worker holds the job (or will): nothing here is ours to record but a note.
      return Log(job.id, "warn", fmt::format("{} stopped: it lost the job's lease ({})", owner, control.detail()));
    case StopReason::kShutdown:
      recorded = catalog.Write([&](CatalogTransaction& tx) -> Status {
        RETURN_IF_ERROR(tx.ReleaseJob(job.id, owner));
        return tx.AppendJobLog(job.id, "info",
                               fmt::format("released by {}, which is shutting down; "
                                           "the job runs again",
                                           owner));
      });
      break;
    case StopReason::kCancelRequested:
      recorded = catalog.Write([&](CatalogTransaction& tx) -> Status {
        RETURN_IF_ERROR(tx.FinishJob(job.id, owner, JobState::kCancelled, result_json, control.detail()));
        return tx.AppendJobLog(job.id, "info", control.detail());
      });
      break;
    case StopReason::kBroken: return Fail(job, owner, control.detail(), result_json);
    case StopReason::kNone: return Fail(job, owner, error.message(), result_json);
  }
  if (!recorded.ok()) Log(job.id, "warn", fmt::format("{} could not record the end: {}", owner, recorded.message()));
}

Status WorkerPool::Impl::ExpireLeasesOfDeadProcesses() {
  JobFilter filter;
  filter.state = JobState::kRunning;
  std::vector<JobRecord> dead;
  while (true) {
    std::vector<JobRecord> page;
    RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
      ASSIGN_OR_RETURN(page, tx.ListJobs(filter));
      return Status::Ok();
    }));
    for (JobRecord& job : page) {
      if (LeaseOwnerIsDead(job.lease_owner)) dead.push_back(std::move(job));
    }
    if (static_cast<int64_t>(page.size()) < filter.limit) break;
    filter.before_id = page.back().id;
  }
  for (const JobRecord& job : dead) {
    // Expiring the lease (rather than releasing the job) counts the dead worker's attempt, so a job
    // that kills its server every time still ends after max_attempts.
    Status expired = catalog.Write([&](CatalogTransaction& tx) -> Status {
      RETURN_IF_ERROR(tx.RenewJobLease(job.id, job.lease_owner, FormatTimestamp(clock.Now())).status());
      return tx.AppendJobLog(job.id, "warn",
                             fmt::format("worker {} is gone (its process no longer runs); "
                                         "the job runs again",
                                         job.lease_owner));
    });
    if (!expired.ok() && expired.code() != StatusCode::kConflict) return expired;
  }
  return Status::Ok();
}

WorkerPool::WorkerPool(const InstanceConfig& config, Catalog& catalog, ObjectStore& store, UploadStore& uploads,
                       const Clock& clock, IngestSettings ingest_settings, WorkerSettings settings)
    : impl_(std::make_unique<Impl>(config, catalog, store, uploads, clock, std::move(ingest_settings),
                                   std::move(settings))) {}

WorkerPool::~WorkerPool() {
  Stop(std::chrono::milliseconds(0));
}

Status WorkerPool::Start() {
  std::lock_guard<std::mutex> lifecycle(impl_->lifecycle_mutex);
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->started || impl_->stopping) return Conflict("the worker pool was started already");
  }
  if (impl_->settings.workers < 0) {
    return InvalidArgument(fmt::format("{} job workers: the number must not be negative", impl_->settings.workers));
  }
  if (impl_->settings.lease.count() < 3) {
    return InvalidArgument(fmt::format("a job lease of {} ms is too short", impl_->settings.lease.count()));
  }
  RETURN_IF_ERROR(impl_->ExpireLeasesOfDeadProcesses().WithContext("taking back the jobs of dead workers"));
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->started = true;
  }
  for (int i = 1; i <= impl_->settings.workers; ++i) {
    impl_->threads.emplace_back([impl = impl_.get(), i] { impl->WorkerLoop(i); });
  }
  return Status::Ok();
}

void WorkerPool::Stop(std::chrono::milliseconds grace) {
  std::lock_guard<std::mutex> lifecycle(impl_->lifecycle_mutex);
  {
    std::unique_lock<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
    impl_->wake.notify_all();
    impl_->idle.wait_for(lock, grace, [this] { return impl_->running.empty(); });
    for (JobControl* control : impl_->running) control->Stop(StopReason::kShutdown, "");
  }
  for (std::thread& thread : impl_->threads) thread.join();
  impl_->threads.clear();
}

int WorkerPool::Running() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return static_cast<int>(impl_->running.size());
}

uint64_t WorkerPool::IngestedBytes() const {
  return impl_->ingested_bytes.load();
}

bool WorkerPool::Started() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->started && !impl_->stopping;
}

}  // namespace edl
