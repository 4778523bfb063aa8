// The `edl-api` commands (docs/cli.md, "edl-api"): REST calls through client::ApiClient, rendered.
#include "cli/api_commands.h"

#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/progress_bar.h"
#include "core/clock.h"

namespace edl::cli::api {
namespace {

namespace fs = std::filesystem;
using client::EscapeComponent;
using client::QueryString;
using nlohmann::json;

constexpr std::chrono::milliseconds kPollInterval{500};
constexpr int64_t kMaxPageSize = 1000;

// ---- reading the server's JSON for tables ----

// A value as text for people: strings as they are, booleans as yes/no, null as "", the rest as JSON.
std::string AsText(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  return value.dump();
}

// object[key], or null when `object` is not an object or has no such key.
const json& Member(const json& object, const char* key) {
  static const json kNull;
  return object.is_object() && object.contains(key) ? object[key] : kNull;
}

std::string Text(const json& object, const char* key) { return AsText(Member(object, key)); }

const json& Items(const json& object, const char* key) {
  static const json kEmpty = json::array();
  const json& items = Member(object, key);
  return items.is_array() ? items : kEmpty;
}

// A list of values as "a, b, c".
std::string Strings(const json& object, const char* key) {
  std::vector<std::string> items;
  for (const json& item : Items(object, key)) items.push_back(AsText(item));
  return Join(items);
}

Result<json> GetJson(ApiSession& session, const std::string& path) {
  ASSIGN_OR_RETURN(client::HttpResponse response, session.client.Get(path));
  return client::JsonBody(response);
}

// GETs a list a page at a time and hands each page, as the server sent it, to `on_page`. With a
// limit, one page of that size; without one, every page, following next_page_token.
Status ForEachPage(ApiSession& session, const std::string& path,
                   std::vector<std::pair<std::string, std::string>> params, PageLimit limit,
                   const std::function<void(const json& page)>& on_page) {
  params.emplace_back("limit", std::to_string(limit.value_or(kMaxPageSize)));
  std::string page_token;
  do {
    auto page_params = params;
    page_params.emplace_back("page_token", page_token);
    ASSIGN_OR_RETURN(json page, GetJson(session, path + QueryString(page_params)));
    on_page(page);
    page_token = Text(page, "next_page_token");
  } while (!limit && !page_token.empty());
  return Status::Ok();
}

// GETs a list. With a limit, one page, returned as the server sent it (next_page_token included).
// Without one, every page, merged into {key: [...]}.
Result<json> GetList(ApiSession& session, const std::string& path, std::vector<std::pair<std::string, std::string>> params,
                     const char* key, PageLimit limit) {
  json merged = {{key, json::array()}};
  RETURN_IF_ERROR(ForEachPage(session, path, std::move(params), limit, [&](const json& page) {
    if (limit) {
      merged = page;
    } else {
      for (const json& item : Items(page, key)) merged[key].push_back(item);
    }
  }));
  return merged;
}

std::string JobPath(int64_t id) { return fmt::format("/v1/jobs/{}", id); }

// "1.0 MB / 4.0 MB", "3/5 files": how far a job or an upload is.
std::string ProgressText(uint64_t bytes_done, uint64_t bytes_total, int64_t files_done, int64_t files_total) {
  std::string out;
  if (bytes_total > 0) {
    out = fmt::format("{} / {}", HumanBytes(bytes_done), HumanBytes(bytes_total));
  } else if (bytes_done > 0) {
    out = HumanBytes(bytes_done);
  }
  if (files_total > 0) out += fmt::format("{}{}/{} files", out.empty() ? "" : "  ", files_done, files_total);
  return out;
}

std::string JobProgressText(const json& job) {
  const json& p = Member(job, "progress");
  if (!p.is_object()) return "";
  return ProgressText(p.value("bytes_done", uint64_t{0}), p.value("bytes_total", uint64_t{0}),
                      p.value("files_done", int64_t{0}), p.value("files_total", int64_t{0}));
}

// ---- a status line on a terminal ----

// One line on `out`, redrawn at most ten times a second and only when `out` is a terminal, so
// scripts reading stderr see none of it.
class StatusLine {
 public:
  explicit StatusLine(std::FILE* out) : out_(out), enabled_(isatty(fileno(out)) == 1) {}
  ~StatusLine() { Clear(); }
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  bool enabled() const { return enabled_; }

  // `fraction` < 0 draws no bar.
  void Show(std::string_view label, double fraction, std::string_view detail, bool force = false) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::string bar;
    if (fraction >= 0) {
      constexpr int kWidth = 24;
      int filled = std::clamp(static_cast<int>(fraction * kWidth + 0.5), 0, kWidth);
      bar = "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kWidth - filled), '.') +
            "] ";
    }
    fmt::print(out_, "\r\033[K{:<8}{}{}", label, bar, detail);
    std::fflush(out_);
    drawn_ = true;
  }

  void Clear() {
    if (!drawn_) return;
    fmt::print(out_, "\r\033[K");
    std::fflush(out_);
    drawn_ = false;
  }

 private:
  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

double Fraction(uint64_t done, uint64_t total) {
  return total == 0 ? -1.0 : static_cast<double>(done) / static_cast<double>(total);
}

// ---- jobs ----

// The outcome of a finished job as a Status: what `ingest --wait` and `job logs --follow` exit with.
Status JobOutcome(const json& job) {
  std::string state = Text(job, "state");
  std::string id = Text(job, "id");
  std::string error = Text(job, "error");
  if (state == "succeeded") {
    if (Text(Member(job, "result"), "state") == "failed") {
      return InvalidArgument(fmt::format("job {} finished but its update failed: {}", id, error));
    }
    return Status::Ok();
  }
  if (state == "cancelled") {
    return Conflict(fmt::format("job {} was cancelled{}", id, error.empty() ? "" : ": " + error));
  }
  return InvalidArgument(fmt::format("job {} failed: {}", id, error.empty() ? "(no reason given)" : error));
}

bool JobFinished(const json& job) {
  std::string state = Text(job, "state");
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

// Polls the job every kPollInterval until it finishes, showing its phase and progress on stderr.
Result<json> WaitForJob(ApiSession& session, int64_t id) {
  StatusLine line(stderr);
  if (line.enabled()) {
    fmt::print(stderr, "Waiting for job {} (Ctrl-C stops waiting, not the job; `edl-api job cancel {}` stops it).\n",
               id, id);
  }
  while (true) {
    ASSIGN_OR_RETURN(json job, GetJson(session, JobPath(id)));
    if (JobFinished(job)) return job;
    const json& p = Member(job, "progress");
    std::string phase = Text(p, "phase");
    if (phase.empty()) phase = Text(job, "state");
    uint64_t bytes_total = p.is_object() ? p.value("bytes_total", uint64_t{0}) : 0;
    double fraction = bytes_total > 0 ? Fraction(p.value("bytes_done", uint64_t{0}), bytes_total)
                      : p.is_object() ? Fraction(static_cast<uint64_t>(p.value("files_done", int64_t{0})),
                                                 static_cast<uint64_t>(p.value("files_total", int64_t{0})))
                                      : -1.0;
    line.Show(phase, fraction, JobProgressText(job), /*force=*/true);
    std::this_thread::sleep_for(kPollInterval);
  }
}

void PrintJobFields(const json& job) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"job", Text(job, "id")},
      {"kind", Text(job, "kind")},
      {"state", Text(job, "state") + (Member(job, "cancel_requested") == true && !JobFinished(job)
                                          ? " (cancel requested)"
                                          : "")},
      {"dataset", Text(job, "dataset")},
      {"sources", Strings(Member(job, "spec"), "sources")},
      {"created by", Text(job, "created_by")},
      {"created", Text(job, "created_at")},
      {"started", Text(job, "started_at")},
      {"finished", Text(job, "finished_at")},
      {"attempts", fmt::format("{} of {}", Text(job, "attempts"), Text(job, "max_attempts"))},
      {"phase", Text(Member(job, "progress"), "phase")},
      {"progress", JobProgressText(job)},
      {"update", Text(job, "update")},
  };
  const json& result = Member(job, "result");
  if (result.is_object()) {
    for (const auto& [key, value] : result.items()) {
      if (key == "warnings" || key == "update") continue;
      fields.push_back({key, AsText(value)});
    }
    for (const json& warning : Items(result, "warnings")) {
      fields.push_back({"warning", AsText(warning)});
    }
  }
  if (!Text(job, "error").empty()) fields.push_back({"error", Text(job, "error")});
  PrintFields(std::cout, fields);
}

// "Update 4 of sales-orders is complete: ..." from an ingest job's result.
void PrintIngestSummary(const json& job) {
  const json& r = Member(job, "result");
  for (const json& warning : Items(r, "warnings")) {
    std::cerr << "edl-api: warning: " << AsText(warning) << "\n";
  }
  if (!r.is_object()) {
    std::cout << fmt::format("Job {} succeeded.\n", Text(job, "id"));
    return;
  }
  double seconds = r.value("seconds", 0.0);
  uint64_t fetched = r.value("fetched_bytes", uint64_t{0});
  double mb_per_s = seconds > 0 ? static_cast<double>(fetched) / 1e6 / seconds : 0;
  std::cout << fmt::format(
      "Update {} of {} is complete: {} raw file(s), {} Parquet file(s), {} rows, {} in, {} Parquet, {:.1f} s "
      "({:.1f} MB/s).\n",
      Text(r, "update"), Text(job, "dataset"), Text(r, "raw_files"), Text(r, "data_files"), Text(r, "rows"),
      HumanBytes(fetched), HumanBytes(r.value("parquet_bytes", uint64_t{0})), seconds, mb_per_s);
}

// ---- uploads ----

struct LocalFile {
  fs::path path;
  std::string name;  // the name in the upload: the file's own name
  uint64_t size = 0;
};

bool IsRemoteSource(std::string_view source) {
  return source.find("://") != std::string_view::npos || source.rfind("drop:", 0) == 0 ||
         source.rfind("upload:", 0) == 0;
}

bool HasGlobMeta(std::string_view text) { return text.find_first_of("*?[") != std::string_view::npos; }

Status AddLocalPath(const fs::path& path, std::vector<LocalFile>& files, int& hidden_skipped) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    files.push_back({path, path.filename().string(), fs::file_size(path, ec)});
    return Status::Ok();
  }
  if (!fs::is_directory(path, ec)) {
    return InvalidArgument(fmt::format("'{}' is neither a regular file nor a folder", path.string()));
  }
  size_t before = files.size();
  fs::recursive_directory_iterator it(path, fs::directory_options::none, ec);
  if (ec) return ErrnoStatus(ec.value(), "list", path.string());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    // An upload holds plain names without a leading '.', so hidden files and folders stay behind.
    if (it->path().filename().string().front() == '.') {
      ++hidden_skipped;
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) files.push_back({it->path(), it->path().filename().string(), it->file_size(ec)});
  }
  if (ec) return ErrnoStatus(ec.value(), "list", path.string());
  if (files.size() == before) return NotFound(fmt::format("local folder '{}' holds no files", path.string()));
  return Status::Ok();
}

Status AddGlob(const std::string& pattern, std::vector<LocalFile>& files, int& hidden_skipped) {
  glob_t matches{};
  int rc = ::glob(pattern.c_str(), 0, nullptr, &matches);  // NOLINT(concurrency-mt-unsafe): one thread
  std::vector<std::string> paths;
  if (rc == 0) paths.assign(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
  globfree(&matches);
  if (rc == GLOB_NOMATCH) return NotFound(fmt::format("no file matches the pattern '{}'", pattern));
  if (rc != 0) return Unavailable(fmt::format("cannot expand the pattern '{}'", pattern));
  for (const std::string& match : paths) RETURN_IF_ERROR(AddLocalPath(match, files, hidden_skipped));
  return Status::Ok();
}

// Splits the SOURCE arguments into sources the server reads itself and local files to upload.
Status ClassifySources(const std::vector<std::string>& sources, std::vector<std::string>& remote,
                       std::vector<LocalFile>& local) {
  int hidden_skipped = 0;
  for (const std::string& source : sources) {
    std::string path = source.rfind("file://", 0) == 0 ? source.substr(7) : source;
    if (path == source && IsRemoteSource(source)) {
      remote.push_back(source);
      continue;
    }
    std::error_code ec;
    if (fs::exists(path, ec)) {
      RETURN_IF_ERROR(AddLocalPath(path, local, hidden_skipped));
    } else if (HasGlobMeta(path)) {
      RETURN_IF_ERROR(AddGlob(path, local, hidden_skipped));
    } else {
      return NotFound(fmt::format("'{}' is neither a local file or folder nor a source the server reads "
                                  "(https://..., drop:, upload:<id>)",
                                  source));
    }
  }
  if (hidden_skipped > 0) fmt::print(stderr, "edl-api: skipped {} hidden file(s) or folder(s)\n", hidden_skipped);
  std::map<std::string, const LocalFile*> by_name;
  for (const LocalFile& file : local) {
    auto [it, inserted] = by_name.emplace(file.name, &file);
    if (!inserted) {
      return InvalidArgument(fmt::format(
          "two files are named '{}' ('{}' and '{}'); an upload holds plain file names, so rename one or ingest them "
          "separately",
          file.name, it->second->path.string(), file.path.string()));
    }
  }
  return Status::Ok();
}

// Creates an upload holding `files` and returns its id. On failure the upload is removed.
Result<std::string> UploadFiles(ApiSession& session, const std::vector<LocalFile>& files) {
  ASSIGN_OR_RETURN(client::HttpResponse created, session.client.Post("/v1/uploads", "{}"));
  ASSIGN_OR_RETURN(json upload, client::JsonBody(created));
  std::string id = Text(upload, "id");
  if (id.empty()) return Internal("the server created an upload without an id");
  uint64_t total = 0;
  for (const LocalFile& f : files) total += f.size;
  StatusLine line(stderr);
  uint64_t before = 0;
  auto started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < files.size(); ++i) {
    const LocalFile& file = files[i];
    client::TransferProgress progress = [&](uint64_t sent, uint64_t) {
      uint64_t done = before + sent;
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::string rate = seconds > 0.5 ? fmt::format("  {}/s", HumanBytes(static_cast<uint64_t>(done / seconds))) : "";
      line.Show("upload", Fraction(done, total),
                ProgressText(done, total, static_cast<int64_t>(i), static_cast<int64_t>(files.size())) + rate);
    };
    progress(0, file.size);
    Result<client::HttpResponse> put = session.client.PutFile(
        fmt::format("/v1/uploads/{}/files/{}", EscapeComponent(id), EscapeComponent(file.name)), file.path, progress);
    if (!put.ok()) {
      line.Clear();
      // Best effort: the server also removes abandoned uploads.
      session.client.Delete("/v1/uploads/" + EscapeComponent(id)).status().IgnoreError();
      return put.status().WithContext(fmt::format("uploading '{}'", file.path.string()));
    }
    before += file.size;
  }
  line.Show("upload", Fraction(total, total),
            ProgressText(total, total, static_cast<int64_t>(files.size()), static_cast<int64_t>(files.size())),
            /*force=*/true);
  line.Clear();
  return id;
}

// The one value a command shows: indented with -o json, on one line with -o jsonl.
void PrintValue(ApiSession& session, const json& value) {
  if (session.format == OutputFormat::kJsonLines) {
    std::cout << value.dump() << "\n";
  } else {
    PrintJson(std::cout, value);
  }
}

Status PrintJsonOr(ApiSession& session, const json& value, const std::function<void()>& table) {
  if (session.format == OutputFormat::kTable) {
    table();
  } else {
    PrintValue(session, value);
  }
  return Status::Ok();
}

// A list {key: [...], next_page_token}: -o json prints it whole, -o jsonl one item per line (and,
// when a --limit cut it short, says so on stderr, as the table does).
Status PrintListOr(ApiSession& session, const json& list, const char* key, const std::function<void()>& table) {
  if (session.format != OutputFormat::kJsonLines) return PrintJsonOr(session, list, table);
  for (const json& item : Items(list, key)) std::cout << item.dump() << "\n";
  if (!Text(list, "next_page_token").empty()) std::cerr << fmt::format("(more {}: raise --limit or leave it out)\n", key);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<client::ApiClient>> Connect(const ApiOptions& options) {
  client::SettingsFlags flags;
  if (!options.url.empty()) flags.url = options.url;
  if (!options.token.empty()) flags.token = options.token;
  if (!options.ca_cert.empty()) flags.ca_cert = options.ca_cert;
  ASSIGN_OR_RETURN(client::ClientSettings settings,
                   client::ResolveSettings(flags, client::ReadSettingsEnvironment()));
  return client::ApiClient::Create(std::move(settings));
}

// ---- datasets and updates ----

Status ListDatasets(ApiSession& session, const DatasetFilter& filter) {
  ASSIGN_OR_RETURN(json list, GetList(session, "/v1/datasets",
                                      {{"tier", filter.tier}, {"owner", filter.owner}, {"name", filter.name},
                                       {"q", filter.search}},
                                      "datasets", filter.limit));
  return PrintListOr(session, list, "datasets", [&] {
    std::vector<std::vector<std::string>> rows;
    for (const json& d : Items(list, "datasets")) {
      const json& updates = Member(d, "updates");
      // docs/api.md calls both the update convention and the number of updates "updates".
      std::string kind = updates.is_object() ? Text(updates, "kind") : "";
      std::string count = updates.is_number() ? updates.dump() : Text(d, "updates_count");
      rows.push_back({Text(d, "name"), Text(d, "tier"), Text(d, "access"), Text(d, "region"), kind, count,
                      Strings(d, "owners"), Text(d, "description")});
    }
    PrintTable(std::cout, {"NAME", "TIER", "ACCESS", "REGION", "KIND", "UPDATES", "OWNERS", "DESCRIPTION"}, rows);
    if (!Text(list, "next_page_token").empty()) std::cerr << "(more datasets: raise --limit or leave it out)\n";
  });
}

Status ShowDataset(ApiSession& session, const std::string& name) {
  ASSIGN_OR_RETURN(json d, GetJson(session, "/v1/datasets/" + EscapeComponent(name)));
  return PrintJsonOr(session, d, [&] {
    const json& policy = Member(d, "policy");
    const json& updates = Member(d, "updates");
    std::string convention = updates.is_object() ? Text(updates, "kind") : "";
    if (!Strings(updates, "keys").empty()) {
      convention += fmt::format(" (keys: {}; op column: {})", Strings(updates, "keys"), Text(updates, "op_column"));
    }
    std::string count = updates.is_number() ? updates.dump() : Text(d, "updates_count");
    std::vector<std::pair<std::string, std::string>> fields = {
        {"name", Text(d, "name")},
        {"description", Text(d, "description")},
        {"tier", Text(d, "tier")},
        {"your access", Text(d, "access")},
        {"region", Text(d, "region")},
        {"bucket", Text(d, "bucket")},
        {"owners", Strings(d, "owners")},
        {"updates", convention.empty() ? count : fmt::format("{} ({})", count, convention)},
        {"classification", Text(policy, "classification")},
        {"contains pii", Text(policy, "contains_pii")},
        {"retention", Text(policy, "retention_days").empty() ? "not set" : Text(policy, "retention_days") + " days"},
        {"allowed purposes", Strings(policy, "allowed_purposes")},
        {"legal basis", Text(policy, "legal_basis")},
        {"max grant", Text(policy, "max_grant_days").empty() ? "not set" : Text(policy, "max_grant_days") + " days"},
        {"schema changes", Text(d, "schema_changes")},
        {"format", Text(Member(d, "format"), "type").empty() ? "sniffed" : Text(Member(d, "format"), "type")},
        {"generation", Text(d, "generation")},
        {"created", Text(d, "created_at")},
        {"updated", Text(d, "updated_at")},
    };
    for (const json& qc : Items(d, "qc")) fields.push_back({"qc", Text(qc, "check") + " " + Strings(qc, "columns")});
    for (const json& g : Items(d, "grants")) fields.push_back({"grant", Text(g, "principal") + " " + Text(g, "level")});
    for (const json& t : Items(d, "triggers")) fields.push_back({"trigger", "pipeline " + Text(t, "pipeline")});
    if (Text(d, "access") == "none") {
      // The server sent only what says what the dataset is: leave out what it kept back.
      std::erase_if(fields, [&](const auto& field) {
        for (const char* key : {"bucket", "updates", "schema changes", "format", "generation"}) {
          if (field.first == key) return true;
        }
        return false;
      });
    }
    PrintFields(std::cout, fields);
    if (Text(d, "access") == "none") {
      std::cerr << fmt::format("You may see that {} exists, not its contents. To read it, ask one of its owners ({}) "
                               "or run: edl-api access request {} --level read --justification \"...\"\n",
                               name, Strings(d, "owners"), name);
    }
  });
}

Status ListUpdates(ApiSession& session, const std::string& dataset) {
  ASSIGN_OR_RETURN(json list, GetList(session, "/v1/datasets/" + EscapeComponent(dataset) + "/updates", {}, "updates",
                                      std::nullopt));
  return PrintListOr(session, list, "updates", [&] {
    std::vector<std::vector<std::string>> rows;
    for (const json& u : Items(list, "updates")) {
      const json& metadata = Member(u, "metadata");
      std::string files = metadata.is_object() && metadata.contains("raw_files")
                              ? std::to_string(Items(metadata, "raw_files").size())
                              : "";
      std::string reason = Text(u, "failure_reason");
      if (reason.size() > 80) reason = reason.substr(0, 77) + "...";
      rows.push_back({Text(u, "number"), Text(u, "kind"), Text(u, "state"), Text(metadata, "rows"), files,
                      Text(u, "created_by"), Text(u, "completed_at"), reason});
    }
    PrintTable(std::cout, {"N", "KIND", "STATE", "ROWS", "FILES", "BY", "FINISHED", "REASON"}, rows);
  });
}

Status ShowUpdate(ApiSession& session, const std::string& dataset, int64_t number) {
  ASSIGN_OR_RETURN(json u, GetJson(session, fmt::format("/v1/datasets/{}/updates/{}", EscapeComponent(dataset), number)));
  return PrintJsonOr(session, u, [&] {
    const json& metadata = Member(u, "metadata");
    std::vector<std::pair<std::string, std::string>> fields = {
        {"dataset", Text(u, "dataset")},   {"update", Text(u, "number")},        {"kind", Text(u, "kind")},
        {"state", Text(u, "state")},       {"created by", Text(u, "created_by")}, {"started", Text(u, "created_at")},
        {"finished", Text(u, "completed_at")}};
    if (!Text(u, "failure_reason").empty()) fields.push_back({"failure", Text(u, "failure_reason")});
    if (!Text(metadata, "rows").empty()) fields.push_back({"rows", Text(metadata, "rows")});
    PrintFields(std::cout, fields);
    auto section = [](std::string_view title) { std::cout << "\n" << title << ":\n"; };
    if (!Items(metadata, "sources").empty()) {
      section("sources");
      for (const json& s : Items(metadata, "sources")) {
        std::cout << fmt::format("  {}  ({} bytes)\n", Text(s, "uri"), Text(s, "size"));
        for (const json& f : Items(s, "files")) {
          std::cout << fmt::format("    {}  {} bytes  sha256 {}\n", Text(f, "name"), Text(f, "size"), Text(f, "sha256"));
        }
      }
    }
    if (!Items(u, "files").empty()) {
      section("files");
      std::vector<std::vector<std::string>> rows;
      for (const json& f : Items(u, "files")) {
        rows.push_back({Text(f, "area"), Text(f, "key"), Text(f, "size"), Text(f, "rows"), Text(f, "sha256").substr(0, 16)});
      }
      PrintTable(std::cout, {"AREA", "KEY", "BYTES", "ROWS", "SHA256"}, rows, "  ");
    }
    if (!Items(metadata, "columns").empty()) {
      section("schema and statistics");
      std::vector<std::vector<std::string>> rows;
      for (const json& c : Items(metadata, "columns")) {
        rows.push_back({Text(c, "name"), Text(c, "type"), Member(c, "nullable") == false ? "no" : "yes",
                        Text(c, "null_count"), Text(c, "min"), Text(c, "max")});
      }
      PrintTable(std::cout, {"COLUMN", "TYPE", "NULLABLE", "NULLS", "MIN", "MAX"}, rows, "  ");
    }
    if (!Member(metadata, "schema_change").is_null()) {
      section("schema change against the previous complete update");
      std::cout << "  " << Member(metadata, "schema_change").dump() << "\n";
    }
    if (!Items(metadata, "qc").empty()) {
      section("qc");
      for (const json& q : Items(metadata, "qc")) {
        bool passed = Member(q, "passed") == true;
        std::cout << fmt::format("  {} {}{}{}\n", passed ? "pass" : "FAIL", Text(q, "check"),
                                 passed ? "" : fmt::format("  ({} failing rows)", Text(q, "failing_rows")),
                                 Text(q, "error").empty() ? "" : "  error: " + Text(q, "error"));
      }
    }
    if (!Items(metadata, "warnings").empty()) {
      section("warnings");
      for (const json& w : Items(metadata, "warnings")) std::cout << "  " << AsText(w) << "\n";
    }
  });
}

// ---- ingest ----

Status Ingest(ApiSession& session, const IngestArgs& args) {
  std::vector<std::string> sources;
  std::vector<LocalFile> local;
  RETURN_IF_ERROR(ClassifySources(args.sources, sources, local));
  std::string dataset_path = "/v1/datasets/" + EscapeComponent(args.dataset);
  std::string upload_id;
  if (!local.empty()) {
    // A misspelt dataset or a missing grant should fail before gigabytes are sent, not after.
    RETURN_IF_ERROR(session.client.Get(dataset_path).status());
    ASSIGN_OR_RETURN(upload_id, UploadFiles(session, local));
    sources.push_back("upload:" + upload_id);
  }
  json body = {{"sources", sources}};
  if (!args.kind.empty()) body["kind"] = args.kind;
  if (!args.format.empty()) body["format"] = args.format;
  Result<client::HttpResponse> response = session.client.Post(dataset_path + "/ingest", body.dump());
  if (!response.ok() && !upload_id.empty()) {
    // The upload stays (the server removes abandoned ones later), so a retry need not send it again.
    return response.status().WithContext(
        fmt::format("the uploaded files are kept as upload:{} (retry with `edl-api ingest {} upload:{}`)", upload_id,
                    args.dataset, upload_id));
  }
  RETURN_IF_ERROR(response.status());
  ASSIGN_OR_RETURN(json job, client::JsonBody(*response));
  int64_t id = Member(job, "id").is_number_integer() ? Member(job, "id").get<int64_t>() : 0;
  if (!args.wait) {
    return PrintJsonOr(session, job, [&] {
      std::cout << fmt::format("Job {} queued: ingest into {}. Follow it with `edl-api job logs {} --follow`.\n", id,
                               args.dataset, id);
    });
  }
  ASSIGN_OR_RETURN(job, WaitForJob(session, id));
  Status outcome = JobOutcome(job);
  if (session.format != OutputFormat::kTable) {
    PrintValue(session, job);
  } else if (outcome.ok()) {
    PrintIngestSummary(job);
  }
  return outcome;
}

// ---- jobs ----

Status ListJobs(ApiSession& session, const JobFilter& filter) {
  ASSIGN_OR_RETURN(json list, GetList(session, "/v1/jobs", {{"state", filter.state}, {"dataset", filter.dataset}},
                                      "jobs", filter.limit));
  return PrintListOr(session, list, "jobs", [&] {
    std::vector<std::vector<std::string>> rows;
    for (const json& j : Items(list, "jobs")) {
      std::string error = Text(j, "error");
      if (error.size() > 60) error = error.substr(0, 57) + "...";
      rows.push_back({Text(j, "id"), Text(j, "kind"), Text(j, "state"), Text(j, "dataset"),
                      Text(Member(j, "progress"), "phase"), JobProgressText(j), Text(j, "created_by"),
                      Text(j, "created_at"), error});
    }
    PrintTable(std::cout, {"ID", "KIND", "STATE", "DATASET", "PHASE", "PROGRESS", "BY", "CREATED", "ERROR"}, rows);
    if (!Text(list, "next_page_token").empty()) std::cerr << "(more jobs: raise --limit or leave it out)\n";
  });
}

Status ShowJob(ApiSession& session, int64_t id) {
  ASSIGN_OR_RETURN(json job, GetJson(session, JobPath(id)));
  return PrintJsonOr(session, job, [&] { PrintJobFields(job); });
}

Status ShowJobLogs(ApiSession& session, int64_t id, bool follow) {
  int64_t after = 0;
  json all = {{"lines", json::array()}};
  // Reads every line after `after`, a page at a time; prints them as they come when following.
  auto read_lines = [&]() -> Status {
    while (true) {
      ASSIGN_OR_RETURN(json page, GetJson(session, JobPath(id) + "/logs" +
                                                       QueryString({{"after", std::to_string(after)},
                                                                    {"limit", std::to_string(kMaxPageSize)}})));
      const json& lines = Items(page, "lines");
      for (const json& line : lines) {
        if (Member(line, "seq").is_number_integer()) after = std::max(after, line["seq"].get<int64_t>());
        if (!follow) {
          all["lines"].push_back(line);
        } else if (session.format != OutputFormat::kTable) {
          std::cout << line.dump() << "\n";  // one object per line
        } else {
          std::cout << fmt::format("{}  {:<5}  {}\n", Text(line, "at"), Text(line, "level"), Text(line, "message"));
        }
      }
      std::cout.flush();
      if (static_cast<int64_t>(lines.size()) < kMaxPageSize) return Status::Ok();
    }
  };
  if (!follow) {
    RETURN_IF_ERROR(read_lines());
    return PrintListOr(session, all, "lines", [&] {
      for (const json& line : all["lines"]) {
        std::cout << fmt::format("{}  {:<5}  {}\n", Text(line, "at"), Text(line, "level"), Text(line, "message"));
      }
    });
  }
  while (true) {
    ASSIGN_OR_RETURN(json job, GetJson(session, JobPath(id)));
    RETURN_IF_ERROR(read_lines());  // after the state, so no line written before the end is missed
    if (JobFinished(job)) return JobOutcome(job);
    std::this_thread::sleep_for(kPollInterval);
  }
}

Status CancelJob(ApiSession& session, int64_t id) {
  ASSIGN_OR_RETURN(client::HttpResponse response, session.client.Post(JobPath(id) + "/cancel", "{}"));
  ASSIGN_OR_RETURN(json job, client::JsonBody(response));
  return PrintJsonOr(session, job, [&] {
    if (Text(job, "state") == "cancelled") {
      std::cout << fmt::format("Job {} is cancelled.\n", id);
    } else {
      std::cout << fmt::format("Cancellation of job {} requested: it stops at its next step, unless it is already "
                               "committing its update. See `edl-api job show {}`.\n",
                               id, id);
    }
  });
}

// ---- users, groups, tokens, audit ----

Status Whoami(ApiSession& session) {
  ASSIGN_OR_RETURN(json me, GetJson(session, "/v1/whoami"));
  return PrintJsonOr(session, me, [&] {
    const json& token = Member(me, "token");
    PrintFields(std::cout, {{"user", Text(me, "user")},
                            {"admin", Text(me, "admin")},
                            {"groups", Strings(me, "groups")},
                            {"token", Text(token, "id")},
                            {"token expires", Text(token, "expires_at").empty() ? "never" : Text(token, "expires_at")},
                            {"server", session.client.url()}});
    std::vector<std::vector<std::string>> roles;
    for (const json& r : Items(me, "roles")) {
      roles.push_back({Text(r, "role"), Text(r, "via"), Text(r, "expires_at").empty() ? "never" : Text(r, "expires_at")});
    }
    std::cout << "\n";
    if (roles.empty()) {
      std::cout << "No roles: you may see that restricted datasets exist, not read them. Ask for access with "
                   "`edl-api access request DATASET --level read --justification \"...\"`.\n";
    } else {
      PrintTable(std::cout, {"ROLE", "VIA", "EXPIRES"}, roles);
    }
  });
}

namespace {

void PrintUserFields(const json& user) {
  PrintFields(std::cout, {{"name", Text(user, "name")},
                          {"admin", Text(user, "admin")},
                          {"disabled", Text(user, "disabled")},
                          {"groups", Strings(user, "groups")},
                          {"created", Text(user, "created_at")},
                          {"created by", Text(user, "created_by")}});
}

}  // namespace

Status ListUsers(ApiSession& session) {
  ASSIGN_OR_RETURN(json list, GetJson(session, "/v1/users"));
  return PrintListOr(session, list, "users", [&] {
    std::vector<std::vector<std::string>> rows;
    for (const json& u : Items(list, "users")) {
      rows.push_back({Text(u, "name"), Text(u, "admin"), Text(u, "disabled"), Strings(u, "groups"),
                      Text(u, "created_at"), Text(u, "created_by")});
    }
    PrintTable(std::cout, {"NAME", "ADMIN", "DISABLED", "GROUPS", "CREATED", "BY"}, rows);
  });
}

Status AddUser(ApiSession& session, const NewUser& user) {
  json body = {{"name", user.name}, {"groups", user.groups}, {"admin", user.admin}, {"employee", user.employee}};
  ASSIGN_OR_RETURN(client::HttpResponse response, session.client.Post("/v1/users", body.dump()));
  ASSIGN_OR_RETURN(json created, client::JsonBody(response));
  return PrintJsonOr(session, created, [&] {
    std::cout << fmt::format("Created user {}{}{}.\n", Text(created, "name"),
                             Strings(created, "groups").empty() ? "" : " in " + Strings(created, "groups"),
                             Member(created, "admin") == true ? ", an admin" : "");
    std::cout << fmt::format("Give them a token with `edl-api tokens create --user {}`.\n", Text(created, "name"));
  });
}

Status ShowUser(ApiSession& session, const std::string& name) {
  ASSIGN_OR_RETURN(json user, GetJson(session, "/v1/users/" + EscapeComponent(name)));
  return PrintJsonOr(session, user, [&] { PrintUserFields(user); });
}

Status SetGroupMember(ApiSession& session, const std::string& group, const std::string& user, bool member) {
  std::string path = fmt::format("/v1/groups/{}/members/{}", EscapeComponent(group), EscapeComponent(user));
  ASSIGN_OR_RETURN(client::HttpResponse response, member ? session.client.Put(path, "{}") : session.client.Delete(path));
  ASSIGN_OR_RETURN(json answer, client::JsonBody(response));
  return PrintJsonOr(session, answer, [&] {
    bool changed = Member(answer, member ? "added" : "removed") == true;
    if (member) {
      std::cout << (changed ? fmt::format("Added {} to {}.\n", user, group)
                            : fmt::format("{} already is a member of {}.\n", user, group));
    } else {
      std::cout << (changed ? fmt::format("Removed {} from {}.\n", user, group)
                            : fmt::format("{} was not a member of {}.\n", user, group));
    }
  });
}

Status ListTokens(ApiSession& session, const std::string& user) {
  ASSIGN_OR_RETURN(json list, GetJson(session, "/v1/tokens" + QueryString({{"user", user}})));
  return PrintListOr(session, list, "tokens", [&] {
    std::vector<std::vector<std::string>> rows;
    for (const json& t : Items(list, "tokens")) {
      rows.push_back({Text(t, "id"), Text(t, "user"), Text(t, "description"), Text(t, "created_at"),
                      Text(t, "created_by"), Text(t, "expires_at").empty() ? "never" : Text(t, "expires_at"),
                      Text(t, "revoked_at")});
    }
    PrintTable(std::cout, {"ID", "USER", "DESCRIPTION", "CREATED", "BY", "EXPIRES", "REVOKED"}, rows);
  });
}

Status CreateToken(ApiSession& session, const NewToken& token) {
  json body = json::object();
  if (!token.user.empty()) body["user"] = token.user;
  if (!token.description.empty()) body["description"] = token.description;
  if (token.expires_in_days) body["expires_in_days"] = *token.expires_in_days;
  ASSIGN_OR_RETURN(client::HttpResponse response, session.client.Post("/v1/tokens", body.dump()));
  ASSIGN_OR_RETURN(json created, client::JsonBody(response));
  return PrintJsonOr(session, created, [&] {
    std::cerr << fmt::format("Created token {} for {} (expires: {}). This is the only time its secret is shown:\n",
                             Text(created, "id"), Text(created, "user"),
                             Text(created, "expires_at").empty() ? "never" : Text(created, "expires_at"));
    std::cout << Text(created, "token") << "\n";
  });
}

Status RevokeToken(ApiSession& session, int64_t id) {
  ASSIGN_OR_RETURN(client::HttpResponse response, session.client.Delete(fmt::format("/v1/tokens/{}", id)));
  ASSIGN_OR_RETURN(json revoked, client::JsonBody(response));
  return PrintJsonOr(session, revoked, [&] {
    std::cout << fmt::format("Revoked token {} of {}.\n", Text(revoked, "id"), Text(revoked, "user"));
  });
}

// ---- grants and access requests ----

namespace {

std::string DatasetPath(const std::string& dataset) { return "/v1/datasets/" + EscapeComponent(dataset); }

// "for 30 days" / "until revoked", from a request's days.
std::string DaysText(const json& request) {
  std::string days = Text(request, "days");
  return days.empty() ? "until revoked" : fmt::format("for {} days", days);
}

// active, expired (by this machine's clock) or revoked.
std::string GrantState(const json& grant, const std::string& now) {
  if (!Text(grant, "revoked_at").empty()) return "revoked";
  std::string expires = Text(grant, "expires_at");
  return !expires.empty() && expires <= now ? "expired" : "active";
}

}  // namespace

Status ListGrants(ApiSession& session, const GrantQuery& query) {
  json list;
  if (!query.dataset.empty()) {
    ASSIGN_OR_RETURN(list, GetJson(session, DatasetPath(query.dataset) + "/grants" +
                                                QueryString({{"include_revoked", query.include_revoked ? "true" : ""}})));
    if (!query.principal.empty()) {
      json mine = json::array();
      for (const json& g : Items(list, "grants")) {
        if (Text(g, "principal") == query.principal) mine.push_back(g);
      }
      list["grants"] = std::move(mine);
    }
  } else {
    ASSIGN_OR_RETURN(list, GetJson(session, "/v1/grants" + QueryString({{"principal", query.principal}})));
  }
  return PrintListOr(session, list, "grants", [&] {
    std::string now = FormatTimestamp(std::chrono::system_clock::now());
    std::vector<std::vector<std::string>> rows;
    for (const json& g : Items(list, "grants")) {
      std::string state = GrantState(g, now);
      std::string reason = Text(g, "reason");
      if (state == "revoked") {
        reason = fmt::format("revoked by {} at {}{}", Text(g, "revoked_by"), Text(g, "revoked_at"),
                             Text(g, "revoke_reason").empty() ? "" : ": " + Text(g, "revoke_reason"));
      }
      rows.push_back({Text(g, "id"), Text(g, "principal"), Text(g, "role"), state,
                      Text(g, "expires_at").empty() ? "never" : Text(g, "expires_at"), Text(g, "granted_by"),
                      Text(g, "granted_at"), reason});
    }
    PrintTable(std::cout, {"ID", "PRINCIPAL", "ROLE", "STATE", "EXPIRES", "GRANTED BY", "GRANTED", "REASON"}, rows);
  });
}

Status AddGrant(ApiSession& session, const GrantArgs& args) {
  json body = {{"principal", args.principal}, {"level", args.level}};
  if (!args.justification.empty()) body["justification"] = args.justification;
  if (args.days) body["days"] = *args.days;
  ASSIGN_OR_RETURN(client::HttpResponse response, session.client.Post(DatasetPath(args.dataset) + "/grants", body.dump()));
  ASSIGN_OR_RETURN(json answer, client::JsonBody(response));
  return PrintJsonOr(session, answer, [&] {
    const json& pending = Member(answer, "pending");
    if (pending.is_object()) {
      std::string id = Text(pending, "id");
      std::cout << fmt::format(
          "Not granted yet: dataset {} asks for two-person approval. Access request {} ({} on {} for {}, {}) has your "
          "approval and waits for a second admin of the dataset, who runs `edl-api access approve {}`.\n",
          args.dataset, id, Text(pending, "level"), args.dataset, Text(pending, "grantee"), DaysText(pending), id);
      return;
    }
    std::string expires = Text(answer, "expires_at");
    std::cout << fmt::format("Granted {} to {} (grant {}), {}.\n", Text(answer, "role"), Text(answer, "principal"),
                             Text(answer, "id"), expires.empty() ? "until revoked" : "until " + expires);
  });
}

Status RevokeGrant(ApiSession& session, int64_t id, const std::string& reason) {
  json body = json::object();
  if (!reason.empty()) body["reason"] = reason;
  ASSIGN_OR_RETURN(client::HttpResponse response,
                   session.client.Post(fmt::format("/v1/grants/{}/revoke", id), body.dump()));
  ASSIGN_OR_RETURN(json revoked, client::JsonBody(response));
  return PrintJsonOr(session, revoked, [&] {
    std::cout << fmt::format("Revoked grant {}: {} no longer holds {} through it.\n", Text(revoked, "id"),
                             Text(revoked, "principal"), Text(revoked, "role"));
  });
}

Status RequestAccess(ApiSession& session, const GrantArgs& args) {
  json body = {{"level", args.level}, {"justification", args.justification}};
  if (args.days) body["days"] = *args.days;
  ASSIGN_OR_RETURN(client::HttpResponse response,
                   session.client.Post(DatasetPath(args.dataset) + "/access-requests", body.dump()));
  ASSIGN_OR_RETURN(json request, client::JsonBody(response));
  return PrintJsonOr(session, request, [&] {
    std::cout << fmt::format(
        "Access request {} filed: {} on {}, {}. The dataset's admins see it with `edl-api access pending` and approve "
        "or deny it; follow it with `edl-api access list --dataset {}`.\n",
        Text(request, "id"), Text(request, "level"), Text(request, "dataset"), DaysText(request),
        Text(request, "dataset"));
  });
}

Status ListAccessRequests(ApiSession& session, const AccessRequestQuery& query) {
  // Every page: requests are few, and a partial list of pending ones would hide work.
  ASSIGN_OR_RETURN(json list, GetList(session, "/v1/access-requests",
                                      {{"state", query.state}, {"dataset", query.dataset}}, "requests", std::nullopt));
  return PrintListOr(session, list, "requests", [&] {
    std::vector<std::vector<std::string>> rows;
    const bool pending_only = query.state == "pending";
    for (const json& r : Items(list, "requests")) {
      std::string days = Text(r, "days").empty() ? "-" : Text(r, "days");
      if (pending_only) {
        rows.push_back({Text(r, "id"), Text(r, "dataset"), Text(r, "grantee"), Text(r, "level"), days,
                        Text(r, "requested_by"), Text(r, "requested_at"), Text(r, "first_approved_by"),
                        Text(r, "justification")});
        continue;
      }
      std::string state = Text(r, "state");
      std::string outcome = state == "approved" ? "grant " + Text(r, "grant_id")
                            : state == "denied" ? Text(r, "decision_reason")
                            : Text(r, "first_approved_by").empty()
                                ? "waiting for an admin"
                                : "approved by " + Text(r, "first_approved_by") + ", waiting for a second admin";
      rows.push_back({Text(r, "id"), state, Text(r, "dataset"), Text(r, "grantee"), Text(r, "level"), days,
                      Text(r, "requested_by"), Text(r, "decided_by"), Text(r, "decided_at"), outcome});
    }
    if (pending_only) {
      PrintTable(std::cout,
                 {"ID", "DATASET", "FOR", "LEVEL", "DAYS", "REQUESTED BY", "REQUESTED", "FIRST APPROVAL", "JUSTIFICATION"},
                 rows);
    } else {
      PrintTable(std::cout, {"ID", "STATE", "DATASET", "FOR", "LEVEL", "DAYS", "REQUESTED BY", "DECIDED BY", "DECIDED",
                             "OUTCOME"},
                 rows);
    }
  });
}

Status ApproveAccessRequest(ApiSession& session, int64_t id) {
  ASSIGN_OR_RETURN(client::HttpResponse response,
                   session.client.Post(fmt::format("/v1/access-requests/{}/approve", id), "{}"));
  ASSIGN_OR_RETURN(json request, client::JsonBody(response));
  return PrintJsonOr(session, request, [&] {
    if (Text(request, "state") == "approved") {
      std::cout << fmt::format("Approved access request {}: {} now holds {}:{} (grant {}), {}.\n", id,
                               Text(request, "grantee"), Text(request, "dataset"), Text(request, "level"),
                               Text(request, "grant_id"), DaysText(request));
    } else {
      std::cout << fmt::format(
          "Recorded your approval of access request {}, the first of two: dataset {} asks for two-person approval, so "
          "another admin of it must approve too (`edl-api access approve {}`).\n",
          id, Text(request, "dataset"), id);
    }
  });
}

Status DenyAccessRequest(ApiSession& session, int64_t id, const std::string& reason) {
  json body = {{"reason", reason}};
  ASSIGN_OR_RETURN(client::HttpResponse response,
                   session.client.Post(fmt::format("/v1/access-requests/{}/deny", id), body.dump()));
  ASSIGN_OR_RETURN(json request, client::JsonBody(response));
  return PrintJsonOr(session, request, [&] {
    std::cout << fmt::format("Denied access request {} ({} on {} for {}): {}\n", id, Text(request, "level"),
                             Text(request, "dataset"), Text(request, "grantee"), Text(request, "decision_reason"));
  });
}

// ---- audit ----

namespace {

// Reads exactly `width` digits at the front of `text` (consuming them) into `value`.
bool TakeDigits(std::string_view& text, size_t width, int& value) {
  if (text.size() < width) return false;
  value = 0;
  for (size_t i = 0; i < width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  text.remove_prefix(width);
  return true;
}

bool TakeChar(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

Result<std::string> AuditTime(std::string_view text, std::chrono::system_clock::time_point now) {
  using std::chrono::minutes;
  auto bad = [&] {
    return InvalidArgument(fmt::format("'{}' is not a time: write a UTC date or time like 2026-11-29 or "
                                       "2026-11-29T08:35:00Z, or how long ago like 30m, 24h or 7d",
                                       text.substr(0, 40)));
  };
  // "30m", "24h", "7d": that long before now.
  if (text.size() >= 2 && (text.back() == 'm' || text.back() == 'h' || text.back() == 'd')) {
    std::string_view number = text.substr(0, text.size() - 1);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    constexpr int64_t kMaxMinutes = int64_t{50} * 365 * 24 * 60;  // within system_clock's range
    int64_t per = text.back() == 'm' ? 1 : text.back() == 'h' ? 60 : 24 * 60;
    if (ec != std::errc() || end != number.data() + number.size() || n < 0 || n > kMaxMinutes / per) return bad();
    return FormatTimestamp(now - minutes(n * per));
  }
  // A date, and maybe a time of day, checked and rewritten as text (no time_point: those end in
  // 2262, and a log may be asked about anything up to 9999).
  std::string_view rest = text;
  int year = 0, month = 0, day = 0;
  if (!TakeDigits(rest, 4, year) || !TakeChar(rest, '-') || !TakeDigits(rest, 2, month) || !TakeChar(rest, '-') ||
      !TakeDigits(rest, 2, day)) {
    return bad();
  }
  std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                   std::chrono::day(static_cast<unsigned>(day))};
  if (year < 1970 || !date.ok()) return bad();
  int hour = 0, minute = 0, second = 0, millis = 0;
  if (!rest.empty()) {
    // "THH:MM[:SS[.f…]]Z"
    if (!TakeChar(rest, 'T') || !TakeDigits(rest, 2, hour) || !TakeChar(rest, ':') || !TakeDigits(rest, 2, minute)) {
      return bad();
    }
    if (TakeChar(rest, ':')) {
      if (!TakeDigits(rest, 2, second)) return bad();
      if (TakeChar(rest, '.')) {
        // Any number of fraction digits; the log keeps milliseconds.
        int scale = 100, digit = 0, digits = 0;
        while (TakeDigits(rest, 1, digit)) {
          millis += digit * scale;
          scale /= 10;
          ++digits;
        }
        if (digits == 0) return bad();
      }
    }
    if (rest != "Z" || hour > 23 || minute > 59 || second > 59) return bad();
  }
  return fmt::format("{}T{:02d}:{:02d}:{:02d}.{:03d}Z", text.substr(0, 10), hour, minute, second, millis);
}

Status ListAudit(ApiSession& session, const AuditFilter& filter) {
  auto now = std::chrono::system_clock::now();
  auto bound = [&](const char* flag, const std::string& text) -> Result<std::string> {
    if (text.empty()) return std::string();
    Result<std::string> time = AuditTime(text, now);
    if (!time.ok()) return time.status().WithContext(flag);
    return time;
  };
  ASSIGN_OR_RETURN(std::string since, bound("--since", filter.since));
  ASSIGN_OR_RETURN(std::string until, bound("--until", filter.until));
  std::vector<std::pair<std::string, std::string>> params = {
      {"target", filter.target}, {"principal", filter.principal}, {"dataset", filter.dataset},
      {"action", filter.action}, {"since", since},                {"until", until},
      {"decision", filter.decision}};
  auto explain = [&](const Status& status) {
    if (status.code() != StatusCode::kPermissionDenied || !filter.dataset.empty()) return status;
    // The hint goes before the request id, which stays last as in every other message.
    std::string message = status.message();
    size_t id = message.rfind(" (request id ");
    message.insert(id == std::string::npos ? message.size() : id,
                   "; a dataset's admins read its events with `edl-api audit --dataset NAME`");
    return PermissionDenied(std::move(message));
  };
  const char* kEvents = "events";
  auto row = [](const json& e) -> std::vector<std::string> {
    return {Text(e, "seq"),      Text(e, "at"),       Text(e, "actor"), Text(e, "action"),
            Text(e, "target"),   Text(e, "decision"), Text(e, "reason")};
  };
  if (session.format == OutputFormat::kJsonLines) {
    // An export: each page is written as it comes, so the log never has to fit in memory.
    std::string next;
    Status status = ForEachPage(session, "/v1/audit", params, filter.limit, [&](const json& page) {
      for (const json& e : Items(page, kEvents)) std::cout << e.dump() << "\n";
      std::cout.flush();
      next = Text(page, "next_page_token");
    });
    if (status.ok() && filter.limit && !next.empty()) std::cerr << "(more events: raise --limit or leave it out)\n";
    return explain(status);
  }
  Result<json> list = GetList(session, "/v1/audit", params, kEvents, filter.limit);
  if (!list.ok()) return explain(list.status());
  return PrintListOr(session, *list, kEvents, [&] {
    std::vector<std::vector<std::string>> rows;
    for (const json& e : Items(*list, kEvents)) rows.push_back(row(e));
    PrintTable(std::cout, {"SEQ", "AT", "ACTOR", "ACTION", "TARGET", "DECISION", "REASON"}, rows);
    if (!Text(*list, "next_page_token").empty()) std::cerr << "(more events: raise --limit or leave it out)\n";
  });
}

}  // namespace edl::cli::api
