#include <pagohub/core/fiscal_code.hpp>

#include <algorithm>
#include <array>
#include <string>

#include "ascii.hpp"

namespace pagohub::core {
namespace {

using detail::is_digit;
using detail::is_upper;

// Partita-IVA rule (DIGEST §5): digits at odd positions (1-based) are added as they are, digits
// at even positions are doubled, minus 9 when above 9; check = (10 - sum mod 10) mod 10.
bool vat_check_digit_ok(std::string_view d) {
  int sum = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    int v = d[i] - '0';
    if (i % 2 == 1) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return (10 - sum % 10) % 10 == d[10] - '0';
}

// Codice fiscale of a person (DM 23/12/1976): positions that hold digits may carry the
// omocodia letters instead, L=0 M=1 N=2 P=3 Q=4 R=5 S=6 T=7 U=8 V=9.
constexpr std::string_view omocodia_letters = "LMNPQRSTUV";
constexpr std::array<std::size_t, 7> digit_positions = {6, 7, 9, 10, 12, 13, 14};
constexpr std::string_view month_letters = "ABCDEHLMPRST";

int digit_value(char c) {
  if (is_digit(c)) return c - '0';
  const auto p = omocodia_letters.find(c);
  return p == std::string_view::npos ? -1 : static_cast<int>(p);
}

// Values of a character in an odd (1-based) position; the even positions use 0..9 / A=0..Z=25.
constexpr std::array<int, 26> odd_values = {1,  0,  5, 7, 9, 13, 15, 17, 19, 21, 2,  4,  18,
                                            20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23};

char person_check_char(std::string_view s) {
  int sum = 0;
  for (std::size_t i = 0; i < 15; ++i) {
    const char c = s[i];
    const int index = is_digit(c) ? c - '0' : c - 'A';
    sum += (i % 2 == 0) ? odd_values[static_cast<std::size_t>(index)] : index;
  }
  return static_cast<char>('A' + sum % 26);
}

}  // namespace

result<entity_fiscal_code> entity_fiscal_code::parse(std::string_view text) {
  if (text.size() != 11 || !detail::all_digits(text)) {
    return fail(errc::invalid_input, "an entity fiscal code is exactly 11 digits");
  }
  if (!vat_check_digit_ok(text)) {
    return fail(errc::invalid_input, "the check digit of the entity fiscal code does not match");
  }
  // All zeros passes the arithmetic but is the usual placeholder, never a real code.
  if (text == "00000000000") {
    return fail(errc::invalid_input, "00000000000 is a placeholder, not an entity fiscal code");
  }
  return entity_fiscal_code(std::string(text));
}

bool is_valid_vat_number(std::string_view text) {
  return text.size() == 11 && detail::all_digits(text) && vat_check_digit_ok(text);
}

bool is_valid_person_fiscal_code(std::string_view text) {
  if (text.size() != 16) return false;
  for (std::size_t i = 0; i < 16; ++i) {
    const char c = text[i];
    const bool digit_slot =
        std::find(digit_positions.begin(), digit_positions.end(), i) != digit_positions.end();
    if (digit_slot) {
      if (digit_value(c) < 0) return false;
    } else if (!is_upper(c)) {
      return false;
    }
  }
  if (month_letters.find(text[8]) == std::string_view::npos) return false;
  // Day of birth, plus 40 for women.
  const int day = digit_value(text[9]) * 10 + digit_value(text[10]);
  if (!((day >= 1 && day <= 31) || (day >= 41 && day <= 71))) return false;
  return person_check_char(text) == text[15];
}

}  // namespace pagohub::core
