#include <pagohub/core/text.hpp>

#include <algorithm>

namespace pagohub::core {
namespace {

bool continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// Length of the well-formed sequence at s[i] (RFC 3629 §4, Table 3-7 of Unicode), 0 if none.
std::size_t sequence_at(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  const std::size_t left = s.size() - i;
  if (c < 0x80) return c == 0 ? 0 : 1;
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && continuation(b(1)) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !continuation(b(1)) || !continuation(b(2))) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !continuation(b(1)) || !continuation(b(2)) || !continuation(b(3))) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string utf8_cut(std::string_view s, std::size_t max_chars, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min({s.size(), max_chars * 4, max_bytes}));
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < s.size() && chars < max_chars) {
    const std::size_t n = sequence_at(s, i);
    if (out.size() + std::max<std::size_t>(n, 1) > max_bytes) break;
    if (n == 0) {
      out.push_back('?');
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
    ++chars;
  }
  return out;
}

std::optional<std::size_t> utf8_length(std::string_view s) noexcept {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++count) {
    // NUL counts as a character here (a control character, for the caller to refuse as such);
    // sequence_at() refuses it because PostgreSQL does.
    const std::size_t n = s[i] == '\0' ? 1 : sequence_at(s, i);
    if (n == 0) return std::nullopt;
    i += n;
  }
  return count;
}

}  // namespace pagohub::core
