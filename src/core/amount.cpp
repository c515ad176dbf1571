#include <pagohub/core/amount.hpp>

#include <string>

#include "ascii.hpp"

namespace pagohub::core {

result<amount_cents> parse_decimal_amount(std::string_view text) {
  // DIGEST §0: pattern \d+\.\d{2}; the last three characters are the dot and the decimals.
  const auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || text.size() - dot != 3) {
    return fail(errc::invalid_input,
                "an amount is written as digits, a dot and exactly two decimals (e.g. 12.34)");
  }
  const std::string_view units = text.substr(0, dot);
  const std::string_view decimals = text.substr(dot + 1);
  if (!detail::all_digits(units) || !detail::all_digits(decimals)) {
    return fail(errc::invalid_input,
                "an amount is written as digits, a dot and exactly two decimals (e.g. 12.34)");
  }
  // Leading zeros are valid decimal text; skip them so that the digit count bounds the value.
  const auto first = units.find_first_not_of('0');
  const std::string_view significant =
      first == std::string_view::npos ? std::string_view{} : units.substr(first);
  if (significant.size() > 9) {
    return fail(errc::invalid_input, "an amount is at most 999999999.99");
  }
  amount_cents cents = 0;
  for (char c : significant) cents = cents * 10 + (c - '0');
  cents = cents * 100 + (decimals[0] - '0') * 10 + (decimals[1] - '0');
  return cents;
}

std::string format_decimal_amount(amount_cents cents) {
  // Work on the magnitude as unsigned so that the most negative value does not overflow.
  const bool negative = cents < 0;
  const std::uint64_t magnitude =
      negative ? 0 - static_cast<std::uint64_t>(cents) : static_cast<std::uint64_t>(cents);
  std::string out = std::to_string(magnitude / 100);
  const auto rest = static_cast<unsigned>(magnitude % 100);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + rest / 10));
  out.push_back(static_cast<char>('0' + rest % 10));
  return negative ? "-" + out : out;
}

}  // namespace pagohub::core
