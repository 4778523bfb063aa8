#include "core/clock.h"

#include <ctime>

#include <fmt/format.h>

namespace edl {

std::string FormatTimestamp(std::chrono::system_clock::time_point t) {
  // Civil-date arithmetic rather than gmtime_r and a format string: the server stamps several
  // timestamps on every request (the token's expiry check, the audit event, the log line).
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day date(day);
  const hh_mm_ss<milliseconds> time(ms - day);
  const int year = static_cast<int>(date.year());
  if (year < 0 || year > 9999) {  // outside what four digits hold; not a time EDL stamps
    return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z", year, static_cast<unsigned>(date.month()),
                       static_cast<unsigned>(date.day()), time.hours().count(), time.minutes().count(),
                       time.seconds().count(), time.subseconds().count());
  }
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&](size_t at, size_t width, long long value) {
    for (size_t i = width; i-- > 0; value /= 10) out[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, 4, year);
  put(5, 2, static_cast<unsigned>(date.month()));
  put(8, 2, static_cast<unsigned>(date.day()));
  put(11, 2, time.hours().count());
  put(14, 2, time.minutes().count());
  put(17, 2, time.seconds().count());
  put(20, 3, time.subseconds().count());
  return out;
}

std::optional<std::chrono::system_clock::time_point> ParseUtcDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int parts[3] = {0, 0, 0};
  size_t starts[3] = {0, 5, 8}, lengths[3] = {4, 2, 2};
  for (int i = 0; i < 3; ++i) {
    for (size_t j = starts[i]; j < starts[i] + lengths[i]; ++j) {
      if (text[j] < '0' || text[j] > '9') return std::nullopt;
      parts[i] = parts[i] * 10 + (text[j] - '0');
    }
  }
  std::chrono::year_month_day date{std::chrono::year(parts[0]), std::chrono::month(static_cast<unsigned>(parts[1])),
                                   std::chrono::day(static_cast<unsigned>(parts[2]))};
  if (parts[0] < 1970 || parts[0] > 2200 || !date.ok()) return std::nullopt;  // a time_point ends in 2262
  return std::chrono::sys_days(date);
}

}  // namespace edl
