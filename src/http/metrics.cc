#include "http/metrics.h"

#include <fmt/format.h>

namespace edl {

void HttpMetrics::Record(const std::string& route, const std::string& method, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, method, status}];
  Histogram& h = latency_[route];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.counts[i];
  }
  ++h.count;
  h.sum += seconds;
}

void HttpMetrics::AddUploadedBytes(uint64_t bytes) {
  std::lock_guard lock(mutex_);
  uploaded_bytes_ += bytes;
}

std::string HttpMetrics::Render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP edl_http_requests_total HTTP requests answered, by route pattern, method and status.\n";
  out += "# TYPE edl_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, status] = key;
    out += fmt::format("edl_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n", route, method,
                       status, count);
  }
  out += "# HELP edl_http_request_duration_seconds Time from request to response, by route pattern.\n";
  out += "# TYPE edl_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out += fmt::format("edl_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", route,
                         kBuckets[i], h.counts[i]);
    }
    out += fmt::format("edl_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", route, h.count);
    out += fmt::format("edl_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route, h.sum);
    out += fmt::format("edl_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route, h.count);
  }
  out += "# HELP edl_upload_bytes_total Bytes of files uploaded for ingest.\n";
  out += "# TYPE edl_upload_bytes_total counter\n";
  out += fmt::format("edl_upload_bytes_total {}\n", uploaded_bytes_);
  return out;
}

}  // namespace edl
