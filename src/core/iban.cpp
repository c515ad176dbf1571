#include <pagohub/core/iban.hpp>

#include <algorithm>
#include <array>
#include <string>

#include "ascii.hpp"

namespace pagohub::core {
namespace {

using detail::is_alnum;
using detail::is_digit;
using detail::is_upper;

struct country_length {
  std::string_view country;
  std::size_t length;
};

// IBAN lengths from the SWIFT IBAN registry for the SEPA scheme countries (IT, SM and VA are
// the ones pagoPA entities use; the others appear as debtors' or foreign creditors' accounts).
constexpr std::array<country_length, 42> lengths = {{
    {"AD", 24}, {"AL", 28}, {"AT", 20}, {"BE", 16}, {"BG", 22}, {"CH", 21}, {"CY", 28},
    {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"EE", 20}, {"ES", 24}, {"FI", 18}, {"FR", 27},
    {"GB", 22}, {"GI", 23}, {"GR", 27}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IS", 26},
    {"IT", 27}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
    {"ME", 22}, {"MK", 19}, {"MT", 31}, {"NL", 18}, {"NO", 15}, {"PL", 28}, {"PT", 25},
    {"RO", 24}, {"RS", 22}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"VA", 22},
}};

// Italian BBAN: CIN (1 letter) + ABI (5 digits) + CAB (5 digits) + account (12 alphanumerics).
// The CIN is a check character over ABI+CAB+account: odd positions (1-based) through the
// codice-fiscale odd table, even positions by value, sum mod 26.
constexpr std::array<int, 26> cin_odd_values = {1,  0,  5, 7, 9, 13, 15, 17, 19, 21, 2,  4,  18,
                                                20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23};

char italian_cin(std::string_view abi_cab_account) {
  int sum = 0;
  for (std::size_t i = 0; i < abi_cab_account.size(); ++i) {
    const char c = abi_cab_account[i];
    const int v = is_digit(c) ? c - '0' : c - 'A';
    sum += (i % 2 == 0) ? cin_odd_values[static_cast<std::size_t>(v)] : v;
  }
  return static_cast<char>('A' + sum % 26);
}

}  // namespace

result<iban> iban::parse(std::string_view text) {
  if (text.size() < 5) return fail(errc::invalid_input, "an IBAN has at least 5 characters");
  std::string value;
  value.reserve(text.size());
  for (char c : text) {
    if (!is_alnum(c)) {
      // Electronic form only (ISO 13616): the paper form's spaces are not accepted.
      return fail(errc::invalid_input, "an IBAN contains only letters and digits, no spaces");
    }
    value.push_back(detail::to_upper(c));
  }
  if (!is_upper(value[0]) || !is_upper(value[1]) || !is_digit(value[2]) || !is_digit(value[3])) {
    return fail(errc::invalid_input, "an IBAN starts with a country code and two check digits");
  }
  const std::string_view country = std::string_view(value).substr(0, 2);
  const auto* entry = std::find_if(lengths.begin(), lengths.end(),
                                   [&](const country_length& l) { return l.country == country; });
  if (entry == lengths.end()) {
    return fail(errc::invalid_input, "IBAN country " + std::string(country) + " is not supported");
  }
  if (value.size() != entry->length) {
    return fail(errc::invalid_input, "an IBAN of " + std::string(country) + " has " +
                                         std::to_string(entry->length) + " characters, not " +
                                         std::to_string(value.size()));
  }
  // ISO 13616: move the first four characters to the end; the number must be 1 mod 97.
  const std::string rearranged = value.substr(4) + value.substr(0, 4);
  if (detail::mod97(rearranged) != 1) {
    return fail(errc::invalid_input, "the IBAN check digits do not match (mod 97)");
  }
  if (country == "IT") {
    const std::string_view bban = std::string_view(value).substr(4);
    if (!is_upper(bban[0]) || !detail::all_digits(bban.substr(1, 10))) {
      return fail(errc::invalid_input,
                  "an Italian IBAN has a CIN letter, a 5-digit ABI and a 5-digit CAB");
    }
    if (italian_cin(bban.substr(1)) != bban[0]) {
      return fail(errc::invalid_input, "the CIN of the Italian IBAN does not match");
    }
  }
  return iban(std::move(value));
}

bool iban::is_postal() const noexcept {
  // DIGEST §5: Poste Italiane's ABI is 07601 (IT kk C AAAAA ...: ABI at offset 5).
  return country() == "IT" && std::string_view(value_).substr(5, 5) == "07601";
}

}  // namespace pagohub::core
