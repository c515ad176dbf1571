#include <pagohub/core/utc_time.hpp>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono;
using pagohub::core::format_utc;

TEST(format_utc, truncates_to_the_digits_asked) {
  const sys_time<nanoseconds> t = sys_days{2024y / May / 1} + 10h + 123'456'789ns;
  EXPECT_EQ(format_utc(t, 6), "2024-05-01T10:00:00.123456Z");
  EXPECT_EQ(format_utc(t, 3), "2024-05-01T10:00:00.123Z");
  EXPECT_EQ(format_utc(t, 0), "2024-05-01T10:00:00Z");
  EXPECT_EQ(format_utc(t, 9), "2024-05-01T10:00:00.123456Z");  // microseconds at most
  EXPECT_EQ(format_utc(t, -1), "2024-05-01T10:00:00Z");
}

TEST(format_utc, leap_days_and_the_epoch) {
  EXPECT_EQ(format_utc(sys_days{2024y / February / 29} + 23h + 59min + 59s, 0),
            "2024-02-29T23:59:59Z");
  EXPECT_EQ(format_utc(system_clock::time_point{}, 6), "1970-01-01T00:00:00.000000Z");
}

TEST(format_utc, every_field_is_zero_padded) {
  const sys_time<microseconds> t = sys_days{5y / January / 2} + 3h + 4min + 5s + 7us;
  EXPECT_EQ(format_utc(t, 6), "0005-01-02T03:04:05.000007Z");
  EXPECT_EQ(format_utc(t, 5), "0005-01-02T03:04:05.00000Z");
  EXPECT_EQ(format_utc(sys_days{2024y / December / 31} + 23h + 59min + 59s + 999'999us, 1),
            "2024-12-31T23:59:59.9Z");
}

TEST(format_utc, years_past_the_nanosecond_clock) {
  // system_clock counts nanoseconds, which end in 2262; a journal query "until 9999-12-31"
  // must not wrap to the 19th century.
  const sys_time<microseconds> end_of_time = sys_days{9999y / December / 31} + 23h + 59min;
  EXPECT_EQ(format_utc(end_of_time, 6), "9999-12-31T23:59:00.000000Z");
  EXPECT_EQ(format_utc(sys_days{1600y / January / 1}, 0), "1600-01-01T00:00:00Z");
}

}  // namespace
