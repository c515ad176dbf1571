#pragma once
// Free text cut to a column's or a schema type's length. Lengths count characters, as the XSD
// string types (stText35/140...) and PostgreSQL's char_length do, and a cut must never split a
// UTF-8 sequence: PostgreSQL refuses the whole statement for one broken byte, and an XML answer
// holding one is not well-formed.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::core {

/// The first `max_chars` characters of `s` as well-formed UTF-8 that PostgreSQL accepts: every
/// byte that does not start a valid sequence (a stray continuation byte, an overlong form, a
/// surrogate, a code point above U+10FFFF, a sequence cut short) and every NUL becomes one '?'.
/// Meant for text recorded about something (errors, details, journal fields), where losing a
/// broken byte beats losing the record.
/// `max_bytes` bounds the result's size in bytes too (a column measured with octet_length).
std::string utf8_cut(std::string_view s, std::size_t max_chars,
                     std::size_t max_bytes = std::string_view::npos);

/// Number of Unicode code points in `s`, or nullopt when `s` is not well-formed UTF-8
/// (overlong forms, surrogates and code points above U+10FFFF are rejected).
std::optional<std::size_t> utf8_length(std::string_view s) noexcept;

}  // namespace pagohub::core
