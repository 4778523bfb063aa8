// Test support shared by every test binary: ASSERT_OK / EXPECT_OK for Status values, and a clock
// that moves only when told (thread-safe).
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/status.h"

#define ASSERT_OK(expr)                                                    \
  do {                                                                     \
    const ::edl::Status& edl_assert_status_ = (expr);                      \
    ASSERT_TRUE(edl_assert_status_.ok()) << edl_assert_status_.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                                    \
  do {                                                                     \
    const ::edl::Status& edl_expect_status_ = (expr);                      \
    EXPECT_TRUE(edl_expect_status_.ok()) << edl_expect_status_.ToString(); \
  } while (0)

// ASSERT_OK_AND_ASSIGN(auto x, Foo()); declares x from a Result, or fails the test.
#define EDL_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString();   \
  lhs = std::move(tmp).value()
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  EDL_ASSERT_OK_AND_ASSIGN_IMPL(EDL_CONCAT(edl_assert_result_, __LINE__), lhs, expr)

namespace edl::testing {

// Starts at 2026-01-02T03:04:05.678Z and moves only when told.
class FixedClock final : public Clock {
 public:
  FixedClock();
  std::chrono::system_clock::time_point Now() const override { return now_.load(); }
  void Advance(std::chrono::milliseconds step) { now_.store(now_.load() + step); }
  std::string NowText() const { return FormatTimestamp(Now()); }

 private:
  std::atomic<std::chrono::system_clock::time_point> now_;
};

}  // namespace edl::testing
