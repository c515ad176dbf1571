#pragma once
// Bulk imports of debt positions (issue 3 "Bulk loads", docs/imports.md): what an import is,
// and the parsed form of one position of a file, whatever its format.
#include <pagohub/positions/model.hpp>
#include <pagohub/positions/validation.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::imports {

enum class file_format { csv, ndjson };
/// all-or-nothing (default): any bad row rejects the file; valid-rows: bad rows are reported,
/// the rest is loaded.
enum class load_mode { all_or_nothing, valid_rows };
/// queued -> validating -> loading -> done, or -> failed (sql/0008_imports.sql).
enum class import_state { queued, validating, loading, done, failed };

std::string_view to_string(file_format f) noexcept;   ///< "csv", "ndjson"
std::string_view to_string(load_mode m) noexcept;     ///< "all-or-nothing", "valid-rows"
std::string_view to_string(import_state s) noexcept;  ///< "queued", ... "failed"
std::optional<file_format> parse_file_format(std::string_view s) noexcept;
std::optional<load_mode> parse_load_mode(std::string_view s) noexcept;
std::optional<import_state> parse_import_state(std::string_view s) noexcept;

/// One import as stored (table imports).
struct import_record {
  std::int64_t id = 0;
  std::string entity_fiscal_code;
  std::string application_id;
  file_format format = file_format::csv;
  load_mode mode = load_mode::all_or_nothing;
  import_state state = import_state::queued;
  std::int64_t file_bytes = 0;
  std::int64_t bytes_read = 0;
  int progress = 0;  ///< percent
  std::int64_t rows_read = 0;
  std::int64_t rows_valid = 0;
  std::int64_t rows_invalid = 0;
  std::int64_t positions_created = 0;
  std::int64_t positions_updated = 0;
  std::int64_t positions_cancelled = 0;
  std::int64_t positions_unchanged = 0;
  std::optional<std::string> error;  ///< why the whole import failed
  int attempts = 0;
  positions::timestamp created_at{};
  std::optional<positions::timestamp> started_at;
  std::optional<positions::timestamp> validated_at;
  std::optional<positions::timestamp> finished_at;
};

/// What a file line asks for.
enum class row_op { upsert, cancel };

/// One position of a file after parsing and judging: the position (normalized), where its
/// options came from, and every rule it breaks. Error paths are those of the file's format:
/// JSON pointers into the REST body for NDJSON, "/<column>" of the option's row for CSV.
struct parsed_position {
  row_op op = row_op::upsert;
  positions::position pos;
  std::uint32_t line = 0;                   ///< where the position starts in the file
  std::vector<std::uint32_t> option_lines;  ///< one per option: the line it came from
  /// Errors by option (index 0 also carries the position's own); one entry per option, or a
  /// single entry when the position has no usable option.
  std::vector<std::vector<positions::field_error>> errors;
  /// Bytes of the file it was read from (its rows, or its line): what holding it costs, roughly.
  std::size_t source_bytes = 0;

  bool has_errors() const noexcept {
    for (const auto& e : errors)
      if (!e.empty()) return true;
    return false;
  }
};

/// The result of decoding one NDJSON line: the operation and the position (external id set),
/// or the problems with the line, with JSON-pointer paths into it.
struct decoded_line {
  row_op op = row_op::upsert;
  positions::position pos;
  std::vector<positions::field_error> errors;
};

/// Decodes one NDJSON line in the REST body shape (plus an optional "operation" member). The
/// JSON codec belongs to the REST API module, which supplies this function (no dependency
/// from the domain on JSON, ARCHITECTURE §2).
using ndjson_decoder = std::function<decoded_line(std::string_view line)>;

}  // namespace pagohub::imports
