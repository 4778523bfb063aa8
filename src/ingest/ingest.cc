#include "ingest/ingest.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "access/authorizer.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/names.h"
#include "engine/engine.h"
#include "ingest/convert.h"
#include "ingest/qc.h"
#include "ingest/source_internal.h"
#include "ingest/uploads.h"
#include "storage/object_store.h"

namespace edl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// JSON text of metadata that may hold names from outside (file names in archives need not be UTF-8):
// invalid bytes become U+FFFD instead of an exception.
std::string Dump(const json& value, int indent = -1) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

constexpr std::string_view kDropSource = "drop:";
constexpr std::string_view kManifest = "_manifest.json";
constexpr std::string_view kWorkFolderName = ".work";
constexpr std::string_view kUploadsFolderName = ".uploads";
constexpr std::string_view kUploadScheme = "upload:";
// A cancelled ingest fails its update with this reason (progress.h).
constexpr std::string_view kCancelledReason = "cancelled";

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

std::string UpdateRef(std::string_view dataset, int64_t number) {
  return fmt::format("{}@{}", dataset, number);
}

// Renews a staging update's lease in the background until destroyed, so recovery on another
// host can tell a live ingest from a dead one.
class LeaseKeeper {
 public:
  LeaseKeeper(Catalog& catalog, const Clock& clock, std::string dataset, int64_t number, std::chrono::seconds lease)
      : catalog_(catalog), clock_(clock), dataset_(std::move(dataset)), number_(number), lease_(lease), thread_([this] {
          Run();
        }) {}
  ~LeaseKeeper() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, lease_ / 3, [this] { return stop_; })) {
      std::string expires = FormatTimestamp(clock_.Now() + lease_);
      // A failed renewal is not fatal here: completing the update re-checks its state.
      catalog_.Write([&](CatalogTransaction& tx) { return tx.RenewUpdateLease(dataset_, number_, expires); })
          .IgnoreError();
    }
  }

  Catalog& catalog_;
  const Clock& clock_;
  const std::string dataset_;
  const int64_t number_;
  const std::chrono::seconds lease_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// Removes a folder tree when it goes out of scope.
class WorkFolder {
 public:
  explicit WorkFolder(fs::path path) : path_(std::move(path)) {}
  ~WorkFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  WorkFolder(const WorkFolder&) = delete;
  WorkFolder& operator=(const WorkFolder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

json SchemaJson(const std::vector<ColumnSchema>& schema) {
  json out = json::array();
  for (const ColumnSchema& c : schema) out.push_back({{"name", c.name}, {"type", c.type}, {"nullable", c.nullable}});
  return out;
}

std::vector<ColumnSchema> SchemaFromJson(const json& in) {
  std::vector<ColumnSchema> out;
  if (!in.is_array()) return out;
  for (const json& c : in) {
    out.push_back({c.value("name", ""), c.value("type", ""), c.value("nullable", true)});
  }
  return out;
}

json SchemaChangeJson(const SchemaChange& change) {
  json retyped = json::array();
  for (const SchemaChange::Retyped& r : change.retyped) {
    retyped.push_back({{"name", r.name}, {"old_type", r.old_type}, {"new_type", r.new_type}});
  }
  return {{"added", SchemaJson(change.added)}, {"removed", SchemaJson(change.removed)}, {"retyped", retyped}};
}

std::string DescribeSchemaChange(const SchemaChange& change) {
  std::vector<std::string> parts;
  for (const ColumnSchema& c : change.added) parts.push_back(fmt::format("added {} {}", c.name, c.type));
  for (const ColumnSchema& c : change.removed) parts.push_back(fmt::format("removed {}", c.name));
  for (const SchemaChange::Retyped& r : change.retyped) {
    parts.push_back(fmt::format("{} changed from {} to {}", r.name, r.old_type, r.new_type));
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

json QcJson(const std::vector<QcOutcome>& outcomes) {
  json out = json::array();
  for (const QcOutcome& o : outcomes) {
    json sample = json::array();
    for (const std::string& row : o.sample) {
      json parsed = json::parse(row, nullptr, false);
      sample.push_back(parsed.is_discarded() ? json(row) : parsed);
    }
    json item = {{"check", o.description}, {"passed", o.passed}, {"failing_rows", o.failing_rows}, {"sample", sample}};
    if (!o.error.empty()) item["error"] = o.error;
    out.push_back(std::move(item));
  }
  return out;
}

// The schema of the last complete update, from its recorded metadata.
Result<std::optional<std::vector<ColumnSchema>>> PreviousSchema(Catalog& catalog, const std::string& dataset) {
  std::optional<std::vector<ColumnSchema>> schema;
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto updates, tx.ListUpdates(dataset));
    for (auto it = updates.rbegin(); it != updates.rend(); ++it) {
      if (it->state != UpdateState::kComplete) continue;
      json metadata = json::parse(it->metadata_json, nullptr, false);
      if (metadata.is_object() && metadata.contains("schema")) schema = SchemaFromJson(metadata["schema"]);
      break;
    }
    return Status::Ok();
  }));
  return schema;
}

// Deletes every object under `prefix`; returns how many.
Result<int64_t> DeletePrefix(ObjectStore& store, const std::string& bucket, const std::string& prefix) {
  int64_t removed = 0;
  ListOptions options;
  options.prefix = prefix;
  while (true) {
    ASSIGN_OR_RETURN(ListPage page, store.List(bucket, options));
    for (const ObjectInfo& object : page.objects) {
      Status deleted = store.Delete(bucket, object.key);
      if (!deleted.ok() && deleted.code() != StatusCode::kNotFound) return deleted;
      ++removed;
    }
    if (page.next_token.empty()) break;
    options.continuation_token = page.next_token;
  }
  return removed;
}

Status Audit(CatalogTransaction& tx, const std::string& actor, std::string action, const std::string& dataset,
             int64_t number, json details) {
  AuditEvent event;
  event.actor = actor;
  event.action = std::move(action);
  event.target = "dataset:" + dataset;
  details["update"] = number;
  event.details_json = Dump(details);
  return tx.AppendAudit(event).status();
}

// Information flow (docs/security.md): a local source inside this lake's storage root is data of
// the bucket it lies in, and may not go into a dataset of a lower tier (that would launder, say,
// sensitive files into an internal dataset). Anything else under the root (work and upload
// folders, unknown folders) is refused outright: its tier is unknown.
Status CheckLocalSourceFlow(const std::string& path, const DatasetRecord& output, const fs::path& storage_root,
                            const std::vector<BucketRecord>& buckets) {
  // A glob's folder part decides where it reads.
  std::string folder = path.substr(0, path.find_first_of("*?["));
  std::error_code ec;
  fs::path source = fs::weakly_canonical(fs::absolute(folder, ec), ec);
  fs::path root = fs::weakly_canonical(fs::absolute(storage_root, ec), ec);
  fs::path relative = source.lexically_relative(root);
  if (relative.empty() || *relative.begin() == "..") return Status::Ok();  // outside the lake
  std::string bucket_name = relative.begin()->string();
  if (bucket_name == ".") {
    return PermissionDenied(fmt::format("source '{}' is the lake's storage root; name a dataset's files instead", path));
  }
  auto bucket = std::find_if(buckets.begin(), buckets.end(),
                             [&](const BucketRecord& b) { return b.name == bucket_name; });
  if (bucket == buckets.end()) {
    return PermissionDenied(fmt::format(
        "source '{}' lies in the lake's storage but in no bucket, so its tier is unknown; it cannot be ingested",
        path));
  }
  DatasetRecord input;
  auto part = std::next(relative.begin());
  input.spec.name = part != relative.end() ? part->string() : bucket_name;
  input.spec.tier = bucket->tier;
  Status flow = CheckFlow({input}, output);
  if (!flow.ok()) {
    return PermissionDenied(fmt::format("source '{}' is in bucket {} ({} tier): {}", path, bucket_name,
                                        TierName(bucket->tier), flow.message()));
  }
  return Status::Ok();
}

// Everything one ingest gathers on its way; becomes the update's metadata.
struct Run {
  DatasetRecord dataset;
  UpdateKind kind = UpdateKind::kSnapshot;
  int64_t number = 0;
  std::string started_at;
  json sources = json::array();
  json raw_files = json::array();
  json skipped = json::array();
  std::vector<UpdateFile> files;
  UpdateStats stats;
  std::optional<SchemaChange> schema_change;
  std::vector<QcOutcome> qc;
  std::vector<std::string> warnings;
  IngestOutcome outcome;
  std::vector<std::pair<std::string, fs::path>> raw_to_publish;  // name, local path
  std::vector<ParquetOutput> data_to_publish;
};

json MetadataJson(const Run& run, const std::string& actor, const std::string& finished_at) {
  json stats = json::array();
  for (const ColumnStats& c : run.stats.columns) {
    json item = {{"name", c.name}, {"type", c.type}, {"nullable", c.nullable}, {"null_count", c.null_count}};
    if (c.min) item["min"] = *c.min;
    if (c.max) item["max"] = *c.max;
    stats.push_back(std::move(item));
  }
  std::vector<ColumnSchema> schema;
  for (const ColumnStats& c : run.stats.columns) schema.push_back({c.name, c.type, c.nullable});
  json out = {{"kind", UpdateKindName(run.kind)},
              {"created_by", actor},
              {"started_at", run.started_at},
              {"finished_at", finished_at},
              {"sources", run.sources},
              {"raw_files", run.raw_files},
              {"skipped", run.skipped},
              {"schema", SchemaJson(schema)},
              {"rows", run.stats.rows},
              {"columns", stats},
              {"qc", QcJson(run.qc)},
              {"warnings", run.warnings}};
  out["schema_change"] = run.schema_change ? SchemaChangeJson(*run.schema_change) : json(nullptr);
  return out;
}

// The files of an upload ("upload:<id>"): a local folder source over the upload's files/ folder,
// described without the server's paths.
class UploadSource final : public Source {
 public:
  UploadSource(std::string id, std::unique_ptr<Source> folder) : id_(std::move(id)), folder_(std::move(folder)) {}

  std::string Describe() const override { return std::string(kUploadScheme) + id_; }

  Result<std::vector<FetchedFile>> Fetch(const fs::path& dest_dir, const FetchOptions& options,
                                         ProgressReporter& progress) override {
    auto files = folder_->Fetch(dest_dir, options, progress);
    if (files.status().code() == StatusCode::kNotFound) return NotFound(fmt::format("upload {} holds no files", id_));
    RETURN_IF_ERROR(files.status());
    for (FetchedFile& file : *files) file.uri = fmt::format("{}/{}", Describe(), file.name);
    return files;
  }

 private:
  const std::string id_;
  std::unique_ptr<Source> folder_;
};

// `text` with the update's work folder written as "<work>", and the storage root as "<storage>".
std::string WithoutServerPaths(std::string text, const fs::path& work_dir, const fs::path& storage_root) {
  for (const auto& [path, name] : {std::pair<std::string, std::string>{work_dir.string(), "<work>"},
                                   {storage_root.string(), "<storage>"}}) {
    if (path.empty()) continue;
    for (size_t at = text.find(path); at != std::string::npos; at = text.find(path, at + name.size())) {
      text.replace(at, path.size(), name);
    }
  }
  return text;
}

std::vector<std::string> RedactedSources(const std::vector<std::string>& sources) {
  std::vector<std::string> out;
  for (const std::string& source : sources) out.push_back(RedactUri(source));
  return out;
}

}  // namespace

std::string ProcessLeaseOwner() {
  return fmt::format("{}:{}", HostName(), getpid());
}

bool LeaseOwnerIsDead(std::string_view owner) {
  owner = owner.substr(0, owner.find('/'));
  size_t colon = owner.rfind(':');
  if (colon == std::string_view::npos || owner.substr(0, colon) != HostName()) return false;
  pid_t pid = 0;
  try {
    pid = static_cast<pid_t>(std::stol(std::string(owner.substr(colon + 1))));
  } catch (const std::exception&) {
    return false;
  }
  if (pid <= 0) return false;
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

IngestSettings IngestSettingsFor(const InstanceConfig& config) {
  IngestSettings settings;
  settings.work_root = fs::path(config.storage.root) / std::string(kWorkFolderName);
  settings.uploads_root = fs::path(config.storage.root) / std::string(kUploadsFolderName);
  settings.engine = config.engine;
  settings.fetch.max_bytes = static_cast<uint64_t>(config.ingest.max_source_bytes);
  settings.fetch.idle_timeout = std::chrono::seconds(config.ingest.http_timeout_seconds);
  settings.unpack.max_total_bytes = static_cast<uint64_t>(config.ingest.max_unpacked_bytes);
  settings.unpack.max_entries = static_cast<uint64_t>(config.ingest.max_archive_entries);
  return settings;
}

Ingestor::Ingestor(const InstanceConfig& config, Catalog& catalog, ObjectStore& store, const Clock& clock,
                   IngestSettings settings)
    : config_(config), catalog_(catalog), store_(store), clock_(clock), settings_(std::move(settings)) {}

Result<IngestOutcome> Ingestor::Ingest(const IngestRequest& request, ProgressReporter& progress) {
  auto started = std::chrono::steady_clock::now();
  Run run;
  // ---- Before reserving: everything that can be checked without touching the dataset.
  RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto record, tx.GetDataset(request.dataset));
    if (!record) return NotFound(fmt::format("dataset '{}' does not exist", request.dataset));
    run.dataset = std::move(*record);
    return Status::Ok();
  }));
  const DatasetSpec& spec = run.dataset.spec;
  run.kind = request.kind.value_or(spec.updates.kind);
  if (run.kind == UpdateKind::kDelta && spec.updates.kind != UpdateKind::kDelta) {
    return InvalidArgument(
        fmt::format("dataset '{}' takes snapshot updates only: its file declares no delta keys "
                    "and operation column",
                    spec.name));
  }
  if (request.sources.empty()) return InvalidArgument("no source given: name at least one file, folder, URL or drop:");
  {
    std::vector<BucketRecord> buckets;
    RETURN_IF_ERROR(catalog_.Read([&](CatalogTransaction& tx) -> Status {
      ASSIGN_OR_RETURN(buckets, tx.ListBuckets());
      return Status::Ok();
    }));
    for (const std::string& uri : request.sources) {
      if (uri == kDropSource || uri.rfind(kUploadScheme, 0) == 0) continue;
      std::optional<std::string> path = LocalSourcePath(uri);
      if (!path) continue;
      Status flow = CheckLocalSourceFlow(*path, run.dataset, config_.storage.root, buckets);
      if (!flow.ok()) {
        // The refusal is an access decision: audit it (its own transaction; nothing else changed).
        (void)catalog_.Write([&](CatalogTransaction& tx) -> Status {
          AuditEvent event;
          event.actor = request.actor;
          event.action = "ingest.flow";
          event.target = "dataset:" + spec.name;
          event.details_json = Dump(json{{"source", RedactUri(uri)}});
          event.decision = "deny";
          event.reason = flow.message();
          return tx.AppendAudit(event).status();
        });
        return flow;
      }
    }
  }
  std::vector<std::unique_ptr<Source>> sources;
  for (const std::string& uri : request.sources) {
    if (uri == kDropSource) {
      sources.push_back(OpenDropBucketSource(
          store_, DropBucketName(config_.bucket_prefix, config_.instance, spec.tier, spec.region), spec.name));
      continue;
    }
    if (uri.rfind(kUploadScheme, 0) == 0) {
      std::string id = uri.substr(kUploadScheme.size());
      ASSIGN_OR_RETURN(fs::path folder, UploadStore(settings_.uploads_root, clock_).FilesFolder(id));
      sources.push_back(std::make_unique<UploadSource>(id, ingest_internal::OpenLocalSource(folder.string())));
      continue;
    }
    ASSIGN_OR_RETURN(auto source, OpenSource(uri));
    sources.push_back(std::move(source));
  }
  FormatOptions format = spec.format;
  if (request.format) format.type = *request.format;

  // ---- Step 1 (design.md §6): reserve the number and record the update as staging.
  // Polled between files and phases until publishing starts (progress.h).
  auto check_cancelled = [&progress]() -> Status {
    return progress.Cancelled() ? Conflict(std::string(kCancelledReason)) : Status::Ok();
  };
  RETURN_IF_ERROR(check_cancelled());
  std::string owner = ProcessLeaseOwner();
  run.started_at = FormatTimestamp(clock_.Now());
  RETURN_IF_ERROR(catalog_.Write([&](CatalogTransaction& tx) -> Status {
    std::string expires = FormatTimestamp(clock_.Now() + settings_.lease);
    // The dataset must still be where we read it: a concurrent deploy may have moved it.
    ASSIGN_OR_RETURN(auto current, tx.GetDataset(spec.name));
    if (!current || current->bucket != run.dataset.bucket || current->generation != run.dataset.generation) {
      return Conflict(fmt::format("dataset '{}' changed while the ingest was starting; run it again", spec.name));
    }
    ASSIGN_OR_RETURN(run.number, tx.ReserveUpdate(spec.name, run.kind, request.actor, owner, expires));
    return Audit(tx, request.actor, "update.start", spec.name, run.number,
                 {{"kind", UpdateKindName(run.kind)}, {"sources", RedactedSources(request.sources)}});
  }));
  progress.UpdateReserved(run.number);
  LeaseKeeper lease(catalog_, clock_, spec.name, run.number, settings_.lease);
  const std::string bucket = run.dataset.bucket;
  const std::string raw_prefix = RawUpdatePrefix(spec.name, run.number);
  const std::string data_prefix = DataUpdatePrefix(spec.name, run.number);

  std::error_code ec;
  fs::create_directories(settings_.work_root, ec);
  WorkFolder work(settings_.work_root / fmt::format("{}-{}@{}", spec.name, UpdateFolderName(run.number), owner));
  fs::remove_all(work.path(), ec);

  // Runs the stages; a failure's Status says why. `published` tells whether files reached storage.
  bool published = false;
  auto stages = [&]() -> Status {
    for (const char* sub : {"fetch", "raw", "data"}) {
      fs::create_directories(work.path() / sub, ec);
      if (ec) return ErrnoStatus(ec.value(), "create work folder", (work.path() / sub).native());
    }
    // Fetch.
    std::vector<FetchedFile> fetched;
    for (size_t i = 0; i < sources.size(); ++i) {
      RETURN_IF_ERROR(check_cancelled());
      fs::path dest = work.path() / "fetch" / std::to_string(i);
      fs::create_directories(dest, ec);
      ASSIGN_OR_RETURN(auto files, sources[i]->Fetch(dest, settings_.fetch, progress));
      json items = json::array();
      uint64_t total = 0;
      for (const FetchedFile& f : files) {
        items.push_back({{"name", f.name}, {"uri", f.uri}, {"size", f.size}, {"sha256", f.sha256}});
        total += f.size;
      }
      run.sources.push_back({{"uri", sources[i]->Describe()}, {"size", total}, {"files", items}});
      run.outcome.fetched_bytes += total;
      for (FetchedFile& f : files) fetched.push_back(std::move(f));
    }
    // Unpack.
    std::vector<UnpackedFile> unpacked;
    std::set<std::string> raw_names;
    for (size_t i = 0; i < fetched.size(); ++i) {
      RETURN_IF_ERROR(check_cancelled());
      progress.Report({IngestPhase::kUnpack, 0, 0, static_cast<int64_t>(i), static_cast<int64_t>(fetched.size())});
      ASSIGN_OR_RETURN(UnpackResult result, Unpack(fetched[i], work.path() / "raw", settings_.unpack));
      for (std::string& junk : result.skipped) run.skipped.push_back(junk);
      for (UnpackedFile& file : result.files) {
        if (!raw_names.insert(file.name).second) {
          return InvalidArgument(fmt::format("two source files would both be stored as raw/{} (from {}); rename one",
                                             file.name, fetched[i].uri));
        }
        unpacked.push_back(std::move(file));
      }
    }
    if (unpacked.empty()) return InvalidArgument("the sources hold no files (after skipping OS junk)");
    // Convert, in a sandbox that can reach only this work folder.
    SandboxOptions sandbox;
    sandbox.memory_limit_bytes = settings_.engine.memory_limit_bytes;
    sandbox.threads = settings_.engine.threads;
    sandbox.allowed_directories = {fs::absolute(work.path()).string()};
    fs::create_directories(work.path() / "spill", ec);
    sandbox.spill_directory = fs::absolute(work.path() / "spill").string();
    ASSIGN_OR_RETURN(auto db, OpenSandbox(sandbox));
    ConvertOptions convert;
    convert.format = format;
    convert.target_file_bytes = settings_.target_file_bytes;
    std::vector<fs::path> parquet_paths;
    for (size_t i = 0; i < unpacked.size(); ++i) {
      RETURN_IF_ERROR(check_cancelled());
      const UnpackedFile& file = unpacked[i];
      progress.Report({IngestPhase::kConvert, 0, 0, static_cast<int64_t>(i), static_cast<int64_t>(unpacked.size())});
      ASSIGN_OR_RETURN(ConvertResult converted,
                       ConvertToParquet(*db, file.path, file.name, work.path() / "data", convert));
      json parquet = json::array();
      for (const ParquetOutput& out : converted.outputs) {
        parquet.push_back({{"name", out.name}, {"rows", out.rows}, {"bytes", out.bytes}});
        parquet_paths.push_back(out.path);
        run.data_to_publish.push_back(out);
      }
      json item = {{"name", file.name},
                   {"size", file.size},
                   {"sha256", file.sha256},
                   {"format", RawFormatName(converted.format)},
                   {"parquet", parquet}};
      if (!file.from_archive.empty()) item["from_archive"] = file.from_archive;
      if (converted.format == RawFormat::kRawOnly) {
        item["raw_only_reason"] = converted.raw_only_reason;
        ++run.outcome.raw_only_files;
        if (spec.require_conversion) {
          return InvalidArgument(
              fmt::format("raw/{} cannot be converted to Parquet ({}) and the dataset requires "
                          "every file to convert (require_conversion: true)",
                          file.name, converted.raw_only_reason));
        }
      }
      run.raw_files.push_back(std::move(item));
      run.raw_to_publish.push_back({file.name, file.path});
      run.files.push_back({"raw", raw_prefix + file.name, file.size, file.sha256, std::nullopt});
    }
    run.outcome.raw_files = static_cast<int64_t>(unpacked.size());
    // Hash the Parquet (for the manifest) and start writing it to disk while it is described and
    // checked; the future is waited for on every path out of here.
    std::future<std::vector<Result<std::string>>> parquet_hashes =
        std::async(std::launch::async, [paths = parquet_paths] {
          std::vector<Result<std::string>> hashes;
          for (const fs::path& path : paths) {
            hashes.push_back(Sha256File(path));
            int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
              ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
              ::close(fd);
            }
          }
          return hashes;
        });
    // Describe and compare with the previous complete update.
    RETURN_IF_ERROR(check_cancelled());
    if (!parquet_paths.empty()) {
      ASSIGN_OR_RETURN(run.stats, DescribeParquet(*db, parquet_paths));
      db.reset();
      std::vector<ColumnSchema> schema;
      for (const ColumnStats& c : run.stats.columns) schema.push_back({c.name, c.type, c.nullable});
      ASSIGN_OR_RETURN(auto previous, PreviousSchema(catalog_, spec.name));
      if (previous) {
        // Nullability follows the data of each update; only names and types make a schema change.
        std::vector<ColumnSchema> before = *previous, after = schema;
        for (ColumnSchema& c : before) c.nullable = true;
        for (ColumnSchema& c : after) c.nullable = true;
        SchemaChange change = DiffSchemas(before, after);
        if (!change.empty()) {
          run.schema_change = change;
          std::string text = DescribeSchemaChange(change);
          if (spec.schema_changes == SchemaChangePolicy::kFail) {
            return InvalidArgument(
                fmt::format("the schema changed against the last complete update ({}) and the "
                            "dataset's schema_changes policy is fail",
                            text));
          }
          if (spec.schema_changes == SchemaChangePolicy::kWarn) run.warnings.push_back("schema changed: " + text);
        }
      }
      QcLimits limits;
      limits.memory_limit_bytes = settings_.engine.memory_limit_bytes;
      limits.threads = settings_.engine.threads;
      if (run.kind == UpdateKind::kDelta) RETURN_IF_ERROR(ValidateDelta(spec.updates, parquet_paths, limits));
      RETURN_IF_ERROR(check_cancelled());
      progress.Report({IngestPhase::kQc, 0, 0, 0, static_cast<int64_t>(spec.qc.size())});
      ASSIGN_OR_RETURN(run.qc, RunQcChecks(spec.qc, parquet_paths, limits));
    } else if (!spec.qc.empty()) {
      return InvalidArgument("no file could be converted to Parquet, so the dataset's QC checks cannot run");
    }
    run.outcome.rows = run.stats.rows;
    for (const ParquetOutput& out : run.data_to_publish) {
      run.files.push_back({"data", data_prefix + out.name, out.bytes, "", out.rows});
      run.outcome.parquet_bytes += out.bytes;
    }
    run.outcome.data_files = static_cast<int64_t>(run.data_to_publish.size());

    // Step 3 (decided here, acted on after publishing): a failed check fails the update, whose
    // files stay for inspection.
    std::string qc_failed;
    for (const QcOutcome& o : run.qc) {
      if (o.passed) continue;
      qc_failed += qc_failed.empty() ? "" : "; ";
      qc_failed += o.error.empty() ? fmt::format("{}: {} failing row(s)", o.description, o.failing_rows)
                                   : fmt::format("{}: {}", o.description, o.error);
    }
    // Step 2: raw files, then Parquet, then the manifest, under the update's folders. The last
    // chance to stop: from here on the update is being committed.
    RETURN_IF_ERROR(check_cancelled());
    progress.Report({IngestPhase::kCommit, 0, 0, 0, static_cast<int64_t>(run.files.size())});
    published = true;
    for (const auto& [name, path] : run.raw_to_publish) {
      RETURN_IF_ERROR(store_.PutFile(bucket, raw_prefix + name, path).WithContext("storing raw/" + name));
    }
    std::vector<Result<std::string>> hashes = parquet_hashes.get();
    json manifest_files = json::array();
    for (UpdateFile& file : run.files) {
      if (file.area != "data") continue;
      auto it = std::find_if(run.data_to_publish.begin(), run.data_to_publish.end(),
                             [&](const ParquetOutput& o) { return data_prefix + o.name == file.key; });
      size_t index = static_cast<size_t>(it - run.data_to_publish.begin());
      RETURN_IF_ERROR(hashes[index].status());
      file.sha256 = *hashes[index];
      RETURN_IF_ERROR(store_.PutFile(bucket, file.key, it->path).WithContext("storing data/" + it->name));
      manifest_files.push_back({{"key", file.key}, {"size", file.size}, {"sha256", file.sha256}, {"rows", *file.rows}});
    }
    json manifest = {{"dataset", spec.name},
                     {"update", run.number},
                     {"kind", UpdateKindName(run.kind)},
                     {"files", manifest_files},
                     {"rows", run.stats.rows}};
    // The manifest marks a whole, good update for readers of the folders: none for a failed QC.
    if (!qc_failed.empty()) return InvalidArgument("QC failed: " + qc_failed);
    RETURN_IF_ERROR(store_.PutBytes(bucket, data_prefix + std::string(kManifest), Dump(manifest, 2) + "\n"));
    return Status::Ok();
  };

  Status result;
  try {
    result = stages();
  } catch (const std::exception& e) {
    result = Internal(fmt::format("unexpected error: {}", e.what()));
  }
  std::string finished_at = FormatTimestamp(clock_.Now());
  run.outcome.dataset = spec.name;
  run.outcome.update = run.number;
  run.outcome.warnings = run.warnings;
  json metadata = MetadataJson(run, request.actor, finished_at);
  run.outcome.metadata_json = Dump(metadata);

  // Records the failure (if the update is still staging) and returns it as the ingest's error.
  auto fail = [&](const Status& why) -> Status {
    // The reason is shown to API users: server folders become names they can relate to.
    std::string reason = WithoutServerPaths(why.message(), work.path(), config_.storage.root);
    Status recorded = catalog_.Write([&](CatalogTransaction& tx) -> Status {
      RETURN_IF_ERROR(tx.FailUpdate(spec.name, run.number, reason, run.outcome.metadata_json));
      return Audit(tx, request.actor, "update.fail", spec.name, run.number,
                   {{"reason", reason}, {"files_stored", published}});
    });
    if (!recorded.ok()) {
      reason += fmt::format(" (recording the failure failed too: {}; `edl recover` will record it)", recorded.message());
    }
    return Status(why.code(), fmt::format("update {} of dataset '{}' failed: {}", run.number, spec.name, reason));
  };
  if (!result.ok()) return fail(result);

  // Step 4: complete, with metadata, files, audit and trigger events, in one transaction.
  Status completed = catalog_.Write([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(tx.CompleteUpdate(spec.name, run.number, run.outcome.metadata_json, run.files));
    for (const Trigger& trigger : spec.triggers) {
      RETURN_IF_ERROR(tx.InsertTriggerEvent(spec.name, run.number, trigger.pipeline));
    }
    return Audit(tx, request.actor, "update.complete", spec.name, run.number,
                 {{"rows", run.stats.rows}, {"files", run.files.size()}, {"sources", run.sources}});
  });
  if (completed.code() == StatusCode::kConflict) {
    // No longer staging: recovery judged this ingest dead and failed the update.
    return Status(completed.code(), fmt::format("update {} of dataset '{}' failed: {}", run.number, spec.name,
                                                completed.message()));
  }
  if (!completed.ok()) return fail(completed.WithContext("completing the update"));
  // Frozen forever. The update is complete whatever happens here; `edl recover` seals what is left.
  for (const std::string& prefix : {raw_prefix, data_prefix}) {
    Status sealed = store_.Seal(bucket, prefix);
    if (!sealed.ok()) {
      run.outcome.warnings.push_back(fmt::format("sealing {} failed ({}); run `edl recover`", prefix, sealed.message()));
    }
  }
  for (const auto& source : sources) {
    Status after = source->AfterCommit(run.number);
    if (!after.ok()) run.outcome.warnings.push_back("after the update completed: " + after.message());
  }
  run.outcome.state = UpdateState::kComplete;
  run.outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return run.outcome;
}

Result<RecoveryReport> Recover(Catalog& catalog, ObjectStore& store, const Clock& clock,
                               const IngestSettings& settings) {
  RecoveryReport report;
  std::string now = FormatTimestamp(clock.Now());
  std::vector<UpdateRecord> staging, complete;
  std::map<std::string, std::string> buckets;
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(staging, tx.ListUpdatesInState(UpdateState::kStaging));
    ASSIGN_OR_RETURN(complete, tx.ListUpdatesInState(UpdateState::kComplete));
    ASSIGN_OR_RETURN(auto datasets, tx.ListDatasets());
    for (const DatasetRecord& d : datasets) buckets[d.spec.name] = d.bucket;
    return Status::Ok();
  }));
  for (const UpdateRecord& u : staging) {
    bool expired = u.lease_expires_at && *u.lease_expires_at < now;
    if (!expired && !LeaseOwnerIsDead(u.lease_owner)) continue;
    std::string reason = expired ? fmt::format("recovered: the lease of {} expired at {} before the update completed",
                                               u.lease_owner, *u.lease_expires_at)
                                 : fmt::format("recovered: the ingest process {} stopped before the update completed",
                                               u.lease_owner);
    // Fail it first, and only if it is exactly as seen (a live writer renewing its lease or
    // completing wins); its files are removed only once it can never complete.
    bool failed = false;
    RETURN_IF_ERROR(catalog.Write([&](CatalogTransaction& tx) -> Status {
      ASSIGN_OR_RETURN(auto current, tx.GetUpdate(u.dataset, u.number));
      if (!current || current->state != UpdateState::kStaging || current->lease_owner != u.lease_owner ||
          current->lease_expires_at != u.lease_expires_at) {
        return Status::Ok();
      }
      RETURN_IF_ERROR(tx.FailUpdate(u.dataset, u.number, reason, u.metadata_json));
      failed = true;
      return Audit(tx, "system:recover", "update.fail", u.dataset, u.number, {{"reason", reason}});
    }));
    if (!failed) continue;
    report.failed_updates.push_back(UpdateRef(u.dataset, u.number));
    const std::string& bucket = buckets[u.dataset];
    for (const std::string& prefix : {RawUpdatePrefix(u.dataset, u.number), DataUpdatePrefix(u.dataset, u.number)}) {
      ASSIGN_OR_RETURN(int64_t removed, DeletePrefix(store, bucket, prefix));
      report.objects_removed += removed;
    }
  }
  for (const UpdateRecord& u : complete) {
    const std::string& bucket = buckets[u.dataset];
    bool resealed = false;
    for (const std::string& prefix : {RawUpdatePrefix(u.dataset, u.number), DataUpdatePrefix(u.dataset, u.number)}) {
      ASSIGN_OR_RETURN(bool sealed, store.IsSealed(bucket, prefix));
      if (sealed) continue;
      RETURN_IF_ERROR(store.Seal(bucket, prefix));
      resealed = true;
    }
    if (resealed) report.sealed_updates.push_back(UpdateRef(u.dataset, u.number));
  }
  // A live upload writes continuously; one untouched for a whole lease belongs to a dead writer.
  ASSIGN_OR_RETURN(report.abandoned_uploads_removed, store.RemoveAbandonedUploads(clock.Now() - settings.lease));
  // Work folders are named "<dataset>-update-NNNNNNNN@<host>:<pid>"; one whose process is gone is
  // litter. Folders of other hosts (a shared storage root) are left to their own recovery.
  std::error_code ec;
  for (fs::directory_iterator it(settings.work_root, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    size_t at = name.rfind('@');
    if (at == std::string::npos || !LeaseOwnerIsDead(name.substr(at + 1))) continue;
    std::error_code removed;
    fs::remove_all(it->path(), removed);
    if (!removed) ++report.work_folders_removed;
  }
  return report;
}

Result<GarbageReport> CollectGarbage(Catalog& catalog, ObjectStore& store,
                                     const Clock& clock, std::chrono::seconds older_than) {
  GarbageReport report;
  std::string cutoff = FormatTimestamp(clock.Now() - older_than);
  std::vector<UpdateRecord> failed;
  std::map<std::string, std::string> buckets;
  RETURN_IF_ERROR(catalog.Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(failed, tx.ListUpdatesInState(UpdateState::kFailed));
    ASSIGN_OR_RETURN(auto datasets, tx.ListDatasets());
    for (const DatasetRecord& d : datasets) buckets[d.spec.name] = d.bucket;
    return Status::Ok();
  }));
  for (const UpdateRecord& u : failed) {
    if (u.files_removed_at || !u.completed_at || *u.completed_at > cutoff) continue;
    for (const std::string& prefix : {RawUpdatePrefix(u.dataset, u.number), DataUpdatePrefix(u.dataset, u.number)}) {
      ASSIGN_OR_RETURN(int64_t removed, DeletePrefix(store, buckets[u.dataset], prefix));
      report.objects_removed += removed;
    }
    RETURN_IF_ERROR(catalog.Write([&](CatalogTransaction& tx) -> Status {
      RETURN_IF_ERROR(tx.MarkUpdateFilesRemoved(u.dataset, u.number));
      return Audit(tx, "system:gc", "update.purge", u.dataset, u.number, json::object());
    }));
    report.purged_updates.push_back(UpdateRef(u.dataset, u.number));
  }
  return report;
}

}  // namespace edl
