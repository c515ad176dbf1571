// The CSV reader on the edge cases of files back-offices produce (docs/api/bulk-csv.md).
#include <pagohub/imports/csv_reader.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pagohub::imports {
namespace {

using fields = std::vector<std::string>;

struct parsed {
  std::optional<csv_reader::record> header;
  std::vector<csv_reader::record> records;
  char delimiter = 0;
};

// Reads `text` through a source that hands out `piece` bytes at a time, so that records cross
// buffer refills.
parsed read_all(std::string text, std::size_t piece = 1 << 20,
                std::size_t max_record = csv_reader::default_max_record_bytes) {
  auto data = std::make_shared<std::string>(std::move(text));
  auto pos = std::make_shared<std::size_t>(0);
  csv_reader r(
      [data, pos, piece](char* buf, std::size_t cap) -> std::size_t {
        const std::size_t n = std::min({cap, piece, data->size() - *pos});
        std::copy_n(data->data() + *pos, n, buf);
        *pos += n;
        return n;
      },
      max_record);
  parsed out;
  out.header = r.read_header();
  csv_reader::record rec;
  while (r.next(rec)) out.records.push_back(rec);
  out.delimiter = r.delimiter();
  return out;
}

TEST(csv_reader, comma_and_lf) {
  const auto p = read_all("a,b,c\n1,2,3\n4,5,6\n");
  ASSERT_TRUE(p.header);
  EXPECT_EQ(p.header->fields, (fields{"a", "b", "c"}));
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].fields, (fields{"1", "2", "3"}));
  EXPECT_EQ(p.records[0].line, 2u);
  EXPECT_EQ(p.records[1].line, 3u);
  EXPECT_EQ(p.delimiter, ',');
}

TEST(csv_reader, semicolon_crlf_and_bom) {
  const auto p = read_all(
      "\xEF\xBB\xBF"
      "a;b\r\n1,5;x\r\n2;y\r\n");
  ASSERT_TRUE(p.header);
  EXPECT_EQ(p.delimiter, ';');
  EXPECT_EQ(p.header->fields, (fields{"a", "b"}));
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].fields, (fields{"1,5", "x"}));
  EXPECT_EQ(p.records[1].fields, (fields{"2", "y"}));
}

TEST(csv_reader, quoted_fields_with_delimiters_quotes_and_line_breaks) {
  const auto p = read_all("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\nlast,1\n");
  ASSERT_EQ(p.records.size(), 3u);
  EXPECT_EQ(p.records[0].fields, (fields{"x, y", "say \"hi\""}));
  EXPECT_EQ(p.records[1].fields, (fields{"two\nlines", "z"}));
  EXPECT_EQ(p.records[1].line, 3u);
  // The quoted line break counts as a line of the file.
  EXPECT_EQ(p.records[2].line, 5u);
}

TEST(csv_reader, last_line_without_line_break_and_blank_lines) {
  const auto p = read_all("a,b\n\n1,2\n\r\n3,4");
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].line, 3u);
  EXPECT_EQ(p.records[1].fields, (fields{"3", "4"}));
  EXPECT_EQ(p.records[1].line, 5u);
}

TEST(csv_reader, empty_fields_are_kept) {
  const auto p = read_all("a,b,c\n,,\n\"\",x,\n");
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].fields, (fields{"", "", ""}));
  EXPECT_EQ(p.records[1].fields, (fields{"", "x", ""}));
}

TEST(csv_reader, records_cross_buffer_refills) {
  std::string text = "a,b\n";
  for (int i = 0; i < 500; ++i)
    text += "\"q" + std::to_string(i) + "\",v" + std::to_string(i) + "\r\n";
  const auto p = read_all(text, 7);
  ASSERT_EQ(p.records.size(), 500u);
  EXPECT_EQ(p.records[499].fields, (fields{"q499", "v499"}));
  EXPECT_EQ(p.records[499].line, 501u);
}

TEST(csv_reader, empty_file_and_only_bom) {
  EXPECT_FALSE(read_all("").header);
  EXPECT_FALSE(read_all("\xEF\xBB\xBF").header);
  EXPECT_FALSE(read_all("\n\r\n  \n").header);
}

TEST(csv_reader, quote_inside_an_unquoted_field_is_broken_and_the_next_line_is_read) {
  const auto p = read_all("a,b\nab\"c,d\n1,2\n");
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_NE(p.records[0].error.find("broken quoting"), std::string::npos);
  EXPECT_EQ(p.records[0].line, 2u);
  EXPECT_TRUE(p.records[1].error.empty());
  EXPECT_EQ(p.records[1].fields, (fields{"1", "2"}));
  EXPECT_EQ(p.records[1].line, 3u);
}

TEST(csv_reader, after_a_broken_record_reading_goes_on_at_any_line_end) {
  // Lone CR (old Mac spreadsheets), CRLF and LF end a line after a broken record as anywhere.
  for (const std::string eol : {"\r", "\r\n", "\n"}) {
    for (const std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{1} << 20}) {
      SCOPED_TRACE("eol " + std::to_string(eol.size()) + " piece " + std::to_string(piece));
      const auto p = read_all(
          "a,b" + eol + "ab\"c,d" + eol + "\"x\"y,1" + eol + "1,2" + eol + "3,4" + eol, piece);
      ASSERT_EQ(p.records.size(), 4u);
      EXPECT_NE(p.records[0].error.find("broken quoting"), std::string::npos);
      EXPECT_EQ(p.records[0].line, 2u);
      EXPECT_NE(p.records[1].error.find("after its closing quote"), std::string::npos);
      EXPECT_EQ(p.records[1].line, 3u);
      EXPECT_EQ(p.records[2].fields, (fields{"1", "2"}));
      EXPECT_EQ(p.records[2].line, 4u);
      EXPECT_EQ(p.records[3].fields, (fields{"3", "4"}));
      EXPECT_EQ(p.records[3].line, 5u);
    }
  }
}

TEST(csv_reader, characters_after_a_closing_quote_are_broken) {
  const auto p = read_all("a,b\n\"x\"y,1\n2,3\n");
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_NE(p.records[0].error.find("after its closing quote"), std::string::npos);
  EXPECT_EQ(p.records[1].fields, (fields{"2", "3"}));
}

TEST(csv_reader, unterminated_quote_is_reported_at_the_end) {
  const auto p = read_all("a,b\n1,2\n\"never closed,3\n4,5\n");
  ASSERT_EQ(p.records.size(), 3u);
  EXPECT_TRUE(p.records[0].error.empty());
  // Where the quote opened, and that it never closes.
  EXPECT_EQ(p.records[1].line, 3u);
  EXPECT_EQ(p.records[1].error,
            "field 1 opens a quote on line 3 that is never closed (broken quoting); lines 3 to "
            "4, to the end of the file, were read as this one row");
  // The line it swallowed has a record of its own, saying so.
  EXPECT_EQ(p.records[2].line, 4u);
  EXPECT_TRUE(p.records[2].fields.empty());
  EXPECT_EQ(p.records[2].error,
            "not read as a row: part of the row that begins on line 3, which cannot be read (the "
            "quote opened on line 3 is never closed)");
}

TEST(csv_reader, unterminated_quote_on_the_last_line_takes_no_other_line) {
  for (const std::string end : {"", "\n", "\r\n\r\n"}) {
    const auto p = read_all("a,b\n1,2\n3,\"open" + end);
    ASSERT_EQ(p.records.size(), 2u) << end.size();
    EXPECT_EQ(p.records[1].line, 3u);
    EXPECT_EQ(p.records[1].error,
              "field 2 opens a quote on line 3 that is never closed (broken quoting)");
  }
}

// Every line of the file has its record, whichever way a quote breaks it: an operator finds
// each line in the report. The rows before the break and after a cut are read as they are.
TEST(csv_reader, every_line_a_broken_quote_takes_is_accounted_for) {
  // A record that starts on line 3 with a good two-line field; its second field opens a quote
  // on line 4 that never closes, over a blank line, to the end of the file.
  const auto p = read_all("a,b\n1,2\n\"two\nlines\",\"open\nx,y\n\n7,8\n");
  ASSERT_EQ(p.records.size(), 6u);
  for (std::size_t i = 0; i < p.records.size(); ++i) EXPECT_EQ(p.records[i].line, i + 2);
  EXPECT_TRUE(p.records[0].error.empty());
  EXPECT_EQ(p.records[1].error,
            "field 2 opens a quote on line 4 that is never closed (broken quoting); lines 3 to "
            "7, to the end of the file, were read as this one row");
  for (std::size_t i = 2; i < 6; ++i) {
    EXPECT_EQ(p.records[i].error,
              "not read as a row: part of the row that begins on line 3, which cannot be read "
              "(the quote opened on line 4 is never closed)");
  }

  // A stray quote that another quote, lines below, closes: the row breaks where the two meet.
  const auto closed = read_all("a,b,c\n1,\"Rossi,x\n2,y,z\n3,\"Bianchi\",w\n4,5,6\n");
  ASSERT_EQ(closed.records.size(), 4u);
  EXPECT_EQ(closed.records[0].line, 2u);
  EXPECT_EQ(closed.records[0].error,
            "field 2 opens a quote on line 2 that closes on line 4, with characters after its "
            "closing quote (broken quoting); lines 2 to 4 were read as this one row");
  EXPECT_EQ(closed.records[1].line, 3u);
  EXPECT_EQ(closed.records[2].line, 4u);
  EXPECT_EQ(closed.records[2].error,
            "not read as a row: part of the row that begins on line 2, which cannot be read "
            "(broken quoting)");
  EXPECT_EQ(closed.records[3].line, 5u);
  EXPECT_EQ(closed.records[3].fields, (fields{"4", "5", "6"}));
}

// A quote that never closes in a file longer than the record limit: the record is cut at the
// limit, the lines up to the cut are accounted for, and reading goes on at the next line, so the
// rows after it are read as rows (with their own line numbers).
TEST(csv_reader, unterminated_quote_past_the_limit_is_cut_and_the_rest_is_read) {
  std::string text = "a,b\n1,2\n3,\"open\n";
  for (int i = 4; i < 60; ++i) text += std::to_string(i) + ",value\n";  // 8 or 9 bytes a line
  for (const std::size_t piece : {std::size_t{1} << 20, std::size_t{5}}) {
    const auto p = read_all(text, piece, 100);
    ASSERT_EQ(p.records.size(), 58u);
    for (std::size_t i = 0; i < p.records.size(); ++i) EXPECT_EQ(p.records[i].line, i + 2);
    EXPECT_TRUE(p.records[0].error.empty());
    const std::string& cut = p.records[1].error;
    EXPECT_EQ(cut.rfind("the row is longer than 100 bytes: field 2 opens a quote on line 3 that "
                        "is not closed within them (a quote that is never closed?); lines 3 to ",
                        0),
              0u)
        << cut;
    // 8 bytes for line 3 and its line break, 8 for each of lines 4 to 9, 9 for each of lines
    // 10 to 13, and "14,value" makes 100: the 101st byte is the line break after it, which
    // ends the cut line; line 15 is the next record.
    EXPECT_NE(cut.find("lines 3 to 14 were read as this one row"), std::string::npos) << cut;
    for (std::size_t i = 2; i <= 12; ++i) {
      EXPECT_EQ(p.records[i].error,
                "not read as a row: part of the row that begins on line 3, which cannot be read "
                "(the quote opened on line 3 is not closed within 100 bytes)");
    }
    EXPECT_EQ(p.records[13].line, 15u);
    EXPECT_TRUE(p.records[13].error.empty());
    EXPECT_EQ(p.records[13].fields, (fields{"15", "value"}));
    EXPECT_EQ(p.records.back().fields, (fields{"59", "value"}));
  }
}

TEST(csv_reader, overlong_record_is_cut_and_reading_goes_on) {
  std::string text = "a,b\n\"" + std::string(5000, 'x') + "\n1,2\n";
  const auto p = read_all(text, 1 << 20, 1000);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_NE(p.records[0].error.find("longer than"), std::string::npos);
  EXPECT_EQ(p.records.back().fields, (fields{"1", "2"}));
  EXPECT_EQ(p.records.back().line, 3u);
}

// The limit counts a record's bytes as they are in the file, quotes, delimiters and quoted line
// breaks included, the line break that ends it not: a record of exactly max_record_bytes is
// read, one more byte is broken, and either way the next line is the next record.
TEST(csv_reader, the_record_limit_at_its_boundary) {
  constexpr std::size_t limit = 16;
  const std::vector<std::string> exact = {
      "aaaaaaa,bbbbbbbb",       // plain
      "\"aaaa\"\"bbbb\",ccc",   // a doubled quote counts two bytes
      "\"aaa\nbbb\",cccccc",    // so does a quoted line break
      "\"aaa\r\nbb\",cccccc",   // a quoted CRLF counts two
      std::string(limit, ','),  // delimiters only
      "\"aaaaaaaaaaaaa\",",     // the closing quote, then the delimiter, are the last bytes
  };
  for (const std::size_t piece : {std::size_t{1} << 20, std::size_t{1}, std::size_t{3}}) {
    for (const auto& record : exact) {
      ASSERT_EQ(record.size(), limit) << record;
      for (const std::string eol : {"\n", "\r\n", "\r"}) {
        SCOPED_TRACE(record + " piece " + std::to_string(piece) + " eol " +
                     std::to_string(eol.size()));
        const bool two_lines = record.find('\n') != std::string::npos;
        const auto p = read_all("a,b\n" + record + eol + "1,2" + eol, piece, limit);
        ASSERT_EQ(p.records.size(), 2u);
        EXPECT_TRUE(p.records[0].error.empty()) << p.records[0].error;
        EXPECT_EQ(p.records[1].fields, (fields{"1", "2"}));
        EXPECT_EQ(p.records[1].line, two_lines ? 4u : 3u);
        // At the end of the file, without a line break.
        const auto last = read_all("a,b\n" + record, piece, limit);
        ASSERT_EQ(last.records.size(), 1u);
        EXPECT_TRUE(last.records[0].error.empty()) << last.records[0].error;
      }
      // One byte more: broken, and the next line is still a record of its own.
      const std::string longer = record.back() == ',' ? record + "," : record + "x";
      for (const std::string eol : {"\n", "\r\n", "\r"}) {
        SCOPED_TRACE(longer + " piece " + std::to_string(piece) + " eol " +
                     std::to_string(eol.size()));
        const auto p = read_all("a,b\n" + longer + eol + "1,2" + eol, piece, limit);
        ASSERT_GE(p.records.size(), 2u);
        EXPECT_EQ(p.records[0].error.rfind("the row is longer than 16 bytes", 0), 0u)
            << p.records[0].error;
        EXPECT_TRUE(p.records.back().error.empty());
        EXPECT_EQ(p.records.back().fields, (fields{"1", "2"}));
        EXPECT_EQ(p.records.back().line, record.find('\n') != std::string::npos ? 4u : 3u);
      }
    }
    // The header is a record like the others.
    const std::string name(limit - 2, 'h');
    const auto header = read_all(name + ",b\n1,2\n", piece, limit);
    ASSERT_TRUE(header.header);
    EXPECT_TRUE(header.header->error.empty()) << header.header->error;
    ASSERT_EQ(header.records.size(), 1u);
    EXPECT_EQ(header.records[0].fields, (fields{"1", "2"}));
    const auto longer = read_all(name + "h,b\n1,2\n", piece, limit);
    ASSERT_TRUE(longer.header);
    EXPECT_NE(longer.header->error.find("longer than"), std::string::npos);
  }
}

// Bytes that never take the reader's fast path count against the limit too: a run of
// delimiters (each a field of its own), of doubled quotes, of quoted line breaks.
TEST(csv_reader, overlong_records_of_delimiters_or_quotes_are_cut) {
  for (const std::string& body : {std::string(5000, ','), "\"" + std::string(5000, '"') + "\""}) {
    const auto p = read_all("a,b\n" + body + "\n1,2\n", 1 << 20, 1000);
    ASSERT_GE(p.records.size(), 2u);
    EXPECT_NE(p.records[0].error.find("longer than"), std::string::npos) << body.substr(0, 3);
    EXPECT_LE(p.records[0].fields.size(), 1001u);
    EXPECT_EQ(p.records.back().fields, (fields{"1", "2"}));
  }
  // Reading goes on after the line the cut ended on: inside these quotes, so what follows is
  // judged as it comes; the point is the cut.
  const auto breaks = read_all("a,b\n\"" + std::string(5000, '\n') + "\"\n", 1 << 20, 1000);
  ASSERT_GE(breaks.records.size(), 1u);
  EXPECT_NE(breaks.records[0].error.find("longer than"), std::string::npos);
  const auto header = read_all(std::string(5000, ',') + "\n1,2\n", 1 << 20, 1000);
  ASSERT_TRUE(header.header);
  EXPECT_NE(header.header->error.find("longer than"), std::string::npos);
}

TEST(csv_reader, invalid_utf8_and_nul_are_broken_records) {
  const auto p = read_all(std::string("a,b\n1,\xC3\x28\n2,ok\n3,x\0y\n", 20));
  ASSERT_EQ(p.records.size(), 3u);
  EXPECT_NE(p.records[0].error.find("not valid UTF-8"), std::string::npos);
  EXPECT_TRUE(p.records[1].error.empty());
  EXPECT_NE(p.records[2].error.find("NUL"), std::string::npos);
}

TEST(csv_reader, header_names_are_trimmed_and_delimiter_counted_outside_quotes) {
  const auto p = read_all(" a ;\"b,c,d\"; e \n1;2;3\n");
  ASSERT_TRUE(p.header);
  EXPECT_EQ(p.delimiter, ';');
  EXPECT_EQ(p.header->fields, (fields{"a", "b,c,d", "e"}));
}

TEST(csv_reader, tab_separated_file_is_one_column) {
  // A wrong delimiter is not guessed: the header becomes one column, which the layout check
  // then refuses with a hint.
  const auto p = read_all("a\tb\tc\n1\t2\t3\n");
  ASSERT_TRUE(p.header);
  EXPECT_EQ(p.header->fields.size(), 1u);
}

TEST(utf8, validation) {
  EXPECT_TRUE(is_valid_utf8("plain ascii text, long enough for the fast path"));
  EXPECT_TRUE(is_valid_utf8("\xC3\xA0 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // à € 😀
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));                               // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));                           // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));                       // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("abc\xE2\x82"));                            // truncated
}

}  // namespace
}  // namespace pagohub::imports
