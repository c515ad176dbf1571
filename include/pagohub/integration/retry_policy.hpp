#pragma once
// What an answer means for a message, and when to try again (docs/integration.md "Retries and
// dead letters"). Pure functions: the delivery worker and its tests share them.
#include <pagohub/config/integration.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

namespace pagohub::integration {

/// What becomes of a message after one attempt.
enum class verdict {
  delivered,  ///< 2xx, or 409 ("already have it": the back-office deduplicated on the key)
  retry,      ///< 5xx, 408, 429, no answer (timeout, refused, TLS): try again later
  dead,       ///< any other answer: the back-office refused the message; an operator decides
};

/// "DELIVERED", "RETRY", "DEAD".
std::string to_string(verdict v);

/// The verdict on an HTTP status.
verdict judge_status(unsigned status) noexcept;

/// The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed:
/// "full jitter" exponential back-off, uniform in [0, min(backoff_max, initial * 2^(attempt-1))],
/// so that many messages failing together do not come back together.
std::chrono::milliseconds backoff_delay(int attempt, const config::integration& settings,
                                        std::mt19937_64& rng);

/// True when a message that just failed its `attempt`-th attempt has no attempt left:
/// max_attempts reached, or max_age passed since `since`, when its attempts began (when it was
/// written, or when an operator last sent it again: claimed_message::retry_since).
bool exhausted(int attempt, std::chrono::system_clock::time_point since,
               std::chrono::system_clock::time_point now, const config::integration& settings);

/// At most `max_bytes` bytes of `body`, cut on a UTF-8 boundary, with every byte that is not
/// well-formed UTF-8 (and NUL) replaced by '?': what is kept of an answer.
std::string truncate_utf8(std::string_view body, std::size_t max_bytes);

}  // namespace pagohub::integration
