#include "core/clock.h"

#include <gtest/gtest.h>

namespace edl {
namespace {

TEST(ClockTest, FormatsUtcWithMilliseconds) {
  auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764405302123));
  EXPECT_EQ(FormatTimestamp(t), "2025-11-29T08:35:02.123Z");
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
