// Enum spellings and Europe/Rome dates.
#include <pagohub/positions/dates.hpp>
#include <pagohub/positions/model.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace pagohub::positions {
namespace {

using namespace std::chrono;

TEST(model, position_status_round_trip) {
  for (auto s : {position_status::draft, position_status::published, position_status::valid,
                 position_status::partially_paid, position_status::paid, position_status::expired,
                 position_status::cancelled}) {
    EXPECT_EQ(parse_position_status(to_string(s)), s) << to_string(s);
  }
  EXPECT_EQ(to_string(position_status::partially_paid), "PARTIALLY_PAID");
  EXPECT_EQ(parse_position_status("valid"), std::nullopt);
  EXPECT_EQ(parse_position_status("INVALID"), std::nullopt);
}

TEST(model, option_status_kind_and_debtor_type_round_trip) {
  for (auto s : {option_status::unpaid, option_status::paid, option_status::reported}) {
    EXPECT_EQ(parse_option_status(to_string(s)), s);
  }
  EXPECT_EQ(to_string(option_status::unpaid), "UNPAID");
  EXPECT_EQ(parse_option_kind("SINGLE"), option_kind::single);
  EXPECT_EQ(parse_option_kind("INSTALMENT"), option_kind::instalment);
  EXPECT_EQ(to_string(option_kind::instalment), "INSTALMENT");
  EXPECT_EQ(parse_option_kind("INSTALLMENT"), std::nullopt);
  EXPECT_EQ(to_string(debtor_type::person), "F");
  EXPECT_EQ(to_string(debtor_type::legal), "G");
  EXPECT_EQ(parse_debtor_type("G"), debtor_type::legal);
  EXPECT_EQ(parse_debtor_type("f"), std::nullopt);
}

date ymd(int y, unsigned m, unsigned d) {
  return date{year(y), month(m), day(d)};
}

timestamp utc(int y, unsigned m, unsigned d, int h, int min) {
  return sys_days(ymd(y, m, d)) + hours(h) + minutes(min);
}

TEST(rome_date, winter_is_utc_plus_one) {
  EXPECT_EQ(rome_date(utc(2025, 1, 15, 22, 59)), ymd(2025, 1, 15));
  EXPECT_EQ(rome_date(utc(2025, 1, 15, 23, 0)), ymd(2025, 1, 16));
  EXPECT_EQ(rome_date(utc(2024, 12, 31, 23, 30)), ymd(2025, 1, 1));
}

TEST(rome_date, summer_is_utc_plus_two) {
  EXPECT_EQ(rome_date(utc(2025, 7, 15, 21, 59)), ymd(2025, 7, 15));
  EXPECT_EQ(rome_date(utc(2025, 7, 15, 22, 0)), ymd(2025, 7, 16));
}

TEST(rome_date, switches_on_the_last_sundays_of_march_and_october_at_0100_utc) {
  // 2025: summer time from Sunday 30 March 01:00 UTC to Sunday 26 October 01:00 UTC.
  EXPECT_EQ(rome_date(utc(2025, 3, 29, 22, 30)), ymd(2025, 3, 29));    // CET: 23:30
  EXPECT_EQ(rome_date(utc(2025, 3, 30, 22, 30)), ymd(2025, 3, 31));    // CEST: 00:30
  EXPECT_EQ(rome_date(utc(2025, 10, 25, 22, 30)), ymd(2025, 10, 26));  // CEST: 00:30
  EXPECT_EQ(rome_date(utc(2025, 10, 26, 22, 30)), ymd(2025, 10, 26));  // CET: 23:30
}

TEST(dates, format_and_parse) {
  EXPECT_EQ(format_date(ymd(2025, 3, 7)), "2025-03-07");
  EXPECT_EQ(parse_date("2025-03-07"), ymd(2025, 3, 7));
  EXPECT_EQ(parse_date("2024-02-29"), ymd(2024, 2, 29));
  EXPECT_EQ(parse_date("2025-02-29"), std::nullopt);
  EXPECT_EQ(parse_date("2025-13-01"), std::nullopt);
  EXPECT_EQ(parse_date("2025-3-07"), std::nullopt);
  EXPECT_EQ(parse_date("2025-03-07T00:00:00"), std::nullopt);
  EXPECT_EQ(parse_date("2025/03/07"), std::nullopt);
  EXPECT_EQ(parse_date(""), std::nullopt);
}

}  // namespace
}  // namespace pagohub::positions
