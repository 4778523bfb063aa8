// HttpTransport: HTTP/1.1 connections (plain or TLS) for the REST frontend, on Boost.Beast/Asio.
// One event loop per core, each on its own thread; a connection is given to one of them (round
// robin) and all its reads and writes run there, so a connection needs no locking and a connection
// waiting for its next request holds no thread. A GET or HEAD that TransportOptions::on_loop calls
// quick is handled on the loop thread that read it. Other requests are handled on a pool of
// blocking threads, so a write waiting for the catalog's lock or a slow query holds no loop thread;
// the handler pulls the body piece by piece (BodyReader) while the loop reads it from the socket, so
// an upload is never held in memory. Nothing here knows about routes, JSON or users.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace edl::http {

struct HttpRequest {
  std::string method;
  std::string path;                                            // percent-decoded, without the query
  std::multimap<std::string, std::string> params;              // the decoded query string
  std::vector<std::pair<std::string, std::string>> headers;    // as sent

  // Header names are matched without regard to case; the first value wins.
  bool has_header(std::string_view name) const;
  std::string get_header_value(std::string_view name) const;  // "" when absent
  bool has_param(const std::string& name) const { return params.count(name) > 0; }
  std::string get_param_value(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::shared_ptr<const std::string> shared_body;  // sent instead of `body` when set (not copied)
  std::string content_type;

  // Replaces a header of the same name.
  void set_header(std::string name, std::string value);
  void set_content(std::string text, std::string type) {
    body = std::move(text);
    content_type = std::move(type);
  }
  std::string get_header_value(std::string_view name) const;
};

// Calls `sink` with each piece of the request body as it arrives. True when the whole body was
// read; false when `sink` returned false or the client stopped sending (cut off, timed out).
using BodySink = std::function<bool(const char* data, size_t size)>;
using BodyReader = std::function<bool(const BodySink& sink)>;

struct TransportOptions {
  int threads = 16;                  // blocking threads for requests not handled on the loops; the
                                     // loops run one per core (at least 2, at most `threads`)
  // Which GET and HEAD requests are handled on the loop that read them: those answered from memory.
  // Any request it does not accept (or every one but GET and HEAD when unset) goes to the blocking
  // threads, so one slow read (a query over a large audit log) never holds up the other
  // connections of its loop.
  std::function<bool(const HttpRequest& request)> on_loop;
  int64_t max_body_bytes = 1 << 20;  // larger announced bodies are refused (413) before any handler
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds write_timeout{30};
  std::chrono::seconds keep_alive_timeout{5};  // an idle connection is closed after this
  size_t max_header_bytes = 64 * 1024;        // request line and headers together
  std::string tls_cert;                       // PEM files; both set: HTTPS only
  std::string tls_key;
};

class HttpTransport {
 public:
  // Answers one request. `body` is null when the method takes none (GET, HEAD, DELETE); a handler
  // that answers without reading all of it gets its connection closed after the response.
  using Handler = std::function<void(const HttpRequest& request, HttpResponse& response, const BodyReader* body)>;
  // Answers a request the transport refuses before any handler: `status` 400 (malformed), 413
  // (body too large, or a body on GET/HEAD/DELETE), 431 (request line and headers too large).
  // `request.method` and `request.path` are set when they could be read; `why` says what was wrong.
  using Refusal =
      std::function<void(int status, const HttpRequest& request, const std::string& why, HttpResponse& response)>;

  static Result<std::unique_ptr<HttpTransport>> Create(const TransportOptions& options, Handler handler,
                                                       Refusal refusal);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Binds host:port (port 0 picks a free one) and returns the port.
  Result<int> Bind(const std::string& host, int port);
  // Serves until Stop(), then waits for requests in flight and returns.
  Status Serve();
  // Stops accepting; Serve() returns once the requests in flight are answered. Any thread, any time
  // (also before Serve()).
  void Stop();
  bool tls() const;

  struct Impl;  // transport.cc only

 private:
  HttpTransport();
  std::shared_ptr<Impl> impl_;
};

// Percent-decoding as URLs use it; `plus_is_space` for query strings. Malformed escapes stay as sent.
std::string DecodeUrl(std::string_view text, bool plus_is_space);

}  // namespace edl::http
