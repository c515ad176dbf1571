// The CSV export of events (render.hpp): what a spreadsheet opens.
#include <gtest/gtest.h>

#include "render.hpp"

namespace {

using namespace pagohub::journal;
using pagohub::journal::detail::append_csv;

TEST(journal_csv, cells_a_spreadsheet_would_read_as_formulas_are_quoted_as_text) {
  for (const std::string start : {"=", "+", "-", "@", "\t", "\r"}) {
    stored_event e;
    e.id = 1;
    e.ccp = start + "HYPERLINK(\"http://x\")";
    std::string out;
    append_csv(out, e);
    EXPECT_NE(out.find("'" + start + "HYPERLINK"), std::string::npos) << out;
  }
  // The whole cell, as a spreadsheet gets it: apostrophe, then RFC 4180 quoting.
  stored_event link;
  link.id = 3;
  link.interface_params = "=HYPERLINK(\"http://x\",\"y\")";
  std::string cell;
  append_csv(cell, link);
  EXPECT_NE(cell.find(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","), std::string::npos) << cell;
  stored_event plain;
  plain.id = 2;
  plain.ccp = "c110729d";
  std::string out;
  append_csv(out, plain);
  EXPECT_NE(out.find(",c110729d,"), std::string::npos) << out;
}

}  // namespace
