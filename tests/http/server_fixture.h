// Test support for the server: a real `edl serve` process on a loopback port over a temporary
// instance, with an admin and a plain user and their tokens, and a small HTTP client (cpp-httplib)
// to talk to it. The process's stderr (its log) is kept in a file the tests read.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace edl::testing {

// A running `edl serve` (or `edl worker`) process.
class ServerProcess {
 public:
  // Starts `edl -c config <args...>` and, for serve, waits until it prints its URL.
  static std::unique_ptr<ServerProcess> Start(const std::filesystem::path& config, std::vector<std::string> args,
                                              const std::filesystem::path& log_path, bool wait_for_url = true);
  ~ServerProcess();  // SIGKILL if still running

  const std::string& url() const { return url_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends `signal` and waits up to `timeout` for the exit; returns the exit code (128+sig when
  // killed by a signal), or -1 when it did not exit in time.
  int Signal(int signal, std::chrono::seconds timeout = std::chrono::seconds(60));
  bool Running();

 private:
  pid_t pid_ = -1;
  std::string url_;
  int port_ = 0;
};

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  nlohmann::json Json() const { return nlohmann::json::parse(body.empty() ? "null" : body, nullptr, false); }
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// Expects the API's one error shape: `status`, the error `code`, a message containing
// `message_part`, and the response's X-Request-Id repeated in the body.
void ExpectApiError(const Reply& reply, int status, const std::string& code, const std::string& message_part);

// A deployed instance with users `admin` (instance admin) and `alice`, tokens for both, and a
// server on it.
class ServerTest {
 public:
  explicit ServerTest(std::string extra_config = "");
  ~ServerTest();

  void StartServer(std::vector<std::string> extra_args = {});
  void StopServer();

  // Runs the `edl` binary against the instance; returns once its changes reach the server's
  // requests (AwaitOtherProcessChanges).
  CommandResult Edl(std::vector<std::string> args) const;
  // Waits out the server's window for changes another process committed to the catalog (the CLI,
  // sqlite3): twice ApiServer::kCatalogEpochsMaxAge (docs/security.md).
  static void AwaitOtherProcessChanges();
  // Deploys a dataset from YAML text.
  void DeployDataset(const std::string& yaml) const;
  // A new user with a token; returns the token.
  std::string AddUser(const std::string& name, std::vector<std::string> extra = {}) const;

  Reply Get(const std::string& path, const std::string& token) const;
  Reply Send(const std::string& method, const std::string& path, const std::string& token, const std::string& body,
             const std::string& content_type = "application/json",
             const std::map<std::string, std::string>& headers = {}) const;
  // Polls the job until it is finished (or the timeout); returns its last state.
  nlohmann::json WaitForJob(int64_t id, const std::string& token,
                            std::chrono::seconds timeout = std::chrono::seconds(60)) const;
  // Sends raw bytes on a new TCP connection and returns what came back until the server closed it
  // or `wait` passed.
  std::string Raw(const std::string& bytes, std::chrono::milliseconds wait = std::chrono::milliseconds(2000),
                  bool close_after_send = false) const;

  // The request log so far (waits for the 100 ms the server may hold its lines).
  std::string ServerLog() const;

  TempDir dir;
  std::filesystem::path config;
  std::filesystem::path log_path;
  std::string admin_token;
  std::string alice_token;
  std::unique_ptr<ServerProcess> server;
};

}  // namespace edl::testing
