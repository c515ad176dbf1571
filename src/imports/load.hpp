#pragma once
// The deciding transaction of an import: the checks that need the database, then either the
// set-based load of every valid position (all-or-nothing without errors, or valid-rows) or the
// rejection, the report, and the final state, all in one transaction (docs/imports.md).
#include <pagohub/config/entity.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/imports/model.hpp>

#include <pqxx/transaction>

#include <optional>
#include <string>
#include <vector>

#include "pass.hpp"

namespace pagohub::imports::detail {

struct load_input {
  const import_record& imp;
  const config::entity& entity;
  std::string stage_table;  ///< quoted
  const pass_summary& pass;
  positions::timestamp now;  ///< the time of the changes (created_at, events)
  positions::date today;     ///< Europe/Rome
  const core::clock& clock;  ///< for finished_at
  /// The services granted to the importing application; empty: all of them. A stored
  /// position of another service may be neither replaced nor cancelled by the file.
  std::vector<std::string> granted_services{};
};

struct load_result {
  bool failed = false;
  std::optional<std::string> error;
  std::int64_t rows_valid = 0;
  std::int64_t rows_invalid = 0;
  std::int64_t created = 0;
  std::int64_t updated = 0;
  std::int64_t cancelled = 0;
  std::int64_t unchanged = 0;
  /// How long each step took ("positions 5210ms, options 7300ms, ..."), for the log.
  std::string timings;
};

/// `text` with every `{S}` replaced by the import's staging table.
std::string with_stage(std::string text, const std::string& stage_table);

/// What the report of a decided import depends on, as the loader found it.
struct report_shape {
  bool failed = false;         ///< nothing was loaded (all-or-nothing with errors)
  bool any_bad = false;        ///< imp_bad has rows (rejected positions)
  bool any_existing = false;   ///< imp_existing has rows (stored positions the file names)
  bool any_db_errors = false;  ///< imp_err has rows (errors found in the database)
  std::string final_notice;    ///< SQL: the notice number staging row `s` ends with
  std::string existing_joins;  ///< SQL: the joins `final_notice` and the outcome read
};

/// The per-row report into import_reports, in `w` (load_report.cpp).
void write_report(pqxx::work& w, const load_input& in, const report_shape& shape);

/// Runs in `w` (the caller commits): checks, load or rejection, report, final state.
load_result decide_and_load(pqxx::work& w, const load_input& in);

/// Ends an import whose file could not be read as a whole (empty, bad header): its report lists
/// the problems, its state becomes failed. In `w`.
void fail_file(pqxx::work& w, const import_record& imp, const pass_summary& pass,
               positions::timestamp now);

/// INTERNO importFinished (docs/journal.md "What is recorded"): how the import ended, in `w`,
/// with its final state. `counts`: "rows_valid=.. rows_invalid=.. ..." as far as known.
void journal_end(pqxx::work& w, const import_record& imp, bool failed, const std::string& counts,
                 const std::optional<std::string>& error, positions::timestamp now);

/// Ends an import that cannot be processed (its application or entity is gone, it kept failing).
void fail_import(pqxx::work& w, const import_record& imp, const std::string& why,
                 positions::timestamp now);

}  // namespace pagohub::imports::detail
