// ApiServer: the REST frontend of `edl serve` (docs/api.md). Parses HTTP requests, authenticates
// the bearer token, asks the Authorizer, calls one service and renders JSON; errors become one JSON
// shape with the status from the error table. No policy, SQL or file paths live here. The server
// borrows every service (they must outlive it); routes answered from memory run on the transport's
// event loops, all others on a bounded thread pool (server.threads). Start/Stop may be called from
// any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace edl {

class Authorizer;
class Catalog;
class GrantService;
class Clock;
class JobService;
class UploadStore;
class UserDirectory;
class WorkerPool;

struct ApiServices {
  const InstanceConfig& config;
  Catalog& catalog;
  UserDirectory& users;
  Authorizer& authorizer;
  GrantService& grants;
  JobService& jobs;
  UploadStore& uploads;
  const Clock& clock;
  const WorkerPool* workers = nullptr;  // for /readyz and /metrics; null when the server runs none
};

// One route of the API, as the OpenAPI document names it: "GET", "/v1/datasets/{name}".
struct RouteInfo {
  std::string method;
  std::string path;
};
std::vector<RouteInfo> ApiRoutes();
// The OpenAPI 3 document served at /v1/openapi.json.
std::string_view OpenApiDocument();

class ApiServer {
 public:
  // How old the catalog epochs a request is checked against may be (Catalog::RecentEpochs): a
  // revocation, expiry of a cache or new update committed by another process (the CLI, a second
  // server) reaches this server's requests at most this long after its commit; one committed by
  // this server, at once. It spares each request a catalog read transaction (docs/security.md).
  static constexpr std::chrono::microseconds kCatalogEpochsMaxAge{1000};

  static Result<std::unique_ptr<ApiServer>> Create(const ApiServices& services, const ServerConfig& config);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds "host:port" (port 0 picks a free one) and returns the port. Unavailable when taken.
  Result<int> Bind(const std::string& address);
  // Serves until Stop(); returns then. Call after Bind.
  Status Serve();
  // Stops accepting and ends Serve(); requests in flight finish.
  void Stop();
  // "http" or "https".
  std::string Scheme() const;

 private:
  ApiServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edl
