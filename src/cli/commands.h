// The `edl` commands: each loads the config, opens the lake through the composition root, calls one
// service and renders the result. Declared here so edl_main.cc only wires the command line.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/render.h"
#include "core/model.h"
#include "core/status.h"

namespace edl {
class Clock;
struct Lake;
}  // namespace edl

namespace edl::cli {

struct GlobalOptions {
  std::string config_path;
  std::string output = "table";
  OutputFormat format() const { return output == "json" ? OutputFormat::kJson : OutputFormat::kTable; }
};

// Who is acting, for the audit log: the local operator account running this program.
std::string LocalActor();
Result<InstanceConfig> LoadConfig(const GlobalOptions& options);
// Opens an instance that must already be deployed, for read-only and dataset commands.
Result<std::unique_ptr<Lake>> OpenDeployedLake(const InstanceConfig& config, const Clock& clock);

Status RunDeploy(const GlobalOptions& options, bool plan_only, const Clock& clock);
Status RunDeployDataset(const GlobalOptions& options, const std::vector<std::string>& files, bool plan_only,
                        const Clock& clock);
Status RunDatasets(const GlobalOptions& options, const Clock& clock);
Status RunShow(const GlobalOptions& options, const std::string& name, const Clock& clock);
Status RunAudit(const GlobalOptions& options, const std::string& target, int64_t limit, const Clock& clock);
Status RunAuditVerify(const GlobalOptions& options, const Clock& clock);

struct IngestFlags {
  std::string dataset;
  std::vector<std::string> sources;
  std::string kind;    // "" = the dataset's convention
  std::string format;  // "" = the dataset's format
};
Status RunIngest(const GlobalOptions& options, const IngestFlags& flags, const Clock& clock);
Status RunUpdates(const GlobalOptions& options, const std::string& dataset, const Clock& clock);
Status RunUpdate(const GlobalOptions& options, const std::string& dataset, int64_t number, const Clock& clock);
Status RunRecover(const GlobalOptions& options, const Clock& clock);
Status RunGc(const GlobalOptions& options, std::optional<int64_t> older_than_days, const Clock& clock);

// `edl serve [--http HOST:PORT]`: the REST API and job workers until SIGTERM/SIGINT.
Status RunServe(const GlobalOptions& options, const std::string& http_override, const Clock& clock);
// `edl worker`: job workers without the HTTP front end, until SIGTERM/SIGINT.
Status RunWorker(const GlobalOptions& options, const Clock& clock);

struct UserFlags {
  std::string name;
  std::vector<std::string> groups;
  bool admin = false;
  bool no_employee = false;
};
Status RunUsersAdd(const GlobalOptions& options, const UserFlags& flags, const Clock& clock);
Status RunUsersList(const GlobalOptions& options, const Clock& clock);

struct TokenFlags {
  std::string user;
  std::string description;
  std::optional<int64_t> expires_in_days;
};
Status RunTokensCreate(const GlobalOptions& options, const TokenFlags& flags, const Clock& clock);
Status RunTokensList(const GlobalOptions& options, const std::string& user, const Clock& clock);
Status RunTokensRevoke(const GlobalOptions& options, int64_t id, const Clock& clock);

}  // namespace edl::cli
