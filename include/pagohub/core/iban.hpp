#pragma once
// IBAN (ISO 13616) as used for the transfers of a payment. DIGEST §5 "IBAN".
#include <pagohub/core/error.hpp>

#include <compare>
#include <string>
#include <string_view>
#include <utility>

namespace pagohub::core {

/// A validated IBAN in electronic form: uppercase, no spaces. The country must be in the
/// built-in length table (the SEPA countries, among them IT, SM and VA).
class iban {
 public:
  /// Validates `text`: letters are upper-cased, any space or other separator is rejected, the
  /// length must match the country and the mod-97 check must hold; Italian IBANs are also
  /// checked for their layout (CIN letter, ABI, CAB) and CIN character. Errors have an empty path.
  static result<iban> parse(std::string_view text);

  /// The IBAN, uppercase, without spaces.
  const std::string& str() const noexcept { return value_; }

  /// The ISO 3166 country code (first two letters).
  std::string_view country() const noexcept { return std::string_view(value_).substr(0, 2); }

  /// True for an Italian IBAN at Poste Italiane (ABI 07601): DIGEST §5.
  bool is_postal() const noexcept;

  auto operator<=>(const iban&) const = default;

 private:
  explicit iban(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

}  // namespace pagohub::core
