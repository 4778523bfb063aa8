#include "http/transport.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

namespace edl::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
// Everything of a connection runs on the one thread of its loop: no strands, no type-erased executors.
using LoopExecutor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, LoopExecutor>;
using TcpStream = beast::basic_stream<tcp, LoopExecutor, beast::unlimited_rate_policy>;
using TlsStream = beast::ssl_stream<TcpStream>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                         LoopExecutor>;

namespace {

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void ParseQuery(std::string_view query, std::multimap<std::string, std::string>& out) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = DecodeUrl(pair.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? std::string() : DecodeUrl(pair.substr(eq + 1), true);
    out.emplace(std::move(key), std::move(value));
  }
}

// A header value goes out on one line whatever a handler put in it.
std::string OneLine(std::string value) {
  for (char& c : value) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  return value;
}

// Blocking threads for handlers of requests with a body.
class BlockingPool {
 public:
  void Start(int threads) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Run(); });
  }
  void Submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
  }
  void StopAndJoin() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

}  // namespace

std::string DecodeUrl(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

bool HttpRequest::has_header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (SameName(key, name)) return true;
  }
  return false;
}

std::string HttpRequest::get_header_value(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (SameName(key, name)) return value;
  }
  return "";
}

std::string HttpRequest::get_param_value(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

void HttpResponse::set_header(std::string name, std::string value) {
  for (auto& [key, existing] : headers) {
    if (SameName(key, name)) {
      existing = OneLine(std::move(value));
      return;
    }
  }
  headers.emplace_back(std::move(name), OneLine(std::move(value)));
}

std::string HttpResponse::get_header_value(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (SameName(key, name)) return value;
  }
  return "";
}

namespace {
// The loops' handlers only compute and read the catalog: one loop per core keeps every core busy
// without threads queueing for them.
int LoopCount(const TransportOptions& options) {
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, std::min(options.threads, std::max(2, cores)));
}

std::vector<std::unique_ptr<asio::io_context>> MakeLoops(int count) {
  std::vector<std::unique_ptr<asio::io_context>> loops;
  for (int i = 0; i < count; ++i) loops.push_back(std::make_unique<asio::io_context>(1));
  return loops;
}
}  // namespace

struct HttpTransport::Impl {
  TransportOptions options;
  Handler handler;
  Refusal refusal;
  // Declared before the loops, whose connections use them until the loops are destroyed.
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> in_flight{0};  // requests read and not yet answered
  std::chrono::milliseconds step;     // how often a connection's deadline is looked at
  std::optional<asio::ssl::context> ssl;
  // One event loop per thread; a connection lives on one of them (round robin), the acceptor and
  // the drain check on the first.
  std::vector<std::unique_ptr<asio::io_context>> loops;
  size_t next_loop = 0;
  tcp::acceptor acceptor;
  BlockingPool pool;  // destroyed first: a task it still holds may hold a connection

  explicit Impl(const TransportOptions& o) : options(o), loops(MakeLoops(LoopCount(o))), acceptor(*loops[0]) {
    auto shortest = std::min({o.read_timeout, o.write_timeout, o.keep_alive_timeout});
    step = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(shortest) / 4,
                      std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
  }

  void Accept();
  void StopLoops() {
    for (auto& loop : loops) loop->stop();
  }
};

namespace {

constexpr size_t kBodyChunk = 64 * 1024;

// One connection: reads a request, answers it, reads the next while the client keeps it alive.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... Args>
  Session(HttpTransport::Impl& server, Args&&... args)
      : server_(server), stream_(std::forward<Args>(args)...), timer_(stream_.get_executor()) {}
  ~Session() { EndRequest(); }

  void Start() {
    if constexpr (std::is_same_v<Stream, TcpStream>) {
      ReadHeader();
    } else {
      Arm(server_.options.read_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                self->Disarm();
                                if (!ec) self->ReadHeader();
                              });
    }
  }

 private:
  TcpStream& Lowest() { return beast::get_lowest_layer(stream_); }

  // Timeouts cancel the pending read or write instead of closing the socket, so a client that went
  // silent half way through its request can still be told so. Arming only moves a deadline; one
  // timer per connection looks at it every `step` (a quarter of the shortest timeout, at most 1 s),
  // so a request costs no timer operations.
  void Arm(std::chrono::seconds timeout) {
    deadline_ = std::chrono::steady_clock::now() + timeout;
    timed_out_ = false;
    if (!timer_waiting_) WaitTimer();
  }
  void Disarm() { deadline_ = std::chrono::steady_clock::time_point::max(); }
  void WaitTimer() {
    timer_waiting_ = true;
    timer_.expires_after(server_.step);
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      self->timer_waiting_ = false;
      if (ec || self->closed_ || self->deadline_ == std::chrono::steady_clock::time_point::max()) return;
      if (std::chrono::steady_clock::now() < self->deadline_) return self->WaitTimer();
      self->timed_out_ = true;
      beast::error_code ignored;
      self->Lowest().socket().cancel(ignored);
    });
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    body_complete_ = false;
    Arm(requests_ == 0 ? server_.options.read_timeout : server_.options.keep_alive_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->Disarm();
      self->OnHeader(ec);
    });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) {
      HttpRequest partial;
      if (timed_out_ && buffer_.size() > 0) {
        // Part of a request, then silence: say so before closing.
        return Refuse(400, partial,
                      fmt::format("the request was not complete within {} s", server_.options.read_timeout.count()));
      }
      // The client closed, went silent between requests, or the server is stopping.
      if (timed_out_ || ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
          ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
        return Close();
      }
      if (ec == bhttp::error::header_limit) {
        return Refuse(431, partial, fmt::format("the request line and headers are larger than {} bytes",
                                                server_.options.max_header_bytes));
      }
      return Refuse(400, partial, fmt::format("the request is not valid HTTP/1.1 ({})", ec.message()));
    }
    ++requests_;
    BeginRequest();
    const auto& header = parser_->get();
    request_ = HttpRequest();
    request_.method = std::string(header.method_string());
    std::string_view target(header.target().data(), header.target().size());
    size_t question = target.find('?');
    request_.path = DecodeUrl(target.substr(0, question), false);
    if (question != std::string_view::npos) ParseQuery(target.substr(question + 1), request_.params);
    for (const auto& field : header) {
      request_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    version_ = header.version();
    keep_alive_ = parser_->keep_alive();

    // A coding the parser does not decode would leave the body's bytes to be read as the next
    // request: refused, as RFC 9112 asks of a server.
    if (request_.has_header("Transfer-Encoding") && !parser_->chunked()) {
      return Refuse(400, request_, "the request is not valid HTTP/1.1 (Transfer-Encoding other than chunked)");
    }
    bool has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    bool bodyless = request_.method == "GET" || request_.method == "HEAD" || request_.method == "DELETE";
    if (has_body && bodyless) return Refuse(413, request_, request_.method + " requests take no body");
    if (parser_->content_length() &&
        *parser_->content_length() > static_cast<std::uint64_t>(server_.options.max_body_bytes)) {
      return Refuse(413, request_,
                    fmt::format("the request body is larger than {} bytes", server_.options.max_body_bytes));
    }
    expect_continue_ = has_body && SameName(request_.get_header_value("Expect"), "100-continue");
    auto response = std::make_shared<HttpResponse>();
    if ((request_.method == "GET" || request_.method == "HEAD") &&
        (!server_.options.on_loop || server_.options.on_loop(request_))) {
      // Quick reads: handled right here, on the loop.
      server_.handler(request_, *response, nullptr);
      body_complete_ = true;
      return Write(std::move(response));
    }
    // Writes may wait for the catalog's write lock, other reads may take long: on the pool, so the
    // loop keeps serving its other connections.
    if (!has_body) body_complete_ = true;
    server_.pool.Submit([self = this->shared_from_this(), response, bodyless, has_body] {
      BodyReader empty = [](const BodySink&) { return true; };
      BodyReader reader = [&self](const BodySink& sink) { return self->PullBody(sink); };
      self->server_.handler(self->request_, *response, bodyless ? nullptr : has_body ? &reader : &empty);
      asio::post(self->stream_.get_executor(), [self, response] { self->Write(response); });
    });
  }

  // On a pool thread: asks the connection's loop for each piece of the body and waits for it.
  bool PullBody(const BodySink& sink) {
    if (body_complete_) return true;
    if (body_failed_) return false;
    if (!chunk_) chunk_ = std::make_unique<char[]>(kBodyChunk);
    for (;;) {
      std::unique_lock lock(pump_mutex_);
      pump_ready_ = false;
      lock.unlock();
      asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->ReadBodyPiece(); });
      lock.lock();
      while (!pump_ready_) {
        if (pump_wake_.wait_for(lock, std::chrono::milliseconds(100)) == std::cv_status::timeout &&
            stream_.get_executor().context().stopped()) {
          body_failed_ = true;
          return false;
        }
      }
      if (pump_error_) {
        body_failed_ = true;
        return false;
      }
      size_t size = pump_size_;
      bool done = parser_->is_done();
      lock.unlock();
      if (size > 0 && !sink(chunk_.get(), size)) return false;
      if (done) {
        body_complete_ = true;
        return true;
      }
    }
  }

  // On the loop: one piece of the body into chunk_, then wakes the handler.
  void ReadBodyPiece() {
    auto start_read = [self = this->shared_from_this()] {
      auto& body = self->parser_->get().body();
      body.data = self->chunk_.get();
      body.size = kBodyChunk;
      self->Arm(self->server_.options.read_timeout);
      bhttp::async_read(self->stream_, self->buffer_, *self->parser_, [self](beast::error_code ec, size_t) {
        self->Disarm();
        if (ec == bhttp::error::need_buffer) ec = {};
        size_t size = kBodyChunk - self->parser_->get().body().size;
        std::lock_guard lock(self->pump_mutex_);
        self->pump_error_ = static_cast<bool>(ec);
        self->pump_size_ = size;
        self->pump_ready_ = true;
        self->pump_wake_.notify_one();
      });
    };
    if (!expect_continue_) return start_read();
    // The client waits for this before it sends the body; sent only once a handler wants the body.
    expect_continue_ = false;
    auto interim = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, version_);
    Arm(server_.options.write_timeout);
    bhttp::async_write(stream_, *interim, [self = this->shared_from_this(), interim, start_read](beast::error_code ec, size_t) {
      self->Disarm();
      if (!ec) return start_read();
      std::lock_guard lock(self->pump_mutex_);
      self->pump_error_ = true;
      self->pump_size_ = 0;
      self->pump_ready_ = true;
      self->pump_wake_.notify_one();
    });
  }

  void Refuse(int status, const HttpRequest& request, const std::string& why) {
    auto response = std::make_shared<HttpResponse>();
    response->status = status;
    BeginRequest();
    server_.refusal(status, request, why, *response);
    keep_alive_ = false;
    Write(std::move(response));
  }

  void Write(std::shared_ptr<HttpResponse> response) {
    bool keep = keep_alive_ && body_complete_ && !server_.stopping.load();
    if (SameName(response->get_header_value("Connection"), "close")) keep = false;
    keep_alive_ = keep;
    bool head = request_.method == "HEAD";
    if (head) {
      auto message = std::make_shared<bhttp::response<bhttp::empty_body>>();
      Fill(*message, *response, keep);
      message->content_length(response->shared_body ? response->shared_body->size() : response->body.size());
      Send(message);
    } else if (response->shared_body) {
      auto message = std::make_shared<bhttp::response<bhttp::span_body<const char>>>();
      Fill(*message, *response, keep);
      message->body() = {response->shared_body->data(), response->shared_body->size()};
      message->prepare_payload();
      Send(message, response->shared_body);
    } else {
      auto message = std::make_shared<bhttp::response<bhttp::string_body>>();
      Fill(*message, *response, keep);
      message->body() = std::move(response->body);
      message->prepare_payload();
      Send(message);
    }
  }

  template <class Message>
  void Fill(Message& message, const HttpResponse& response, bool keep) {
    message.version(version_ == 10 ? 10 : 11);
    message.result(static_cast<unsigned>(response.status));
    for (const auto& [name, value] : response.headers) {
      if (SameName(name, "Connection") || SameName(name, "Content-Length")) continue;
      message.insert(name, value);
    }
    if (!response.content_type.empty()) message.set(bhttp::field::content_type, response.content_type);
    message.keep_alive(keep);
  }

  // `keep` holds what the message's body points into until it is written.
  template <class Message>
  void Send(std::shared_ptr<Message> message, std::shared_ptr<const void> keep = nullptr) {
    Arm(server_.options.write_timeout);
    bhttp::async_write(stream_, *message, [self = this->shared_from_this(), message, keep](beast::error_code ec, size_t) {
      self->Disarm();
      self->EndRequest();
      if (ec || !self->keep_alive_) return self->Close();
      self->ReadHeader();
    });
  }

  void Close() {
    EndRequest();
    if constexpr (std::is_same_v<Stream, TcpStream>) {
      closed_ = true;
      timer_.cancel();
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    } else {
      // TLS says goodbye first; a peer that does not answer within 2 s is cut off.
      Arm(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        self->closed_ = true;
        self->timer_.cancel();
      });
    }
  }

  void BeginRequest() {
    if (!counted_) {
      counted_ = true;
      server_.in_flight.fetch_add(1);
    }
  }
  void EndRequest() {
    if (counted_) {
      counted_ = false;
      server_.in_flight.fetch_sub(1);
    }
  }

  HttpTransport::Impl& server_;
  Stream stream_;
  Timer timer_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool timer_waiting_ = false;
  bool timed_out_ = false;
  bool closed_ = false;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> parser_;
  HttpRequest request_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
  bool counted_ = false;
  int64_t requests_ = 0;
  // Body pump between the loop and the handler's pool thread.
  std::atomic<bool> body_complete_{false};
  bool body_failed_ = false;
  std::unique_ptr<char[]> chunk_;
  std::mutex pump_mutex_;
  std::condition_variable pump_wake_;
  bool pump_ready_ = false;
  bool pump_error_ = false;
  size_t pump_size_ = 0;
};

}  // namespace

void HttpTransport::Impl::Accept() {
  asio::io_context& loop = *loops[next_loop];
  next_loop = (next_loop + 1) % loops.size();
  auto socket = std::make_shared<Socket>(loop);
  acceptor.async_accept(*socket, [this, socket](beast::error_code ec) {
    if (ec) {
      if (!acceptor.is_open() || stopping.load()) return;
      // Out of descriptors or a connection reset before it was accepted: keep accepting.
      return Accept();
    }
    beast::error_code ignored;
    socket->set_option(tcp::no_delay(true), ignored);
    // Started on its own loop's thread, where everything of the connection runs from then on.
    asio::post(socket->get_executor(), [this, socket] {
      if (ssl) {
        std::make_shared<Session<TlsStream>>(*this, std::move(*socket), *ssl)->Start();
      } else {
        std::make_shared<Session<TcpStream>>(*this, std::move(*socket))->Start();
      }
    });
    Accept();
  });
}

HttpTransport::HttpTransport() = default;
HttpTransport::~HttpTransport() = default;

Result<std::unique_ptr<HttpTransport>> HttpTransport::Create(const TransportOptions& options, Handler handler,
                                                             Refusal refusal) {
  std::unique_ptr<HttpTransport> transport(new HttpTransport());
  transport->impl_ = std::make_shared<Impl>(options);
  Impl& impl = *transport->impl_;
  impl.handler = std::move(handler);
  impl.refusal = std::move(refusal);
  if (!options.tls_cert.empty()) {
    impl.ssl.emplace(asio::ssl::context::tls_server);
    beast::error_code ec;
    impl.ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                              asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                              asio::ssl::context::no_tlsv1_1,
                          ec);
    impl.ssl->use_certificate_chain_file(options.tls_cert, ec);
    if (!ec) impl.ssl->use_private_key_file(options.tls_key, asio::ssl::context::pem, ec);
    if (!ec && SSL_CTX_check_private_key(impl.ssl->native_handle()) != 1) ec = asio::error::invalid_argument;
    if (ec) {
      return InvalidArgument(fmt::format("cannot use the TLS certificate '{}' with key '{}': not readable PEM files, "
                                         "or the key does not match the certificate",
                                         options.tls_cert, options.tls_key));
    }
  }
  return transport;
}

bool HttpTransport::tls() const { return impl_->ssl.has_value(); }

Result<int> HttpTransport::Bind(const std::string& host, int port) {
  beast::error_code ec;
  tcp::resolver resolver(*impl_->loops[0]);
  auto found = resolver.resolve(host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || found.empty()) return Unavailable(fmt::format("cannot listen on {}:{}: the host name does not resolve", host, port));
  tcp::endpoint endpoint = found.begin()->endpoint();
  tcp::acceptor& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close(ec);
    return Unavailable(fmt::format("cannot listen on {}:{}: the address is in use or not local", host, port));
  }
  return static_cast<int>(acceptor.local_endpoint().port());
}

Status HttpTransport::Serve() {
  Impl& impl = *impl_;
  if (!impl.acceptor.is_open()) return Unavailable("the HTTP server is not bound to an address");
  if (impl.stopping.load()) return Status::Ok();
  impl.pool.Start(impl.options.threads);
  impl.Accept();
  // Once stopping, the loops end when no request is in flight (idle connections are dropped).
  asio::steady_timer drain(*impl.loops[0]);
  std::function<void(beast::error_code)> check = [&](beast::error_code) {
    if (impl.stopping.load()) {
      beast::error_code ignored;
      impl.acceptor.close(ignored);
      if (impl.in_flight.load() <= 0) return impl.StopLoops();
    }
    drain.expires_after(std::chrono::milliseconds(50));
    drain.async_wait(check);
  };
  check({});
  // The other loops have no work of their own until a connection comes: keep them running.
  std::vector<asio::executor_work_guard<LoopExecutor>> keep;
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl.loops.size(); ++i) {
    keep.push_back(asio::make_work_guard(*impl.loops[i]));
    threads.emplace_back([loop = impl.loops[i].get()] { loop->run(); });
  }
  impl.loops[0]->run();
  impl.StopLoops();
  for (std::thread& t : threads) t.join();
  impl.pool.StopAndJoin();
  return Status::Ok();
}

void HttpTransport::Stop() { impl_->stopping.store(true); }

}  // namespace edl::http
