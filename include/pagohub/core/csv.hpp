#pragma once
// Cells of the CSV files pagohub writes (the journal export, the import report): RFC 4180, and
// safe to open in a spreadsheet. Their text comes from outside (back-office files, PSP ids,
// payer names, error messages quoting input), and operators open them in Excel or LibreOffice,
// which run a cell starting with = + - @ (or a tab or carriage return before one) as a formula
// (OWASP "CSV Injection").
#include <string>
#include <string_view>

namespace pagohub::core {

/// The first characters that make a spreadsheet read a cell as a formula.
inline constexpr std::string_view csv_formula_starts = "=+-@\t\r";

/// True when a spreadsheet would read a cell holding `v` as a formula.
constexpr bool csv_formula_like(std::string_view v) noexcept {
  return !v.empty() && csv_formula_starts.find(v.front()) != std::string_view::npos;
}

/// Appends `v` as one CSV cell of text: with a leading `'` when csv_formula_like(v), so that a
/// spreadsheet shows it as text; then enclosed in quotes (a quote inside doubled) when it holds
/// a comma, a semicolon (the list separator of Italian spreadsheets), a quote or a line break.
/// Numbers the daemon writes itself (ids, counts, durations) do not go through here: "-5" in
/// a numeric column is a number, not a formula.
void append_csv_text(std::string& out, std::string_view v);

/// `v` as one CSV cell of text (see append_csv_text).
std::string csv_text(std::string_view v);

}  // namespace pagohub::core
