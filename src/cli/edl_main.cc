// `edl`, the operator program: parses the command line, opens the lake through the composition
// root and calls one service per command. No policy or storage logic lives here.
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/render.h"
#include "cli/run_app.h"
#include "core/clock.h"
#include "engine/engine.h"

namespace edl::cli {
namespace {

int Main(int argc, char** argv) {
  SystemClock clock;
  GlobalOptions options;
  CLI::App app{"edl: the operator program of EDL, the Enterprise Data Lake.\n"
               "Deploys an instance and its datasets from config files and administers them."};
  app.set_version_flag("--version", fmt::format("edl {} (DuckDB {})", EDL_VERSION, EngineVersion()));
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("-c,--config", options.config_path, "Instance config file (default: $EDL_CONFIG, else ./edl.yaml)");
  app.add_option("-o,--output", options.output, "Output format")->check(CLI::IsMember({"table", "json"}));

  Status result;
  bool plan_only = false;
  auto* deploy = app.add_subcommand("deploy", "Deploy the instance: buckets, drop buckets, default role, catalog schema");
  deploy->add_flag("--plan", plan_only, "Show what would change and change nothing");
  deploy->callback([&] { result = RunDeploy(options, plan_only, clock); });

  std::vector<std::string> files;
  auto* deploy_dataset = app.add_subcommand("deploy-dataset", "Create or update datasets from dataset files, with their roles");
  deploy_dataset->add_option("FILE", files, "Dataset file(s) (YAML)")->required();
  deploy_dataset->add_flag("--plan", plan_only, "Show what would change and change nothing");
  deploy_dataset->callback([&] { result = RunDeployDataset(options, files, plan_only, clock); });

  auto* datasets = app.add_subcommand("datasets", "List the datasets of the instance");
  datasets->callback([&] { result = RunDatasets(options, clock); });

  std::string dataset_name;
  auto* show = app.add_subcommand("show", "Show one dataset: policy, bucket, roles, grants");
  show->add_option("DATASET", dataset_name, "Dataset name")->required();
  show->callback([&] { result = RunShow(options, dataset_name, clock); });

  std::string audit_target;
  int64_t audit_limit = 100;
  auto* audit = app.add_subcommand("audit", "List the audit log, or verify its hash chain");
  audit->add_option("--target", audit_target, "Only events about this target, e.g. dataset:sales-orders");
  audit->add_option("--limit", audit_limit, "Most events to list")->check(CLI::Range(1, 100000));
  audit->callback([&] {
    if (audit->get_subcommands().empty()) result = RunAudit(options, audit_target, audit_limit, clock);
  });
  auto* verify = audit->add_subcommand("verify", "Recompute the audit log's hash chain and report tampering");
  verify->callback([&] { result = RunAuditVerify(options, clock); });

  IngestFlags ingest_flags;
  auto* ingest = app.add_subcommand("ingest", "Ingest files into a new update of a dataset");
  ingest->add_option("DATASET", ingest_flags.dataset, "Dataset name")->required();
  ingest->add_option("SOURCE", ingest_flags.sources,
                     "File, folder, glob, file:// or http(s):// URL, or drop: for the dataset's drop bucket")
      ->required();
  ingest->add_option("--kind", ingest_flags.kind, "Update kind (default: the dataset's)")
      ->check(CLI::IsMember({"snapshot", "delta"}));
  ingest->add_option("--format", ingest_flags.format, "Raw format (default: the dataset's, else detected)")
      ->check(CLI::IsMember({"csv", "tsv", "json", "ndjson", "parquet"}));
  ingest->callback([&] { result = RunIngest(options, ingest_flags, clock); });

  std::string updates_dataset;
  auto* updates = app.add_subcommand("updates", "List the updates of a dataset");
  updates->add_option("DATASET", updates_dataset, "Dataset name")->required();
  updates->callback([&] { result = RunUpdates(options, updates_dataset, clock); });

  std::string update_dataset;
  int64_t update_number = 0;
  auto* update = app.add_subcommand("update", "Show one update: files, schema, statistics, QC, sources");
  update->add_option("DATASET", update_dataset, "Dataset name")->required();
  update->add_option("N", update_number, "Update number")->required()->check(CLI::PositiveNumber);
  update->callback([&] { result = RunUpdate(options, update_dataset, update_number, clock); });

  auto* recover = app.add_subcommand("recover", "Clean up after crashed ingests (also runs at server start)");
  recover->callback([&] { result = RunRecover(options, clock); });

  std::optional<int64_t> gc_days;
  auto* gc = app.add_subcommand("gc", "Remove the files of failed updates older than ingest.keep_failed_days");
  gc->add_option("--older-than-days", gc_days, "Override ingest.keep_failed_days")->check(CLI::NonNegativeNumber);
  gc->callback([&] { result = RunGc(options, gc_days, clock); });

  std::string http_override;
  auto* serve = app.add_subcommand("serve", "Run the server: the REST API (docs/api.md) and job workers, until SIGTERM");
  serve->add_option("--http", http_override, "Listen on HOST:PORT instead of server.http (port 0: any free port)");
  serve->callback([&] { result = RunServe(options, http_override, clock); });

  auto* worker = app.add_subcommand("worker", "Run job workers without the HTTP front end, until SIGTERM");
  worker->callback([&] { result = RunWorker(options, clock); });

  UserFlags user_flags;
  auto* users = app.add_subcommand("users", "Manage the server's users");
  users->require_subcommand(1);
  auto* users_add = users->add_subcommand("add", "Add a user (joins the group employees unless --no-employee)");
  users_add->add_option("NAME", user_flags.name, "User name ([a-z0-9][a-z0-9._-]*)")->required();
  users_add->add_option("--group", user_flags.groups, "A group to join (repeatable)");
  users_add->add_flag("--admin", user_flags.admin, "Make the user an instance admin");
  users_add->add_flag("--no-employee", user_flags.no_employee, "Do not join the group employees (no internal-read)");
  users_add->callback([&] { result = RunUsersAdd(options, user_flags, clock); });
  auto* users_list = users->add_subcommand("list", "List users with their groups");
  users_list->callback([&] { result = RunUsersList(options, clock); });

  TokenFlags token_flags;
  std::string tokens_user;
  int64_t token_id = 0;
  auto* tokens = app.add_subcommand("tokens", "Manage API tokens");
  tokens->require_subcommand(1);
  auto* tokens_create = tokens->add_subcommand("create", "Create a token for a user and print it (shown only once)");
  tokens_create->add_option("USER", token_flags.user, "User name")->required();
  tokens_create->add_option("--description", token_flags.description, "What the token is for");
  tokens_create->add_option("--expires-in-days", token_flags.expires_in_days, "Expire after this many days (1-3650)")
      ->check(CLI::Range(1, 3650));
  tokens_create->callback([&] { result = RunTokensCreate(options, token_flags, clock); });
  auto* tokens_list = tokens->add_subcommand("list", "List tokens (never their secrets)");
  tokens_list->add_option("USER", tokens_user, "Only this user's tokens");
  tokens_list->callback([&] { result = RunTokensList(options, tokens_user, clock); });
  auto* tokens_revoke = tokens->add_subcommand("revoke", "Revoke a token; requests with it fail from now on");
  tokens_revoke->add_option("ID", token_id, "Token id (from `edl tokens list`)")->required()->check(CLI::PositiveNumber);
  tokens_revoke->callback([&] { result = RunTokensRevoke(options, token_id, clock); });

  return ParseAndRun(app, argc, argv, result, "edl", [&] { return options.format(); });
}

}  // namespace
}  // namespace edl::cli

int main(int argc, char** argv) {
  try {
    return edl::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "edl: internal error: " << e.what() << "\n";
    return edl::cli::ExitCodeFor(edl::StatusCode::kInternal);
  }
}
