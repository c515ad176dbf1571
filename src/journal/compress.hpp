#pragma once
// Compression of stored payloads (docs/journal.md "Payloads"): text messages shrink three to ten
// times. New payloads are zstd frames (RFC 8878, level 1); payloads written by earlier versions
// are zlib streams (RFC 1950) and read as they are. The two tell themselves apart by their first
// bytes: a zstd frame begins with the magic number 28 B5 2F FD, and no zlib stream can (a zlib
// header 28 B5 fails the header check: 0x28B5 is not a multiple of 31). The payload's digest
// covers the stored bytes, so the format is under the hash chain like the content.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::journal::detail {

/// The zstd frame of `data`. Throws std::runtime_error only if zstd fails, which for in-memory
/// input means memory exhaustion.
std::string compress(std::string_view data);

/// The bytes of a stored payload (a zstd frame or a zlib stream) whose size is `size`; nullopt
/// when it is corrupt or does not decompress to exactly `size` bytes.
std::optional<std::string> decompress(std::string_view stored, std::size_t size);

}  // namespace pagohub::journal::detail
