#pragma once
// Character-level checks behind the XSD string types (stText35/70/140...): lengths count
// characters, not bytes, so the text must first be well-formed UTF-8.
#include <cstddef>
#include <string_view>

namespace pagohub::positions::detail {

/// True when `s` holds an ASCII control character (U+0000..U+001F, U+007F): none of the
/// single-line fields of a position may carry one (they end up in SOAP messages and on paper
/// notices).
bool has_control_character(std::string_view s) noexcept;

/// The XSD stEMail pattern `[a-zA-Z0-9_\.\+\-]+@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*`, max 256.
bool is_valid_email(std::string_view s) noexcept;

/// Standard base64 (RFC 4648 §4) of 4..72 characters with correct padding: the XSD
/// stBase64Binary72 of the revenue stamp's document hash.
bool is_valid_base64_72(std::string_view s) noexcept;

/// "[6-9]/<7 digits><IM|TS|SP|SA|AP>/": the taxonomy code (DIGEST §5), as config accepts it.
bool is_valid_taxonomy(std::string_view s) noexcept;

}  // namespace pagohub::positions::detail
