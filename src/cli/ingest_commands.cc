// `edl ingest`, `edl updates`, `edl update`, `edl recover`, `edl gc`.
#include <cstdio>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "core/clock.h"
#include "core/serialize.h"
#include "deploy/inventory.h"
#include "ingest/ingest.h"
#include "lake/lake.h"
#include "storage/object_store.h"

namespace edl::cli {

using nlohmann::json;

Status RunIngest(const GlobalOptions& options, const IngestFlags& flags, const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  ASSIGN_OR_RETURN(auto lake, OpenDeployedLake(config, clock));
  if (lake->store == nullptr) {
    return Unavailable(fmt::format("storage root '{}' does not exist; run `edl deploy` first", config.storage.root));
  }
  IngestRequest request;
  request.dataset = flags.dataset;
  request.sources = flags.sources;
  if (!flags.kind.empty()) {
    ASSIGN_OR_RETURN(request.kind, ParseUpdateKind(flags.kind));
  }
  if (!flags.format.empty()) request.format = flags.format;
  request.actor = LocalActor();
  Ingestor ingestor(config, *lake->catalog, *lake->store, clock, IngestSettingsFor(config));
  TerminalProgress progress(stderr);
  Result<IngestOutcome> outcome = ingestor.Ingest(request, progress);
  progress.Finish();
  RETURN_IF_ERROR(outcome.status());
  const IngestOutcome& o = *outcome;
  if (options.format() == OutputFormat::kJson) {
    PrintJson(std::cout, {{"dataset", o.dataset}, {"update", o.update}, {"state", UpdateStateName(o.state)},
                          {"raw_files", o.raw_files}, {"raw_only_files", o.raw_only_files},
                          {"data_files", o.data_files}, {"rows", o.rows}, {"fetched_bytes", o.fetched_bytes},
                          {"parquet_bytes", o.parquet_bytes}, {"seconds", o.seconds}, {"warnings", o.warnings}});
    return Status::Ok();
  }
  for (const std::string& warning : o.warnings) std::cerr << "edl: warning: " << warning << "\n";
  double mb_per_s = o.seconds > 0 ? static_cast<double>(o.fetched_bytes) / 1e6 / o.seconds : 0;
  std::cout << fmt::format(
      "Update {} of {} is complete: {} raw file(s){}, {} Parquet file(s), {} rows, {} in, {} Parquet, {:.1f} s "
      "({:.1f} MB/s).\n",
      o.update, o.dataset, o.raw_files, o.raw_only_files > 0 ? fmt::format(" ({} kept raw only)", o.raw_only_files) : "",
      o.data_files, o.rows, HumanBytes(o.fetched_bytes), HumanBytes(o.parquet_bytes), o.seconds, mb_per_s);
  return Status::Ok();
}

Status RunUpdates(const GlobalOptions& options, const std::string& dataset, const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  ASSIGN_OR_RETURN(auto lake, OpenDeployedLake(config, clock));
  ASSIGN_OR_RETURN(auto updates, ListDatasetUpdates(*lake->catalog, dataset));
  if (options.format() == OutputFormat::kJson) {
    json out = json::array();
    for (const UpdateRecord& u : updates) out.push_back(ToJson(u));
    PrintJson(std::cout, out);
    return Status::Ok();
  }
  std::vector<std::vector<std::string>> rows;
  for (const UpdateRecord& u : updates) {
    json metadata = ParseStoredJson(u.metadata_json);
    std::string row_count = metadata.contains("rows") ? metadata["rows"].dump() : "";
    std::string files = metadata.contains("raw_files") ? std::to_string(metadata["raw_files"].size()) : "";
    std::string note = u.state == UpdateState::kFailed ? u.failure_reason : "";
    if (note.size() > 80) note = note.substr(0, 77) + "...";
    rows.push_back({std::to_string(u.number), std::string(UpdateKindName(u.kind)), std::string(UpdateStateName(u.state)),
                    row_count, files, u.created_by, u.completed_at.value_or(""), note});
  }
  PrintTable(std::cout, {"N", "KIND", "STATE", "ROWS", "FILES", "BY", "FINISHED", "REASON"}, rows);
  return Status::Ok();
}

Status RunUpdate(const GlobalOptions& options, const std::string& dataset, int64_t number, const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  ASSIGN_OR_RETURN(auto lake, OpenDeployedLake(config, clock));
  ASSIGN_OR_RETURN(UpdateDetails details, DescribeUpdate(*lake->catalog, dataset, number));
  const UpdateRecord& u = details.update;
  json metadata = ParseStoredJson(u.metadata_json);
  if (options.format() == OutputFormat::kJson) {
    json out = ToJson(u);
    out["files"] = json::array();
    for (const UpdateFile& f : details.files) out["files"].push_back(ToJson(f));
    PrintJson(std::cout, out);
    return Status::Ok();
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"dataset", u.dataset}, {"update", std::to_string(u.number)}, {"kind", std::string(UpdateKindName(u.kind))},
      {"state", std::string(UpdateStateName(u.state))}, {"created by", u.created_by}, {"started", u.created_at},
      {"finished", u.completed_at.value_or("")}};
  if (!u.failure_reason.empty()) fields.push_back({"failure", u.failure_reason});
  if (metadata.contains("rows")) fields.push_back({"rows", metadata["rows"].dump()});
  PrintFields(std::cout, fields);
  auto section = [](const std::string& title) { std::cout << "\n" << title << ":\n"; };
  if (metadata.contains("sources")) {
    section("sources");
    for (const json& s : metadata["sources"]) {
      std::cout << fmt::format("  {}  ({} bytes)\n", s.value("uri", ""), s.value("size", 0));
      for (const json& f : s.value("files", json::array())) {
        std::cout << fmt::format("    {}  {} bytes  sha256 {}\n", f.value("name", ""), f.value("size", 0),
                                 f.value("sha256", ""));
      }
    }
  }
  if (!details.files.empty()) {
    section("files");
    std::vector<std::vector<std::string>> rows;
    for (const UpdateFile& f : details.files) {
      rows.push_back({f.area, f.key, std::to_string(f.size), f.rows ? std::to_string(*f.rows) : "", f.sha256.substr(0, 16)});
    }
    PrintTable(std::cout, {"AREA", "KEY", "BYTES", "ROWS", "SHA256"}, rows, "  ");
  }
  if (metadata.contains("columns") && !metadata["columns"].empty()) {
    section("schema and statistics");
    std::vector<std::vector<std::string>> rows;
    for (const json& c : metadata["columns"]) {
      rows.push_back({c.value("name", ""), c.value("type", ""), c.value("nullable", true) ? "yes" : "no",
                      c.contains("null_count") ? c["null_count"].dump() : "", c.value("min", ""), c.value("max", "")});
    }
    PrintTable(std::cout, {"COLUMN", "TYPE", "NULLABLE", "NULLS", "MIN", "MAX"}, rows, "  ");
  }
  if (metadata.contains("schema_change") && !metadata["schema_change"].is_null()) {
    section("schema change against the previous complete update");
    std::cout << "  " << metadata["schema_change"].dump() << "\n";
  }
  if (metadata.contains("qc") && !metadata["qc"].empty()) {
    section("qc");
    for (const json& q : metadata["qc"]) {
      std::cout << fmt::format("  {} {}", q.value("passed", false) ? "pass" : "FAIL", q.value("check", ""));
      if (!q.value("passed", false)) std::cout << fmt::format("  ({} failing rows)", q.value("failing_rows", 0));
      if (q.contains("error")) std::cout << "  error: " << q["error"].get<std::string>();
      std::cout << "\n";
      for (const json& row : q.value("sample", json::array())) std::cout << "      " << row.dump() << "\n";
    }
  }
  if (metadata.contains("warnings") && !metadata["warnings"].empty()) {
    section("warnings");
    for (const json& w : metadata["warnings"]) std::cout << "  " << w.get<std::string>() << "\n";
  }
  return Status::Ok();
}

Status RunRecover(const GlobalOptions& options, const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  ASSIGN_OR_RETURN(auto lake, OpenDeployedLake(config, clock));
  if (lake->store == nullptr) return Unavailable(fmt::format("storage root '{}' does not exist", config.storage.root));
  ASSIGN_OR_RETURN(RecoveryReport report,
                   Recover(*lake->catalog, *lake->store, clock, IngestSettingsFor(config)));
  if (options.format() == OutputFormat::kJson) {
    PrintJson(std::cout, {{"failed_updates", report.failed_updates}, {"sealed_updates", report.sealed_updates},
                          {"objects_removed", report.objects_removed},
                          {"work_folders_removed", report.work_folders_removed},
                          {"abandoned_uploads_removed", report.abandoned_uploads_removed}});
    return Status::Ok();
  }
  if (report.failed_updates.empty() && report.sealed_updates.empty() && report.work_folders_removed == 0 &&
      report.abandoned_uploads_removed == 0) {
    std::cout << "Nothing to recover.\n";
    return Status::Ok();
  }
  for (const std::string& u : report.failed_updates) std::cout << "marked failed (its ingest had stopped): " << u << "\n";
  for (const std::string& u : report.sealed_updates) std::cout << "sealed complete update: " << u << "\n";
  std::cout << fmt::format("Removed {} object(s), {} work folder(s) and {} abandoned upload(s).\n",
                           report.objects_removed, report.work_folders_removed, report.abandoned_uploads_removed);
  return Status::Ok();
}

Status RunGc(const GlobalOptions& options, std::optional<int64_t> older_than_days, const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  ASSIGN_OR_RETURN(auto lake, OpenDeployedLake(config, clock));
  if (lake->store == nullptr) return Unavailable(fmt::format("storage root '{}' does not exist", config.storage.root));
  int64_t days = older_than_days.value_or(config.ingest.keep_failed_days);
  ASSIGN_OR_RETURN(GarbageReport report, CollectGarbage(*lake->catalog, *lake->store, clock,
                                                        std::chrono::hours(24 * days)));
  if (options.format() == OutputFormat::kJson) {
    PrintJson(std::cout, {{"purged_updates", report.purged_updates}, {"objects_removed", report.objects_removed}});
    return Status::Ok();
  }
  std::cout << fmt::format("Removed the files of {} failed update(s) ({} objects).\n", report.purged_updates.size(),
                           report.objects_removed);
  return Status::Ok();
}

}  // namespace edl::cli
