#pragma once
// Idempotency-Key for POST /positions (sql/0004_api_idempotency.sql,
// draft-ietf-httpapi-idempotency-key-header): the first response per (entity, application,
// key) is kept for 24 hours and replayed for a retry with the same body.
#include <pqxx/dbtransaction>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pagohub::api {

/// How long a key holds its response.
inline constexpr std::chrono::hours idempotency_retention{24};

/// The header value as a key: a bare token or an RFC 8941 sf-string ("..."), as the draft
/// writes it; 1..255 printable ASCII characters. nullopt when malformed.
std::optional<std::string> parse_idempotency_key(std::string_view header);

/// BLAKE2b-256 of the body, hex: what "the same request" compares.
std::string request_digest(std::string_view body);

/// What claim_idempotency_key found.
struct idempotency_claim {
  enum class outcome {
    claimed,      ///< the key is new (or expired): go on, then record_idempotent_response()
    replay,       ///< the key answered this same body before: send `status` and `body` again
    mismatch,     ///< the key was used for another body: refuse (HTTP 422)
    in_progress,  ///< a request with this key is still being processed: refuse (HTTP 409)
  };
  outcome result = outcome::claimed;
  unsigned status = 0;
  std::string body;
};

/// Takes the key inside `w`, the create's transaction, with a transaction-scoped advisory lock
/// on it. A concurrent request with the same key does not wait for the first one's transaction
/// (it would hold a database connection meanwhile): it gets `in_progress` at once
/// (draft-ietf-httpapi-idempotency-key-header §2.7: 409), and a later retry replays the answer
/// or claims the key if that transaction rolled back. Two creates never race past each other.
idempotency_claim claim_idempotency_key(pqxx::dbtransaction& w, std::string_view entity_fc,
                                        std::string_view application_id, std::string_view key,
                                        std::string_view digest,
                                        std::chrono::system_clock::time_point now);

/// Stores the answer of a claimed key, in the same transaction.
void record_idempotent_response(pqxx::dbtransaction& w, std::string_view entity_fc,
                                std::string_view application_id, std::string_view key,
                                unsigned status, const std::string& body,
                                std::string_view external_id);

/// Deletes up to `max_rows` keys older than the retention; returns how many. For a periodic
/// job: call again while the count equals max_rows.
std::int64_t purge_idempotency_keys(pqxx::dbtransaction& w,
                                    std::chrono::system_clock::time_point now, int max_rows);

}  // namespace pagohub::api
