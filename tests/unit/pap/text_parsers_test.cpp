// Exact parsing of the schema's decimal, date and dateTime texts.
#include <gtest/gtest.h>

#include "text_parsers.hpp"

namespace pagohub::pap {
namespace {

using namespace std::chrono;

TEST(text_parsers, amounts_are_two_decimal_exactly) {
  EXPECT_EQ(parse_amount("120.00", true).value(), 12000);
  EXPECT_EQ(parse_amount("0.01", true).value(), 1);
  EXPECT_EQ(parse_amount("999999999.99", true).value(), 99'999'999'999);
  EXPECT_FALSE(parse_amount("0.00", true));
  EXPECT_TRUE(parse_amount("0.00", false));
  EXPECT_FALSE(parse_amount("120.000", false));  // three decimals
  EXPECT_FALSE(parse_amount("120.0", false));
  EXPECT_FALSE(parse_amount("120", false));
  EXPECT_FALSE(parse_amount("-1.00", false));
  EXPECT_FALSE(parse_amount("1,00", false));
  EXPECT_FALSE(parse_amount("1000000000.00", false));
}

TEST(text_parsers, datetime_with_zone) {
  EXPECT_EQ(parse_xsd_datetime("2025-03-01T10:00:00Z").value(),
            sys_days(year{2025} / 3 / 1) + hours(10));
  EXPECT_EQ(parse_xsd_datetime("2025-03-01T10:00:00+01:00").value(),
            sys_days(year{2025} / 3 / 1) + hours(9));
  EXPECT_EQ(parse_xsd_datetime("2025-03-01T10:00:00.250-02:30").value(),
            sys_days(year{2025} / 3 / 1) + hours(12) + minutes(30) + milliseconds(250));
}

TEST(text_parsers, datetime_without_zone_is_rome_time) {
  // Winter: UTC+1.
  EXPECT_EQ(parse_xsd_datetime("2025-01-15T12:00:00").value(),
            sys_days(year{2025} / 1 / 15) + hours(11));
  // Summer: UTC+2.
  EXPECT_EQ(parse_xsd_datetime("2025-07-15T12:00:00.123456").value(),
            sys_days(year{2025} / 7 / 15) + hours(10) + microseconds(123456));
}

TEST(text_parsers, bad_datetimes) {
  for (const char* bad :
       {"2025-02-30T10:00:00", "2025-03-01 10:00:00", "2025-03-01T24:00:00", "2025-03-01T10:00",
        "2025-03-01T10:00:00+1:00", "2025-03-01T10:00:00.Z", "2025-03-01T10:00:00ZZ", ""})
    EXPECT_FALSE(parse_xsd_datetime(bad)) << bad;
}

TEST(text_parsers, rome_offset_follows_the_eu_rule) {
  // 2025: summer time from 30 March 01:00 UTC to 26 October 01:00 UTC.
  EXPECT_EQ(rome_offset(sys_days(year{2025} / 3 / 30) + minutes(59)), minutes(60));
  EXPECT_EQ(rome_offset(sys_days(year{2025} / 3 / 30) + hours(1)), minutes(120));
  EXPECT_EQ(rome_offset(sys_days(year{2025} / 10 / 26) + minutes(59)), minutes(120));
  EXPECT_EQ(rome_offset(sys_days(year{2025} / 10 / 26) + hours(1)), minutes(60));
  EXPECT_EQ(format_rome_datetime(sys_days(year{2025} / 7 / 15) + hours(10)), "2025-07-15T12:00:00");
}

}  // namespace
}  // namespace pagohub::pap
