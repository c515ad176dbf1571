#include <pagohub/api/api_key.hpp>

#include <sodium.h>

#include <array>
#include <stdexcept>

namespace pagohub::api {
namespace {

constexpr std::size_t key_bytes = 32;
constexpr std::size_t encoded_size = 43;  // base64url of 32 bytes, without padding
constexpr std::size_t digest_bytes = 32;

void ensure_sodium() {
  static const bool ready = [] { return sodium_init() >= 0; }();
  if (!ready) throw std::runtime_error("libsodium could not be initialised");
}

}  // namespace

new_api_key generate_api_key() {
  ensure_sodium();
  std::array<unsigned char, key_bytes> raw{};
  randombytes_buf(raw.data(), raw.size());
  std::array<char, encoded_size + 1> text{};
  sodium_bin2base64(text.data(), text.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw.data(), raw.size());
  new_api_key out;
  out.key = std::string(api_key_prefix) + std::string(text.data(), encoded_size);
  sodium_memzero(text.data(), text.size());
  out.hash_line = api_key_hash_line(out.key);
  return out;
}

bool looks_like_api_key(std::string_view text) noexcept {
  if (text.size() != api_key_prefix.size() + encoded_size || !text.starts_with(api_key_prefix)) {
    return false;
  }
  for (char c : text.substr(api_key_prefix.size())) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// A fast, unsalted hash is the right tool here, unlike for passwords (the operator UI will
// store those with argon2id): a key carries 256 bits from a CSPRNG, so there is no dictionary
// to try and no brute force that a slow hash would make meaningfully harder, and a salt would
// only prevent the direct digest lookup that makes authentication one map search per request.
// Passwords are short and human-chosen: they need a slow, salted, memory-hard function.
std::string api_key_digest(std::string_view key) {
  ensure_sodium();
  std::array<unsigned char, digest_bytes> digest{};
  crypto_generichash(digest.data(), digest.size(),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr, 0);
  std::array<char, digest_bytes * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data(), digest_bytes * 2);
}

std::string api_key_hash_line(std::string_view key) {
  return "blake2b:" + api_key_digest(key);
}

}  // namespace pagohub::api
