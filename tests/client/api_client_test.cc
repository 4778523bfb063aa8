#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/api_client.h"
#include "testing/status_testing.h"
#include "testing/temp_dir.h"

namespace edl::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kToken = "edl_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

// Listens on 127.0.0.1, port 0. Bound by the constructor, so a client may connect at once.
int ListenOnLoopback(int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 1) != 0) return -1;
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

// Answers exactly one request with a canned response and records the request's head and body size.
class OneRequestServer {
 public:
  explicit OneRequestServer(std::string response) : response_(std::move(response)) {
    listen_fd_ = ListenOnLoopback(port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~OneRequestServer() {
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The request line and headers, and the body (call after the client returned).
  const std::string& head() {
    if (thread_.joinable()) thread_.join();
    return head_;
  }
  const std::string& body() {
    if (thread_.joinable()) thread_.join();
    return body_;
  }

 private:
  void Serve() {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    std::string data;
    char buffer[65536];
    size_t head_end = std::string::npos;
    while (head_end == std::string::npos) {
      ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n <= 0) break;
      data.append(buffer, static_cast<size_t>(n));
      head_end = data.find("\r\n\r\n");
    }
    if (head_end == std::string::npos) {
      ::close(fd);
      return;
    }
    head_ = data.substr(0, head_end + 4);
    std::string lower = head_;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t length = 0;
    if (size_t at = lower.find("content-length:"); at != std::string::npos) {
      length = std::stoul(lower.substr(at + 15));
    }
    if (lower.find("expect: 100-continue") != std::string::npos) {
      std::string go = "HTTP/1.1 100 Continue\r\n\r\n";
      ::write(fd, go.data(), go.size());
    }
    body_ = data.substr(head_end + 4);
    while (body_.size() < length) {
      ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n <= 0) break;
      body_.append(buffer, static_cast<size_t>(n));
    }
    ::write(fd, response_.data(), response_.size());
    ::close(fd);
  }

  std::string response_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string head_;
  std::string body_;
};

std::string Response(int status, std::string_view reason, std::string_view body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: application/json\r\nX-Request-Id: req-7\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

std::unique_ptr<ApiClient> Client(const std::string& url) {
  ClientSettings settings;
  settings.url = url;
  settings.token = kToken;
  settings.token_source = "EDL_TOKEN";
  settings.request_timeout = std::chrono::seconds(10);
  auto client = ApiClient::Create(settings);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return std::move(client).value();
}

TEST(ApiClient, SendsTheTokenOnlyInTheAuthorizationHeader) {
  OneRequestServer server(Response(200, "OK", R"({"user":"alice"})"));
  auto client = Client(server.url());
  ASSERT_OK_AND_ASSIGN(HttpResponse response, client->Get("/v1/datasets?tier=internal"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.request_id, "req-7");
  EXPECT_EQ(response.body, R"({"user":"alice"})");
  const std::string& head = server.head();
  EXPECT_THAT(head, HasSubstr("GET /v1/datasets?tier=internal HTTP/1.1\r\n"));
  EXPECT_THAT(head, HasSubstr("Authorization: Bearer " + kToken + "\r\n"));
  EXPECT_EQ(head.find(kToken), head.find("Authorization: Bearer ") + 22);  // nowhere else
}

TEST(ApiClient, PostsJson) {
  OneRequestServer server(Response(201, "Created", R"({"name":"bob"})"));
  auto client = Client(server.url());
  ASSERT_OK_AND_ASSIGN(HttpResponse response, client->Post("/v1/users", R"({"name":"bob"})"));
  EXPECT_EQ(response.status, 201);
  EXPECT_THAT(server.head(), HasSubstr("POST /v1/users HTTP/1.1\r\n"));
  EXPECT_THAT(server.head(), HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_EQ(server.body(), R"({"name":"bob"})");
}

TEST(ApiClient, DeleteUsesTheDeleteMethod) {
  OneRequestServer server(Response(200, "OK", R"({"id":3})"));
  auto client = Client(server.url());
  ASSERT_OK(client->Delete("/v1/tokens/3").status());
  EXPECT_THAT(server.head(), HasSubstr("DELETE /v1/tokens/3 HTTP/1.1\r\n"));
}

TEST(ApiClient, MapsTheServersErrorBody) {
  OneRequestServer server(Response(
      404, "Not Found",
      R"({"error":{"code":"not_found","message":"dataset 'x' does not exist","details":{"request_id":"req-7"}}})"));
  auto client = Client(server.url());
  Result<HttpResponse> response = client->Get("/v1/datasets/x");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(response.status().message(), "dataset 'x' does not exist (request id req-7)");
}

TEST(ApiClient, UnauthorizedNamesWhereTheTokenCameFromButNotTheToken) {
  OneRequestServer server(Response(401, "Unauthorized", R"({"error":{"code":"unauthenticated","message":"no"}})"));
  auto client = Client(server.url());
  Result<HttpResponse> response = client->Get("/v1/whoami");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(response.status().message(), HasSubstr("token from EDL_TOKEN"));
  EXPECT_THAT(response.status().message(), Not(HasSubstr(kToken)));
}

TEST(ApiClient, PutFileStreamsTheFileWithProgress) {
  testing::TempDir dir;
  std::string content(300000, 'x');
  for (size_t i = 0; i < content.size(); i += 7) content[i] = static_cast<char>('a' + i % 26);
  std::filesystem::path file = dir.WriteFile("orders.csv", content);
  OneRequestServer server(Response(201, "Created", R"({"name":"orders.csv","size":300000,"sha256":"x"})"));
  auto client = Client(server.url());
  uint64_t last_sent = 0;
  uint64_t last_total = 0;
  ASSERT_OK_AND_ASSIGN(HttpResponse response,
                       client->PutFile("/v1/uploads/u1/files/orders.csv", file, [&](uint64_t sent, uint64_t total) {
                         EXPECT_GE(sent, last_sent);
                         last_sent = sent;
                         last_total = total;
                       }));
  EXPECT_EQ(response.status, 201);
  EXPECT_THAT(server.head(), HasSubstr("PUT /v1/uploads/u1/files/orders.csv HTTP/1.1\r\n"));
  EXPECT_THAT(server.head(), HasSubstr("Content-Length: 300000\r\n"));
  EXPECT_EQ(server.body(), content);
  EXPECT_EQ(last_sent, content.size());
  EXPECT_EQ(last_total, content.size());
}

TEST(ApiClient, PutFileOfMissingFileNamesIt) {
  auto client = Client("http://127.0.0.1:9");
  Result<HttpResponse> response = client->PutFile("/v1/uploads/u1/files/a.csv", "/nonexistent/a.csv", {});
  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.status().message(), HasSubstr("/nonexistent/a.csv"));
}

TEST(ApiClient, RefusesToPutTheTokenIntoAUrl) {
  auto client = Client("http://127.0.0.1:9");
  Result<HttpResponse> response = client->Get("/v1/datasets?q=" + kToken);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), Not(HasSubstr(kToken)));
}

TEST(ApiClient, UnreachableServerSaysWhatToDo) {
  int port = 0;
  int fd = ListenOnLoopback(port);
  ASSERT_GE(fd, 0);
  ::close(fd);  // nothing listens there now: the connection is refused
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto client = Client(url);
  Result<HttpResponse> response = client->Get("/v1/whoami");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  std::string message = response.status().message();
  EXPECT_THAT(message, HasSubstr("cannot reach the EDL server at " + url + ": "));
  EXPECT_THAT(message, HasSubstr("is `edl serve` running? set --url or EDL_URL"));
  EXPECT_THAT(message, Not(HasSubstr(kToken)));
}

}  // namespace
}  // namespace edl::client
