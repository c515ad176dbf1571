#pragma once
// The imports table (sql/0008_imports.sql) as the REST routes use it: create an import from an
// uploaded file, read one back, read its report. Every function works in the caller's
// transaction (`co_await db.transact(...)`) and is scoped by entity and application.
#include <pagohub/imports/model.hpp>
#include <pagohub/positions/store.hpp>

#include <pqxx/dbtransaction>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::imports {

/// What POST .../imports knows about a new import.
struct new_import {
  std::string entity_fiscal_code;
  std::string application_id;
  file_format format = file_format::csv;
  load_mode mode = load_mode::all_or_nothing;
  positions::actor by;  ///< the application and the request
  positions::timestamp now{};
};

/// The size of the pieces an upload is stored in (import_uploads).
inline constexpr std::size_t upload_chunk_bytes = 1 << 20;

/// Creates the import in state queued and stores the file's bytes with it, in `w`: when `w`
/// commits, the import is safe (the 202 answer may go out) and a processor will take it.
/// Reads the file in chunks of upload_chunk_bytes (never whole); throws std::runtime_error when
/// the file cannot be read.
import_record create_import(pqxx::dbtransaction& w, const new_import& n,
                            const std::filesystem::path& file);

/// How many imports of `application_id` (all its entities) are queued or being processed, as
/// `w` sees them (its own uncommitted import included). With `serialise`, first takes a lock,
/// held until `w` ends, that serialises this count among the application's uploads, so two
/// uploads cannot both pass a limit on it: take it after storing the file (create_import), so
/// that it is held from the count to the commit, not while a large file is written.
std::int64_t unfinished_imports(pqxx::dbtransaction& w, std::string_view application_id,
                                bool serialise);

/// The import `id` of this entity and application, or nullopt.
std::optional<import_record> find_import(pqxx::dbtransaction& w, std::string_view entity_fc,
                                         std::string_view application_id, std::int64_t id);

/// The report CSV's header line, with its line break.
std::string_view report_header() noexcept;

/// A piece of a report: consecutive CSV lines (without the header), and its number.
struct report_piece {
  int seq = 0;
  std::string data;
};

/// The first piece of the report of import `id` numbered `from` or more (pieces are numbered by
/// file line and may skip numbers), or nullopt past the last. Read from 0, then from seq + 1.
std::optional<report_piece> report_piece_from(pqxx::dbtransaction& w, std::string_view entity_fc,
                                              std::int64_t id, int from);

/// The columns of imports that read_import() understands, for a SELECT.
const std::string& import_columns();
/// A row of import_columns().
import_record read_import(const pqxx::row& row);

}  // namespace pagohub::imports
