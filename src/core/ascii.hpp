#pragma once
// Locale-independent character classes: <cctype> depends on the C locale and takes int.
#include <algorithm>
#include <string_view>

namespace pagohub::core::detail {

constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
constexpr bool is_upper(char c) noexcept {
  return c >= 'A' && c <= 'Z';
}
constexpr bool is_lower(char c) noexcept {
  return c >= 'a' && c <= 'z';
}
constexpr bool is_alnum(char c) noexcept {
  return is_digit(c) || is_upper(c) || is_lower(c);
}
constexpr char to_upper(char c) noexcept {
  return is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c;
}

inline bool all_digits(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), is_digit);
}

/// Remainder mod 97 of the number spelled by `s`, letters counting A=10 .. Z=35
/// (ISO 7064 MOD 97-10, used by IBAN and ISO 11649). `s` holds only digits and uppercase.
inline unsigned mod97(std::string_view s) noexcept {
  unsigned r = 0;
  for (char c : s) {
    if (is_digit(c)) {
      r = (r * 10 + static_cast<unsigned>(c - '0')) % 97;
    } else {
      r = (r * 100 + static_cast<unsigned>(c - 'A' + 10)) % 97;
    }
  }
  return r;
}

}  // namespace pagohub::core::detail
