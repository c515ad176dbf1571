#pragma once
// The rows of a bulk import's report (docs/api/bulk-csv.md "The report") as fields, for tests:
// the header line dropped, CRLF or LF line ends, RFC 4180 quoting. Its fields never hold line
// breaks, so a row is a line.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace pagohub::test_support {

/// One vector of fields per data row; a row without the report's 8 fields is a test failure
/// and is left out.
inline std::vector<std::vector<std::string>> report_rows(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(text);
  std::string row;
  std::getline(in, row);  // header
  while (std::getline(in, row)) {
    if (!row.empty() && row.back() == '\r') row.pop_back();
    std::vector<std::string> f;
    std::string cur;
    bool quoted = false;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const char c = row[i];
      if (quoted && c == '"' && i + 1 < row.size() && row[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        f.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    f.push_back(cur);
    if (f.size() != 8) {
      ADD_FAILURE() << "bad report row: " << row;
      continue;
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace pagohub::test_support
