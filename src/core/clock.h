// Clock: the source of "now" for everything that records time (catalog rows, audit, leases).
// Passed in, never global, so tests can use a fixed or stepping clock. Implementations must be
// thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace edl {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return std::chrono::system_clock::now(); }
};

// RFC 3339 UTC with milliseconds, e.g. "2026-11-29T08:35:02.123Z". Sorts as text in time order.
std::string FormatTimestamp(std::chrono::system_clock::time_point t);

// 00:00 UTC of a calendar date written "YYYY-MM-DD"; nullopt unless it is exactly that and a real
// date of the years 1970..2200.
std::optional<std::chrono::system_clock::time_point> ParseUtcDate(std::string_view text);

}  // namespace edl
