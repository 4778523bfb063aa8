// `edl-api`, the user's client for EDL's REST API: parses the command line, connects and calls one
// command of cli/api_commands.h. No HTTP or rendering logic lives here.
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/api_commands.h"
#include "cli/exit_codes.h"
#include "cli/render.h"
#include "cli/run_app.h"

namespace edl::cli::api {
namespace {

// "user:NAME" or "group:NAME", checked before anything is sent; the server checks the name.
const CLI::Validator kPrincipal(
    [](std::string& text) -> std::string {
      for (std::string_view kind : {"user:", "group:"}) {
        if (text.rfind(kind, 0) == 0 && text.size() > kind.size()) return "";
      }
      return "'" + text + "' is not a principal: write user:NAME or group:NAME, e.g. user:alice or group:finance";
    },
    "user:NAME|group:NAME");

// Who did something, as the audit log writes it: "user:alice", "local:root", "system".
const CLI::Validator kActor(
    [](std::string& text) -> std::string {
      if (text == "system" || (text.find(':') != std::string::npos && text.back() != ':')) return "";
      return "'" + text + "' is not an actor: write it as the audit log's ACTOR column does, e.g. user:alice";
    },
    "KIND:NAME");

// Justifications and reasons are for people: blank ones say nothing.
const CLI::Validator kSomeText(
    [](std::string& text) -> std::string {
      return text.find_first_not_of(" \t\r\n") == std::string::npos ? "must say something" : "";
    },
    "");

// Ids and numbers of things: 1, 2, ... (CLI::PositiveNumber's message for "abc" is unreadable).
const CLI::Validator kNumber(
    [](std::string& text) -> std::string {
      bool digits = !text.empty() && text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos;
      if (digits && text.find_first_not_of('0') != std::string::npos) return "";
      return "'" + text + "' is not a whole number from 1 up";
    },
    "");

const CLI::IsMember kLevels({"read", "write", "admin"});

int Main(int argc, char** argv) {
  ApiOptions options;
  CLI::App app{"edl-api: the client for the REST API of EDL, the Enterprise Data Lake.\n"
               "Lists and shows datasets and updates, ingests local files and URLs, follows jobs, asks for\n"
               "and grants access to datasets and, for admins, manages users, groups, tokens and the audit log.\n"
               "Server and token: --url/--token, else EDL_URL/EDL_TOKEN, else ~/.config/edl/config.yaml\n"
               "(keys url, token, ca_cert); the default server is http://127.0.0.1:8080."};
  app.set_version_flag("--version", std::string("edl-api ") + EDL_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command, inherited by every sub-command
  app.add_option("-o,--output", options.output,
                 "Output format: table for people, json for scripts, jsonl for one JSON object per line (a "
                 "list's items, e.g. an audit export)")
      ->check(CLI::IsMember({"table", "json", "jsonl"}));
  app.add_option("--url", options.url, "Server URL (default: $EDL_URL, the config file, http://127.0.0.1:8080)");
  app.add_option("--token", options.token,
                 "API token (default: $EDL_TOKEN, the config file); prefer those: flags show up in `ps`");
  app.add_option("--ca-cert", options.ca_cert, "PEM file of the CA that signed an https server's certificate");
  app.footer("Global options may also follow the command (edl-api jobs -o json). Run 'edl-api COMMAND -h'\n"
             "for a command's options. Exit codes: 0 ok, 1 server or internal error, 2 bad command line,\n"
             "3 invalid input, 4 not found, 5 already exists, 6 conflict, 7 permission denied (also a\n"
             "missing or refused token), 8 server unreachable or unavailable (docs/cli.md).");

  // Each command connects when it runs, so `-h` works without a server or a token.
  Status result;
  auto run = [&](std::function<Status(ApiSession&)> command) {
    return [&options, &result, command = std::move(command)] {
      Result<std::unique_ptr<client::ApiClient>> connected = Connect(options);
      if (!connected.ok()) {
        result = connected.status();
        return;
      }
      ApiSession session{**connected, options.format()};
      result = command(session);
    };
  };
  auto group = [&](const std::string& name, const std::string& description) {
    CLI::App* sub = app.add_subcommand(name, description);
    sub->require_subcommand(1);
    return sub;
  };

  // ---- datasets and updates ----
  DatasetFilter dataset_filter;
  auto* datasets = app.add_subcommand("datasets", "List the datasets you may read");
  datasets->add_option("--tier", dataset_filter.tier, "Only this tier")
      ->check(CLI::IsMember({"internal", "restricted", "sensitive"}));
  datasets->add_option("--owner", dataset_filter.owner, "Only datasets this user owns");
  datasets->add_option("--name", dataset_filter.name, "Only names starting with this");
  datasets->add_option("--search", dataset_filter.search, "Case-insensitive search in name and description");
  datasets->add_option("--limit", dataset_filter.limit, "List at most this many (default: all)")
      ->check(CLI::Range(1, 1000));
  datasets->callback(run([&](ApiSession& s) { return ListDatasets(s, dataset_filter); }));

  std::string dataset_name;
  auto* dataset = group("dataset", "Show one dataset");
  auto* dataset_show = dataset->add_subcommand("show", "Show a dataset: tier, owners, policy, update convention, QC");
  dataset_show->add_option("DATASET", dataset_name, "Dataset name")->required();
  dataset_show->callback(run([&](ApiSession& s) { return ShowDataset(s, dataset_name); }));

  auto* updates = app.add_subcommand("updates", "List the updates of a dataset, in every state");
  updates->add_option("DATASET", dataset_name, "Dataset name")->required();
  updates->callback(run([&](ApiSession& s) { return ListUpdates(s, dataset_name); }));

  int64_t update_number = 0;
  auto* update = group("update", "Show one update");
  auto* update_show = update->add_subcommand("show", "Show an update: sources, files, schema, statistics, QC");
  update_show->add_option("DATASET", dataset_name, "Dataset name")->required();
  update_show->add_option("N", update_number, "Update number")->required()->check(kNumber);
  update_show->callback(run([&](ApiSession& s) { return ShowUpdate(s, dataset_name, update_number); }));

  IngestArgs ingest_args;
  auto* ingest = app.add_subcommand("ingest", "Ingest local files or URLs into a new update of a dataset");
  ingest->footer(
      "Local files, folders (recursively, without hidden files) and globs are uploaded first, with a\n"
      "progress bar on a terminal; https:// URLs, drop: and upload:<id> are read by the server. Then an\n"
      "ingest job is queued and its id printed. With --wait, edl-api follows the job and exits with its\n"
      "outcome: 0 succeeded, 3 failed (the reason is printed), 6 cancelled. Ctrl-C stops waiting, not\n"
      "the job.\n\n"
      "Examples:\n"
      "  edl-api ingest sales-orders orders-2026-01.csv --wait\n"
      "  edl-api ingest sales-orders ./exports/ 'more/*.csv' https://example.com/orders.csv\n"
      "  edl-api ingest sales-orders drop: --kind delta");
  ingest->add_option("DATASET", ingest_args.dataset, "Dataset name")->required();
  ingest->add_option("SOURCE", ingest_args.sources,
                     "Local file, folder or glob; https:// URL; drop: for the dataset's drop bucket; upload:<id>")
      ->required();
  ingest->add_option("--kind", ingest_args.kind, "Update kind (default: the dataset's)")
      ->check(CLI::IsMember({"snapshot", "delta"}));
  ingest->add_option("--format", ingest_args.format, "Raw format (default: the dataset's, else detected)")
      ->check(CLI::IsMember({"csv", "tsv", "json", "ndjson", "parquet"}));
  ingest->add_flag("--wait", ingest_args.wait, "Wait for the job, showing its phase and progress");
  ingest->callback(run([&](ApiSession& s) { return Ingest(s, ingest_args); }));

  // ---- jobs ----
  JobFilter job_filter;
  auto* jobs = app.add_subcommand("jobs", "List jobs: yours, or everyone's for admins");
  jobs->add_option("--state", job_filter.state, "Only jobs in this state")
      ->check(CLI::IsMember({"queued", "running", "succeeded", "failed", "cancelled"}));
  jobs->add_option("--dataset", job_filter.dataset, "Only jobs on this dataset");
  jobs->add_option("--limit", job_filter.limit, "List at most this many (default: all)")->check(CLI::Range(1, 1000));
  jobs->callback(run([&](ApiSession& s) { return ListJobs(s, job_filter); }));

  int64_t job_id = 0;
  bool follow = false;
  auto* job = group("job", "Show, follow or cancel one job");
  auto* job_show = job->add_subcommand("show", "Show a job: state, progress, result or error");
  job_show->add_option("ID", job_id, "Job id")->required()->check(kNumber);
  job_show->callback(run([&](ApiSession& s) { return ShowJob(s, job_id); }));
  auto* job_logs = job->add_subcommand("logs", "Print a job's log");
  job_logs->add_option("ID", job_id, "Job id")->required()->check(kNumber);
  job_logs->add_flag("-f,--follow", follow,
                     "Keep printing lines until the job finishes, then exit with its outcome like ingest --wait");
  job_logs->callback(run([&](ApiSession& s) { return ShowJobLogs(s, job_id, follow); }));
  auto* job_cancel = job->add_subcommand("cancel", "Cancel a queued or running job");
  job_cancel->add_option("ID", job_id, "Job id")->required()->check(kNumber);
  job_cancel->callback(run([&](ApiSession& s) { return CancelJob(s, job_id); }));

  auto* whoami = app.add_subcommand(
      "whoami", "Show who the token belongs to, their groups, the token's expiry and their roles, with where each comes from");
  whoami->callback(run([&](ApiSession& s) { return Whoami(s); }));

  // ---- admin: users, groups, tokens, audit ----
  auto* users = group("users", "List, add and show users (admins)");
  users->add_subcommand("list", "List users")->callback(run([&](ApiSession& s) { return ListUsers(s); }));
  NewUser new_user;
  bool no_employee = false;
  auto* users_add = users->add_subcommand("add", "Add a user; they join the group employees unless --no-employee");
  users_add->add_option("NAME", new_user.name, "User name")->required();
  users_add->add_option("--group", new_user.groups, "Also join this group (repeatable)");
  users_add->add_flag("--admin", new_user.admin, "Make the user an instance admin");
  users_add->add_flag("--no-employee", no_employee, "Do not join the group employees");
  users_add->callback(run([&](ApiSession& s) {
    new_user.employee = !no_employee;
    return AddUser(s, new_user);
  }));
  std::string user_name;
  auto* users_show = users->add_subcommand("show", "Show a user and their groups (admins, or the user)");
  users_show->add_option("NAME", user_name, "User name")->required();
  users_show->callback(run([&](ApiSession& s) { return ShowUser(s, user_name); }));

  std::string group_name;
  auto* groups = group("groups", "Change group membership (admins)");
  auto* add_member = groups->add_subcommand("add-member", "Add a user to a group");
  add_member->add_option("GROUP", group_name, "Group name")->required();
  add_member->add_option("USER", user_name, "User name")->required();
  add_member->callback(run([&](ApiSession& s) { return SetGroupMember(s, group_name, user_name, true); }));
  auto* remove_member = groups->add_subcommand("remove-member", "Remove a user from a group");
  remove_member->add_option("GROUP", group_name, "Group name")->required();
  remove_member->add_option("USER", user_name, "User name")->required();
  remove_member->callback(run([&](ApiSession& s) { return SetGroupMember(s, group_name, user_name, false); }));

  auto* tokens = group("tokens", "List, create and revoke API tokens");
  std::string token_user;
  auto* tokens_list = tokens->add_subcommand("list", "List tokens (without secrets): yours, or a user's for admins");
  tokens_list->add_option("--user", token_user, "Whose tokens (admins)");
  tokens_list->callback(run([&](ApiSession& s) { return ListTokens(s, token_user); }));
  NewToken new_token;
  auto* tokens_create = tokens->add_subcommand(
      "create", "Create a token and print its secret, once, alone on stdout (the rest goes to stderr)");
  tokens_create->add_option("--user", new_token.user, "For this user (admins; default: you)");
  tokens_create->add_option("--description", new_token.description, "What the token is for");
  tokens_create->add_option("--expires-in-days", new_token.expires_in_days, "Expire after this many days")
      ->check(kNumber);
  tokens_create->callback(run([&](ApiSession& s) { return CreateToken(s, new_token); }));
  int64_t token_id = 0;
  auto* tokens_revoke = tokens->add_subcommand("revoke", "Revoke a token: it stops working at once");
  tokens_revoke->add_option("ID", token_id, "Token id")->required()->check(kNumber);
  tokens_revoke->callback(run([&](ApiSession& s) { return RevokeToken(s, token_id); }));

  // ---- access: grants and requests ----
  auto* grants = group("grants", "List, add and revoke grants of dataset roles");
  GrantQuery grant_query;
  auto* grants_list = grants->add_subcommand(
      "list", "List grants: a dataset's (its admins), else your own and your groups' (admins: --principal's)");
  auto* grants_dataset = grants_list->add_option("--dataset", grant_query.dataset, "The grants on this dataset");
  grants_list->add_option("--principal", grant_query.principal, "Only this principal's grants (user:NAME or group:NAME)")
      ->check(kPrincipal);
  grants_list->add_flag("--include-revoked", grant_query.include_revoked, "Also revoked grants")->needs(grants_dataset);
  grants_list->callback(run([&](ApiSession& s) { return ListGrants(s, grant_query); }));

  GrantArgs grant_args;
  auto* grants_add = grants->add_subcommand("add", "Grant a role on a dataset to a user or group (the dataset's admins)");
  grants_add->footer(
      "Sensitive datasets: users only, with --justification and --days up to the dataset's\n"
      "max_grant_days, and never to yourself. Where the dataset's policy asks for two-person approval,\n"
      "the grant becomes an access request that a second admin approves (`edl-api access approve ID`);\n"
      "edl-api prints its id and exits 0.\n\n"
      "Examples:\n"
      "  edl-api grants add sales-orders group:finance --level read\n"
      "  edl-api grants add patients user:bob --level read --days 30 --justification \"ticket 1234\"");
  grants_add->add_option("DATASET", grant_args.dataset, "Dataset name")->required();
  grants_add->add_option("PRINCIPAL", grant_args.principal, "Who gets it: user:NAME or group:NAME")
      ->required()
      ->check(kPrincipal);
  grants_add->add_option("--level", grant_args.level, "read, write or admin")->required()->check(kLevels);
  grants_add->add_option("--justification", grant_args.justification, "Why (required on sensitive datasets)")
      ->check(kSomeText);
  grants_add->add_option("--days", grant_args.days, "Expire after this many days (default: never; 1 to 3650)")
      ->check(CLI::Range(1, 3650));
  grants_add->callback(run([&](ApiSession& s) { return AddGrant(s, grant_args); }));

  int64_t grant_id = 0;
  std::string revoke_reason;
  auto* grants_revoke = grants->add_subcommand("revoke", "Revoke a grant: it stops working at once");
  grants_revoke->add_option("ID", grant_id, "Grant id (from grants list)")->required()->check(kNumber);
  grants_revoke->add_option("--reason", revoke_reason, "Why, for the audit log")->check(kSomeText);
  grants_revoke->callback(run([&](ApiSession& s) { return RevokeGrant(s, grant_id, revoke_reason); }));

  auto* access = group("access", "Ask for access to a dataset; its admins approve or deny");
  GrantArgs request_args;
  auto* access_request = access->add_subcommand("request", "Ask for a role on a dataset for yourself");
  access_request->footer("Example:\n"
                         "  edl-api access request sales-orders --level read --days 30 --justification \"Q3 report\"");
  access_request->add_option("DATASET", request_args.dataset, "Dataset name")->required();
  access_request->add_option("--level", request_args.level, "read, write or admin")->required()->check(kLevels);
  access_request->add_option("--justification", request_args.justification, "Why you need it, for the dataset's admins")
      ->required()
      ->check(kSomeText);
  access_request->add_option("--days", request_args.days,
                             "How long the grant should last (default: until revoked; sensitive datasets need it)")
      ->check(CLI::Range(1, 3650));
  access_request->callback(run([&](ApiSession& s) { return RequestAccess(s, request_args); }));

  AccessRequestQuery request_query;
  auto* access_pending = access->add_subcommand(
      "pending", "List pending requests: yours, and those on datasets you administer");
  access_pending->add_option("--dataset", request_query.dataset, "Only requests on this dataset");
  access_pending->callback(run([&](ApiSession& s) {
    request_query.state = "pending";
    return ListAccessRequests(s, request_query);
  }));
  auto* access_list = access->add_subcommand(
      "list", "List requests in every state: yours, and those on datasets you administer");
  access_list->add_option("--state", request_query.state, "Only requests in this state")
      ->check(CLI::IsMember({"pending", "approved", "denied"}));
  access_list->add_option("--dataset", request_query.dataset, "Only requests on this dataset");
  access_list->callback(run([&](ApiSession& s) { return ListAccessRequests(s, request_query); }));

  int64_t request_id = 0;
  auto* access_approve = access->add_subcommand(
      "approve", "Approve a request (an admin of the dataset other than the requester); the grant is made");
  access_approve->add_option("ID", request_id, "Access request id")->required()->check(kNumber);
  access_approve->callback(run([&](ApiSession& s) { return ApproveAccessRequest(s, request_id); }));
  std::string deny_reason;
  auto* access_deny = access->add_subcommand("deny", "Deny a request, telling the requester why");
  access_deny->add_option("ID", request_id, "Access request id")->required()->check(kNumber);
  access_deny->add_option("--reason", deny_reason, "Why, for the requester")->required()->check(kSomeText);
  access_deny->callback(run([&](ApiSession& s) { return DenyAccessRequest(s, request_id, deny_reason); }));

  AuditFilter audit_filter;
  auto* audit = app.add_subcommand(
      "audit", "List the audit log, oldest first (admins; a dataset's admins with --dataset)");
  audit->footer(
      "Times are UTC: 2026-11-29, 2026-11-29T08:35:00Z, or how long ago: 30m, 24h, 7d. --since is\n"
      "inclusive, --until exclusive. `-o jsonl` exports one event per line, written as it comes.\n\n"
      "Examples:\n"
      "  edl-api audit --dataset sales-orders --decision deny --since 7d\n"
      "  edl-api audit --action access. --since 2026-11-01 --until 2026-12-01 -o jsonl > audit.jsonl");
  audit->add_option("--target", audit_filter.target, "Only events about this target, e.g. dataset:sales-orders");
  audit->add_option("--principal", audit_filter.principal, "Only events by this actor, e.g. user:alice")
      ->check(kActor);
  audit->add_option("--dataset", audit_filter.dataset, "Only events about this dataset and its roles");
  audit->add_option("--action", audit_filter.action,
                    "Only this action (grant.add), or actions starting with a prefix ending in '.' (access.)");
  audit->add_option("--since", audit_filter.since, "Only events at or after this time");
  audit->add_option("--until", audit_filter.until, "Only events before this time");
  audit->add_option("--decision", audit_filter.decision, "Only access decisions that were allowed, or denied")
      ->check(CLI::IsMember({"allow", "deny"}));
  audit->add_option("--limit", audit_filter.limit, "List at most this many (default: all)")->check(CLI::Range(1, 1000));
  audit->callback(run([&](ApiSession& s) { return ListAudit(s, audit_filter); }));

  return ParseAndRun(app, argc, argv, result, "edl-api", [&] { return options.format(); });
}

}  // namespace
}  // namespace edl::cli::api

int main(int argc, char** argv) {
  try {
    return edl::cli::api::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "edl-api: internal error: " << e.what() << "\n";
    return edl::cli::ExitCodeFor(edl::StatusCode::kInternal);
  }
}
