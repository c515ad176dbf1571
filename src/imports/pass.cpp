// The streaming pass: stored upload -> records -> positions -> judged -> ids -> COPY to staging.
#include "pass.hpp"

#include <pagohub/core/notice_number.hpp>
#include <pagohub/imports/csv_format.hpp>
#include <pagohub/imports/judge.hpp>
#include <pagohub/positions/notice_numbers.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>

#include "stage_format.hpp"

namespace pagohub::imports::detail {
namespace {

// Positions parsed and judged before their rows are written out.
constexpr std::size_t batch_positions = 4000;
// ... or positions read from this many bytes of the file, whichever comes first.
constexpr std::size_t batch_bytes = 16 << 20;
// COPY data is sent in blocks of about this size.
constexpr std::size_t copy_block = 1 << 20;
// An NDJSON line is one position: the REST body limit is ample.
constexpr std::size_t max_ndjson_line = 1 << 20;

// Ids drawn from the database sequences ahead of need: a block of each kind in use is always on
// its way (asynchronously, on a connection of its own) while the previous one is used, so the pass
// does not wait a round trip per batch. Ids drawn and not used are gaps in the sequences, which
// nothing needs dense (a rolled-back load leaves gaps too).
class id_pool {
 public:
  static constexpr int block = 4096;

  id_pool(raw_connection& conn, std::string position_seq, std::string option_seq,
          std::string notice_seq)
      : conn_(conn), seqs_{std::move(position_seq), std::move(option_seq), std::move(notice_seq)} {}

  ~id_pool() {
    if (!in_flight_) return;
    try {
      conn_.receive_row();  // leave the connection ready for the next import
    } catch (...) {
    }
  }

  std::int64_t next(int kind) {
    auto& pool = pools_[kind];
    if (pos_[kind] >= pool.size()) refill(kind);
    const std::int64_t v = pool[pos_[kind]++];
    if (kind == 2 && (lowest_notice_ == 0 || v < lowest_notice_)) lowest_notice_ = v;
    return v;
  }

  std::int64_t lowest_notice() const noexcept { return lowest_notice_; }

 private:
  // Asks for a block of each kind that has fewer than two blocks unused: the kind in use is
  // asked for again as soon as its block arrives, while a kind the file does not draw (notice
  // numbers of a file that supplies its own, options beyond one per position) stops at two
  // blocks instead of growing by one per refill, and draws no more numbers from its sequence.
  void request() {
    std::array<std::string, 3> counts;
    for (int k = 0; k < 3; ++k) {
      const std::size_t unused = pools_[k].size() - pos_[k];
      counts[k] = std::to_string(unused < 2 * static_cast<std::size_t>(block) ? block : 0);
    }
    conn_.send_query(
        "SELECT (SELECT string_agg(nextval($1::regclass)::text, ',') FROM generate_series(1, "
        "$4::int)), "
        "(SELECT string_agg(nextval($2::regclass)::text, ',') FROM generate_series(1, $5::int)), "
        "(SELECT string_agg(nextval($3::regclass)::text, ',') FROM generate_series(1, $6::int))",
        {seqs_[0], seqs_[1], seqs_[2], counts[0], counts[1], counts[2]});
    in_flight_ = true;
  }

  // Takes the block on its way (asking for one first if none is), then sends for the next.
  void refill(int kind) {
    while (pos_[kind] >= pools_[kind].size()) {
      if (!in_flight_) request();
      const auto row = conn_.receive_row();
      in_flight_ = false;
      if (row.size() != 3) throw std::logic_error("the sequences returned no ids");
      for (int k = 0; k < 3; ++k) {
        auto& pool = pools_[k];
        pool.erase(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(pos_[k]));
        pos_[k] = 0;
        const std::string text = row[static_cast<std::size_t>(k)].value_or("");
        std::string_view s = text;
        while (!s.empty()) {
          const auto comma = s.find(',');
          std::int64_t v = 0;
          std::from_chars(s.data(), s.data() + std::min(comma, s.size()), v);
          pool.push_back(v);
          if (comma == std::string_view::npos) break;
          s.remove_prefix(comma + 1);
        }
      }
      request();
    }
  }

  raw_connection& conn_;
  std::array<std::string, 3> seqs_;
  std::array<std::vector<std::int64_t>, 3> pools_;
  std::array<std::size_t, 3> pos_{};
  bool in_flight_ = false;
  std::int64_t lowest_notice_ = 0;
};

class pass {
 public:
  explicit pass(const pass_input& in) : in_(in) {}

  pass_summary run() {
    resolve_sequences();
    const auto source = upload_source();
    if (in_.imp.format == file_format::csv) {
      run_csv(source);
    } else {
      run_ndjson(source);
    }
    if (summary_.file_error) return summary_;
    flush_batch();
    if (copying_) {
      in_.copier.copy_send(copy_);
      copy_.clear();
      in_.copier.copy_end();
      copying_ = false;
    }
    if (summary_.positions == 0 && !summary_.file_error) {
      summary_.file_error = "the file has no rows";
      summary_.file_errors.push_back(
          {"", std::string(positions::error_codes::required), "the file has no rows to import"});
    }
    report_progress(true);
    return summary_;
  }

  ~pass() {
    if (copying_) in_.copier.copy_abort("import interrupted");
  }

 private:
  void resolve_sequences() {
    pqxx::work w(in_.control);
    positions::ensure_notice_sequence(w, in_.entity.fiscal_code.str());
    const pqxx::row r = w.exec1(
        "SELECT pg_get_serial_sequence('positions', 'id'), "
        "pg_get_serial_sequence('payment_options', 'id'), pagohub_notice_sequence(" +
        w.quote(in_.entity.fiscal_code.str()) + ")::text");
    w.commit();
    ids_.emplace(in_.ids, r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>());
  }

  byte_source upload_source() {
    struct state {
      int seq = 0;
      std::string chunk;
      std::size_t offset = 0;
    };
    auto st = std::make_shared<state>();
    return [this, st](char* buffer, std::size_t capacity) -> std::size_t {
      while (st->offset >= st->chunk.size()) {
        if (in_.stopping.load()) throw stopped();
        auto next = in_.reader.fetch_binary(
            "SELECT data FROM import_uploads WHERE entity_fiscal_code = $1 AND import_id = $2 "
            "AND seq = $3",
            {in_.imp.entity_fiscal_code, std::to_string(in_.imp.id), std::to_string(st->seq)});
        if (!next) return 0;
        st->chunk = std::move(*next);
        st->offset = 0;
        ++st->seq;
      }
      const std::size_t n = std::min(capacity, st->chunk.size() - st->offset);
      std::memcpy(buffer, st->chunk.data() + st->offset, n);
      st->offset += n;
      bytes_read_ += n;
      return n;
    };
  }

  void run_csv(const byte_source& source) {
    csv_reader reader(source);
    auto header = reader.read_header();
    if (!header) {
      summary_.file_error = "the file is empty";
      summary_.file_errors.push_back(
          {"", std::string(positions::error_codes::required), "the file is empty"});
      return;
    }
    if (!header->error.empty()) {
      summary_.file_error = "the header line is broken: " + header->error;
      summary_.file_errors.push_back({"/header", "invalid", header->error});
      return;
    }
    auto layout = csv_layout::from_header(header->fields);
    if (!layout) {
      summary_.file_errors = std::move(layout).error();
      summary_.file_error = "the header is not valid (" +
                            std::to_string(summary_.file_errors.size()) +
                            " problems): " + summary_.file_errors.front().message;
      return;
    }
    begin_copy();
    csv_position_builder builder(*layout, [this](parsed_position&& p) { accept(std::move(p)); });
    csv_reader::record rec;
    while (!summary_.file_error && reader.next(rec)) {
      // A row of delimiters only (";;;;;"), as spreadsheets export the empty rows at a sheet's
      // end, is as blank as an empty line.
      if (rec.error.empty() && std::all_of(rec.fields.begin(), rec.fields.end(),
                                           [](const std::string& f) { return f.empty(); }))
        continue;
      ++summary_.rows_read;
      builder.add(rec);
      maybe_progress();
    }
    if (!summary_.file_error) builder.finish();
  }

  void run_ndjson(const byte_source& source) {
    std::vector<char> buffer(1 << 20);
    std::string line;
    std::uint32_t line_no = 0;
    bool too_long = false;
    bool any_content = false;
    const auto finish_line = [&] {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      // A UTF-8 byte-order mark, which Windows tools put before the first line, is no JSON.
      if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
      const bool blank = line.find_first_not_of(" \t") == std::string::npos;
      if (too_long) {
        ++summary_.rows_read;
        parsed_position p;
        p.line = line_no;
        p.errors.push_back(
            {{"", std::string(positions::error_codes::too_long),
              "the line is longer than " + std::to_string(max_ndjson_line) + " bytes"}});
        accept(std::move(p));
      } else if (!blank) {
        ++summary_.rows_read;
        decoded_line d = in_.decode_ndjson(line);
        parsed_position p;
        p.op = d.op;
        p.pos = std::move(d.pos);
        p.line = line_no;
        p.source_bytes = line.size();
        if (!d.errors.empty()) {
          p.errors.push_back(std::move(d.errors));
        } else {
          p.option_lines.assign(std::max<std::size_t>(p.pos.options.size(), 1), line_no);
          p.errors.resize(std::max<std::size_t>(p.pos.options.size(), 1));
        }
        accept(std::move(p));
      }
      line.clear();
      too_long = false;
      maybe_progress();
    };
    while (!summary_.file_error) {
      const std::size_t n = source(buffer.data(), buffer.size());
      if (n == 0) break;
      if (!copying_) begin_copy();
      any_content = true;
      std::size_t start = 0;
      while (start < n && !summary_.file_error) {
        const auto* nl =
            static_cast<const char*>(std::memchr(buffer.data() + start, '\n', n - start));
        const std::size_t end = nl ? static_cast<std::size_t>(nl - buffer.data()) : n;
        if (!too_long) {
          if (line.size() + (end - start) > max_ndjson_line) {
            too_long = true;
            line.clear();
          } else {
            line.append(buffer.data() + start, end - start);
          }
        }
        start = end;
        if (nl) {
          finish_line();
          ++start;
        }
      }
    }
    if (summary_.file_error) return;
    if (!line.empty() || too_long) finish_line();
    if (!any_content || summary_.rows_read == 0) {
      summary_.file_error = "the file is empty";
      summary_.file_errors.push_back(
          {"", std::string(positions::error_codes::required), "the file is empty"});
    }
  }

  void begin_copy() {
    in_.copier.copy_begin("COPY " + in_.stage_table + " (" + stage_columns() + ") FROM STDIN");
    copying_ = true;
  }

  // A position of the file, as parsed: judged now, staged with its batch.
  void accept(parsed_position&& p) {
    // Records that could not be parsed at all (no option lines: a broken CSV record, an NDJSON
    // line that is not a position) carry their problem already; the rest is judged.
    if (!p.option_lines.empty()) {
      const judge_context ctx{in_.entity, in_.registry, in_.application, in_.today, in_.imp.format};
      judge(p, ctx);
    }
    ++summary_.positions;
    if (p.has_errors()) {
      if (++summary_.invalid_positions > in_.max_invalid_rows) {
        const std::string why = "more than " + std::to_string(in_.max_invalid_rows) +
                                " records of the file have errors: reading stopped at line " +
                                std::to_string(p.line) +
                                " and nothing was stored (is it the right file? a quote "
                                "never closed makes every following line an error)";
        summary_.file_error = why;
        summary_.file_errors = {{"", "too_many_errors", why}};
        return;
      }
    } else if (p.op == row_op::cancel) {
      ++summary_.cancels;
    } else {
      for (const auto& o : p.pos.options) {
        if (o.notice_number.empty()) continue;
        ++summary_.supplied_notices;
        // A notice number of the entity's own space could meet a drawn one: remember the
        // highest progressive supplied, for the load's collision check.
        if (o.notice_number.size() == 18) {
          std::int64_t prog = 0;
          std::from_chars(o.notice_number.data() + 3, o.notice_number.data() + 16, prog);
          summary_.max_supplied_progressive = std::max(summary_.max_supplied_progressive, prog);
        }
      }
      for (const auto& o : p.pos.options) {
        if (o.transfers.size() > 1) summary_.extra = true;
        for (const auto& t : o.transfers)
          if (!t.accounting.empty()) summary_.extra = true;
      }
    }
    batch_bytes_ += p.source_bytes;
    batch_.push_back(std::move(p));
    // Bounded by size as well: positions of a hundred options, or lines of a megabyte, would
    // hold the file in memory long before the count is reached.
    if (batch_.size() >= batch_positions || batch_bytes_ >= batch_bytes) flush_batch();
  }

  void flush_batch() {
    if (batch_.empty()) return;
    if (in_.stopping.load()) throw stopped();
    position_ids ids;
    for (auto& p : batch_) {
      const std::int64_t seq = ++seq_;
      if (p.op == row_op::upsert && !p.has_errors()) {
        // A replaced position keeps its own id and notice numbers, so what is drawn for it
        // here is skipped (a gap).
        ids.position_id = ids_->next(0);
        ids.option_ids.clear();
        ids.notice_progressives.clear();
        for (const auto& o : p.pos.options) {
          ids.option_ids.push_back(ids_->next(1));
          ids.notice_progressives.push_back(o.notice_number.empty() ? ids_->next(2) : 0);
        }
        append_stage_rows(copy_, seq, p, &ids);
      } else {
        append_stage_rows(copy_, seq, p, nullptr);
      }
      if (copy_.size() >= copy_block) {
        in_.copier.copy_send(copy_);
        copy_.clear();
      }
    }
    batch_.clear();
    batch_bytes_ = 0;
    if (ids_) summary_.min_drawn_progressive = ids_->lowest_notice();
  }

  void maybe_progress() {
    if ((summary_.rows_read & 1023) != 0) return;
    report_progress(false);
  }

  // The percentage shown while parsing covers 0..80: the load is the rest.
  void report_progress(bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_progress_ < std::chrono::seconds(1)) return;
    last_progress_ = now;
    const std::int64_t total = std::max<std::int64_t>(in_.imp.file_bytes, 1);
    const auto pct = static_cast<int>(
        std::min<std::int64_t>(80, static_cast<std::int64_t>(bytes_read_) * 80 / total));
    pqxx::nontransaction w(in_.control);
    w.exec_params(
        "UPDATE imports SET bytes_read = $3, rows_read = $4, progress = $5 "
        "WHERE entity_fiscal_code = $1 AND id = $2",
        in_.imp.entity_fiscal_code, in_.imp.id, static_cast<std::int64_t>(bytes_read_),
        summary_.rows_read, pct);
  }

  const pass_input& in_;
  pass_summary summary_;
  std::optional<id_pool> ids_;
  std::vector<parsed_position> batch_;
  std::size_t batch_bytes_ = 0;
  std::string copy_;
  bool copying_ = false;
  std::int64_t seq_ = 0;
  std::uint64_t bytes_read_ = 0;
  std::chrono::steady_clock::time_point last_progress_{};
};

}  // namespace

pass_summary run_pass(const pass_input& in) {
  pass p(in);
  return p.run();
}

}  // namespace pagohub::imports::detail
