#include <pagohub/core/fiscal_code.hpp>

#include <gtest/gtest.h>

#include <string>

namespace pagohub::core {
namespace {

TEST(entity_fiscal_code, accepts_known_codes) {
  for (const char* text : {"00488410010", "01199250158", "80012000826", "01234567897"}) {
    const auto code = entity_fiscal_code::parse(text);
    ASSERT_TRUE(code.has_value()) << text << ": " << code.error().message;
    EXPECT_EQ(code->str(), text);
    EXPECT_TRUE(is_valid_vat_number(text));
  }
}

TEST(entity_fiscal_code, rejects_a_changed_digit) {
  for (const char* text :
       {"00488410011", "01199250157", "80012000827", "10488410010", "00488410100"}) {
    const auto code = entity_fiscal_code::parse(text);
    ASSERT_FALSE(code.has_value()) << text;
    EXPECT_EQ(code.error().code, errc::invalid_input);
    EXPECT_TRUE(code.error().path.empty());
    EXPECT_NE(code.error().message.find("check digit"), std::string::npos);
    EXPECT_FALSE(is_valid_vat_number(text));
  }
}

TEST(entity_fiscal_code, rejects_bad_layout) {
  for (const char* text : {"", "0048841001", "004884100100", "0048841001A", " 0048841001",
                           "00488 41001", "RSSMRA85T10A562S", "00000000000"}) {
    EXPECT_FALSE(entity_fiscal_code::parse(text).has_value()) << '"' << text << '"';
  }
  EXPECT_FALSE(is_valid_vat_number("0048841001"));
  EXPECT_FALSE(is_valid_vat_number("0048841001x"));
}

TEST(entity_fiscal_code, compares_by_value) {
  const auto a = *entity_fiscal_code::parse("00488410010");
  const auto b = *entity_fiscal_code::parse("01199250158");
  EXPECT_EQ(a, *entity_fiscal_code::parse("00488410010"));
  EXPECT_LT(a, b);
}

TEST(person_fiscal_code, accepts_valid_codes) {
  for (const char* text :
       {"RSSMRA85T10A562S", "BNCGLI90A41F205H", "VRDLGU70M01H501F", "RSSMRA85T41A562U"}) {
    EXPECT_TRUE(is_valid_person_fiscal_code(text)) << text;
  }
}

TEST(person_fiscal_code, accepts_omocodic_variants) {
  // Each step replaces one more digit, right to left, and recomputes the check letter.
  for (const char* text :
       {"RSSMRA85T10A56NH", "RSSMRA85T10A5SNT", "RSSMRA85T10ARSNO", "RSSMRA85T1LARSNR",
        "RSSMRA85TMLARSNC", "RSSMRA8RTMLARSNO", "RSSMRAURTMLARSNL"}) {
    EXPECT_TRUE(is_valid_person_fiscal_code(text)) << text;
  }
}

TEST(person_fiscal_code, rejects_bad_codes) {
  for (const char* text : {
           "RSSMRA85T10A562A",   // wrong check letter
           "RSSMRA85T10A56NS",   // omocodic but the check letter not recomputed
           "RSSMRA85T10A562",    // too short
           "RSSMRA85T10A562SX",  // too long
           "rssmra85t10a562s",   // lowercase: callers normalise first
           "RSSMRA85Z10A562B",   // Z is not a month letter (check letter right)
           "RSSMRA85T32A562Y",   // day 32 (check letter right)
           "RSSMRA85T72A562C",   // day 72: women are 41..71 (check letter right)
           "RSSMRA85T00A562R",   // day 00 (check letter right)
           "RSSMRA85TW0A562N",   // W is not an omocodia letter (check letter right)
           "RSSMR185T10A562T",   // digit among the name letters (check letter right)
           "RSSMRA85T109562B",   // digit for the cadastral letter (check letter right)
           "00488410010",        // an entity code is not a person code
       }) {
    EXPECT_FALSE(is_valid_person_fiscal_code(text)) << text;
  }
}

}  // namespace
}  // namespace pagohub::core
