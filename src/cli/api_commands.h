// The `edl-api` commands: each makes one or a few REST calls (docs/api.md) through a
// client::ApiClient and renders the answer, tables for people and the server's JSON with `-o json`.
// Declared here so edl_api_main.cc only wires the command line. Results go to stdout; progress bars,
// hints and warnings to stderr. Used from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/render.h"
#include "client/api_client.h"
#include "core/status.h"

namespace edl::cli::api {

struct ApiOptions {
  std::string url;      // "" = not given
  std::string token;    // "" = not given
  std::string ca_cert;  // "" = not given
  std::string output = "table";
  OutputFormat format() const { return output == "json" ? OutputFormat::kJson : OutputFormat::kTable; }
};

// What every command works with: a connected client and the output format.
struct ApiSession {
  client::ApiClient& client;
  OutputFormat format;
};

// Resolves the settings (flags > EDL_URL/EDL_TOKEN > ~/.config/edl/config.yaml > default) and makes
// a client; nothing is sent yet. Fails before any request when no token is set.
Result<std::unique_ptr<client::ApiClient>> Connect(const ApiOptions& options);

// A list's page size; without a limit, every page is fetched by following next_page_token.
using PageLimit = std::optional<int64_t>;

struct DatasetFilter {
  std::string tier;
  std::string owner;
  std::string name;    // a name prefix
  std::string search;  // in name and description
  PageLimit limit;
};
Status ListDatasets(ApiSession& session, const DatasetFilter& filter);
Status ShowDataset(ApiSession& session, const std::string& name);
Status ListUpdates(ApiSession& session, const std::string& dataset);
Status ShowUpdate(ApiSession& session, const std::string& dataset, int64_t number);

struct IngestArgs {
  std::string dataset;
  std::vector<std::string> sources;  // local files, folders and globs are uploaded first
  std::string kind;                  // "" = the dataset's convention
  std::string format;                // "" = the dataset's format
  bool wait = false;                 // wait for the job and exit with its outcome
};
Status Ingest(ApiSession& session, const IngestArgs& args);

struct JobFilter {
  std::string state;
  std::string dataset;
  PageLimit limit;
};
Status ListJobs(ApiSession& session, const JobFilter& filter);
Status ShowJob(ApiSession& session, int64_t id);
// With `follow`, prints lines as they come until the job finishes, then returns its outcome like
// `ingest --wait`: OK when it succeeded, InvalidArgument when it failed, Conflict when cancelled.
Status ShowJobLogs(ApiSession& session, int64_t id, bool follow);
Status CancelJob(ApiSession& session, int64_t id);

Status Whoami(ApiSession& session);

struct NewUser {
  std::string name;
  std::vector<std::string> groups;
  bool admin = false;
  bool employee = true;  // joins the group "employees"
};
Status ListUsers(ApiSession& session);
Status AddUser(ApiSession& session, const NewUser& user);
Status ShowUser(ApiSession& session, const std::string& name);
Status SetGroupMember(ApiSession& session, const std::string& group, const std::string& user, bool member);

struct NewToken {
  std::string user;  // "" = the caller
  std::string description;
  std::optional<int64_t> expires_in_days;
};
Status ListTokens(ApiSession& session, const std::string& user);
// Prints the secret once, alone on stdout; the rest goes to stderr.
Status CreateToken(ApiSession& session, const NewToken& token);
Status RevokeToken(ApiSession& session, int64_t id);

Status ListAudit(ApiSession& session, const std::string& target, PageLimit limit);

}  // namespace edl::cli::api
