#include "core/clock.h"

#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace edl {
namespace {

TEST(ClockTest, FormatsUtcWithMilliseconds) {
  auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764405302123));
  EXPECT_EQ(FormatTimestamp(t), "2025-11-29T08:35:02.123Z");
}

// The civil-date arithmetic agrees with the C library's gmtime over 1970..2200, leap days and the
// last millisecond of a day included.
TEST(ClockTest, FormatsLikeGmtime) {
  auto reference = [](int64_t ms) {
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    char millis[8];
    std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms % 1000));
    return std::string(text) + millis;
  };
  std::mt19937_64 random(20261129);
  std::uniform_int_distribution<int64_t> any_ms(0, 7258118399999);  // up to 2199-12-31T23:59:59.999Z
  std::vector<int64_t> cases = {0, 951782399999, 951782400000, 4107542399999, 7258118399999};
  for (int i = 0; i < 20000; ++i) cases.push_back(any_ms(random));
  for (int64_t ms : cases) {
    auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
    ASSERT_EQ(FormatTimestamp(t), reference(ms)) << ms;
  }
}

TEST(ClockTest, ParsesCalendarDates) {
  auto day = ParseUtcDate("2026-11-29");
  ASSERT_TRUE(day.has_value());
  EXPECT_EQ(FormatTimestamp(*day), "2026-11-29T00:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(*ParseUtcDate("2028-02-29")), "2028-02-29T00:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(*ParseUtcDate("2200-12-31")), "2200-12-31T00:00:00.000Z");
}

TEST(ClockTest, RefusesWhatIsNotARealDateInRange) {
  for (const char* bad : {"", "2026-11-3", "2026-11-290", "2026/11/29", "2026-13-01", "2026-02-30", "2027-02-29",
                          "2026-00-10", "2026-11-00", "1969-12-31", "2201-01-01", "9999-12-31", "20x6-11-29",
                          "2026-11-29T00:00:00Z", " 2026-11-29"}) {
    EXPECT_FALSE(ParseUtcDate(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace edl
