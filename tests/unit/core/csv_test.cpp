// CSV cells of the files pagohub writes (csv.hpp): RFC 4180 quoting, and no formulas.
#include <pagohub/core/csv.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using pagohub::core::append_csv_text;
using pagohub::core::csv_text;

TEST(csv_text, plain_text_is_written_as_it_is) {
  EXPECT_EQ(csv_text("tari-2030-0001"), "tari-2030-0001");
  EXPECT_EQ(csv_text(""), "");
  EXPECT_EQ(csv_text("Mario Rossi"), "Mario Rossi");
  // Inside a cell the characters are harmless: only the first one makes a formula.
  EXPECT_EQ(csv_text("a=b+c-d@e"), "a=b+c-d@e");
}

TEST(csv_text, delimiters_quotes_and_line_breaks_are_quoted) {
  EXPECT_EQ(csv_text("Rossi, Mario"), "\"Rossi, Mario\"");
  EXPECT_EQ(csv_text("a;b"), "\"a;b\"");
  EXPECT_EQ(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_text("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_text("cr\rhere"), "\"cr\rhere\"");
}

// OWASP "CSV Injection": a cell a spreadsheet would run gets a leading apostrophe, inside the
// quotes when it needs them.
TEST(csv_text, cells_a_spreadsheet_would_run_as_formulas_start_with_an_apostrophe) {
  EXPECT_EQ(csv_text("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(csv_text("=1+2"), "'=1+2");
  EXPECT_EQ(csv_text("+39 06 1234"), "'+39 06 1234");
  EXPECT_EQ(csv_text("-12"), "'-12");
  EXPECT_EQ(csv_text("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(csv_text("\t=1"), "'\t=1");
  EXPECT_EQ(csv_text("\r=1"), "\"'\r=1\"");
  EXPECT_EQ(csv_text("'=already"), "'=already");
}

TEST(csv_text, appends_to_what_is_there) {
  std::string out = "1,";
  append_csv_text(out, "=x");
  out += ',';
  append_csv_text(out, "y");
  EXPECT_EQ(out, "1,'=x,y");
}

}  // namespace
