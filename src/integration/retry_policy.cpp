#include <pagohub/integration/retry_policy.hpp>

#include <pagohub/core/text.hpp>

#include <algorithm>

namespace pagohub::integration {

std::string to_string(verdict v) {
  switch (v) {
    case verdict::delivered:
      return "DELIVERED";
    case verdict::retry:
      return "RETRY";
    case verdict::dead:
      return "DEAD";
  }
  return "RETRY";
}

verdict judge_status(unsigned status) noexcept {
  // Beast reads any three digits as a status: outside RFC 9110's 100..599 the answer is not
  // HTTP's, whatever sent it (a broken proxy), and says nothing about the message.
  if (status < 100 || status > 599) return verdict::retry;
  if (status >= 200 && status < 300) return verdict::delivered;
  // The contract (docs/api/bo-webhooks.yaml): 409 = the back-office already has this key.
  if (status == 409) return verdict::delivered;
  // 408 and 429 say "not now" (RFC 9110 §15.5.9, RFC 6585 §4), not "never".
  if (status == 408 || status == 429 || status >= 500) return verdict::retry;
  // Other 4xx: the back-office refuses this message; repeating it cannot help. 1xx/3xx: the
  // contract has no redirects (a moved endpoint is a configuration change), so neither.
  return verdict::dead;
}

std::chrono::milliseconds backoff_delay(int attempt, const config::integration& settings,
                                        std::mt19937_64& rng) {
  const auto initial = settings.backoff_initial.count();
  const auto cap = settings.backoff_max.count();
  const int doublings = std::clamp(attempt - 1, 0, 40);
  std::int64_t ceiling = initial;
  for (int i = 0; i < doublings && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min<std::int64_t>(ceiling, cap);
  std::uniform_int_distribution<std::int64_t> pick(0, ceiling);
  return std::chrono::milliseconds(pick(rng));
}

bool exhausted(int attempt, std::chrono::system_clock::time_point since,
               std::chrono::system_clock::time_point now, const config::integration& settings) {
  return attempt >= settings.max_attempts || now - since >= settings.max_age;
}

std::string truncate_utf8(std::string_view body, std::size_t max_bytes) {
  // A back-office may answer in Latin-1, or with binary: what is kept goes into text columns,
  // which refuse broken UTF-8 and NUL, and a refused outcome would be retried for ever.
  return core::utf8_cut(body, max_bytes, max_bytes);
}

}  // namespace pagohub::integration
