#pragma once
// API keys of the back-office applications (docs/operations.md "API keys"). A key is shown once,
// when made; the configuration holds only its digest, so a leaked configuration file or
// database dump grants nothing.
#include <pagohub/http/types.hpp>

#include <string>
#include <string_view>

namespace pagohub::api {

/// A freshly made key and the line to put in the application's api_key_hashes.
struct new_api_key {
  std::string key;        ///< "phk_" + 43 base64url characters (32 random bytes)
  std::string hash_line;  ///< "blake2b:" + 64 lowercase hex digits
};

/// The prefix every key starts with: it lets secret scanners and people recognise a key.
inline constexpr std::string_view api_key_prefix = "phk_";

/// Makes a key from 32 bytes of libsodium's CSPRNG. Throws std::runtime_error if libsodium
/// cannot be initialised.
new_api_key generate_api_key();

/// True when `text` has the shape of a key: the prefix and 43 base64url characters. Anything
/// else is refused before hashing.
bool looks_like_api_key(std::string_view text) noexcept;

/// The 64-hex BLAKE2b-256 digest of `key` (the whole text, prefix included): what
/// application_registry::find_by_key_digest looks up.
std::string api_key_digest(std::string_view key);

/// "blake2b:" + api_key_digest(key).
std::string api_key_hash_line(std::string_view key);

/// The API key a request carries: `Authorization: Bearer <key>` (RFC 6750 §2.1), else
/// `X-API-Key: <key>`; empty when neither is present (or the Authorization scheme is another).
/// Every part of the daemon that authenticates applications reads the key this way.
std::string_view presented_key(const http::request& req) noexcept;

}  // namespace pagohub::api
