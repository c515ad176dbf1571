#pragma once
// Italian fiscal identifiers: the 11-digit code of a creditor entity (idPA) and the codice
// fiscale of a natural person. DIGEST §5 "Identifiers".
#include <pagohub/core/error.hpp>

#include <compare>
#include <string>
#include <string_view>
#include <utility>

namespace pagohub::core {

/// The fiscal code of a creditor entity (idPA, identificativoDominio): 11 digits whose last
/// digit is the partita-IVA check digit. Holds only valid codes.
class entity_fiscal_code {
 public:
  /// Parses and validates `text` (no trimming, no separators). On failure the error code is
  /// `errc::invalid_input`, the path is empty and the message says why.
  static result<entity_fiscal_code> parse(std::string_view text);

  /// The 11 digits.
  const std::string& str() const noexcept { return value_; }

  auto operator<=>(const entity_fiscal_code&) const = default;

 private:
  explicit entity_fiscal_code(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

/// True when `text` is a 16-character codice fiscale of a natural person: layout
/// (6 letters, year, month letter, day 01..31 or 41..71, cadastral code, check letter), with
/// omocodia substitutions (digits replaced by LMNPQRSTUV) and a matching check character.
/// Uppercase only: callers normalise user input before validating and storing it.
bool is_valid_person_fiscal_code(std::string_view text);

/// True when `text` is 11 digits with a correct partita-IVA check digit.
bool is_valid_vat_number(std::string_view text);

}  // namespace pagohub::core
