#include "client/api_client.h"

#include <curl/curl.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace edl::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kConfigKeys = "url, token, ca_cert";

struct Chosen {
  std::string value;
  std::string source;  // "--url", "EDL_URL", the config file's path ...
};

// The first candidate that is set and not empty, in order of precedence.
std::optional<Chosen> FirstSet(std::initializer_list<std::pair<std::optional<std::string>, std::string>> candidates) {
  for (const auto& [value, source] : candidates) {
    if (value && !value->empty()) return Chosen{*value, source};
  }
  return std::nullopt;
}

std::optional<std::string> EnvVar(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

struct FileSettings {
  std::optional<std::string> url;
  std::optional<std::string> token;
  std::optional<std::string> ca_cert;
};

Result<FileSettings> ReadConfigFile(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return FileSettings{};
  std::ifstream in(path);
  if (!in) return ErrnoStatus(errno, "open", path.string());
  std::stringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    return InvalidArgument(
        fmt::format("{}:{}:{}: invalid YAML: {}", path.string(), e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  FileSettings settings;
  if (!root.IsDefined() || root.IsNull()) return settings;
  if (!root.IsMap()) {
    return InvalidArgument(fmt::format("{}: expected a mapping with the keys {}", path.string(), kConfigKeys));
  }
  for (const auto& entry : root) {
    std::string key = entry.first.as<std::string>("");
    std::optional<std::string>* slot = key == "url" ? &settings.url
                                       : key == "token" ? &settings.token
                                       : key == "ca_cert" ? &settings.ca_cert
                                                          : nullptr;
    if (slot == nullptr) {
      return InvalidArgument(fmt::format("{}:{}: unknown key '{}' (known keys: {})", path.string(),
                                         entry.first.Mark().line + 1, key, kConfigKeys));
    }
    if (!entry.second.IsScalar()) {
      return InvalidArgument(fmt::format("{}:{}: '{}' must be text", path.string(), entry.first.Mark().line + 1, key));
    }
    *slot = entry.second.Scalar();
  }
  return settings;
}

// "~/x" -> "<home>/x"; a relative path from the config file -> relative to its folder.
std::string ExpandPath(const std::string& path, std::string_view home, const fs::path& base) {
  if (path == "~" || path.rfind("~/", 0) == 0) return std::string(home) + path.substr(1);
  if (!base.empty() && fs::path(path).is_relative()) return (base / path).string();
  return path;
}

Status CheckUrl(std::string& url, std::string_view source) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return InvalidArgument(fmt::format("the server URL '{}' (from {}) must start with http:// or https://", url, source));
  }
  if (url.find_first_of("?# \t\r\n") != std::string::npos) {
    return InvalidArgument(
        fmt::format("the server URL '{}' (from {}) must be just scheme, host and port, e.g. {}", url, source, kDefaultUrl));
  }
  while (url.size() > 1 && url.back() == '/') url.pop_back();
  return Status::Ok();
}

Status CheckToken(const std::string& token, std::string_view source) {
  for (unsigned char c : token) {
    if (c <= ' ' || c >= 0x7f) {
      // Never quote the token itself.
      return InvalidArgument(fmt::format(
          "the token from {} contains spaces or control characters; copy it again from `edl tokens create`", source));
    }
  }
  return Status::Ok();
}

// The server's {"error":{"code","message","details":{"request_id"}}}, or what can be salvaged.
struct ServerError {
  std::string code;
  std::string message;
  std::string request_id;
};

ServerError ParseServerError(const HttpResponse& response) {
  ServerError error;
  error.request_id = response.request_id;
  json body = json::parse(response.body, nullptr, false);
  if (!body.is_discarded() && body.is_object() && body.contains("error") && body["error"].is_object()) {
    const json& e = body["error"];
    if (e.contains("code") && e["code"].is_string()) error.code = e["code"].get<std::string>();
    if (e.contains("message") && e["message"].is_string()) error.message = e["message"].get<std::string>();
    if (e.contains("details") && e["details"].is_object() && e["details"].contains("request_id") &&
        e["details"]["request_id"].is_string()) {
      error.request_id = e["details"]["request_id"].get<std::string>();
    }
  }
  if (error.message.empty()) {
    // Not the server's shape (a proxy's page, say): show the status and the start of the body.
    std::string snippet = response.body.substr(0, 200);
    for (char& c : snippet) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    error.message = snippet.empty() ? fmt::format("HTTP {}", response.status)
                                    : fmt::format("HTTP {}: {}", response.status, snippet);
  }
  return error;
}

}  // namespace

SettingsEnvironment ReadSettingsEnvironment() {
  SettingsEnvironment env;
  env.url = EnvVar("EDL_URL");
  env.token = EnvVar("EDL_TOKEN");
  env.home = EnvVar("HOME").value_or("");
  return env;
}

fs::path UserConfigPath(std::string_view home) { return fs::path(home) / ".config" / "edl" / "config.yaml"; }

Result<ClientSettings> ResolveSettings(const SettingsFlags& flags, const SettingsEnvironment& env) {
  FileSettings file;
  std::string file_name;
  if (!env.home.empty()) {
    fs::path path = UserConfigPath(env.home);
    file_name = path.string();
    ASSIGN_OR_RETURN(file, ReadConfigFile(path));
  }
  ClientSettings settings;
  Chosen url = FirstSet({{flags.url, "--url"}, {env.url, "EDL_URL"}, {file.url, file_name}})
                   .value_or(Chosen{std::string(kDefaultUrl), "the default"});
  settings.url = url.value;
  RETURN_IF_ERROR(CheckUrl(settings.url, url.source));

  if (auto ca = FirstSet({{flags.ca_cert, "--ca-cert"}, {file.ca_cert, file_name}})) {
    // A relative path in the config file is relative to that file, like edl.yaml's paths.
    fs::path base = ca->source == file_name ? fs::path(file_name).parent_path() : fs::path();
    settings.ca_cert = ExpandPath(ca->value, env.home, base);
    std::error_code ec;
    if (!fs::is_regular_file(settings.ca_cert, ec)) {
      return NotFound(fmt::format("the CA file '{}' (from {}) does not exist", settings.ca_cert, ca->source));
    }
  }

  std::optional<Chosen> token = FirstSet({{flags.token, "--token"}, {env.token, "EDL_TOKEN"}, {file.token, file_name}});
  if (!token) {
    return PermissionDenied(fmt::format(
        "no API token: set --token, EDL_TOKEN or `token:` in {}; an admin creates one with `edl tokens create USER`",
        env.home.empty() ? "~/.config/edl/config.yaml" : UserConfigPath(env.home).string()));
  }
  settings.token = token->value;
  settings.token_source = token->source;
  RETURN_IF_ERROR(CheckToken(settings.token, settings.token_source));
  return settings;
}

Status StatusFromResponse(const HttpResponse& response, std::string_view token_source) {
  const long status = response.status;
  if (status >= 200 && status < 300) return Status::Ok();
  ServerError e = ParseServerError(response);
  std::string id = e.request_id.empty() ? "" : fmt::format(" (request id {})", e.request_id);
  if (status >= 300 && status < 400) {
    return InvalidArgument(fmt::format("the server answered with a redirect to '{}'; set --url or EDL_URL to the "
                                       "address of the EDL server itself{}",
                                       response.location, id));
  }
  switch (status) {
    case 400:
      return InvalidArgument(e.message + id);
    case 401:
      return PermissionDenied(fmt::format(
          "the server refused the token{}: it is unknown, expired or revoked; create one with `edl tokens create USER` "
          "or set --token/EDL_TOKEN{}",
          token_source.empty() ? "" : fmt::format(" from {}", token_source), id));
    case 403:
      return PermissionDenied(e.message + id);
    case 404:
      return NotFound(e.message + id);
    case 409:
      return e.code == "already_exists" ? AlreadyExists(e.message + id) : Conflict(e.message + id);
    case 413:
      return InvalidArgument(fmt::format("{}: the request is larger than the server accepts (server.max_body_bytes "
                                         "for JSON, server.max_upload_bytes for an uploaded file){}",
                                         e.message, id));
    case 429:
      return Unavailable(fmt::format("the server is busy: {}; try again later{}", e.message, id));
    case 502:
    case 503:
    case 504:
      return Unavailable(fmt::format("the server is unavailable: {}; try again later{}", e.message, id));
    default:
      break;
  }
  if (status >= 500) {
    return Internal(fmt::format("the server failed: {}{}; if this persists, report it with the request id",
                                e.message, id));
  }
  return Internal(fmt::format("the server did not accept the request ({}){}; are edl-api and the server the same "
                              "version?",
                              e.message, id));
}

Status UnreachableStatus(std::string_view url, std::string_view reason) {
  return Unavailable(fmt::format(
      "cannot reach the EDL server at {}: {}; is `edl serve` running? set --url or EDL_URL", url, reason));
}

Result<json> JsonBody(const HttpResponse& response) {
  json body = json::parse(response.body, nullptr, false);
  if (body.is_discarded()) {
    return Internal(fmt::format("the server sent a response that is not JSON (HTTP {}{})", response.status,
                                response.request_id.empty() ? "" : ", request id " + response.request_id));
  }
  return body;
}

std::string EscapeComponent(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    out += out.empty() ? "?" : "&";
    out += EscapeComponent(key) + "=" + EscapeComponent(value);
  }
  return out;
}

// ---- ApiClient ----

struct ApiClient::Handle {
  CURL* curl = nullptr;
  char error[CURL_ERROR_SIZE] = "";  // libcurl keeps the pointer until the next reset
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
    curl_global_cleanup();  // reference-counted by libcurl, pairs with Create's init
  }
};

struct ApiClient::Request {
  Request(const char* method_in, std::string_view path_in, std::optional<std::string_view> json_body_in = {})
      : method(method_in), path(path_in), json_body(json_body_in) {}
  const char* method;
  std::string_view path;
  std::optional<std::string_view> json_body;
  const fs::path* file = nullptr;
  const TransferProgress* progress = nullptr;
};

namespace {

struct CurlHeaders {
  curl_slist* list = nullptr;
  void Add(const std::string& header) { list = curl_slist_append(list, header.c_str()); }
  ~CurlHeaders() { curl_slist_free_all(list); }
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

struct Upload {
  std::FILE* file = nullptr;
  int read_errno = 0;
  uint64_t size = 0;
  const TransferProgress* progress = nullptr;
};

// libcurl callbacks: C entry points, so nothing may throw out of them.
size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  try {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
  } catch (...) {
    return 0;
  }
}

size_t ReadHeader(char* data, size_t size, size_t count, void* user) {
  try {
    auto* response = static_cast<HttpResponse*>(user);
    std::string_view line(data, size * count);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
        value.remove_suffix(1);
      }
      if (name == "x-request-id") response->request_id = value;
      if (name == "location") response->location = value;
    }
    return size * count;
  } catch (...) {
    return 0;
  }
}

size_t ReadFileChunk(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  size_t got = std::fread(buffer, 1, size * count, upload->file);
  if (got == 0 && std::ferror(upload->file)) {
    upload->read_errno = errno;
    return CURL_READFUNC_ABORT;
  }
  return got;
}

int ReportTransfer(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t sent) {
  auto* upload = static_cast<Upload*>(user);
  try {
    if (upload->progress != nullptr && *upload->progress) (*upload->progress)(static_cast<uint64_t>(sent), upload->size);
  } catch (...) {
    return 1;
  }
  return 0;
}

bool IsTlsError(CURLcode rc) {
  return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CACERT_BADFILE ||
         rc == CURLE_SSL_CERTPROBLEM;
}

}  // namespace

Result<std::unique_ptr<ApiClient>> ApiClient::Create(ClientSettings settings) {
  CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) return Internal(std::string("cannot initialise libcurl: ") + curl_easy_strerror(rc));
  auto handle = std::make_unique<Handle>();
  handle->curl = curl_easy_init();
  if (handle->curl == nullptr) return Internal("cannot initialise libcurl: curl_easy_init failed");
  return std::unique_ptr<ApiClient>(new ApiClient(std::move(settings), std::move(handle)));
}

ApiClient::ApiClient(ClientSettings settings, std::unique_ptr<Handle> handle)
    : settings_(std::move(settings)), handle_(std::move(handle)) {}

ApiClient::~ApiClient() = default;

Result<HttpResponse> ApiClient::Get(std::string_view path) { return Send(Request("GET", path)); }

Result<HttpResponse> ApiClient::Post(std::string_view path, std::string_view json_body) {
  return Send(Request("POST", path, json_body));
}

Result<HttpResponse> ApiClient::Put(std::string_view path, std::string_view json_body) {
  return Send(Request("PUT", path, json_body));
}

Result<HttpResponse> ApiClient::Delete(std::string_view path) { return Send(Request("DELETE", path)); }

Result<HttpResponse> ApiClient::PutFile(std::string_view path, const fs::path& file, const TransferProgress& progress) {
  Request request("PUT", path);
  request.file = &file;
  request.progress = &progress;
  return Send(request);
}

Result<HttpResponse> ApiClient::Send(const Request& request) {
  if (request.path.empty() || request.path.front() != '/') {
    return Internal(fmt::format("request path '{}' does not start with '/'", request.path));
  }
  if (!settings_.token.empty() && request.path.find(settings_.token) != std::string_view::npos) {
    return InvalidArgument("refusing to send the API token as part of a URL, where proxies would log it");
  }
  CURL* curl = handle_->curl;
  curl_easy_reset(curl);  // keeps the open connection
  std::string url = settings_.url + std::string(request.path);
  char* error_buffer = handle_->error;
  error_buffer[0] = '\0';
  HttpResponse response;
  CurlHeaders headers;
  headers.Add("Authorization: Bearer " + settings_.token);
  headers.Add("Accept: application/json");

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect must not carry the token elsewhere
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "edl-api");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(settings_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(settings_.stall_timeout.count()));
  if (!settings_.ca_cert.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, settings_.ca_cert.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);

  std::unique_ptr<std::FILE, FileCloser> file;
  Upload upload;
  if (request.file != nullptr) {
    std::error_code ec;
    upload.size = fs::file_size(*request.file, ec);
    if (ec) return ErrnoStatus(ec.value(), "read", request.file->string());
    file.reset(std::fopen(request.file->c_str(), "rb"));
    if (file == nullptr) return ErrnoStatus(errno, "open", request.file->string());
    upload.file = file.get();
    upload.progress = request.progress;
    headers.Add("Content-Type: application/octet-stream");
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadFileChunk);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload.size));
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, ReportTransfer);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &upload);
  } else {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(settings_.request_timeout.count()));
    if (request.json_body) {
      headers.Add("Content-Type: application/json");
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.json_body->size()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.json_body->data());
    }
    if (std::string_view(request.method) != "GET" && std::string_view(request.method) != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method);
    }
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);

  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  if (rc != CURLE_OK && response.status < 400) {
    std::string reason = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    if (rc == CURLE_ABORTED_BY_CALLBACK) return Internal("the upload was stopped by its progress callback");
    if (rc == CURLE_READ_ERROR && request.file != nullptr) {
      return ErrnoStatus(upload.read_errno, "read", request.file->string());
    }
    if (IsTlsError(rc)) {
      return Unavailable(fmt::format(
          "cannot make a trusted TLS connection to the EDL server at {}: {}; if its certificate comes from a private "
          "CA, set --ca-cert or ca_cert in ~/.config/edl/config.yaml to that CA's PEM file",
          settings_.url, reason));
    }
    curl_off_t connected_after = 0;
    curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connected_after);
    if (connected_after > 0) {
      return Unavailable(fmt::format("the EDL server at {} stopped answering: {}", settings_.url, reason));
    }
    return UnreachableStatus(settings_.url, reason);
  }
  RETURN_IF_ERROR(StatusFromResponse(response, settings_.token_source));
  return response;
}

}  // namespace edl::client
