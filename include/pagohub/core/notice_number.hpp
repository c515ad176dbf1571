#pragma once
// Numero avviso (NAV) and IUV. DIGEST §5 "Identifiers" / SACI §2.2, §2.3.
#include <pagohub/core/error.hpp>

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace pagohub::core {

/// The two check digits of a notice: `digits` read as an unsigned integer, mod 93,
/// zero-padded ("00".."92"). `digits` must be 1..19 decimal digits, else
/// std::invalid_argument is thrown (a caller bug, not input).
std::string mod93_check_digits(std::string_view digits);

/// An 18-digit notice number: `<aux><application code>?<IUV>`.
class notice_number {
 public:
  /// Validates `text`: 18 digits, aux digit 0..3; for aux 0, 2 and 3 the last two digits
  /// must be the mod-93 check of the first 16; aux 1 (legacy codes) has no check.
  static result<notice_number> parse(std::string_view text);

  /// Builds `3 SS B13 CC` from a segregation code (0..99) and a progressive (< 10^13).
  /// Out-of-range arguments throw std::invalid_argument.
  static notice_number make_aux3(int segregation_code, std::uint64_t progressive);

  /// Builds `0 AA B13 CC` from an application code (0..99) and a progressive (< 10^13).
  /// Out-of-range arguments throw std::invalid_argument.
  static notice_number make_aux0(int application_code, std::uint64_t progressive);

  /// The 18 digits.
  const std::string& str() const noexcept { return value_; }

  /// The first digit, 0..3.
  int aux_digit() const noexcept { return value_[0] - '0'; }

  /// The IUV the notice carries: aux 0 -> the last 15 digits (B13 CC); aux 1, 2, 3 -> the
  /// last 17 (for aux 3 that is SS B13 CC).
  std::string iuv() const;

  auto operator<=>(const notice_number&) const = default;

 private:
  explicit notice_number(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

/// True when `text` can be an IUV: 1..35 characters from [A-Za-z0-9] (SACI §2.3). This
/// includes ISO 11649 creditor references ("RF…"), whose own check is
/// is_valid_rf_creditor_reference.
bool is_valid_iuv(std::string_view text);

/// True when `text` is an ISO 11649 creditor reference: "RF", two check digits, 1..21
/// alphanumerics, mod-97 check holding (SACI §2.3). Uppercase only.
bool is_valid_rf_creditor_reference(std::string_view text);

}  // namespace pagohub::core
