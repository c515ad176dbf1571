// How an import ends when it does not end in the load's own transaction (loader::finish): a
// file that cannot be read as a whole, an import that cannot be processed; and the journal
// event every ending writes.
#include <pagohub/core/csv.hpp>
#include <pagohub/core/text.hpp>
#include <pagohub/db/sql_time.hpp>
#include <pagohub/journal/record.hpp>

#include <pqxx/pqxx>

#include <string>

#include "load.hpp"

namespace pagohub::imports::detail {
namespace {

void write_lines_report(pqxx::work& w, const import_record& imp,
                        const std::vector<positions::field_error>& errors, std::uint32_t line) {
  std::string text;
  for (const auto& e : errors) {
    // The cells as write_report (load_report.cpp) writes them (core/csv.hpp): a header name from
    // the file, quoted in a message, must not become a formula in the operator's spreadsheet.
    text += std::to_string(line) + ",,,REJECTED,,";
    core::append_csv_text(text, e.path);
    text += ',';
    core::append_csv_text(text, e.code);
    text += ',';
    core::append_csv_text(text, e.message);
    text += "\r\n";
  }
  if (text.empty()) return;
  w.exec_params(
      "INSERT INTO import_reports (entity_fiscal_code, import_id, seq, data) VALUES ($1, $2, 0, "
      "$3)",
      imp.entity_fiscal_code, imp.id, text);
}

}  // namespace

void journal_end(pqxx::work& w, const import_record& imp, bool failed, const std::string& counts,
                 const std::optional<std::string>& error, positions::timestamp now) {
  journal::event e;
  e.time = now;
  e.cat = journal::category::interno;
  e.interface = journal::interface_kind::internal;
  e.entity_fc = imp.entity_fiscal_code;
  e.component = "imports";
  e.type = "importFinished";
  e.subtype = failed ? "failed" : "done";
  e.outcome = failed ? "KO" : "OK";
  e.caller_id = imp.application_id;
  e.provider_id = "pagohubd";
  e.by = journal::actor{"application", imp.application_id};
  std::string params = "import=" + std::to_string(imp.id) +
                       " format=" + std::string(to_string(imp.format)) +
                       " mode=" + std::string(to_string(imp.mode)) + " " + counts;
  if (error) params += " error=" + *error;
  e.interface_params = core::utf8_cut(params, 512);
  journal::record_internal(w, e);
}

void fail_file(pqxx::work& w, const import_record& imp, const pass_summary& pass,
               positions::timestamp now) {
  w.exec_params("DELETE FROM import_reports WHERE entity_fiscal_code = $1 AND import_id = $2",
                imp.entity_fiscal_code, imp.id);
  write_lines_report(w, imp, pass.file_errors, 1);
  w.exec_params(
      "UPDATE imports SET state = 'failed', error = $3, rows_read = $4, "
      "rows_invalid = $4, rows_valid = 0, progress = 100, finished_at = " +
          db::ts_param(5) + " WHERE entity_fiscal_code = $1 AND id = $2",
      imp.entity_fiscal_code, imp.id, pass.file_error.value_or("the file is not valid"),
      pass.rows_read, db::to_micros(now));
  journal_end(w, imp, true, "rows_read=" + std::to_string(pass.rows_read),
              pass.file_error.value_or("the file is not valid"), now);
}

void fail_import(pqxx::work& w, const import_record& imp, const std::string& why,
                 positions::timestamp now) {
  // Every ended import has a report: here one line saying why nothing was loaded.
  w.exec_params("DELETE FROM import_reports WHERE entity_fiscal_code = $1 AND import_id = $2",
                imp.entity_fiscal_code, imp.id);
  write_lines_report(w, imp, {{"", "import_failed", why}}, 1);
  w.exec_params("UPDATE imports SET state = 'failed', error = $3, progress = 100, finished_at = " +
                    db::ts_param(4) + " WHERE entity_fiscal_code = $1 AND id = $2",
                imp.entity_fiscal_code, imp.id, why, db::to_micros(now));
  journal_end(w, imp, true, "", why, now);
}

}  // namespace pagohub::imports::detail
