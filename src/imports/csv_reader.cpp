#include <pagohub/imports/csv_reader.hpp>

#include <algorithm>
#include <cstring>
#include <memory>

namespace pagohub::imports {
namespace {

constexpr std::size_t chunk_bytes = 1 << 20;

}  // namespace

byte_source string_source(std::string text) {
  auto state = std::make_shared<std::pair<std::string, std::size_t>>(std::move(text), 0);
  return [state](char* buffer, std::size_t capacity) -> std::size_t {
    auto& [s, pos] = *state;
    const std::size_t n = std::min(capacity, s.size() - pos);
    std::memcpy(buffer, s.data() + pos, n);
    pos += n;
    return n;
  };
}

bool is_valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // ASCII runs are the common case: check eight bytes at a time.
    while (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      if (word & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p >= end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte first, overlong C0/C1, or F5..FF
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      const unsigned char cc = p[i];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

csv_reader::csv_reader(byte_source source, std::size_t max_record_bytes)
    : source_(std::move(source)), max_record_bytes_(max_record_bytes), buffer_(chunk_bytes) {}

bool csv_reader::fill() {
  if (pos_ < end_) return true;
  if (eof_) return false;
  pos_ = 0;
  end_ = source_(buffer_.data(), buffer_.size());
  if (end_ == 0) eof_ = true;
  return end_ > 0;
}

int csv_reader::peek() {
  if (pos_ >= end_ && !fill()) return -1;
  return static_cast<unsigned char>(buffer_[pos_]);
}

int csv_reader::get() {
  if (pos_ >= end_ && !fill()) return -1;
  ++consumed_;
  return static_cast<unsigned char>(buffer_[pos_++]);
}

void csv_reader::skip_rest_of_line() {
  // A line ends as read_record ends one: LF, CRLF or a lone CR.
  for (;;) {
    if (pos_ >= end_ && !fill()) return;
    const char* start = buffer_.data() + pos_;
    const char* limit = buffer_.data() + end_;
    const char* stop = std::find_if(start, limit, [](char c) { return c == '\n' || c == '\r'; });
    const std::size_t n = static_cast<std::size_t>(stop - start);
    consumed_ += n;
    pos_ += n;
    if (stop != limit) {
      if (get() == '\r' && peek() == '\n') get();
      ++line_;
      return;
    }
  }
}

std::optional<csv_reader::record> csv_reader::read_header() {
  // A byte-order mark is allowed (and common: spreadsheets write one) and means nothing.
  if (peek() == 0xEF) {
    // Make sure the three bytes are in the buffer before looking at them.
    if (end_ - pos_ < 3 && !eof_) {
      std::memmove(buffer_.data(), buffer_.data() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
      while (end_ < 3) {
        const std::size_t n = source_(buffer_.data() + end_, buffer_.size() - end_);
        if (n == 0) {
          eof_ = true;
          break;
        }
        end_ += n;
      }
    }
    if (end_ - pos_ >= 3 && static_cast<unsigned char>(buffer_[pos_ + 1]) == 0xBB &&
        static_cast<unsigned char>(buffer_[pos_ + 2]) == 0xBF) {
      pos_ += 3;
      consumed_ += 3;
    }
  }
  // Blank space before the header is tolerated; a file of nothing else is empty.
  for (;;) {
    const int c = peek();
    if (c < 0) return std::nullopt;
    if (c == '\n') {
      get();
      ++line_;
    } else if (c == '\r' || c == ' ' || c == '\t') {
      get();
    } else {
      break;
    }
  }
  // Which delimiter: look at the header line (outside quotes) before parsing it. The line is
  // brought whole into the buffer, which grows up to the record limit.
  int commas = 0;
  int semicolons = 0;
  bool quoted = false;
  std::size_t i = pos_;
  for (;;) {
    if (i >= end_) {
      // max_record_bytes_ buffered hold the whole of a header that may be read: a longer one
      // is broken anyway (read_record says so), whatever its delimiter.
      if (eof_ || end_ - pos_ >= max_record_bytes_) break;
      std::memmove(buffer_.data(), buffer_.data() + pos_, end_ - pos_);
      i -= pos_;
      end_ -= pos_;
      pos_ = 0;
      if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
      const std::size_t n = source_(buffer_.data() + end_, buffer_.size() - end_);
      if (n == 0) {
        eof_ = true;
        break;
      }
      end_ += n;
      continue;
    }
    const char c = buffer_[i++];
    if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && (c == '\n' || c == '\r')) {
      break;
    } else if (!quoted && c == ',') {
      ++commas;
    } else if (!quoted && c == ';') {
      ++semicolons;
    }
  }
  delimiter_ = semicolons > commas ? ';' : ',';
  record header;
  if (!read_record(header)) return std::nullopt;
  part_next_ = 0;  // a broken header refuses the file: its lines are not rows
  for (auto& f : header.fields) {
    const auto b = f.find_first_not_of(" \t");
    const auto e = f.find_last_not_of(" \t");
    f = b == std::string::npos ? std::string() : f.substr(b, e - b + 1);
  }
  return header;
}

bool csv_reader::next(record& out) {
  if (part_next_ != 0 && part_next_ <= part_last_) {
    out.fields.clear();
    out.line = part_next_++;
    out.error = part_why_;
    return true;
  }
  part_next_ = 0;
  return read_record(out);
}

void csv_reader::broken(record& out, std::string why, std::uint32_t last_line,
                        const std::string& cause, bool to_the_end) {
  out.error = std::move(why);
  if (last_line <= out.line) return;
  // The lines the record took after its first are handed out one by one (next()), so that
  // every line of the file has its line in the report.
  out.error += "; lines " + std::to_string(out.line) + " to " + std::to_string(last_line) +
               (to_the_end ? ", to the end of the file," : "") + " were read as this one row";
  part_next_ = out.line + 1;
  part_last_ = last_line;
  part_why_ = "not read as a row: part of the row that begins on line " + std::to_string(out.line) +
              ", which cannot be read (" + cause + ")";
}

bool csv_reader::read_record(record& out) {
  out.fields.clear();
  out.error.clear();
  // Blank lines between records are not records.
  for (;;) {
    const int c = peek();
    if (c < 0) return false;
    if (c == '\n') {
      get();
      ++line_;
    } else if (c == '\r') {
      get();
      if (peek() == '\n') get();
      ++line_;
    } else {
      break;
    }
  }
  out.line = line_;
  enum class state { field_start, unquoted, quoted, after_quote } st = state::field_start;
  const char delim = delimiter_;
  std::uint32_t quote_line = 0;     // where the last quoted field opened
  std::size_t quote_field = 0;      // and which field it is (1-based)
  std::uint32_t last_line = line_;  // the last line holding a byte of the record
  // The record's bytes as they are in the file, the line break that ends it excluded (a quoted
  // line break is part of it): a record of max_record_bytes_ is read, one byte more is broken.
  std::size_t bytes = 0;
  out.fields.emplace_back();
  // A broken record ends with the line it broke on: the rest of that line is skipped, and the
  // next record is read from the line after it.
  const auto fail = [&](std::string why, const std::string& cause) {
    broken(out, std::move(why), line_, cause);
    skip_rest_of_line();
  };
  const auto too_long = [&] {
    const std::string limit = std::to_string(max_record_bytes_) + " bytes";
    if (st == state::quoted) {
      fail("the row is longer than " + limit + ": field " + std::to_string(quote_field) +
               " opens a quote on line " + std::to_string(quote_line) +
               " that is not closed within them (a quote that is never closed?)",
           "the quote opened on line " + std::to_string(quote_line) + " is not closed within " +
               limit);
    } else {
      fail("the row is longer than " + limit, "it is longer than " + limit);
    }
  };
  for (;;) {
    if (pos_ >= end_ && !fill()) {
      if (st == state::quoted) {
        broken(out,
               "field " + std::to_string(quote_field) + " opens a quote on line " +
                   std::to_string(quote_line) + " that is never closed (broken quoting)",
               last_line,
               "the quote opened on line " + std::to_string(quote_line) + " is never closed", true);
        return true;
      }
      break;
    }
    std::string& field = out.fields.back();
    // Fast path: copy a run of ordinary bytes at once.
    if (st == state::unquoted || st == state::field_start || st == state::quoted) {
      const char* p = buffer_.data() + pos_;
      const char* end = buffer_.data() + end_;
      const char* q = p;
      if (st == state::quoted) {
        while (q < end && *q != '"' && *q != '\n' && *q != '\r') ++q;
      } else {
        while (q < end && *q != delim && *q != '"' && *q != '\n' && *q != '\r') ++q;
      }
      if (q > p) {
        const std::size_t n = static_cast<std::size_t>(q - p);
        if (n > max_record_bytes_ - bytes) {
          too_long();
          return true;
        }
        bytes += n;
        field.append(p, n);
        pos_ += n;
        consumed_ += n;
        last_line = line_;
        if (st == state::field_start) st = state::unquoted;
        continue;
      }
    }
    // Counted before it is taken, so that a cut never swallows the line break after it (the
    // next line is the next record's). The line break that ends the record does not count; a
    // delimiter, a quote, a quoted line break do: a run of them never takes the fast path,
    // and each delimiter is a field of its own.
    const int next = peek();
    const bool ends_record = st != state::quoted && (next == '\n' || next == '\r');
    if (!ends_record && bytes == max_record_bytes_) {
      too_long();
      return true;
    }
    const int c = get();
    if (!ends_record) {
      ++bytes;
      if (c != '\n' && c != '\r') last_line = line_;
    }
    switch (st) {
      case state::field_start:
      case state::unquoted:
        if (c == '"') {
          if (st == state::field_start) {
            st = state::quoted;
            quote_line = line_;
            quote_field = out.fields.size();
            break;
          }
          fail("field " + std::to_string(out.fields.size()) +
                   " has a quote inside an unquoted value (broken quoting): quote the whole "
                   "field and double the quotes inside it",
               "broken quoting");
          return true;
        }
        [[fallthrough]];
      case state::after_quote:
        if (c == delim) {
          out.fields.emplace_back();
          st = state::field_start;
        } else if (c == '\n') {
          ++line_;
          goto done;
        } else if (c == '\r') {
          if (peek() == '\n') get();
          ++line_;
          goto done;
        } else if (st == state::after_quote && quote_line < line_) {
          fail("field " + std::to_string(out.fields.size()) + " opens a quote on line " +
                   std::to_string(quote_line) + " that closes on line " + std::to_string(line_) +
                   ", with characters after its closing quote (broken quoting)",
               "broken quoting");
          return true;
        } else {
          fail("field " + std::to_string(out.fields.size()) +
                   " has characters after its closing quote (broken quoting)",
               "broken quoting");
          return true;
        }
        break;
      case state::quoted:
        if (c == '"') {
          if (peek() == '"') {
            if (bytes == max_record_bytes_) {
              too_long();
              return true;
            }
            get();
            ++bytes;
            field.push_back('"');
          } else {
            st = state::after_quote;
          }
        } else {
          // A line break inside quotes is data; it still counts as a line of the file.
          if (c == '\n' || (c == '\r' && peek() != '\n')) ++line_;
          field.push_back(static_cast<char>(c));
        }
        break;
    }
  }
done:
  for (std::size_t k = 0; k < out.fields.size(); ++k) {
    const std::string& f = out.fields[k];
    if (!is_valid_utf8(f)) {
      broken(out, "field " + std::to_string(k + 1) + " is not valid UTF-8", last_line,
             "not valid UTF-8");
      return true;
    }
    if (f.find('\0') != std::string::npos) {
      broken(out, "field " + std::to_string(k + 1) + " contains a NUL byte", last_line,
             "a NUL byte");
      return true;
    }
  }
  return true;
}

}  // namespace pagohub::imports
