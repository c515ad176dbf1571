#include "idempotency.hpp"

#include <sodium.h>

#include <array>
#include <stdexcept>

#include "position_json.hpp"

namespace pagohub::api {

std::optional<std::string> parse_idempotency_key(std::string_view header) {
  std::string_view v = header;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 255) return std::nullopt;
  for (char c : v) {
    // Printable ASCII without the quote and backslash an sf-string would have to escape.
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return std::nullopt;
  }
  return std::string(v);
}

std::string request_digest(std::string_view body) {
  std::array<unsigned char, 32> digest{};
  crypto_generichash(digest.data(), digest.size(),
                     reinterpret_cast<const unsigned char*>(body.data()), body.size(), nullptr, 0);
  std::array<char, 65> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data(), 64);
}

idempotency_claim claim_idempotency_key(pqxx::dbtransaction& w, std::string_view entity_fc,
                                        std::string_view application_id, std::string_view key,
                                        std::string_view digest,
                                        std::chrono::system_clock::time_point now) {
  // The lock says whether another transaction holds the key; it is let go at commit or
  // rollback. Holding it, this transaction is the key's only writer, so the insert below never
  // waits on a concurrent inserter of the same key. (Two keys whose hashes collide refuse each
  // other for as long as a create takes; a retry gets through.)
  if (!w.exec_params1("SELECT pg_try_advisory_xact_lock(hashtext('api_idempotency_keys'), "
                      "hashtext($1 || '/' || $2 || '/' || $3))",
                      std::string(entity_fc), std::string(application_id), std::string(key))[0]
           .as<bool>()) {
    idempotency_claim c;
    c.result = idempotency_claim::outcome::in_progress;
    return c;
  }
  // Insert-or-take-over-if-expired in one statement. On a conflict with a live key the row is
  // left alone and nothing is returned.
  for (int attempt = 0;; ++attempt) {
    const auto claimed = w.exec_params(
        "INSERT INTO api_idempotency_keys AS k (entity_fiscal_code, application_id, "
        "idempotency_key, request_digest, response_status, response_body, created_at) "
        "VALUES ($1, $2, $3, $4, 0, '', $5::timestamptz) "
        "ON CONFLICT (entity_fiscal_code, application_id, idempotency_key) DO UPDATE SET "
        "request_digest = EXCLUDED.request_digest, response_status = 0, response_body = '', "
        "external_id = NULL, created_at = EXCLUDED.created_at "
        "WHERE k.created_at <= EXCLUDED.created_at - interval '24 hours' "
        "RETURNING 1",
        std::string(entity_fc), std::string(application_id), std::string(key), std::string(digest),
        format_timestamp(now));
    if (!claimed.empty()) return {};
    const auto row = w.exec_params(
        "SELECT request_digest, response_status, response_body FROM api_idempotency_keys "
        "WHERE entity_fiscal_code = $1 AND application_id = $2 AND idempotency_key = $3",
        std::string(entity_fc), std::string(application_id), std::string(key));
    // Gone between the two statements (the purge took an expired key): claim it again.
    if (row.empty() && attempt == 0) continue;
    if (row.empty()) throw std::runtime_error("idempotency key vanished twice while claiming it");
    idempotency_claim c;
    if (row[0][0].as<std::string>() != digest) {
      c.result = idempotency_claim::outcome::mismatch;
      return c;
    }
    c.result = idempotency_claim::outcome::replay;
    c.status = row[0][1].as<unsigned>();
    c.body = row[0][2].as<std::string>();
    return c;
  }
}

void record_idempotent_response(pqxx::dbtransaction& w, std::string_view entity_fc,
                                std::string_view application_id, std::string_view key,
                                unsigned status, const std::string& body,
                                std::string_view external_id) {
  w.exec_params(
      "UPDATE api_idempotency_keys SET response_status = $4, response_body = $5, external_id = $6 "
      "WHERE entity_fiscal_code = $1 AND application_id = $2 AND idempotency_key = $3",
      std::string(entity_fc), std::string(application_id), std::string(key),
      static_cast<int>(status), body, std::string(external_id));
}

std::int64_t purge_idempotency_keys(pqxx::dbtransaction& w,
                                    std::chrono::system_clock::time_point now, int max_rows) {
  const auto r = w.exec_params(
      "WITH old AS (SELECT entity_fiscal_code, application_id, idempotency_key "
      "FROM api_idempotency_keys WHERE created_at <= $1::timestamptz - interval '24 hours' "
      "LIMIT $2 FOR UPDATE SKIP LOCKED) "
      "DELETE FROM api_idempotency_keys k USING old WHERE "
      "k.entity_fiscal_code = old.entity_fiscal_code AND k.application_id = old.application_id "
      "AND k.idempotency_key = old.idempotency_key",
      format_timestamp(now), max_rows);
  return static_cast<std::int64_t>(r.affected_rows());
}

}  // namespace pagohub::api
