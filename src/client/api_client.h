// The client side of EDL's REST API (docs/api.md): where the server is and which token to use
// (flags > environment > ~/.config/edl/config.yaml > default), and a small synchronous HTTP client
// over libcurl that turns every failure into a Status whose message says what to do next.
// The token is a secret: it goes only into the Authorization header, never into a URL, a log line or
// an error message. An ApiClient holds one connection and is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace edl::client {

inline constexpr std::string_view kDefaultUrl = "http://127.0.0.1:8080";

struct ClientSettings {
  std::string url;           // "http(s)://host:port", no trailing '/'
  std::string token;         // the bearer secret
  std::string token_source;  // where the token came from, for messages: "--token", "EDL_TOKEN", a file
  std::string ca_cert;       // PEM file of CAs to trust for https; empty: the system's
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds request_timeout{120};  // a whole JSON request; uploads have no total limit
  std::chrono::seconds stall_timeout{60};     // any request fails when no byte moves for this long
};

// What the command line gave; unset (or empty) means "not given".
struct SettingsFlags {
  std::optional<std::string> url;
  std::optional<std::string> token;
  std::optional<std::string> ca_cert;
};

// What the process environment gave: EDL_URL, EDL_TOKEN and HOME (for the config file).
struct SettingsEnvironment {
  std::optional<std::string> url;
  std::optional<std::string> token;
  std::string home;  // "" when unset: no config file is read
};
SettingsEnvironment ReadSettingsEnvironment();

// "<home>/.config/edl/config.yaml".
std::filesystem::path UserConfigPath(std::string_view home);

// Each setting from the first of: flag, environment, config file (keys url, token, ca_cert; a
// relative ca_cert is relative to the file's folder), default. A missing config file is fine; bad
// YAML, an unknown key or a non-text value is InvalidArgument naming the file and the key. A missing
// token is PermissionDenied, before any request is made; a malformed URL is InvalidArgument.
Result<ClientSettings> ResolveSettings(const SettingsFlags& flags, const SettingsEnvironment& env);

struct HttpResponse {
  long status = 0;
  std::string request_id;  // the X-Request-Id header; "" when absent
  std::string location;    // the Location header of a redirect (which is never followed)
  std::string body;
};

// OK for 2xx. Otherwise a Status built from the server's error body
// {"error":{"code","message","details":{"request_id"}}} (or the raw status when the body is not
// that), with a hint at what to do: 401 and 403 are PermissionDenied, 404 NotFound, 409 Conflict
// (AlreadyExists when the server says already_exists), 400 and 413 InvalidArgument, 503 and 429
// Unavailable, 502 and 504 (a proxy that cannot reach the server) Unavailable, a redirect
// InvalidArgument (the URL is wrong), anything else Internal. `token_source` names where the token
// came from in the 401 message. Pure.
Status StatusFromResponse(const HttpResponse& response, std::string_view token_source = "");
// The message when the server cannot be reached at `url`; `reason` is libcurl's.
Status UnreachableStatus(std::string_view url, std::string_view reason);

// The response body as JSON; Internal naming the request id when it is not JSON.
Result<nlohmann::json> JsonBody(const HttpResponse& response);

// Percent-encodes one path segment or query value (RFC 3986 unreserved characters stay).
std::string EscapeComponent(std::string_view text);
// "?k=v&..." of the pairs whose value is not empty, values escaped; "" when none remain.
std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params);

// Called while a file is sent: bytes sent so far and the file's size. Must not throw.
using TransferProgress = std::function<void(uint64_t sent, uint64_t total)>;

class ApiClient {
 public:
  // Fails only when libcurl cannot be initialised.
  static Result<std::unique_ptr<ApiClient>> Create(ClientSettings settings);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // `path` starts with '/' and may end with a QueryString(). A 2xx response is returned; anything
  // else is the Status of StatusFromResponse, or UnreachableStatus when no response came.
  Result<HttpResponse> Get(std::string_view path);
  Result<HttpResponse> Post(std::string_view path, std::string_view json_body);
  Result<HttpResponse> Put(std::string_view path, std::string_view json_body);
  Result<HttpResponse> Delete(std::string_view path);
  // Streams `file` as the request body (with Content-Length), never holding it whole in memory.
  Result<HttpResponse> PutFile(std::string_view path, const std::filesystem::path& file,
                               const TransferProgress& progress);

  const std::string& url() const { return settings_.url; }

 private:
  struct Request;
  struct Handle;
  ApiClient(ClientSettings settings, std::unique_ptr<Handle> handle);
  Result<HttpResponse> Send(const Request& request);

  ClientSettings settings_;
  std::unique_ptr<Handle> handle_;
};

}  // namespace edl::client
