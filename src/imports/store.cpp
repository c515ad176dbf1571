// The imports table for the REST routes: create (with the upload), read, report pieces.
#include <pagohub/db/sql_time.hpp>
#include <pagohub/imports/store.hpp>

#include <pqxx/pqxx>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace pagohub::imports {

import_record create_import(pqxx::dbtransaction& w, const new_import& n,
                            const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open the uploaded file " + file.string());
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec)
    throw std::runtime_error("cannot read the size of " + file.string() + ": " + ec.message());
  const pqxx::result r = w.exec_params(
      "INSERT INTO imports (entity_fiscal_code, application_id, format, mode, file_bytes, "
      "created_at, actor_kind, actor_id, request_id) VALUES ($1, $2, $3, $4, $5, " +
          db::ts_param(6) + ", $7, $8, $9) RETURNING " + import_columns(),
      n.entity_fiscal_code, n.application_id, std::string(to_string(n.format)),
      std::string(to_string(n.mode)), static_cast<std::int64_t>(size), db::to_micros(n.now),
      n.by.kind, n.by.id, n.by.request_id.empty() ? std::optional<std::string>() : n.by.request_id);
  import_record rec = read_import(r[0]);
  // The file goes in as bytes, in pieces: one statement per megabyte, never the whole file in
  // memory. Bytes, not text, so that a file with invalid UTF-8 is kept to be reported line by
  // line.
  std::vector<char> buffer(upload_chunk_bytes);
  int seq = 0;
  std::uint64_t stored = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    w.exec_params(
        "INSERT INTO import_uploads (entity_fiscal_code, import_id, seq, data) "
        "VALUES ($1, $2, $3, $4)",
        n.entity_fiscal_code, rec.id, seq++, pqxx::binarystring(buffer.data(), got));
    stored += got;
  }
  if (in.bad() || stored != size) {
    throw std::runtime_error("reading the uploaded file " + file.string() + " failed");
  }
  return rec;
}

std::int64_t unfinished_imports(pqxx::dbtransaction& w, std::string_view application_id,
                                bool serialise) {
  // Not the processors' lock class (service.cpp): ("ph" "iq" in ASCII).
  constexpr int queue_lock_class = 0x70686971;
  if (serialise) {
    w.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", queue_lock_class,
                  std::string(application_id));
  }
  // Few rows: imports_pending_idx holds only the imports not yet ended.
  return w
      .exec_params1(
          "SELECT count(*) FROM imports WHERE application_id = $1 "
          "AND state IN ('queued', 'validating', 'loading')",
          std::string(application_id))[0]
      .as<std::int64_t>();
}

std::optional<import_record> find_import(pqxx::dbtransaction& w, std::string_view entity_fc,
                                         std::string_view application_id, std::int64_t id) {
  const pqxx::result r = w.exec_params(
      "SELECT " + import_columns() +
          " FROM imports WHERE entity_fiscal_code = $1 AND application_id = $2 AND id = $3",
      std::string(entity_fc), std::string(application_id), id);
  if (r.empty()) return std::nullopt;
  return read_import(r[0]);
}

std::string_view report_header() noexcept {
  return "line,externalId,operation,outcome,noticeNumber,errorPath,errorCode,errorMessage\r\n";
}

std::optional<report_piece> report_piece_from(pqxx::dbtransaction& w, std::string_view entity_fc,
                                              std::int64_t id, int from) {
  const pqxx::result r = w.exec_params(
      "SELECT seq, data FROM import_reports WHERE entity_fiscal_code = $1 AND import_id = $2 "
      "AND seq >= $3 ORDER BY seq LIMIT 1",
      std::string(entity_fc), id, from);
  if (r.empty()) return std::nullopt;
  return report_piece{r[0][0].as<int>(), r[0][1].as<std::string>()};
}

const std::string& import_columns() {
  static const std::string cols =
      "id, entity_fiscal_code, application_id, format, mode, state, file_bytes, bytes_read, "
      "progress, rows_read, rows_valid, rows_invalid, positions_created, positions_updated, "
      "positions_cancelled, positions_unchanged, error, attempts, " +
      db::micros_of("created_at") + ", " + db::micros_of("started_at") + ", " +
      db::micros_of("validated_at") + ", " + db::micros_of("finished_at");
  return cols;
}

import_record read_import(const pqxx::row& row) {
  import_record r;
  r.id = row[0].as<std::int64_t>();
  r.entity_fiscal_code = row[1].as<std::string>();
  r.application_id = row[2].as<std::string>();
  r.format = parse_file_format(row[3].c_str()).value_or(file_format::csv);
  r.mode = parse_load_mode(row[4].c_str()).value_or(load_mode::all_or_nothing);
  r.state = parse_import_state(row[5].c_str()).value_or(import_state::failed);
  r.file_bytes = row[6].as<std::int64_t>();
  r.bytes_read = row[7].as<std::int64_t>();
  r.progress = row[8].as<int>();
  r.rows_read = row[9].as<std::int64_t>();
  r.rows_valid = row[10].as<std::int64_t>();
  r.rows_invalid = row[11].as<std::int64_t>();
  r.positions_created = row[12].as<std::int64_t>();
  r.positions_updated = row[13].as<std::int64_t>();
  r.positions_cancelled = row[14].as<std::int64_t>();
  r.positions_unchanged = row[15].as<std::int64_t>();
  if (!row[16].is_null()) r.error = row[16].as<std::string>();
  r.attempts = row[17].as<int>();
  r.created_at = db::from_micros(row[18].as<std::int64_t>());
  const auto opt = [&](int i) -> std::optional<positions::timestamp> {
    if (row[i].is_null()) return std::nullopt;
    return db::from_micros(row[i].as<std::int64_t>());
  };
  r.started_at = opt(19);
  r.validated_at = opt(20);
  r.finished_at = opt(21);
  return r;
}

}  // namespace pagohub::imports
