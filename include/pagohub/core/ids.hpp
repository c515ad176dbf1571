#pragma once
// Random identifiers from libsodium's CSPRNG (unpredictable: request ids and UUIDs may end up
// in URLs and logs that other parties see).
#include <cstddef>
#include <string>

namespace pagohub::core {

/// `bytes` random bytes as lowercase hex (2 * bytes characters).
std::string random_hex(std::size_t bytes);

/// A request id: 32 lowercase hex characters, the time in milliseconds since the epoch (12)
/// then 80 random bits (20); ids made later sort after earlier ones (to the millisecond).
std::string new_request_id();

/// An RFC 4122 version 4 UUID in its text form, lowercase: "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
std::string new_uuid();

}  // namespace pagohub::core
