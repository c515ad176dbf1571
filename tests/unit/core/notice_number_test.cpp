#include <pagohub/core/notice_number.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace pagohub::core {
namespace {

TEST(mod93, worked_examples) {
  // DIGEST §5: 3010000000000001 mod 93 = 44; the SANP sample's real check would be 47.
  EXPECT_EQ(mod93_check_digits("3010000000000001"), "44");
  EXPECT_EQ(mod93_check_digits("3111111111122222"), "47");
  EXPECT_EQ(mod93_check_digits("0"), "00");
  EXPECT_EQ(mod93_check_digits("92"), "92");
  EXPECT_EQ(mod93_check_digits("93"), "00");
  EXPECT_EQ(mod93_check_digits("9999999999999999999"), "48");
}

TEST(mod93, rejects_non_digits) {
  EXPECT_THROW(mod93_check_digits(""), std::invalid_argument);
  EXPECT_THROW(mod93_check_digits("12a"), std::invalid_argument);
  EXPECT_THROW(mod93_check_digits("12345678901234567890"), std::invalid_argument);
}

TEST(notice_number, make_aux3_worked_example) {
  const auto n = notice_number::make_aux3(1, 1);
  EXPECT_EQ(n.str(), "301000000000000144");
  EXPECT_EQ(n.aux_digit(), 3);
  EXPECT_EQ(n.iuv(), "01000000000000144");
  EXPECT_EQ(notice_number::parse("301000000000000144"), n);
}

TEST(notice_number, make_aux0) {
  const auto n = notice_number::make_aux0(12, 1234567890123);
  EXPECT_EQ(n.str().substr(0, 16), "0121234567890123");
  EXPECT_EQ(n.str().substr(16), mod93_check_digits("0121234567890123"));
  EXPECT_EQ(n.aux_digit(), 0);
  EXPECT_EQ(n.iuv(), n.str().substr(3));
  EXPECT_EQ(n.iuv().size(), 15u);
  EXPECT_TRUE(notice_number::parse(n.str()).has_value());
}

TEST(notice_number, make_rejects_out_of_range) {
  EXPECT_THROW(notice_number::make_aux3(100, 1), std::invalid_argument);
  EXPECT_THROW(notice_number::make_aux3(-1, 1), std::invalid_argument);
  EXPECT_THROW(notice_number::make_aux3(1, 10'000'000'000'000), std::invalid_argument);
  EXPECT_THROW(notice_number::make_aux0(100, 1), std::invalid_argument);
  EXPECT_NO_THROW(notice_number::make_aux3(99, 9'999'999'999'999));
}

TEST(notice_number, parse_checks_digits) {
  EXPECT_FALSE(notice_number::parse("311111111112222222").has_value());  // dummy check
  EXPECT_TRUE(notice_number::parse("311111111112222247").has_value());
  EXPECT_FALSE(notice_number::parse("301000000000000145").has_value());
  // aux 2: 2 B15 CC, IUV = the last 17.
  const std::string aux2 = "2123456789012345" + mod93_check_digits("2123456789012345");
  const auto n2 = notice_number::parse(aux2);
  ASSERT_TRUE(n2.has_value());
  EXPECT_EQ(n2->iuv(), aux2.substr(1));
}

TEST(notice_number, aux1_has_no_check) {
  const auto n = notice_number::parse("112345678901234567");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->aux_digit(), 1);
  EXPECT_EQ(n->iuv(), "12345678901234567");
}

TEST(notice_number, rejects_bad_layout) {
  for (const char* text : {"", "30100000000000014", "3010000000000001444", "30100000000000014a",
                           "401000000000000144", "901000000000000144", " 01000000000000144"}) {
    const auto n = notice_number::parse(text);
    ASSERT_FALSE(n.has_value()) << '"' << text << '"';
    EXPECT_EQ(n.error().code, errc::invalid_input);
  }
}

TEST(iuv, validity) {
  EXPECT_TRUE(is_valid_iuv("01000000000000144"));
  EXPECT_TRUE(is_valid_iuv("A"));
  EXPECT_TRUE(is_valid_iuv(std::string(35, '9')));
  EXPECT_TRUE(is_valid_iuv("RF18539007547034"));
  EXPECT_FALSE(is_valid_iuv(""));
  EXPECT_FALSE(is_valid_iuv(std::string(36, '9')));
  EXPECT_FALSE(is_valid_iuv("ABC-123"));
  EXPECT_FALSE(is_valid_iuv("ABC 123"));
}

TEST(iuv, rf_creditor_reference) {
  // ISO 11649's published example.
  EXPECT_TRUE(is_valid_rf_creditor_reference("RF18539007547034"));
  EXPECT_FALSE(is_valid_rf_creditor_reference("RF19539007547034"));
  EXPECT_FALSE(is_valid_rf_creditor_reference("RF18"));
  EXPECT_FALSE(is_valid_rf_creditor_reference("XX18539007547034"));
  EXPECT_FALSE(is_valid_rf_creditor_reference("RF18" + std::string(22, '1')));
}

}  // namespace
}  // namespace pagohub::core
