#include "http/api_server.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <mutex>

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
  response.set_content(value.dump(), "application/json");
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
  } else {
    text = call.request.body;
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

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 1;
  if (path.empty() || path[0] != '/') return parts;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

struct CompiledRoute {
  Route route;
  std::vector<std::string> segments;
};

bool Match(const CompiledRoute& route, const std::vector<std::string>& parts, std::map<std::string, std::string>& out) {
  if (route.segments.size() != parts.size()) return false;
  std::map<std::string, std::string> captured;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& segment = route.segments[i];
    if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}') {
      if (parts[i].empty()) return false;
      captured[segment.substr(1, segment.size() - 2)] = parts[i];
    } else if (segment != parts[i]) {
      return false;
    }
  }
  out = std::move(captured);
  return true;
}

// Query parameters that carry credentials are refused outright: URLs end up in proxy and shell logs.
bool QueryCarriesToken(const httplib::Request& request) {
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
  explicit Impl(const ApiServices& services, const ServerConfig& config) : state{services, config, {}} {}

  http::ServerState state;
  std::vector<http::CompiledRoute> routes;
  std::unique_ptr<httplib::Server> server;
  bool tls = false;
  std::string id_prefix;
  std::atomic<uint64_t> next_id{1};
  std::mutex log_mutex;

  std::string NewRequestId() {
    return fmt::format("{}-{:06x}", id_prefix, next_id.fetch_add(1, std::memory_order_relaxed));
  }

  // Text log lines carry no control characters, so nothing a client sends can forge a line.
  static std::string Escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
      } else {
        out += c;
      }
    }
    return out;
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
      line = fmt::format("{} {} {} {} {} {:.1f}ms{}{}", FormatTimestamp(state.services.clock.Now()), request_id,
                         Escaped(method), Escaped(route), status, seconds * 1000, user.empty() ? "" : " user=" + user,
                         error.empty() ? "" : " error=\"" + Escaped(error) + "\"");
    }
    std::lock_guard lock(log_mutex);
    std::fprintf(stderr, "%s\n", line.c_str());
  }

  void Handle(const httplib::Request& request, httplib::Response& response, const httplib::ContentReader* body) {
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
      std::vector<std::string> parts = http::SplitPath(request.path);
      const http::CompiledRoute* matched = nullptr;
      std::vector<std::string> allowed;
      for (const http::CompiledRoute& route : routes) {
        std::map<std::string, std::string> captured;
        if (!http::Match(route, parts, captured)) continue;
        if (route.route.method != request.method && !(request.method == "HEAD" && route.route.method == "GET")) {
          allowed.push_back(route.route.method);
          continue;
        }
        matched = &route;
        call.path = std::move(captured);
        break;
      }
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
            Result<Identity> identity = state.services.users.Authenticate(header.substr(kBearer.size()));
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
  if (impl_ && impl_->server) impl_->server->stop();
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
    std::string path = route.path;
    impl.routes.push_back({std::move(route), http::SplitPath(path)});
  }
  ASSIGN_OR_RETURN(std::string random, RandomBytes(4));
  for (unsigned char c : random) impl.id_prefix += fmt::format("{:02x}", c);

  if (!config.tls_cert.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(config.tls_cert.c_str(), config.tls_key.c_str());
    if (!tls->is_valid()) {
      return InvalidArgument(fmt::format("cannot use the TLS certificate '{}' with key '{}': not readable PEM files, "
                                         "or the key does not match the certificate",
                                         config.tls_cert, config.tls_key));
    }
    impl.server = std::move(tls);
    impl.tls = true;
  } else {
    impl.server = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *impl.server;
  size_t threads = static_cast<size_t>(config.threads);
  // httplib owns the queue it gets from this factory (its API takes a raw pointer).
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_keep_alive_max_count(100000);
  s.set_keep_alive_timeout(5);
  s.set_read_timeout(std::chrono::seconds(config.read_timeout_seconds));
  s.set_write_timeout(std::chrono::seconds(config.write_timeout_seconds));
  s.set_tcp_nodelay(true);
  s.set_payload_max_length(static_cast<size_t>(std::max(config.max_upload_bytes, config.max_body_bytes)));
  Impl* raw = &impl;
  // httplib reads a GET or DELETE body whole before any handler runs, up to the upload limit: no
  // route takes one, so a request announcing one is refused before a byte of it is read.
  s.set_pre_routing_handler([raw](const httplib::Request& q, httplib::Response& r) {
    bool bodyless = q.method == "GET" || q.method == "HEAD" || q.method == "DELETE";
    bool has_body = (q.has_header("Content-Length") && q.get_header_value("Content-Length") != "0") ||
                    q.has_header("Transfer-Encoding");
    if (!bodyless || !has_body) return httplib::Server::HandlerResponse::Unhandled;
    std::string id = raw->NewRequestId();
    r.set_header("X-Request-Id", id);
    r.set_header("Connection", "close");
    r.status = 413;
    r.set_content(http::ErrorBody("payload_too_large", q.method + " requests take no body", id).dump(),
                  "application/json");
    raw->state.metrics.Record("unmatched", q.method, r.status, 0);
    raw->Log(id, q.method, "(body refused)", r.status, 0, "", "");
    return httplib::Server::HandlerResponse::Handled;
  });
  // "[\s\S]*" rather than ".*": a decoded path may hold a newline, which "." does not match.
  constexpr const char* kAnyPath = "[\\s\\S]*";
  s.Get(kAnyPath, [raw](const httplib::Request& q, httplib::Response& r) { raw->Handle(q, r, nullptr); });
  s.Delete(kAnyPath, [raw](const httplib::Request& q, httplib::Response& r) { raw->Handle(q, r, nullptr); });
  s.Post(kAnyPath, [raw](const httplib::Request& q, httplib::Response& r, const httplib::ContentReader& body) {
    raw->Handle(q, r, &body);
  });
  s.Put(kAnyPath, [raw](const httplib::Request& q, httplib::Response& r, const httplib::ContentReader& body) {
    raw->Handle(q, r, &body);
  });
  // Errors httplib answers itself (malformed request line, URI too long, body over the limit).
  s.set_error_handler([raw](const httplib::Request& q, httplib::Response& r) {
    if (!r.body.empty()) return;
    std::string id = raw->NewRequestId();
    r.set_header("X-Request-Id", id);
    raw->state.metrics.Record("unmatched", q.method.empty() ? "-" : q.method, r.status, 0);
    raw->Log(id, q.method.empty() ? "-" : q.method, "(refused by the HTTP layer)", r.status, 0, "", "");
    std::string_view code = r.status == 413   ? "payload_too_large"
                            : r.status == 414 ? "uri_too_long"
                            : r.status == 404 ? "not_found"
                                              : "invalid_argument";
    std::string message = r.status == 413   ? "the request body is larger than the server accepts"
                          : r.status == 414 ? "the request URI is too long"
                                            : fmt::format("the request was refused (HTTP {})", r.status);
    r.set_content(http::ErrorBody(code, message, id).dump(), "application/json");
  });
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
  if (port == 0) {
    int bound = impl_->server->bind_to_any_port(host);
    if (bound <= 0) return Unavailable(fmt::format("cannot listen on {}", address));
    return bound;
  }
  if (!impl_->server->bind_to_port(host, port)) {
    return Unavailable(fmt::format("cannot listen on {}: the address is in use or not local", address));
  }
  return port;
}

Status ApiServer::Serve() {
  if (!impl_->server->listen_after_bind()) return Unavailable("the HTTP server stopped unexpectedly");
  return Status::Ok();
}

void ApiServer::Stop() { impl_->server->stop(); }

std::string ApiServer::Scheme() const { return impl_->tls ? "https" : "http"; }

}  // namespace edl
