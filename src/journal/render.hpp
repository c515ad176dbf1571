#pragma once
// Events as the REST API shows them: JSON objects with the SANP field names (DIGEST §7) plus
// ours in camelCase, and CSV rows in the same order (docs/journal.md "Export").
#include <pagohub/journal/canonical.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace pagohub::journal::detail {

nlohmann::ordered_json to_json(const stored_event& e);

/// The CSV header line (CRLF-terminated, RFC 4180).
std::string csv_header();

/// Appends one CSV line (CRLF-terminated) for `e`.
void append_csv(std::string& out, const stored_event& e);

}  // namespace pagohub::journal::detail
