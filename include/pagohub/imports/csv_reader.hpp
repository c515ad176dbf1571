#pragma once
// A streaming reader of CSV files as back-offices write them (RFC 4180, docs/api/bulk-csv.md):
// UTF-8 with or without a byte-order mark, ',' or ';' between fields (whichever the header line
// uses), CRLF or LF line ends, fields quoted with '"' (a quote inside doubled), line breaks
// inside quoted fields. It holds one record at a time, never the file, and says which line
// each record starts on. A broken record (bad quoting, invalid UTF-8, a NUL byte, a record far
// too long) is reported with its line and skipped up to the end of the line it broke on; the
// records after it are read normally. A broken record that took several lines (a quote opened
// and never closed takes every line up to the end of the file, or up to the record limit) is
// followed by one broken record for each of its further lines, saying which record they are
// part of: every line of the file is accounted for.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::imports {

/// Fills `buffer` with up to `capacity` bytes of the input and returns how many; 0 at the end.
/// Throws on a read error (the caller's exceptions pass through the reader).
using byte_source = std::function<std::size_t(char* buffer, std::size_t capacity)>;

/// A byte_source over an in-memory string (tests, small inputs).
byte_source string_source(std::string text);

/// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points above
/// U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

class csv_reader {
 public:
  /// The longest record accepted, in bytes: its bytes as they are in the file, quotes,
  /// delimiters and quoted line breaks included, the line break that ends it not. A record of
  /// exactly this many bytes is read; a longer one is reported as broken, cut where it passes
  /// the limit, and reading goes on at the next line: a quote that is never closed would
  /// otherwise pull the rest of the file into one field.
  static constexpr std::size_t default_max_record_bytes = 256 * 1024;

  explicit csv_reader(byte_source source, std::size_t max_record_bytes = default_max_record_bytes);

  /// One record: its fields, the line it starts on (1-based), and why it is broken, if it is.
  struct record {
    std::vector<std::string> fields;
    std::uint32_t line = 0;
    std::string error;  ///< empty for a good record; a broken record's fields are unusable
  };

  /// Reads the header line: skips a UTF-8 byte-order mark, picks the delimiter (the one of ','
  /// and ';' that occurs outside quotes in that line; ',' when neither does) and returns the
  /// column names, trimmed of spaces. nullopt when the file holds nothing but a BOM and blank
  /// space; a broken header comes back as a record with `error` set. Call once, first.
  std::optional<record> read_header();

  /// The next data record; false at the end of the input. Blank lines are skipped. After a
  /// broken record that took lines N to M, the next calls return lines N+1 to M, one by one,
  /// as broken records (no fields) saying they are part of the record of line N.
  bool next(record& out);

  char delimiter() const noexcept { return delimiter_; }
  /// Input bytes consumed so far (for progress).
  std::uint64_t bytes_consumed() const noexcept { return consumed_; }

 private:
  bool fill();
  int peek();
  int get();
  // Reads one raw record into out.fields; returns false at the end of the input.
  bool read_record(record& out);
  void skip_rest_of_line();
  // Marks `out` broken for `why`; when it took lines past its first, up to `last_line` (the end
  // of the file when `to_the_end`), those are handed out next, each as part of `out`, broken
  // for `cause`.
  void broken(record& out, std::string why, std::uint32_t last_line, const std::string& cause,
              bool to_the_end = false);

  byte_source source_;
  std::size_t max_record_bytes_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  std::uint64_t consumed_ = 0;
  std::uint32_t line_ = 1;
  char delimiter_ = ',';
  // The further lines of the last broken record, still to be handed out (part_next_ 0: none).
  std::uint32_t part_next_ = 0;
  std::uint32_t part_last_ = 0;
  std::string part_why_;
};

}  // namespace pagohub::imports
