// HttpMetrics: request counters and latency histograms by route, rendered in the Prometheus text
// format (with gauges the caller adds at scrape time). Thread-safe: handlers record concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace edl {

class HttpMetrics {
 public:
  // `route` is the route pattern ("/v1/datasets/{name}"), never the raw path, so labels stay few.
  void Record(const std::string& route, const std::string& method, int status, double seconds);
  void AddUploadedBytes(uint64_t bytes);
  // The text exposition of everything recorded, without a trailing gauge section.
  std::string Render() const;

  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                       0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;  // guarded by mutex_
  std::map<std::string, Histogram> latency_;                                // guarded by mutex_
  uint64_t uploaded_bytes_ = 0;                                             // guarded by mutex_
};

}  // namespace edl
