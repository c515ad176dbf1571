// The report of an import's deciding transaction (docs/api/bulk-csv.md "The report"): one CSV
// line per staging row and one more per further error, in file order, written in pieces by one
// aggregate over the staging table.
#include <pagohub/core/csv.hpp>

#include <pqxx/pqxx>

#include <string>
#include <string_view>

#include "load.hpp"

namespace pagohub::imports::detail {
namespace {

// File lines per stored piece (import_reports): about 100 KB of report each, read whole by the
// report's GET. A file line gives at most 101 report lines (api/strict_json.hpp, 100 errors
// and a count of the rest), whose echoed parts are cut (stage_format.cpp): a piece of the worst
// file stays within tens of megabytes.
constexpr int report_chunk_lines = 2000;

// A text column of the report, as a select-list item of the same name, with the apostrophe
// core::append_csv_text puts before a value a spreadsheet would run as a formula (external ids,
// header names and values quoted in messages come from the file); pagohub_csv_field (sql/0008)
// then quotes it as RFC 4180 wants.
std::string formula_guard_sql(std::string_view column) {
  std::string starts;  // core::csv_formula_starts as an escape string literal
  for (const char c : core::csv_formula_starts) {
    if (c == '\t') {
      starts += "\\t";
    } else if (c == '\r') {
      starts += "\\r";
    } else {
      if (c == '\'' || c == '\\') starts += '\\';
      starts += c;
    }
  }
  const std::string c(column);
  return "CASE WHEN " + c + " <> '' AND strpos(E'" + starts + "', left(" + c +
         ", 1)) > 0 THEN '''' || " + c + " ELSE " + c + " END AS " + c;
}

}  // namespace

// The report: one line per staging row (a CSV row; an option of an NDJSON line) and one
// more per further error, in file order, as CSV text in pieces (import_reports).
void write_report(pqxx::work& w, const load_input& in, const report_shape& shape) {
  const bool failed = shape.failed;
  // Parts that would only join empty tables are left out (see loader::valid()).
  const std::string in_bad = shape.any_bad ? "b.seq IS NOT NULL" : "FALSE";
  std::string outcome = "CASE WHEN " + in_bad + " THEN 'REJECTED' ";
  if (failed) {
    outcome += "ELSE 'NOT_LOADED' END";
  } else if (shape.any_existing) {
    outcome +=
        "WHEN s.op = 'CANCEL' THEN CASE WHEN e.status = 'CANCELLED' THEN 'UNCHANGED' "
        "ELSE 'CANCELLED' END WHEN e.seq IS NULL THEN 'CREATED' ELSE 'UPDATED' END";
  } else {
    outcome += "ELSE 'CREATED' END";  // a CANCEL without a stored position is an error
  }
  const std::string notice = failed ? std::string("NULL::text")
                                    : "CASE WHEN s.op = 'UPSERT' AND NOT (" + in_bad + ") THEN " +
                                          shape.final_notice + " END";
  const std::string rejected_note =
      failed ? "'not loaded: the file has errors and the import is all-or-nothing'" : "NULL::text";
  std::string rows;
  if (in.pass.invalid_positions > 0) {
    // Errors found by the streaming pass, carried by the staging rows.
    rows +=
        "SELECT s.line, s.ordinal, x.k, s.external_id, s.op, 'REJECTED' AS outcome, "
        "  NULL::text AS notice, x.err ->> 'path' AS path, x.err ->> 'code' AS code, "
        "  x.err ->> 'message' AS message "
        "FROM {S} s, jsonb_array_elements(s.errors) WITH ORDINALITY AS x(err, k) "
        "WHERE s.errors IS NOT NULL UNION ALL ";
  }
  if (shape.any_db_errors) {
    // Errors found in the database.
    rows +=
        "SELECT s.line, s.ordinal, 1000 + row_number() OVER () AS k, s.external_id, s.op, "
        "  'REJECTED' AS outcome, NULL::text AS notice, x.path, x.code, x.message "
        "FROM imp_err x JOIN {S} s ON s.seq = x.seq AND s.ordinal = x.ordinal UNION ALL ";
  }
  // Every other row: its outcome.
  rows += "SELECT s.line, s.ordinal, 0 AS k, s.external_id, s.op, " + outcome + " AS outcome, " +
          notice + " AS notice, NULL::text AS path, CASE WHEN " + in_bad +
          " THEN 'position_rejected' END AS code, CASE WHEN " + in_bad +
          " THEN 'not loaded: another row of this position has errors' ELSE " + rejected_note +
          " END AS message FROM {S} s" + (shape.any_bad ? " LEFT JOIN imp_bad b USING (seq)" : "") +
          shape.existing_joins + " WHERE s.errors IS NULL" +
          (shape.any_db_errors ? " AND (s.seq, s.ordinal) NOT IN (SELECT seq, ordinal FROM imp_err)"
                               : "");
  // Pieces by file line: one sort, no numbering pass. A piece may be missing (a long run of
  // blank NDJSON lines); readers take the next one there is. line, op, outcome and the
  // notice number (18 digits) are the daemon's own and written as they are; the text columns
  // are guarded against formulas once per row, below the aggregate: OFFSET 0 keeps the
  // planner from folding the guard into the arguments of pagohub_csv_field, which it inlines
  // and which uses its argument six times (a million-row report would take 75% longer).
  w.exec_params(
      with_stage(
          "INSERT INTO import_reports (entity_fiscal_code, import_id, seq, data) "
          "SELECT $1::text, $2::bigint, line / " +
              std::to_string(report_chunk_lines) +
              ", string_agg(line || ',' || pagohub_csv_field(external_id) || ',' || op || ',' || "
              "  outcome || ',' || coalesce(notice, '') || ',' || pagohub_csv_field(path) || "
              "  ',' || pagohub_csv_field(code) || ',' || pagohub_csv_field(message) || "
              "  E'\\r\\n', '' ORDER BY line, ordinal, k) "
              "FROM (SELECT line, ordinal, k, op, outcome, notice, " +
              formula_guard_sql("external_id") + ", " + formula_guard_sql("path") + ", " +
              formula_guard_sql("code") + ", " + formula_guard_sql("message") + " FROM (" + rows +
              ") r OFFSET 0) l GROUP BY 3",
          in.stage_table),
      in.imp.entity_fiscal_code, in.imp.id);
}

}  // namespace pagohub::imports::detail
