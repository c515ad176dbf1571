#include <pagohub/core/iban.hpp>

#include <gtest/gtest.h>

#include <string>

namespace pagohub::core {
namespace {

// ISO 13616 check digits for `country` + `bban`, computed independently of the parser:
// 98 - (bban + country + "00" as a number) mod 97.
std::string with_check_digits(const std::string& country, const std::string& bban) {
  unsigned r = 0;
  for (char c : bban + country + "00") {
    if (c >= '0' && c <= '9') {
      r = (r * 10 + static_cast<unsigned>(c - '0')) % 97;
    } else {
      r = (r * 100 + static_cast<unsigned>(c - 'A' + 10)) % 97;
    }
  }
  const unsigned check = 98 - r;
  return country + (check < 10 ? "0" : "") + std::to_string(check) + bban;
}

TEST(iban, accepts_known_ibans) {
  for (const char* text :
       {"IT60X0542811101000000123456", "DE89370400440532013000", "GB29NWBK60161331926819",
        "FR1420041010050500013M02606", "CH9300762011623852957", "NO9386011117947",
        "MT84MALT011000012345MTLCAST001S"}) {
    const auto parsed = iban::parse(text);
    ASSERT_TRUE(parsed.has_value()) << text << ": " << parsed.error().message;
    EXPECT_EQ(parsed->str(), text);
    EXPECT_FALSE(parsed->is_postal());
  }
  EXPECT_EQ(iban::parse("IT60X0542811101000000123456")->country(), "IT");
}

TEST(iban, normalises_to_uppercase) {
  const auto parsed = iban::parse("it60x0542811101000000123456");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->str(), "IT60X0542811101000000123456");
}

TEST(iban, rejects_altered_digits) {
  for (const char* text : {"IT60X0542811101000000123457", "IT61X0542811101000000123456",
                           "IT60X0542811101000000213456", "DE89370400440532013001"}) {
    const auto parsed = iban::parse(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, errc::invalid_input);
    EXPECT_TRUE(parsed.error().path.empty());
  }
}

TEST(iban, rejects_bad_layout) {
  for (const char* text :
       {"", "IT60", "IT60 X054 2811 1010 0000 0123 456",  // the paper form with spaces
        "IT60X054281110100000012345",                     // IT is 27 characters
        "IT60X05428111010000001234567",                   // one too many
        "XX60X0542811101000000123456",                    // unknown country
        "1T60X0542811101000000123456", "ITA0X0542811101000000123456",
        "IT60X0542811101000000123-56"}) {
    EXPECT_FALSE(iban::parse(text).has_value()) << '"' << text << '"';
  }
}

TEST(iban, checks_the_italian_cin) {
  // Same BBAN with a different CIN letter, check digits recomputed so that mod 97 holds.
  const std::string wrong_cin = with_check_digits("IT", "Y0542811101000000123456");
  const auto parsed = iban::parse(wrong_cin);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().message.find("CIN"), std::string::npos);
}

TEST(iban, country_lengths) {
  EXPECT_TRUE(iban::parse(with_check_digits("SM", "X0542811101000000123456")).has_value());
  EXPECT_TRUE(iban::parse(with_check_digits("VA", "001123000012345678")).has_value());
  EXPECT_FALSE(iban::parse(with_check_digits("VA", "0011230000123456789")).has_value());
}

TEST(iban, postal) {
  // ABI 07601 = Poste Italiane (DIGEST §5); CIN L computed for 07601 01600 000012345678.
  const auto postal = iban::parse(with_check_digits("IT", "L0760101600000012345678"));
  ASSERT_TRUE(postal.has_value()) << postal.error().message;
  EXPECT_EQ(postal->str(), "IT22L0760101600000012345678");
  EXPECT_TRUE(postal->is_postal());
  // The same digits in San Marino are not Poste Italiane.
  const auto sm = iban::parse(with_check_digits("SM", "L0760101600000012345678"));
  ASSERT_TRUE(sm.has_value());
  EXPECT_FALSE(sm->is_postal());
}

}  // namespace
}  // namespace pagohub::core
