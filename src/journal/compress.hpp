#pragma once
// zlib (RFC 1950) for stored payloads: text messages shrink five to ten times.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::journal::detail {

/// The zlib stream of `data` (level 6). Throws std::runtime_error only if zlib fails, which
/// for in-memory input means memory exhaustion.
std::string deflate(std::string_view data);

/// The bytes of a zlib stream whose inflated size is `size`; nullopt when the stream is
/// corrupt or does not inflate to exactly `size` bytes.
std::optional<std::string> inflate(std::string_view stream, std::size_t size);

}  // namespace pagohub::journal::detail
