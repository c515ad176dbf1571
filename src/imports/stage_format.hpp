#pragma once
// The staging rows of an import (import_stage_template, sql/0008_imports.sql) in COPY text
// format, one row per payment option, written by the streaming pass.
#include <pagohub/imports/model.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace pagohub::imports::detail {

/// The COPY column list, in the order rows are written.
const std::string& stage_columns();

/// Ids drawn for one position (none when it has errors or is a CANCEL).
struct position_ids {
  std::int64_t position_id = 0;
  std::vector<std::int64_t> option_ids;           ///< one per option
  std::vector<std::int64_t> notice_progressives;  ///< one per option; 0 when supplied
};

/// Appends the rows of `p` (its number in the file is `seq`) to `out`.
void append_stage_rows(std::string& out, std::int64_t seq, const parsed_position& p,
                       const position_ids* ids);

/// `s` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

}  // namespace pagohub::imports::detail
