// Notice numbers as pagohub formats them for an entity (DIGEST §5, SACI §2.2).
#include <pagohub/core/notice_number.hpp>
#include <pagohub/positions/notice_numbers.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

#include "unit/positions/sample.hpp"

namespace pagohub::positions::testing {
namespace {

TEST(format_notice_number, digest_worked_example) {
  // DIGEST §5: aux 3, segregation code 01, progressive 1 -> 3010000000000001 mod 93 = 44.
  const auto n = format_notice_number(own_entity(), 1);
  EXPECT_EQ(n.str(), "301000000000000144");
  EXPECT_EQ(n.iuv(), "01000000000000144");
  EXPECT_TRUE(in_notice_space(own_entity(), n));
}

TEST(format_notice_number, aux0_uses_the_application_code) {
  const auto n = format_notice_number(aux0_entity(), 1234567890123);
  EXPECT_EQ(n.str().substr(0, 16), "0121234567890123");
  EXPECT_EQ(n.str().substr(16), core::mod93_check_digits("0121234567890123"));
  EXPECT_EQ(n.iuv().size(), 15U);
  EXPECT_TRUE(in_notice_space(aux0_entity(), n));
  EXPECT_FALSE(in_notice_space(own_entity(), n));
}

TEST(format_notice_number, every_progressive_has_valid_check_digits) {
  const auto e = own_entity();
  for (std::uint64_t p : {0ULL, 1ULL, 92ULL, 93ULL, 1000000ULL, 9999999999999ULL}) {
    const auto n = format_notice_number(e, p);
    EXPECT_TRUE(core::notice_number::parse(n.str()).has_value()) << n.str();
  }
  EXPECT_THROW(format_notice_number(e, 10000000000000ULL), std::invalid_argument);
}

TEST(format_notice_number, needs_a_notice_space) {
  auto e = own_entity();
  e.segregation_code = -1;
  EXPECT_THROW(format_notice_number(e, 1), std::invalid_argument);
}

TEST(in_notice_space, checks_aux_digit_and_code) {
  const auto e = own_entity();  // aux 3, SS 01
  EXPECT_TRUE(in_notice_space(e, core::notice_number::make_aux3(1, 5)));
  EXPECT_FALSE(in_notice_space(e, core::notice_number::make_aux3(10, 5)));
  EXPECT_FALSE(in_notice_space(e, core::notice_number::make_aux0(1, 5)));
}

TEST(notice_sequence_name, is_built_from_an_entity_code_only) {
  EXPECT_EQ(notice_sequence_name("01234567897"), "notice_seq_01234567897");
  EXPECT_THROW(notice_sequence_name("0123456789"), std::invalid_argument);
  EXPECT_THROW(notice_sequence_name("0123456789x"), std::invalid_argument);
  EXPECT_THROW(notice_sequence_name("1; DROP TABLE"), std::invalid_argument);
}

}  // namespace
}  // namespace pagohub::positions::testing
