#include "text.hpp"

#include <algorithm>
#include <cstdint>

namespace pagohub::positions::detail {
namespace {

constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
constexpr bool is_alpha(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

}  // namespace

std::optional<std::size_t> utf8_length(std::string_view s) noexcept {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (b0 < 0x80) {
      ++i;
      ++count;
      continue;
    } else if ((b0 & 0xE0) == 0xC0) {
      extra = 1;
      cp = b0 & 0x1F;
      min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      extra = 2;
      cp = b0 & 0x0F;
      min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      extra = 3;
      cp = b0 & 0x07;
      min = 0x10000;
    } else {
      return std::nullopt;
    }
    if (i + extra >= s.size()) return std::nullopt;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    i += extra + 1;
    ++count;
  }
  return count;
}

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
