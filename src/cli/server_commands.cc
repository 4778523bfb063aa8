// `edl serve`, `edl worker`, `edl users …`, `edl tokens …`: the server's wiring and its local
// administration. Signals: SIGTERM and SIGINT are blocked in every thread and taken by one waiting
// thread, which stops the HTTP server; running jobs then get server.shutdown_grace_seconds.
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pthread.h>

#include "access/access.h"
#include "access/audit_writer.h"
#include "access/authorizer.h"
#include "access/grants.h"
#include "catalog/catalog.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/serialize.h"
#include "deploy/inventory.h"
#include "http/api_server.h"
#include "ingest/ingest.h"
#include "ingest/uploads.h"
#include "jobs/jobs.h"
#include "lake/lake.h"
#include "storage/object_store.h"

namespace edl::cli {
namespace {

using nlohmann::json;

// Blocks the stop signals in this thread (and so in every thread started after) and returns them.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int WaitForStopSignal(const sigset_t& signals) {
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

// Everything `edl serve` and `edl worker` run on, built once from the config.
struct ServerParts {
  std::unique_ptr<Lake> lake;
  std::unique_ptr<UploadStore> uploads;
  std::unique_ptr<UserDirectory> users;
  std::unique_ptr<AuditWriter> audit;  // outlives the authorizer: written to the end
  std::unique_ptr<Authorizer> authorizer;
  std::unique_ptr<GrantService> grants;
  std::unique_ptr<JobService> jobs;
  std::unique_ptr<WorkerPool> workers;  // null when jobs.workers is 0
};

Result<ServerParts> BuildServerParts(const InstanceConfig& config, const Clock& clock, bool with_workers) {
  ServerParts parts;
  ASSIGN_OR_RETURN(parts.lake, OpenDeployedLake(config, clock));
  if (parts.lake->store == nullptr) {
    return Unavailable(fmt::format("storage root '{}' does not exist; run `edl deploy` first", config.storage.root));
  }
  Catalog& catalog = *parts.lake->catalog;
  IngestSettings ingest = IngestSettingsFor(config);
  // Clean up after a crashed predecessor before taking new work.
  ASSIGN_OR_RETURN(RecoveryReport report, Recover(catalog, *parts.lake->store, clock, ingest));
  for (const std::string& update : report.failed_updates) {
    std::cerr << fmt::format("edl: recovered: marked {} failed (its ingest had stopped)\n", update);
  }
  parts.uploads = std::make_unique<UploadStore>(ingest.uploads_root, clock);
  ASSIGN_OR_RETURN(int64_t old_uploads,
                   parts.uploads->RemoveOlderThan(std::chrono::hours(24) * config.ingest.keep_failed_days));
  if (old_uploads > 0) std::cerr << fmt::format("edl: removed {} upload(s) older than ingest.keep_failed_days\n", old_uploads);
  // Jobs come from API users: their HTTP sources may not reach this server's own networks.
  ingest.fetch.refuse_private_addresses = !config.ingest.allow_private_addresses;
  parts.users = std::make_unique<UserDirectory>(catalog, clock);
  AuditWriterOptions audit_options;
  audit_options.on_error = [](const Status& status) {
    std::cerr << fmt::format("edl: the audit log refused a batch of access decisions (kept, retrying): {}\n",
                             status.message());
  };
  parts.audit = std::make_unique<AuditWriter>(catalog, audit_options);
  parts.authorizer = std::make_unique<Authorizer>(catalog, clock, parts.audit.get());
  parts.grants = std::make_unique<GrantService>(catalog, clock, *parts.authorizer);
  parts.jobs = std::make_unique<JobService>(catalog, *parts.uploads, clock, config.jobs);
  if (with_workers && config.jobs.workers > 0) {
    WorkerSettings settings = WorkerSettingsFor(config);
    // Jobs run with their creator's rights as they stand when the job starts, not as they stood
    // when it was queued.
    settings.authorize = [users = parts.users.get(), authorizer = parts.authorizer.get(), &catalog](
                             const JobRecord& job, const std::string& dataset) -> Status {
      if (job.created_by.rfind("user:", 0) != 0) return Status::Ok();  // queued by an operator on the host
      ASSIGN_OR_RETURN(UserRecord user, users->GetUser(job.created_by.substr(5)));
      if (user.disabled) return PermissionDenied(fmt::format("user '{}' is disabled", user.name));
      Identity identity;
      identity.user = user.name;
      identity.admin = user.admin;
      identity.groups = user.groups;
      ASSIGN_OR_RETURN(AccessScope scope, authorizer->ScopeFor(identity));
      ASSIGN_OR_RETURN(DatasetSummary summary, GetDatasetSummary(catalog, dataset));
      return authorizer->Require(scope, summary.record, DatasetAction::kWrite,
                                 {fmt::format("job:{}", job.id), "ingest.run"});
    };
    parts.workers = std::make_unique<WorkerPool>(config, catalog, *parts.lake->store, *parts.uploads, clock, ingest,
                                                 std::move(settings));
    RETURN_IF_ERROR(parts.workers->Start());
  }
  return parts;
}

}  // namespace

Status RunServe(const GlobalOptions& options, const std::string& http_override, const Clock& clock) {
  sigset_t signals = BlockStopSignals();
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  if (!http_override.empty()) config.server.http = http_override;
  ASSIGN_OR_RETURN(ServerParts parts, BuildServerParts(config, clock, /*with_workers=*/true));
  ApiServices services{config,        *parts.lake->catalog, *parts.users,   *parts.authorizer,
                       *parts.grants, *parts.jobs,          *parts.uploads,
                       clock, parts.workers.get()};
  ASSIGN_OR_RETURN(std::unique_ptr<ApiServer> server, ApiServer::Create(services, config.server));
  ASSIGN_OR_RETURN(int port, server->Bind(config.server.http));
  std::string host = config.server.http.substr(0, config.server.http.rfind(':'));
  std::cout << fmt::format("edl: serving {}://{}:{} (instance {}, {} job workers)", server->Scheme(), host, port,
                           config.instance, parts.workers ? config.jobs.workers : 0)
            << std::endl;

  // The stop sequence: stop accepting, stop leasing and give running jobs the grace, then wait a
  // little for requests in flight; a client that keeps a request open longer is cut off.
  std::atomic<bool> serve_done{false};
  std::thread stopper([&] {
    int signal = WaitForStopSignal(signals);
    if (!serve_done.load()) {
      std::cerr << fmt::format("edl: {} received: no new requests; running jobs have {} s to finish\n",
                               signal == SIGTERM ? "SIGTERM" : "SIGINT", config.server.shutdown_grace_seconds);
    }
    server->Stop();
    if (parts.workers) parts.workers->Stop(std::chrono::seconds(config.server.shutdown_grace_seconds));
    // Stop() before Serve() began listening does nothing: repeat until Serve() has returned.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!serve_done.load()) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::cerr << "edl: requests still open 10 s after the jobs stopped; closing them and exiting\n";
        std::_Exit(0);
      }
      server->Stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  Status served = server->Serve();
  serve_done.store(true);
  if (!served.ok()) {
    // Wake the signal thread so it can be joined.
    pthread_kill(stopper.native_handle(), SIGTERM);
  }
  stopper.join();
  std::cerr << "edl: stopped\n";
  return served;
}

Status RunWorker(const GlobalOptions& options, const Clock& clock) {
  sigset_t signals = BlockStopSignals();
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  if (config.jobs.workers < 1) return InvalidArgument("jobs.workers is 0: `edl worker` would run no worker");
  ASSIGN_OR_RETURN(ServerParts parts, BuildServerParts(config, clock, /*with_workers=*/true));
  std::cout << fmt::format("edl: {} job workers running (instance {})", config.jobs.workers, config.instance)
            << std::endl;
  int signal = WaitForStopSignal(signals);
  std::cerr << fmt::format("edl: {} received: running jobs have {} s to finish\n",
                           signal == SIGTERM ? "SIGTERM" : "SIGINT", config.server.shutdown_grace_seconds);
  parts.workers->Stop(std::chrono::seconds(config.server.shutdown_grace_seconds));
  std::cerr << "edl: stopped\n";
  return Status::Ok();
}

namespace {

Result<std::unique_ptr<Lake>> OpenForUsers(const GlobalOptions& options, const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  return OpenDeployedLake(config, clock);
}

void PrintUsers(const std::vector<UserRecord>& users) {
  std::vector<std::vector<std::string>> rows;
  for (const UserRecord& u : users) {
    rows.push_back({u.name, u.admin ? "yes" : "", u.disabled ? "yes" : "", Join(u.groups), u.created_at});
  }
  PrintTable(std::cout, {"USER", "ADMIN", "DISABLED", "GROUPS", "CREATED"}, rows);
}

}  // namespace

Status RunUsersAdd(const GlobalOptions& options, const UserFlags& flags, const Clock& clock) {
  ASSIGN_OR_RETURN(auto lake, OpenForUsers(options, clock));
  UserDirectory users(*lake->catalog, clock);
  NewUser request{flags.name, flags.groups, flags.admin, !flags.no_employee};
  ASSIGN_OR_RETURN(UserRecord user, users.AddUser(request, LocalActor()));
  if (options.format() == OutputFormat::kJson) {
    PrintJson(std::cout, ToJson(user));
  } else {
    std::cout << fmt::format("Added user {}{} (groups: {}).\n", user.name, user.admin ? " (admin)" : "",
                             user.groups.empty() ? "none" : Join(user.groups));
    std::cout << fmt::format("Create a token for it with: edl tokens create {}\n", user.name);
  }
  return Status::Ok();
}

Status RunUsersList(const GlobalOptions& options, const Clock& clock) {
  ASSIGN_OR_RETURN(auto lake, OpenForUsers(options, clock));
  ASSIGN_OR_RETURN(std::vector<UserRecord> users, UserDirectory(*lake->catalog, clock).ListUsers());
  if (options.format() == OutputFormat::kJson) {
    json out = json::array();
    for (const UserRecord& u : users) out.push_back(ToJson(u));
    PrintJson(std::cout, out);
  } else {
    PrintUsers(users);
  }
  return Status::Ok();
}

Status RunTokensCreate(const GlobalOptions& options, const TokenFlags& flags, const Clock& clock) {
  ASSIGN_OR_RETURN(auto lake, OpenForUsers(options, clock));
  UserDirectory users(*lake->catalog, clock);
  ASSIGN_OR_RETURN(IssuedToken issued,
                   users.CreateToken(flags.user, flags.description, flags.expires_in_days, LocalActor()));
  if (options.format() == OutputFormat::kJson) {
    json out = ToJson(issued.record);
    out["token"] = issued.secret;
    PrintJson(std::cout, out);
  } else {
    // The secret alone on stdout, so `TOKEN=$(edl tokens create alice)` works; the rest on stderr.
    std::cout << issued.secret << "\n";
    std::cerr << fmt::format("Token {} for user {}{}. It is shown only this once; store it now.\n", issued.record.id,
                             issued.record.user,
                             issued.record.expires_at ? ", expires " + *issued.record.expires_at : ", never expires");
  }
  return Status::Ok();
}

Status RunTokensList(const GlobalOptions& options, const std::string& user, const Clock& clock) {
  ASSIGN_OR_RETURN(auto lake, OpenForUsers(options, clock));
  UserDirectory users(*lake->catalog, clock);
  ASSIGN_OR_RETURN(std::vector<TokenRecord> tokens,
                   users.ListTokens(user.empty() ? std::nullopt : std::optional<std::string_view>(user)));
  if (options.format() == OutputFormat::kJson) {
    json out = json::array();
    for (const TokenRecord& t : tokens) out.push_back(ToJson(t));
    PrintJson(std::cout, out);
    return Status::Ok();
  }
  std::vector<std::vector<std::string>> rows;
  for (const TokenRecord& t : tokens) {
    rows.push_back({std::to_string(t.id), t.user, t.description, t.created_at, t.expires_at.value_or("never"),
                    t.revoked_at.value_or("")});
  }
  PrintTable(std::cout, {"ID", "USER", "DESCRIPTION", "CREATED", "EXPIRES", "REVOKED"}, rows);
  return Status::Ok();
}

Status RunTokensRevoke(const GlobalOptions& options, int64_t id, const Clock& clock) {
  ASSIGN_OR_RETURN(auto lake, OpenForUsers(options, clock));
  ASSIGN_OR_RETURN(TokenRecord token, UserDirectory(*lake->catalog, clock).RevokeToken(id, LocalActor()));
  if (options.format() == OutputFormat::kJson) {
    PrintJson(std::cout, ToJson(token));
  } else {
    std::cout << fmt::format("Revoked token {} of user {}.\n", token.id, token.user);
  }
  return Status::Ok();
}

}  // namespace edl::cli
