// API keys: shape, randomness, digest and the configuration line that verifies them.
#include <pagohub/api/api_key.hpp>

#include <gtest/gtest.h>

#include <set>

namespace pagohub::api {
namespace {

TEST(api_key, new_key_has_prefix_and_43_base64url_characters) {
  const auto k = generate_api_key();
  ASSERT_EQ(k.key.size(), 4u + 43u);
  EXPECT_TRUE(k.key.starts_with("phk_"));
  EXPECT_TRUE(looks_like_api_key(k.key));
  EXPECT_EQ(k.key.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4),
            std::string::npos);
}

TEST(api_key, hash_line_is_blake2b_of_the_key) {
  const auto k = generate_api_key();
  ASSERT_TRUE(k.hash_line.starts_with("blake2b:"));
  EXPECT_EQ(k.hash_line.size(), 8u + 64u);
  EXPECT_EQ(k.hash_line, api_key_hash_line(k.key));
  EXPECT_EQ(k.hash_line.substr(8), api_key_digest(k.key));
  EXPECT_EQ(api_key_digest(k.key).find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(api_key, digest_is_deterministic_and_distinguishes_keys) {
  // BLAKE2b-256 of "abc" (RFC 7693 test vectors are for BLAKE2b-512; this value is the
  // libsodium crypto_generichash output with a 32-byte digest, unkeyed).
  EXPECT_EQ(api_key_digest("abc"),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  const std::string key = "phk_" + std::string(43, 'A');
  std::string other = key;
  other.back() = 'B';
  EXPECT_EQ(api_key_digest(key), api_key_digest(key));
  EXPECT_NE(api_key_digest(key), api_key_digest(other));
}

TEST(api_key, keys_are_unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(generate_api_key().key).second);
}

TEST(api_key, malformed_keys_are_recognised_before_hashing) {
  const std::string good = "phk_" + std::string(43, 'x');
  EXPECT_TRUE(looks_like_api_key(good));
  EXPECT_FALSE(looks_like_api_key(""));
  EXPECT_FALSE(looks_like_api_key("phk_"));
  EXPECT_FALSE(looks_like_api_key(good + "x"));                       // too long
  EXPECT_FALSE(looks_like_api_key(good.substr(0, good.size() - 1)));  // too short
  EXPECT_FALSE(looks_like_api_key("pk__" + std::string(43, 'x')));    // wrong prefix
  std::string padded = good;
  padded.back() = '=';
  EXPECT_FALSE(looks_like_api_key(padded));
  std::string plus = good;
  plus[10] = '+';
  EXPECT_FALSE(looks_like_api_key(plus));  // base64, not base64url
}

}  // namespace
}  // namespace pagohub::api
