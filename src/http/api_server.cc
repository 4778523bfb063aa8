#include "http/api_server.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <iostream>
#include <iterator>
#include <limits>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/hash.h"
#include "http/server_internal.h"

namespace edl {
namespace http {

using nlohmann::json;

void Call::Reply(int status, const json& value) {
  response.status = status;
  response.shared_body.reset();
  response.set_content(value.dump(), "application/json");
}

void Call::ReplyText(int status, std::string json_text) {
  response.status = status;
  response.shared_body.reset();
  response.set_content(std::move(json_text), "application/json");
}

void Call::ReplyText(int status, std::shared_ptr<const std::string> json_text) {
  response.status = status;
  response.body.clear();
  response.shared_body = std::move(json_text);
  response.content_type = "application/json";
}

std::optional<std::string> Call::Query(const std::string& name) const {
  if (!request.has_param(name.c_str())) return std::nullopt;
  return request.get_param_value(name.c_str());
}

Result<json> ReadJsonBody(Call& call, int64_t max_bytes) {
  std::string text;
  if (call.body != nullptr) {
    bool too_large = false;
    bool complete = (*call.body)([&](const char* data, size_t size) {
      if (static_cast<int64_t>(text.size() + size) > max_bytes) {
        too_large = true;
        return false;
      }
      text.append(data, size);
      return true;
    });
    if (too_large) {
      call.body_too_large = true;
      return InvalidArgument(fmt::format("the request body is larger than {} bytes (server.max_body_bytes)", max_bytes));
    }
    if (!complete) return InvalidArgument("the request body ended before its announced length");
  }
  if (text.empty()) return InvalidArgument("the request needs a JSON body");
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    return InvalidArgument(fmt::format("the request body is not valid JSON (at byte {})", e.byte));
  } catch (const json::exception&) {
    // The parser's other refusal: a number too large for a double ("1e400").
    return InvalidArgument("the request body holds a number out of range");
  }
}

Result<BodyFields> BodyFields::Of(const json& body) {
  if (!body.is_object()) return InvalidArgument("the request body must be a JSON object");
  return BodyFields(body);
}

namespace {
std::string TypeName(const json& value) {
  return std::string(value.type_name());
}
}  // namespace

Status BodyFields::String(const std::string& key, std::string& out, bool required) {
  known_.push_back(key);
  auto it = body_.find(key);
  if (it == body_.end() || it->is_null()) {
    return required ? InvalidArgument(fmt::format("field '{}' is required", key)) : Status::Ok();
  }
  if (!it->is_string()) return InvalidArgument(fmt::format("field '{}' must be a string, not {}", key, TypeName(*it)));
  out = it->get<std::string>();
  return Status::Ok();
}

Status BodyFields::OptionalString(const std::string& key, std::optional<std::string>& out) {
  std::string value;
  bool present = body_.contains(key) && !body_[key].is_null();
  RETURN_IF_ERROR(String(key, value));
  if (present) out = value;
  return Status::Ok();
}

Status BodyFields::StringList(const std::string& key, std::vector<std::string>& out, bool required) {
  known_.push_back(key);
  auto it = body_.find(key);
  if (it == body_.end() || it->is_null()) {
    return required ? InvalidArgument(fmt::format("field '{}' is required", key)) : Status::Ok();
  }
  if (!it->is_array()) return InvalidArgument(fmt::format("field '{}' must be a list of strings, not {}", key, TypeName(*it)));
  out.clear();
  for (size_t i = 0; i < it->size(); ++i) {
    const json& item = (*it)[i];
    if (!item.is_string()) {
      return InvalidArgument(fmt::format("field '{}[{}]' must be a string, not {}", key, i, TypeName(item)));
    }
    out.push_back(item.get<std::string>());
  }
  return Status::Ok();
}

Status BodyFields::Bool(const std::string& key, bool& out) {
  known_.push_back(key);
  auto it = body_.find(key);
  if (it == body_.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return InvalidArgument(fmt::format("field '{}' must be true or false, not {}", key, TypeName(*it)));
  out = it->get<bool>();
  return Status::Ok();
}

Status BodyFields::OptionalInt(const std::string& key, std::optional<int64_t>& out) {
  known_.push_back(key);
  auto it = body_.find(key);
  if (it == body_.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_integer()) {
    return InvalidArgument(fmt::format("field '{}' must be a whole number, not {}", key, TypeName(*it)));
  }
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return InvalidArgument(fmt::format("field '{}' is too large, got {}", key, it->get<uint64_t>()));
  }
  out = it->get<int64_t>();
  return Status::Ok();
}

Status BodyFields::Finish() const {
  for (const auto& [key, value] : body_.items()) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      std::string expected;
      for (const std::string& k : known_) expected += (expected.empty() ? "" : ", ") + k;
      return InvalidArgument(fmt::format("unknown field '{}' (expected: {})", key.substr(0, 64), expected));
    }
  }
  return Status::Ok();
}

namespace {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kConflict: return 409;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

json ErrorBody(std::string_view code, std::string_view message, const std::string& request_id) {
  return {{"error", {{"code", code}, {"message", message}, {"details", {{"request_id", request_id}}}}}};
}

// A client's own request id is kept when it is short and plain, so it can go into logs and
// headers unchanged; anything else is replaced.
bool AcceptableRequestId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 1;
  if (path.empty() || path[0] != '/') return parts;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

struct CompiledRoute {
  Route route;
  std::vector<std::string> segments;
};

bool SegmentsMatch(const CompiledRoute& route, const std::vector<std::string_view>& parts) {
  if (route.segments.size() != parts.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& segment = route.segments[i];
    bool variable = segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
    if (variable ? parts[i].empty() : segment != parts[i]) return false;
  }
  return true;
}

// The route for `method` on a path split into `parts` (GET routes serve HEAD too), or null. When
// given, `allowed` collects the methods of the routes whose path matched but whose method did not.
const CompiledRoute* FindRoute(const std::vector<CompiledRoute>& routes, std::string_view method,
                               const std::vector<std::string_view>& parts, std::vector<std::string>* allowed) {
  for (const CompiledRoute& route : routes) {
    if (!SegmentsMatch(route, parts)) continue;
    if (route.route.method == method || (method == "HEAD" && route.route.method == "GET")) return &route;
    if (allowed != nullptr) allowed->push_back(route.route.method);
  }
  return nullptr;
}

// The values of a matched route's {variables}, by name.
std::map<std::string, std::string> Captures(const CompiledRoute& route, const std::vector<std::string_view>& parts) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& segment = route.segments[i];
    if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}') {
      out.emplace(segment.substr(1, segment.size() - 2), std::string(parts[i]));
    }
  }
  return out;
}

// Query parameters that carry credentials are refused outright: URLs end up in proxy and shell logs.
bool QueryCarriesToken(const HttpRequest& request) {
  for (const auto& [name, value] : request.params) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "token" || lower == "access_token" || lower == "api_key" || lower == "apikey" ||
        lower == "auth" || lower == "authorization") {
      return true;
    }
    if (value.rfind(kTokenPrefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace
}  // namespace http

struct ApiServer::Impl {
  explicit Impl(const ApiServices& services, const ServerConfig& config) : state{services, config, {}, {}, {}, {}} {}

  http::ServerState state;
  std::vector<http::CompiledRoute> routes;
  std::unique_ptr<http::HttpTransport> server;
  std::string id_prefix;
  std::atomic<uint64_t> next_id{1};
  // Request log lines are gathered and written by one thread every 100 ms (or when 256 KB wait):
  // a write per request would cost more than many requests. A SIGKILL loses at most those 100 ms.
  std::mutex log_mutex;
  std::condition_variable log_wake;
  std::string log_buffer;
  bool log_stopping = false;
  std::thread log_writer;

  ~Impl() {
    {
      std::lock_guard lock(log_mutex);
      log_stopping = true;
    }
    log_wake.notify_all();
    if (log_writer.joinable()) log_writer.join();
    FlushLog();
  }

  void StartLogWriter() {
    log_writer = std::thread([this] {
      std::unique_lock lock(log_mutex);
      while (!log_stopping) {
        log_wake.wait_for(lock, std::chrono::milliseconds(100));
        WriteLogLocked();
      }
    });
  }
  void FlushLog() {
    std::lock_guard lock(log_mutex);
    WriteLogLocked();
  }
  void WriteLogLocked() {
    size_t done = 0;
    while (done < log_buffer.size()) {
      ssize_t n = ::write(STDERR_FILENO, log_buffer.data() + done, log_buffer.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // stderr closed or full: the lines are dropped, the server goes on
      done += static_cast<size_t>(n);
    }
    log_buffer.clear();
  }

  std::string NewRequestId() {
    return fmt::format("{}-{:06x}", id_prefix, next_id.fetch_add(1, std::memory_order_relaxed));
  }

  // Text log lines carry no control characters, so nothing a client sends can forge a line.
  static void AppendEscaped(std::string& out, std::string_view text) {
    for (char c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        fmt::format_to(std::back_inserter(out), "\\x{:02x}", static_cast<unsigned char>(c));
      } else {
        out += c;
      }
    }
  }

  void Log(const std::string& request_id, const std::string& method, const std::string& route, int status,
           double seconds, const std::string& user, const std::string& error) {
    std::string line;
    if (state.config.json_logs) {
      nlohmann::json j = {{"at", FormatTimestamp(state.services.clock.Now())}, {"request_id", request_id},
                          {"method", method}, {"route", route}, {"status", status},
                          {"ms", static_cast<int64_t>(seconds * 1000000) / 1000.0}};
      if (!user.empty()) j["user"] = user;
      if (!error.empty()) j["error"] = error;
      line = j.dump();
    } else {
      line = FormatTimestamp(state.services.clock.Now());
      line += ' ';
      line += request_id;
      line += ' ';
      AppendEscaped(line, method);
      line += ' ';
      AppendEscaped(line, route);
      fmt::format_to(std::back_inserter(line), " {} {:.1f}ms", status, seconds * 1000);
      if (!user.empty()) {
        line += " user=";
        line += user;
      }
      if (!error.empty()) {
        line += " error=\"";
        AppendEscaped(line, error);
        line += '"';
      }
    }
    line += '\n';
    std::lock_guard lock(log_mutex);
    log_buffer += line;
    if (log_buffer.size() >= 256 * 1024) WriteLogLocked();
  }

  // Whether the request's route is answered from memory (Route::quick): the transport handles it on
  // its event loop, everything else on the blocking threads.
  bool Quick(const http::HttpRequest& request) const {
    const http::CompiledRoute* route = http::FindRoute(routes, request.method, http::SplitPath(request.path), nullptr);
    return route != nullptr && route->route.quick;
  }

  void Handle(const http::HttpRequest& request, http::HttpResponse& response, const http::BodyReader* body) {
    auto start = std::chrono::steady_clock::now();
    std::string client_id = request.get_header_value("X-Request-Id");
    std::string request_id = http::AcceptableRequestId(client_id) ? client_id : NewRequestId();
    http::Call call{request, response, body, request_id, {}, {}, false};
    response.set_header("X-Request-Id", request_id);
    std::string route_label = "unmatched";
    std::string error_for_log;

    auto fail = [&](int status, std::string_view code, const std::string& message) {
      call.Reply(status, http::ErrorBody(code, message, request_id));
      error_for_log = message;
    };

    try {
      std::vector<std::string_view> parts = http::SplitPath(request.path);
      std::vector<std::string> allowed;
      const http::CompiledRoute* matched = http::FindRoute(routes, request.method, parts, &allowed);
      if (matched != nullptr) call.path = http::Captures(*matched, parts);
      if (http::QueryCarriesToken(request)) {
        fail(400, "invalid_argument",
             "credentials are not accepted in the query string; send them as 'Authorization: Bearer <token>'");
      } else if (matched == nullptr && !allowed.empty()) {
        std::string allow;
        for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
        response.set_header("Allow", allow);
        fail(405, "method_not_allowed", fmt::format("{} is not allowed on {} (allowed: {})", request.method,
                                                    request.path.substr(0, 200), allow));
      } else if (matched == nullptr) {
        fail(404, "not_found", fmt::format("no API route {} {}; see /v1/openapi.json", request.method,
                                           request.path.substr(0, 200)));
      } else {
        route_label = matched->route.path;
        bool authenticated = true;
        if (matched->route.authenticated) {
          std::string header = request.get_header_value("Authorization");
          constexpr std::string_view kBearer = "Bearer ";
          if (header.empty()) {
            authenticated = false;
            response.set_header("WWW-Authenticate", "Bearer");
            fail(401, "unauthenticated", "this request needs 'Authorization: Bearer <token>'");
          } else if (header.size() <= kBearer.size() ||
                     !std::equal(kBearer.begin(), kBearer.end(), header.begin(), [](char a, char b) {
                       return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                     })) {
            authenticated = false;
            response.set_header("WWW-Authenticate", "Bearer");
            fail(401, "unauthenticated", "the Authorization header must be 'Bearer <token>'");
          } else {
            Result<Identity> identity = state.services.users.Authenticate(header.substr(kBearer.size()), ApiServer::kCatalogEpochsMaxAge);
            if (!identity.ok()) {
              authenticated = false;
              response.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
              // The reason goes to the log only: a caller learns nothing about other people's tokens.
              call.Reply(401, http::ErrorBody("unauthenticated", "the token is unknown, expired or revoked", request_id));
              error_for_log = identity.status().message();
            } else {
              call.identity = std::move(*identity);
            }
          }
        }
        if (authenticated) {
          Status status = matched->route.handler(call);
          if (!status.ok()) {
            int http_status = call.body_too_large ? 413 : http::HttpStatusFor(status.code());
            std::string_view code = call.body_too_large ? "payload_too_large" : StatusCodeName(status.code());
            fail(http_status, code, status.message());
          }
        }
      }
    } catch (const std::exception& e) {
      fail(500, "internal", fmt::format("internal error (request {})", request_id));
      error_for_log = std::string("exception: ") + e.what();
    }
    if (body != nullptr && response.status >= 400) {
      // A refused POST or PUT may leave its body unread; the connection cannot carry another request.
      response.set_header("Connection", "close");
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.metrics.Record(route_label, request.method, response.status, seconds);
    Log(request_id, request.method, route_label == "unmatched" ? request.path.substr(0, 200) : route_label,
        response.status, seconds, call.identity.user, error_for_log);
  }
};

ApiServer::ApiServer() = default;
ApiServer::~ApiServer() {
  if (impl_ && impl_->server) impl_->server->Stop();
}

std::vector<RouteInfo> ApiRoutes() {
  // Built without state only to read the names; these handlers are never called.
  std::vector<RouteInfo> out;
  for (const http::Route& route : http::MakeRoutes(nullptr)) {
    out.push_back({route.method, route.path});
  }
  return out;
}

Result<std::unique_ptr<ApiServer>> ApiServer::Create(const ApiServices& services, const ServerConfig& config) {
  std::unique_ptr<ApiServer> server(new ApiServer());
  server->impl_ = std::make_unique<Impl>(services, config);
  Impl& impl = *server->impl_;
  for (http::Route& route : http::MakeRoutes(&impl.state)) {
    std::vector<std::string> segments;
    for (std::string_view part : http::SplitPath(route.path)) segments.emplace_back(part);
    impl.routes.push_back({std::move(route), std::move(segments)});
  }
  ASSIGN_OR_RETURN(std::string random, RandomBytes(4));
  for (unsigned char c : random) impl.id_prefix += fmt::format("{:02x}", c);

  http::TransportOptions options;
  options.threads = static_cast<int>(config.threads);
  options.max_body_bytes = std::max(config.max_upload_bytes, config.max_body_bytes);
  options.read_timeout = std::chrono::seconds(config.read_timeout_seconds);
  options.write_timeout = std::chrono::seconds(config.write_timeout_seconds);
  options.tls_cert = config.tls_cert;
  options.tls_key = config.tls_key;
  Impl* raw = &impl;
  options.on_loop = [raw](const http::HttpRequest& q) { return raw->Quick(q); };
  auto handler = [raw](const http::HttpRequest& q, http::HttpResponse& r, const http::BodyReader* body) {
    raw->Handle(q, r, body);
  };
  // Requests the transport answers itself: malformed, too large, or a body where none belongs.
  auto refusal = [raw](int status, const http::HttpRequest& q, const std::string& why, http::HttpResponse& r) {
    std::string id = raw->NewRequestId();
    std::string method = q.method.empty() ? "-" : q.method;
    r.set_header("X-Request-Id", id);
    raw->state.metrics.Record("unmatched", method, status, 0);
    std::string_view code = status == 413 ? "payload_too_large" : status == 431 ? "header_too_large" : "invalid_argument";
    raw->Log(id, method, "(refused by the HTTP layer)", status, 0, "", why);
    r.status = status;
    r.set_content(http::ErrorBody(code, why, id).dump(), "application/json");
  };
  ASSIGN_OR_RETURN(impl.server, http::HttpTransport::Create(options, handler, refusal));
  impl.StartLogWriter();
  return server;
}

Result<int> ApiServer::Bind(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return InvalidArgument(fmt::format("server.http '{}' is not HOST:PORT", address));
  std::string host = address.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
    return InvalidArgument(fmt::format("server.http '{}' has no valid port", address));
  }
  if (port < 0 || port > 65535) return InvalidArgument(fmt::format("server.http '{}' has no valid port", address));
  return impl_->server->Bind(host, port);
}

Status ApiServer::Serve() {
  Status served = impl_->server->Serve();
  impl_->FlushLog();
  return served;
}

void ApiServer::Stop() { impl_->server->Stop(); }

std::string ApiServer::Scheme() const { return impl_->server->tls() ? "https" : "http"; }

}  // namespace edl
