#include "http/server_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "http/api_server.h"

extern char** environ;

namespace edl::testing {

namespace fs = std::filesystem;

std::unique_ptr<ServerProcess> ServerProcess::Start(const fs::path& config, std::vector<std::string> args,
                                                    const fs::path& log_path, bool wait_for_url) {
  auto process = std::make_unique<ServerProcess>();
  // stdout goes to a file next to the log (a pipe would break the server once the test stops reading).
  fs::path out_path = log_path;
  out_path += ".out";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::vector<std::string> argv = {EdlBinary(), "-c", config.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargs;
  for (std::string& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string(*e).rfind("EDL_", 0) != 0) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  int rc = posix_spawn(&process->pid_, cargs[0], &actions, nullptr, cargs.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start edl");
  if (!wait_for_url) return process;
  static const std::regex kUrl(R"((https?)://([0-9.]+):([0-9]+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string out;
  while (std::chrono::steady_clock::now() < deadline) {
    out = ReadFile(out_path);
    std::smatch match;
    if (out.find('\n') != std::string::npos && std::regex_search(out, match, kUrl)) {
      process->url_ = match[0];
      process->port_ = std::stoi(match[3]);
      return process;
    }
    if (!process->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("edl serve printed no URL; stdout: " + out + "; log: " + ReadFile(log_path));
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && Running()) Signal(SIGKILL, std::chrono::seconds(10));
}

bool ServerProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int ServerProcess::Signal(int signal, std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

ServerTest::ServerTest(std::string extra_config) {
  config = dir.WriteFile("edl.yaml", "instance: dev01\nregions: [eu-west-1]\nengine: {memory_limit: 1GB, threads: 1}\n"
                                     "storage: {backend: local, root: ./data}\n" + extra_config);
  log_path = dir.path() / "server.log";
  CommandResult deploy = Edl({"deploy"});
  if (deploy.exit_code != 0) throw std::runtime_error("edl deploy failed: " + deploy.err);
  admin_token = AddUser("admin", {"--admin"});
  alice_token = AddUser("alice");
}

ServerTest::~ServerTest() {
  if (server) server->Signal(SIGKILL, std::chrono::seconds(10));
}

void ServerTest::StartServer(std::vector<std::string> extra_args) {
  std::vector<std::string> args = {"serve", "--http", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  server = ServerProcess::Start(config, args, log_path);
}

void ServerTest::StopServer() {
  if (server) EXPECT_EQ(server->Signal(SIGTERM), 0);
  server.reset();
}

CommandResult ServerTest::Edl(std::vector<std::string> args) const {
  args.insert(args.begin(), {EdlBinary(), "-c", config.string()});
  CommandResult result = RunCommand(args);
  AwaitOtherProcessChanges();
  return result;
}

void ServerTest::AwaitOtherProcessChanges() {
  std::this_thread::sleep_for(2 * ApiServer::kCatalogEpochsMaxAge);
}

void ServerTest::DeployDataset(const std::string& yaml) const {
  static int counter = 0;
  fs::path file = dir.WriteFile("ds-" + std::to_string(++counter) + ".yaml", yaml);
  CommandResult r = Edl({"deploy-dataset", file.string()});
  if (r.exit_code != 0) throw std::runtime_error("deploy-dataset failed: " + r.err);
}

std::string ServerTest::AddUser(const std::string& name, std::vector<std::string> extra) const {
  std::vector<std::string> args = {"users", "add", name};
  args.insert(args.end(), extra.begin(), extra.end());
  CommandResult added = Edl(args);
  if (added.exit_code != 0) throw std::runtime_error("users add failed: " + added.err);
  CommandResult token = Edl({"tokens", "create", name});
  if (token.exit_code != 0) throw std::runtime_error("tokens create failed: " + token.err);
  std::string secret = token.out;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

namespace {
Reply FromResult(const httplib::Result& result) {
  Reply reply;
  if (!result) {
    reply.status = -1;
    reply.body = httplib::to_string(result.error());
    return reply;
  }
  reply.status = result->status;
  reply.body = result->body;
  for (const auto& [name, value] : result->headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[lower] = value;
  }
  return reply;
}
}  // namespace

void ExpectApiError(const Reply& reply, int status, const std::string& code, const std::string& message_part) {
  EXPECT_EQ(reply.status, status) << reply.body;
  nlohmann::json body = reply.Json();
  ASSERT_TRUE(body.is_object() && body.contains("error")) << reply.body;
  EXPECT_EQ(body["error"]["code"], code) << reply.body;
  ASSERT_TRUE(body["error"]["message"].is_string()) << reply.body;
  EXPECT_NE(body["error"]["message"].get<std::string>().find(message_part), std::string::npos)
      << "'" << message_part << "' not in: " << reply.body;
  EXPECT_EQ(body["error"]["details"]["request_id"], reply.Header("x-request-id")) << reply.body;
}

Reply ServerTest::Get(const std::string& path, const std::string& token) const {
  return Send("GET", path, token, "");
}

Reply ServerTest::Send(const std::string& method, const std::string& path, const std::string& token,
                       const std::string& body, const std::string& content_type,
                       const std::map<std::string, std::string>& headers) const {
  httplib::Client client("127.0.0.1", server->port());
  client.set_read_timeout(std::chrono::seconds(60));
  httplib::Headers h;
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  for (const auto& [k, v] : headers) h.emplace(k, v);
  if (method == "GET") return FromResult(client.Get(path, h));
  if (method == "DELETE") return FromResult(client.Delete(path, h));
  if (method == "POST") return FromResult(client.Post(path, h, body, content_type));
  if (method == "PUT") return FromResult(client.Put(path, h, body, content_type));
  throw std::runtime_error("method " + method);
}

nlohmann::json ServerTest::WaitForJob(int64_t id, const std::string& token, std::chrono::seconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json job;
  while (std::chrono::steady_clock::now() < deadline) {
    Reply r = Get("/v1/jobs/" + std::to_string(id), token);
    job = r.Json();
    if (r.status == 200) {
      std::string state = job.value("state", "");
      if (state == "succeeded" || state == "failed" || state == "cancelled") return job;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return job;
}

std::string ServerTest::Raw(const std::string& bytes, std::chrono::milliseconds wait, bool close_after_send) const {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  if (close_after_send) {
    close(fd);
    return "";
  }
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now()).count());
    if (poll(&pfd, 1, std::max(left, 1)) <= 0) continue;
    char buffer[4096];
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      out += "<closed>";
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::string ServerTest::ServerLog() const {
  // The server writes its request log every 100 ms: wait for the lines of the requests just made.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  return ReadFile(log_path);
}

}  // namespace edl::testing
