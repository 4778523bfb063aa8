// The `edl-api` commands: each makes one or a few REST calls (docs/api.md) through a
// client::ApiClient and renders the answer, tables for people and the server's JSON with `-o json`
// (`-o jsonl`: a list's items one per line, or the one object on one line).
// Declared here so edl_api_main.cc only wires the command line. Results go to stdout; progress bars,
// hints and warnings to stderr. Used from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/render.h"
#include "client/api_client.h"
#include "core/status.h"

namespace edl::cli::api {

struct ApiOptions {
  std::string url;      // "" = not given
  std::string token;    // "" = not given
  std::string ca_cert;  // "" = not given
  std::string output = "table";  // table | json | jsonl
  OutputFormat format() const {
    return output == "json" ? OutputFormat::kJson : output == "jsonl" ? OutputFormat::kJsonLines : OutputFormat::kTable;
  }
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

// ---- access control (docs/security.md) ----

// Principals are written "user:NAME" or "group:NAME"; levels "read", "write" or "admin". Both are
// checked by the command line before anything is sent; the server checks them again.

struct GrantQuery {
  std::string dataset;    // "": grants held by `principal` (default: the caller and its groups)
  std::string principal;  // with a dataset: only this principal's grants on it
  bool include_revoked = false;  // only with a dataset
};
Status ListGrants(ApiSession& session, const GrantQuery& query);

struct GrantArgs {
  std::string dataset;
  std::string principal;
  std::string level;
  std::string justification;
  std::optional<int64_t> days;  // none: until revoked (sensitive datasets need it)
};
// Prints the grant or, where the dataset's policy asks for two-person approval, the access request
// that waits for a second admin; both are success.
Status AddGrant(ApiSession& session, const GrantArgs& args);
Status RevokeGrant(ApiSession& session, int64_t id, const std::string& reason);

// The caller asks for `level` on `dataset` for itself; `principal` is ignored.
Status RequestAccess(ApiSession& session, const GrantArgs& args);
struct AccessRequestQuery {
  std::string state;    // "" = every state; pending | approved | denied
  std::string dataset;  // "" = every dataset
};
// The requests the caller may see: its own, and those on datasets it administers.
Status ListAccessRequests(ApiSession& session, const AccessRequestQuery& query);
Status ApproveAccessRequest(ApiSession& session, int64_t id);
Status DenyAccessRequest(ApiSession& session, int64_t id, const std::string& reason);

struct AuditFilter {
  std::string target;     // exact, e.g. "dataset:sales-orders"
  std::string principal;  // the actor, e.g. "user:alice"
  std::string dataset;    // events about the dataset (what a dataset admin may read)
  std::string action;     // exact, or a prefix ending in '.' ("access.")
  std::string since;      // see AuditTime
  std::string until;
  std::string decision;   // "" | allow | deny
  PageLimit limit;
};
// With -o jsonl, events are printed a page at a time as they come (an export of any size).
Status ListAudit(ApiSession& session, const AuditFilter& filter);

// An audit time bound as the server compares it (FormatTimestamp's form, which sorts as text):
// "2026-11-29" (00:00 UTC), "2026-11-29T08:35[:02[.123]]Z", or a time before `now` written as a
// whole number and a unit: "30m", "24h", "7d". InvalidArgument for anything else. Pure.
Result<std::string> AuditTime(std::string_view text, std::chrono::system_clock::time_point now);

}  // namespace edl::cli::api
