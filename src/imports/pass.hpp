#pragma once
// The streaming pass of an import: reads the stored upload piece by piece, parses it (CSV or
// NDJSON), judges each position in C++ (judge()), draws the ids of the loadable ones from the
// database sequences in batches, and writes every row to the import's staging table with one
// COPY. Memory: one upload piece, one batch of positions, one COPY buffer.
#include <pagohub/config/application.hpp>
#include <pagohub/imports/model.hpp>

#include <pqxx/connection>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pg_raw.hpp"

namespace pagohub::imports::detail {

/// What the pass needs.
struct pass_input {
  const import_record& imp;
  const config::entity& entity;
  const config::entity_registry& registry;
  const config::application& application;
  positions::date today;
  const ndjson_decoder& decode_ndjson;
  std::string stage_table;    ///< quoted name of the import's staging table
  pqxx::connection& control;  ///< sequences and progress
  raw_connection& reader;     ///< reads import_uploads
  raw_connection& copier;     ///< the COPY into staging
  raw_connection& ids;        ///< draws ids from the sequences, ahead of need
  const std::atomic<bool>& stopping;
  std::int64_t max_invalid_rows;  ///< service_settings::max_invalid_rows
};

/// What the pass found, for the load step.
struct pass_summary {
  std::int64_t rows_read = 0;          ///< records (CSV data rows, NDJSON lines)
  std::int64_t positions = 0;          ///< positions (and broken records) staged
  std::int64_t invalid_positions = 0;  ///< of which with errors found by the pass
  std::int64_t cancels = 0;            ///< CANCEL positions without errors
  std::int64_t supplied_notices = 0;   ///< options with a notice number from the file
  bool extra = false;                  ///< some option has several transfers or accounting
  /// The smallest notice progressive drawn, and the largest progressive among the file's own
  /// notice numbers in the entity's space: what the load's collision check needs.
  std::int64_t min_drawn_progressive = 0;
  std::int64_t max_supplied_progressive = 0;
  /// A problem with the file as a whole (empty, bad header): nothing was staged; the errors
  /// are reported on line 1.
  std::optional<std::string> file_error;
  std::vector<positions::field_error> file_errors;
};

/// Thrown when the processor is stopping: the import is left as it is, to be resumed.
struct stopped : std::exception {
  const char* what() const noexcept override { return "stopping"; }
};

/// Runs the pass. Throws stopped, or what the connections throw.
pass_summary run_pass(const pass_input& in);

}  // namespace pagohub::imports::detail
