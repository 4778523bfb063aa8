// HttpTransport alone, with a handler of the test's own: which requests run on the event loops.
#include "http/transport.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>

namespace edl::http {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kSlow{1500};

// A transport whose handler takes kSlow for GET /slow and answers anything else at once; `on_loop`
// as given. Two loops (threads 4 on any machine: at least 2 loops), connections dealt to them in
// turn.
class Served {
 public:
  explicit Served(std::function<bool(const HttpRequest&)> on_loop) {
    TransportOptions options;
    options.threads = 4;
    options.on_loop = std::move(on_loop);
    auto handler = [](const HttpRequest& request, HttpResponse& response, const BodyReader*) {
      if (request.path == "/slow") std::this_thread::sleep_for(kSlow);
      response.status = 200;
      response.set_content(request.path, "text/plain");
    };
    auto refusal = [](int status, const HttpRequest&, const std::string& why, HttpResponse& response) {
      response.status = status;
      response.set_content(why, "text/plain");
    };
    auto created = HttpTransport::Create(options, handler, refusal);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    transport_ = std::move(created).value();
    auto port = transport_->Bind("127.0.0.1", 0);
    EXPECT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    serving_ = std::thread([this] { EXPECT_TRUE(transport_->Serve().ok()); });
  }
  ~Served() {
    transport_->Stop();
    serving_.join();
  }

  // While GET /slow runs on the first connection, GET /fast on four more connections (two of them
  // on the slow request's loop): the slowest of their answer times.
  milliseconds SlowestFastAnswerDuringASlowOne() {
    httplib::Client slow_client("127.0.0.1", port_);
    slow_client.set_read_timeout(10, 0);
    std::future<int> slow = std::async(std::launch::async, [&] {
      auto result = slow_client.Get("/slow");
      return result ? result->status : -1;
    });
    std::this_thread::sleep_for(milliseconds(200));  // accepted and in its handler
    std::vector<std::unique_ptr<httplib::Client>> clients;
    milliseconds slowest{0};
    for (int i = 0; i < 4; ++i) {
      clients.push_back(std::make_unique<httplib::Client>("127.0.0.1", port_));
      clients.back()->set_read_timeout(10, 0);
      auto start = Clock::now();
      auto result = clients.back()->Get("/fast");
      slowest = std::max(slowest, std::chrono::duration_cast<milliseconds>(Clock::now() - start));
      EXPECT_TRUE(result && result->status == 200 && result->body == "/fast");
    }
    EXPECT_EQ(slow.get(), 200);
    return slowest;
  }

 private:
  std::unique_ptr<HttpTransport> transport_;
  int port_ = 0;
  std::thread serving_;
};

TEST(HttpTransport, ASlowReadOffTheLoopDelaysNoOtherConnection) {
  Served served([](const HttpRequest& request) { return request.path != "/slow"; });
  EXPECT_LT(served.SlowestFastAnswerDuringASlowOne(), milliseconds(700));
}

// The control: the same slow read handled on its loop holds up the connections dealt to that loop.
TEST(HttpTransport, ASlowReadOnTheLoopDelaysItsLoopsConnections) {
  Served served([](const HttpRequest&) { return true; });
  EXPECT_GE(served.SlowestFastAnswerDuringASlowOne(), milliseconds(700));
}

}  // namespace
}  // namespace edl::http
