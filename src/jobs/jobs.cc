// The jobs service (submit, look, cancel) and the JSON forms of ingest jobs. The worker pool is in
// worker_pool.cc.
#include "jobs/jobs.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/names.h"
#include "ingest/uploads.h"

namespace edl {
namespace {

using nlohmann::json;

constexpr std::string_view kDropSource = "drop:";
constexpr std::string_view kUploadPrefix = "upload:";

// Reads a JSON object strictly: a field that is not known, or of the wrong type, is InvalidArgument
// naming it. Missing fields keep the value they had.
class StrictReader {
 public:
  StrictReader(const json& object, std::string_view what) : object_(object), what_(what) {}

  static Result<json> Parse(std::string_view text, std::string_view what) {
    json parsed = json::parse(text, nullptr, false);
    if (parsed.is_discarded()) return InvalidArgument(fmt::format("{} is not valid JSON", what));
    if (!parsed.is_object()) return InvalidArgument(fmt::format("{} must be a JSON object", what));
    return parsed;
  }

  Status OnlyKnown(std::initializer_list<std::string_view> known) const {
    for (const auto& [key, value] : object_.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        return InvalidArgument(fmt::format("{}: unknown field '{}'", what_, key));
      }
    }
    return Status::Ok();
  }

  Status Required(const char* key) const {
    if (object_.contains(key)) return Status::Ok();
    return InvalidArgument(fmt::format("{}: field '{}' is missing", what_, key));
  }

  Status Get(const char* key, std::string& out) const {
    return Read(
        key, "a string", [](const json& v) { return v.is_string(); }, out);
  }
  Status Get(const char* key, int64_t& out) const {
    return Read(
        key, "an integer", [](const json& v) { return v.is_number_integer(); }, out);
  }
  Status Get(const char* key, uint64_t& out) const {
    return Read(
        key, "a non-negative integer", [](const json& v) { return v.is_number_unsigned(); }, out);
  }
  Status Get(const char* key, double& out) const {
    return Read(
        key, "a number", [](const json& v) { return v.is_number(); }, out);
  }
  Status Get(const char* key, std::vector<std::string>& out) const {
    auto strings = [](const json& v) {
      return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& item) { return item.is_string(); });
    };
    return Read(key, "an array of strings", strings, out);
  }
  template <typename T>
  Status Get(const char* key, std::optional<T>& out) const {
    if (!object_.contains(key) || object_[key].is_null()) return Status::Ok();
    T value{};
    RETURN_IF_ERROR(Get(key, value));
    out = std::move(value);
    return Status::Ok();
  }

 private:
  template <typename T, typename Check>
  Status Read(const char* key, std::string_view type, Check check, T& out) const {
    if (!object_.contains(key)) return Status::Ok();
    const json& value = object_[key];
    if (!check(value)) return InvalidArgument(fmt::format("{}: field '{}' must be {}", what_, key, type));
    out = value.get<T>();
    return Status::Ok();
  }

  const json& object_;
  const std::string_view what_;
};

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

bool IsLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

json SourcesForRecord(const std::vector<std::string>& sources) {
  json out = json::array();
  for (const std::string& source : sources) out.push_back(RedactUri(source));
  return out;
}

Status AuditJob(CatalogTransaction& tx, std::string_view actor, std::string action, int64_t id, const json& details) {
  AuditEvent event;
  event.actor = std::string(actor);
  event.action = std::move(action);
  event.target = fmt::format("job:{}", id);
  event.details_json = details.dump(-1, ' ', false, json::error_handler_t::replace);
  return tx.AppendAudit(event).status();
}

Status JobNotFound(int64_t id) {
  return NotFound(fmt::format("job {} does not exist", id));
}

}  // namespace

std::string IngestJobSpecToJson(const IngestJobSpec& spec) {
  json out = {{"dataset", spec.dataset}, {"sources", spec.sources}};
  if (spec.kind) out["kind"] = UpdateKindName(*spec.kind);
  if (spec.format) out["format"] = *spec.format;
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<IngestJobSpec> IngestJobSpecFromJson(std::string_view text) {
  constexpr std::string_view kWhat = "ingest job spec";
  ASSIGN_OR_RETURN(json object, StrictReader::Parse(text, kWhat));
  StrictReader reader(object, kWhat);
  RETURN_IF_ERROR(reader.OnlyKnown({"dataset", "sources", "kind", "format"}));
  RETURN_IF_ERROR(reader.Required("dataset"));
  RETURN_IF_ERROR(reader.Required("sources"));
  IngestJobSpec spec;
  std::optional<std::string> kind;
  RETURN_IF_ERROR(reader.Get("dataset", spec.dataset));
  RETURN_IF_ERROR(reader.Get("sources", spec.sources));
  RETURN_IF_ERROR(reader.Get("kind", kind));
  RETURN_IF_ERROR(reader.Get("format", spec.format));
  if (kind) {
    auto parsed = ParseUpdateKind(*kind);
    if (!parsed.ok()) return InvalidArgument(fmt::format("{}: field 'kind': {}", kWhat, parsed.status().message()));
    spec.kind = *parsed;
  }
  return spec;
}

std::string IngestJobResultToJson(const IngestJobResult& result) {
  json out = {{"update", result.update},
              {"state", result.state},
              {"rows", result.rows},
              {"data_files", result.data_files},
              {"raw_files", result.raw_files},
              {"fetched_bytes", result.fetched_bytes},
              {"parquet_bytes", result.parquet_bytes},
              {"seconds", result.seconds},
              {"warnings", result.warnings}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<IngestJobResult> IngestJobResultFromJson(std::string_view text) {
  constexpr std::string_view kWhat = "ingest job result";
  ASSIGN_OR_RETURN(json object, StrictReader::Parse(text, kWhat));
  StrictReader reader(object, kWhat);
  RETURN_IF_ERROR(reader.OnlyKnown(
      {"update", "state", "rows", "data_files", "raw_files", "fetched_bytes", "parquet_bytes", "seconds", "warnings"}));
  IngestJobResult result;
  RETURN_IF_ERROR(reader.Get("update", result.update));
  RETURN_IF_ERROR(reader.Get("state", result.state));
  RETURN_IF_ERROR(reader.Get("rows", result.rows));
  RETURN_IF_ERROR(reader.Get("data_files", result.data_files));
  RETURN_IF_ERROR(reader.Get("raw_files", result.raw_files));
  RETURN_IF_ERROR(reader.Get("fetched_bytes", result.fetched_bytes));
  RETURN_IF_ERROR(reader.Get("parquet_bytes", result.parquet_bytes));
  RETURN_IF_ERROR(reader.Get("seconds", result.seconds));
  RETURN_IF_ERROR(reader.Get("warnings", result.warnings));
  return result;
}

JobService::JobService(Catalog& catalog, UploadStore& uploads, const Clock& clock, const JobsConfig& config)
    : catalog_(catalog), uploads_(uploads), clock_(clock), config_(config) {}

Result<JobRecord> JobService::SubmitIngest(const IngestJobSpec& spec, std::string_view actor) {
  auto dataset_exists = [&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto dataset, tx.GetDataset(spec.dataset));
    if (!dataset) return NotFound(fmt::format("dataset '{}' does not exist", spec.dataset));
    return Status::Ok();
  };
  RETURN_IF_ERROR(catalog_.Read(dataset_exists));
  if (spec.sources.empty()) {
    return InvalidArgument("no source given: name at least one http(s):// URL, drop: or upload:<id>");
  }
  for (const std::string& source : spec.sources) {
    if (StartsWithNoCase(source, "http://") || StartsWithNoCase(source, "https://") || source == kDropSource) continue;
    std::string_view id = std::string_view(source).substr(std::min(source.size(), kUploadPrefix.size()));
    if (source.rfind(kUploadPrefix, 0) == 0 && id.size() == 32 && IsLowerHex(id)) {
      // NotFound alike for a missing upload and another user's (no existence leak).
      RETURN_IF_ERROR(uploads_.Get(id, actor).status());
      continue;
    }
    return InvalidArgument(
        fmt::format("source '{}' is not allowed through the API: use http(s)://, drop: or upload:<id>",
                    RedactUri(source)));
  }

  JobRecord job;
  job.kind = std::string(kIngestJobKind);
  job.dataset = spec.dataset;
  job.spec_json = IngestJobSpecToJson(spec);
  job.created_by = std::string(actor);
  job.max_attempts = config_.max_attempts;
  RETURN_IF_ERROR(catalog_.Write([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(dataset_exists(tx));  // again: it may have gone since the check above
    ASSIGN_OR_RETURN(int64_t id, tx.InsertJob(job));
    RETURN_IF_ERROR(tx.AppendJobLog(id, "info", fmt::format("queued by {}", actor)));
    RETURN_IF_ERROR(AuditJob(tx, actor, "job.submit", id,
                             {{"dataset", spec.dataset}, {"sources", SourcesForRecord(spec.sources)}}));
    ASSIGN_OR_RETURN(auto stored, tx.GetJob(id));
    if (!stored) return Internal(fmt::format("job {} vanished while it was queued", id));
    job = std::move(*stored);
    return Status::Ok();
  }));
  return job;
}

Result<JobRecord> JobService::Get(int64_t id) {
  std::optional<JobRecord> job;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(job, tx.GetJob(id));
    return Status::Ok();
  }));
  if (!job) return JobNotFound(id);
  return std::move(*job);
}

Result<std::vector<JobRecord>> JobService::List(const JobFilter& filter) {
  std::vector<JobRecord> jobs;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(jobs, tx.ListJobs(filter));
    return Status::Ok();
  }));
  return jobs;
}

Result<JobRecord> JobService::Cancel(int64_t id, std::string_view actor) {
  JobRecord job;
  RETURN_IF_ERROR(catalog_.Write([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto found, tx.GetJob(id));
    if (!found) return JobNotFound(id);
    ASSIGN_OR_RETURN(job, tx.RequestJobCancel(id, actor));
    std::string line = job.state == JobState::kCancelled
                           ? fmt::format("cancelled by {}", actor)
                           : fmt::format("cancellation requested by {}; the worker stops the job", actor);
    RETURN_IF_ERROR(tx.AppendJobLog(id, "info", line));
    return AuditJob(tx, actor, "job.cancel", id, {{"dataset", job.dataset}, {"state", JobStateName(job.state)}});
  }));
  return job;
}

Result<std::vector<std::pair<JobState, int64_t>>> JobService::CountByState() {
  std::vector<std::pair<JobState, int64_t>> stored;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(stored, tx.CountJobsByState());
    return Status::Ok();
  }));
  std::vector<std::pair<JobState, int64_t>> counts;
  for (JobState state : kAllJobStates) {
    int64_t n = 0;
    for (const auto& [st, count] : stored) {
      if (st == state) n = count;
    }
    counts.emplace_back(state, n);
  }
  return counts;
}

Result<std::vector<JobLogLine>> JobService::Logs(int64_t id, int64_t after_seq, int64_t limit) {
  std::vector<JobLogLine> lines;
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto job, tx.GetJob(id));
    if (!job) return JobNotFound(id);
    ASSIGN_OR_RETURN(lines, tx.ListJobLogs(id, after_seq, limit));
    return Status::Ok();
  }));
  return lines;
}

WorkerSettings WorkerSettingsFor(const InstanceConfig& config) {
  WorkerSettings settings;
  settings.workers = static_cast<int>(config.jobs.workers);
  settings.lease = std::chrono::seconds(config.jobs.lease_seconds);
  settings.poll_interval = std::chrono::milliseconds(config.jobs.poll_interval_ms);
  settings.owner_prefix = ProcessLeaseOwner();
  return settings;
}

}  // namespace edl
