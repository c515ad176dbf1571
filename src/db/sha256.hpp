#pragma once
#include <string>
#include <string_view>

namespace pagohub::db::detail {

/// Lowercase hex SHA-256 of `data`: the checksum that pins a landed migration's text.
std::string sha256_hex(std::string_view data);

}  // namespace pagohub::db::detail
