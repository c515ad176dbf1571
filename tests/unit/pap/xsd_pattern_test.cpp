// The XSD pattern matcher behind gSOAP's fsvalidate hook: every pattern of the pagoPA schemas,
// checked value by value against the ECMAScript std::regex it replaces.
#include <pagohub/nodo/xsd_pattern.hpp>

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

namespace pagohub::nodo {
namespace {

// The pattern facets the generated bindings pass to fsvalidate.
const std::vector<std::string> schema_patterns = {
    R"(\d+\.\d{2})",
    R"([a-zA-Z0-9_\.\+\-]+@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*)",
    R"([A-Z]{2,2})",
    R"([0-9]{18,18})",
    R"([a-zA-Z]{2,2}[0-9]{2,2}[a-zA-Z0-9]{1,30})",
    R"([0-9]{2})",
    R"([0-9]{18})",
    R"([0-9]{11})",
    R"(\+[0-9]{2,2}\s[0-9]{3,3}\-[0-9]{7,7})",
    R"(\+?\d*[1-9]\d*)",
    R"([A-Z]{6,6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3,3}){0,1})",
    R"([0129]{1}/\S{3,138})",
    R"([0-9]{5,5})",
    R"([0-9]{5,15}|[0-9]{17})",
    R"([0-9]{13})",
    R"([0-9])",
    R"(([-+]?\d{4,})(Z|[-+]\d{2}:\d{2})?)",
};

const std::vector<std::string> samples = {
    "",
    "0",
    "7",
    "12",
    "1.00",
    "100.5",
    "0.00",
    "12345.67",
    "1,00",
    ".00",
    "302000100000009424",
    "30200010000000942",
    "3020001000000094245",
    "01234567897",
    "0123456789",
    "IT",
    "it",
    "ITA",
    "IT60X0542811101000000123456",
    "IT60",
    "mario.rossi@example.it",
    "mario@example",
    "@example.it",
    "a+b@x-y.z.w",
    "+39 333-1234567",
    "+39 333 1234567",
    "+12",
    "0",
    "00",
    "+0",
    "UNCRITMM",
    "UNCRITMMXXX",
    "UNCRITMMXX",
    "UNCRIT1M",
    "9/0101002IM/",
    "9/ab",
    "3/xyz",
    "4/xyz",
    "9/  ",
    "9/ä€x",
    "9/ab\xC3",
    "00100",
    "12345678901234567",
    "123456789012345",
    "1234",
    "2025",
    "2025Z",
    "-2025+01:00",
    "+12345-13:30",
    "2025+1:00",
    "1234567890123",
};

TEST(xsd_pattern, agrees_with_ecmascript_on_the_schema_patterns) {
  for (const auto& p : schema_patterns) {
    const auto fast = xsd_pattern::compile(p);
    ASSERT_TRUE(fast) << p;
    const std::regex slow(p, std::regex::ECMAScript);
    for (const auto& v : samples) {
      // Counting differs only for non-ASCII text (characters vs bytes), checked below.
      bool ascii = true;
      for (unsigned char c : v) ascii = ascii && c < 128;
      if (!ascii) continue;
      EXPECT_EQ(fast->matches(v), std::regex_match(v, slow)) << p << " on '" << v << "'";
    }
  }
}

TEST(xsd_pattern, agrees_with_ecmascript_on_random_text) {
  std::mt19937 random(5);
  const std::string alphabet = "0123456789.+-@ /:ZaAzITxX\t";
  for (const auto& p : schema_patterns) {
    const auto fast = xsd_pattern::compile(p);
    ASSERT_TRUE(fast);
    const std::regex slow(p, std::regex::ECMAScript);
    for (int i = 0; i < 2000; ++i) {
      std::string v;
      const auto n = random() % 24;
      for (unsigned k = 0; k < n; ++k) v += alphabet[random() % alphabet.size()];
      EXPECT_EQ(fast->matches(v), std::regex_match(v, slow)) << p << " on '" << v << "'";
    }
  }
}

TEST(xsd_pattern, counts_characters_not_bytes) {
  const auto p = xsd_pattern::compile(R"([0129]{1}/\S{3,5})");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->matches("9/àèì"));      // three characters, six bytes
  EXPECT_FALSE(p->matches("9/àè"));      // two
  EXPECT_TRUE(p->matches("9/€€€€€"));    // five characters, fifteen bytes
  EXPECT_FALSE(p->matches("9/€€€€€€"));  // six
  const auto ascii = xsd_pattern::compile("[A-Z]{2}");
  ASSERT_TRUE(ascii);
  EXPECT_FALSE(ascii->matches("ÀB"));
}

TEST(xsd_pattern, is_anchored_and_handles_long_input_in_one_pass) {
  const auto p = xsd_pattern::compile(R"(\+?\d*[1-9]\d*)");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->matches("x12"));
  EXPECT_FALSE(p->matches("12x"));
  // A backtracking engine is quadratic (or overflows its stack) here; this one is linear.
  EXPECT_FALSE(p->matches(std::string(200000, '0')));
  EXPECT_TRUE(p->matches(std::string(200000, '0') + "1"));
}

TEST(xsd_pattern, xsd_syntax) {
  EXPECT_TRUE(xsd_pattern::compile("a^b$")->matches("a^b$"));  // no anchors in XSD
  EXPECT_TRUE(xsd_pattern::compile("[^0-9]+")->matches("abc"));
  EXPECT_FALSE(xsd_pattern::compile("[^0-9]+")->matches("a1"));
  EXPECT_TRUE(xsd_pattern::compile(".{2}")->matches("a€"));
  EXPECT_FALSE(xsd_pattern::compile(".")->matches("\n"));
  EXPECT_TRUE(xsd_pattern::compile("(ab|c)*d?")->matches("abcab"));
  EXPECT_TRUE(xsd_pattern::compile("(a*)*")->matches("aaa"));
  EXPECT_TRUE(xsd_pattern::compile("x{2,}")->matches("xxxx"));
  EXPECT_FALSE(xsd_pattern::compile("x{2,}")->matches("x"));
}

TEST(xsd_pattern, unsupported_syntax_is_refused_for_a_fallback) {
  EXPECT_FALSE(xsd_pattern::compile(R"(\p{Lu}+)"));
  EXPECT_FALSE(xsd_pattern::compile(R"(\w+)"));
  EXPECT_FALSE(xsd_pattern::compile(R"([a-z-[aeiou]])"));
  EXPECT_FALSE(xsd_pattern::compile("(ab"));
  EXPECT_FALSE(xsd_pattern::compile("a{3,2}"));
  EXPECT_FALSE(xsd_pattern::compile("[b-a]"));
  EXPECT_FALSE(xsd_pattern::compile("*a"));
}

}  // namespace
}  // namespace pagohub::nodo
