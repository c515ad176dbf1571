#include "text.hpp"

#include <algorithm>

namespace pagohub::positions::detail {
namespace {

constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
constexpr bool is_alpha(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

}  // namespace

bool has_control_character(std::string_view s) noexcept {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

bool is_valid_email(std::string_view s) noexcept {
  if (s.empty() || s.size() > 256) return false;
  const auto at = s.find('@');
  if (at == std::string_view::npos || at == 0) return false;
  const std::string_view local = s.substr(0, at);
  const std::string_view domain = s.substr(at + 1);
  const bool local_ok = std::all_of(local.begin(), local.end(), [](char c) {
    return is_digit(c) || is_alpha(c) || c == '_' || c == '.' || c == '+' || c == '-';
  });
  if (!local_ok || domain.empty()) return false;
  // Labels of [a-zA-Z0-9-]+ separated by single dots; the domain neither starts nor ends
  // with a dot.
  if (domain.front() == '.' || domain.back() == '.') return false;
  char previous = '\0';
  for (char c : domain) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!(is_digit(c) || is_alpha(c) || c == '-')) {
      return false;
    }
    previous = c;
  }
  return true;
}

bool is_valid_base64_72(std::string_view s) noexcept {
  if (s.size() < 4 || s.size() > 72 || s.size() % 4 != 0) return false;
  std::size_t padding = 0;
  while (padding < 2 && s[s.size() - 1 - padding] == '=') ++padding;
  const std::string_view body = s.substr(0, s.size() - padding);
  return std::all_of(body.begin(), body.end(),
                     [](char c) { return is_digit(c) || is_alpha(c) || c == '+' || c == '/'; });
}

bool is_valid_taxonomy(std::string_view s) noexcept {
  // [6-9]/[0-9]{7}(IM|TS|SP|SA|AP)/
  if (s.size() != 12 || s[0] < '6' || s[0] > '9' || s[1] != '/' || s[11] != '/') return false;
  if (!std::all_of(s.begin() + 2, s.begin() + 9, is_digit)) return false;
  const std::string_view reason = s.substr(9, 2);
  return reason == "IM" || reason == "TS" || reason == "SP" || reason == "SA" || reason == "AP";
}

}  // namespace pagohub::positions::detail
