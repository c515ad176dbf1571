#include <pagohub/core/text.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using pagohub::core::utf8_cut;

TEST(utf8_cut, counts_characters_not_bytes) {
  EXPECT_EQ(utf8_cut("perché così", 6), "perché");
  EXPECT_EQ(utf8_cut("€€€", 2), "€€");
  EXPECT_EQ(utf8_cut("abc", 10), "abc");
  EXPECT_EQ(utf8_cut("", 3), "");
  EXPECT_EQ(utf8_cut("abc", 0), "");
}

TEST(utf8_cut, never_splits_a_sequence) {
  // 139 ASCII characters and an accented letter: a cut at 140 bytes would split it.
  const std::string text = std::string(139, 'a') + "è" + "zz";
  const std::string cut = utf8_cut(text, 140);
  EXPECT_EQ(cut, std::string(139, 'a') + "è");
  EXPECT_EQ(cut.size(), 141u);
}

TEST(utf8_cut, replaces_what_postgresql_would_refuse) {
  EXPECT_EQ(utf8_cut(std::string("a\0b", 3), 10), "a?b");
  EXPECT_EQ(utf8_cut("\x80x", 10), "?x");                             // stray continuation byte
  EXPECT_EQ(utf8_cut("\xC0\xAF", 10), "??");                          // overlong '/'
  EXPECT_EQ(utf8_cut("\xE0\x80\xAF", 10), "???");                     // overlong, three bytes
  EXPECT_EQ(utf8_cut("\xED\xA0\x80", 10), "???");                     // surrogate U+D800
  EXPECT_EQ(utf8_cut("\xF4\x90\x80\x80", 10), "????");                // above U+10FFFF
  EXPECT_EQ(utf8_cut("ok\xE2\x82", 10), "ok??");                      // sequence cut short
  EXPECT_EQ(utf8_cut("\xF0\x9F\x98\x80!", 10), "\xF0\x9F\x98\x80!");  // U+1F600 kept
}

TEST(utf8_cut, a_byte_bound_keeps_whole_characters) {
  EXPECT_EQ(utf8_cut("aèb", 10, 2), "a");  // 'è' is two bytes: it does not fit after 'a'
  EXPECT_EQ(utf8_cut("aèb", 10, 3), "aè");
  EXPECT_EQ(utf8_cut("\xFFxyz", 10, 2), "?x");
  EXPECT_EQ(utf8_cut("abc", 2, 10), "ab");
}

TEST(utf8_cut, a_replacement_counts_as_one_character) {
  EXPECT_EQ(utf8_cut("\xFF\xFF\xFF"
                     "abc",
                     4),
            "???a");
}

}  // namespace
