// Internal to src/http: one request as the route handlers see it, and the route table they fill.
// A Call belongs to the thread serving its request.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "access/access.h"
#include "core/status.h"
#include "http/api_server.h"
#include "http/metrics.h"
#include "http/read_cache.h"
#include "http/render_memo.h"
#include "http/transport.h"

namespace edl::http {

struct Call {
  const HttpRequest& request;
  HttpResponse& response;
  const BodyReader* body = nullptr;  // POST and PUT
  std::string request_id;
  Identity identity;                              // set when the route is authenticated
  std::map<std::string, std::string> path;        // "{name}" -> value
  bool body_too_large = false;                    // set by ReadJsonBody: answer 413

  // Writes `value` as the JSON response with `status`.
  void Reply(int status, const nlohmann::json& value);
  // Writes JSON text already rendered.
  void ReplyText(int status, std::string json_text);
  void ReplyText(int status, std::shared_ptr<const std::string> json_text);
  // A query parameter, if present.
  std::optional<std::string> Query(const std::string& name) const;
};

using Handler = std::function<Status(Call&)>;

struct Route {
  std::string method;
  std::string path;  // "/v1/datasets/{name}"
  bool authenticated = true;
  Handler handler;
  // Answered from memory in the common case (caches, constants): handled on the event loop. Every
  // other route runs on the blocking threads (TransportOptions::on_loop).
  bool quick = false;
};

struct ServerState {
  ApiServices services;
  ServerConfig config;
  HttpMetrics metrics;
  DatasetSummaryCache datasets;
  ListingCache listings;
  DatasetTextMemo texts;  // the dataset routes' printed JSON
};

// Every route of the API with its handler. `state` may be null for a table only read for its names.
std::vector<Route> MakeRoutes(ServerState* state);

// Reads a JSON body of at most config.max_body_bytes (more: InvalidArgument and body_too_large).
Result<nlohmann::json> ReadJsonBody(Call& call, int64_t max_bytes);

// Strict reading of a JSON object body: wrong types and unknown fields are InvalidArgument naming
// the field.
class BodyFields {
 public:
  static Result<BodyFields> Of(const nlohmann::json& body);
  Status String(const std::string& key, std::string& out, bool required = false);
  Status OptionalString(const std::string& key, std::optional<std::string>& out);
  Status StringList(const std::string& key, std::vector<std::string>& out, bool required = false);
  Status Bool(const std::string& key, bool& out);
  Status OptionalInt(const std::string& key, std::optional<int64_t>& out);
  // InvalidArgument naming the first field nobody asked for.
  Status Finish() const;

 private:
  explicit BodyFields(const nlohmann::json& body) : body_(body) {}
  const nlohmann::json& body_;
  std::vector<std::string> known_;
};

}  // namespace edl::http
