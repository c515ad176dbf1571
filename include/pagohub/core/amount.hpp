#pragma once
// Money is integer cents everywhere inside pagohub (ARCHITECTURE §5); the decimal text of
// SOAP and CSV is parsed exactly, never through floating point.
#include <pagohub/core/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace pagohub::core {

/// An amount of money in euro cents.
using amount_cents = std::int64_t;

/// The largest amount pagoPA carries: 999999999.99 (DIGEST §0 "Amounts").
inline constexpr amount_cents max_amount_cents = 99'999'999'999;

/// Parses the XSD decimal form `\d+\.\d{2}` (DIGEST §0): digits, a dot, exactly two decimals.
/// Rejects signs, commas, exponents, other decimal counts, whitespace and values above
/// `max_amount_cents`. Zero is accepted: "not zero" is a rule of the caller's field.
result<amount_cents> parse_decimal_amount(std::string_view text);

/// Formats cents as the XSD decimal form: 1234 -> "12.34", 5 -> "0.05", -5 -> "-0.05".
std::string format_decimal_amount(amount_cents cents);

}  // namespace pagohub::core
