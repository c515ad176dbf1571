#include <pagohub/core/amount.hpp>

#include <gtest/gtest.h>

#include <limits>

namespace pagohub::core {
namespace {

TEST(amount, parses_valid_text) {
  EXPECT_EQ(parse_decimal_amount("0.01"), 1);
  EXPECT_EQ(parse_decimal_amount("0.00"), 0);
  EXPECT_EQ(parse_decimal_amount("12.34"), 1234);
  EXPECT_EQ(parse_decimal_amount("100.00"), 10000);
  EXPECT_EQ(parse_decimal_amount("007.50"), 750);
  EXPECT_EQ(parse_decimal_amount("999999999.99"), max_amount_cents);
  EXPECT_EQ(parse_decimal_amount("0000000000999999999.99"), max_amount_cents);
}

TEST(amount, rejects_bad_text) {
  for (const char* text :
       {"1.2", "1.234", "-1.00", "+1.00", "1e3", "1.0e3", "", ".50", "1,00", "1.", "1", " 1.00",
        "1.00 ", "1..00", "1.0a", "0x1.00", "1000000000.00", "99999999999999999999.99"}) {
    const auto parsed = parse_decimal_amount(text);
    ASSERT_FALSE(parsed.has_value()) << '"' << text << '"';
    EXPECT_EQ(parsed.error().code, errc::invalid_input);
    EXPECT_TRUE(parsed.error().path.empty());
  }
}

TEST(amount, formats) {
  EXPECT_EQ(format_decimal_amount(1234), "12.34");
  EXPECT_EQ(format_decimal_amount(0), "0.00");
  EXPECT_EQ(format_decimal_amount(5), "0.05");
  EXPECT_EQ(format_decimal_amount(100), "1.00");
  EXPECT_EQ(format_decimal_amount(max_amount_cents), "999999999.99");
  EXPECT_EQ(format_decimal_amount(-5), "-0.05");
  EXPECT_EQ(format_decimal_amount(std::numeric_limits<amount_cents>::min()),
            "-92233720368547758.08");
}

TEST(amount, round_trips) {
  for (amount_cents c : {amount_cents{0}, amount_cents{1}, amount_cents{99}, amount_cents{100},
                         amount_cents{123456789}, max_amount_cents}) {
    EXPECT_EQ(parse_decimal_amount(format_decimal_amount(c)), c);
  }
}

}  // namespace
}  // namespace pagohub::core
