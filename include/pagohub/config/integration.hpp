#pragma once
// Back-office integrations ([[integration]]): how messages of the outbox reach an entity's
// system (docs/integration.md, docs/config-reference.md). Built with the applications they
// route for, immutable once built, swapped whole on reload. The operators' runtime state
// (suspended / active) lives in the database and wins over `initial_state`.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::config {

/// How messages reach the back-office.
enum class integration_mode {
  push,  ///< HTTP webhooks: PUT {base_url}/receipts/{receiptId}, PUT {base_url}/events/{key}
  pull,  ///< nothing is sent: the back-office reads the receipts feed
  file,  ///< one JSON file per message in `directory`/<entity fiscal code>/
};

/// "push", "pull", "file".
std::string_view to_string(integration_mode m) noexcept;

/// How pagohub authenticates toward the back-office (push mode).
enum class integration_auth { none, api_key, basic, oauth2, mtls };

/// "none", "api_key", "basic", "oauth2", "mtls".
std::string_view to_string(integration_auth a) noexcept;

/// One [[integration]].
struct integration {
  std::string id{};                     ///< [a-z0-9-]{1,40}, unique
  std::vector<std::string> entities{};  ///< fiscal codes; each in the entity registry
  /// The application whose positions' messages this integration carries; empty = the
  /// entities' default: messages of applications without an integration of their own, and
  /// receipts that match no position.
  std::string application{};
  integration_mode mode = integration_mode::push;

  // push
  std::string base_url{};  ///< http(s)://host[:port][/prefix]
  integration_auth auth = integration_auth::none;
  std::string api_key_header = "X-API-Key";
  /// api_key value / basic password / oauth2 client secret (from secret, secret_file or
  /// secret_env). Never logged, never shown by check-config.
  std::string secret{};
  std::string username{};  ///< basic user / oauth2 client id
  std::string token_url{};
  std::string scope{};
  std::string client_cert_file{}, client_key_file{}, ca_file{};  ///< absolute, readable
  std::chrono::milliseconds timeout{5000};
  std::size_t max_concurrency = 4;

  // file
  std::string directory{};  ///< absolute; one subdirectory per entity fiscal code

  // retries (push and file)
  int max_attempts = 25;                    ///< then DEAD
  std::chrono::seconds max_age{72 * 3600};  ///< since the message was written; then DEAD
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{std::chrono::hours(1)};
  int breaker_failures = 5;                       ///< consecutive failures that open the circuit
  std::chrono::milliseconds breaker_open{30000};  ///< before a half-open probe

  bool initially_suspended = false;  ///< state = "suspended" (the database state wins)
};

/// An immutable set of integrations with the routing table (entity, application) ->
/// integration.
class integration_registry {
 public:
  integration_registry() = default;
  /// Throws std::invalid_argument on a duplicate id or a routing clash (the loader reports
  /// those with file and key first).
  explicit integration_registry(std::vector<integration> items);

  const integration* find(std::string_view id) const;
  /// The integration carrying messages of `application_id` (may be empty) for `entity_fc`: the
  /// application's own, else the entity's default; nullptr when none.
  const integration* route(std::string_view entity_fc, std::string_view application_id) const;
  const std::vector<integration>& all() const noexcept { return items_; }
  std::size_t size() const noexcept { return items_.size(); }

 private:
  std::vector<integration> items_;
  std::map<std::string, std::size_t, std::less<>> by_id_;
  /// "entity\x1fapplication" (application empty for defaults) -> index
  std::map<std::string, std::size_t, std::less<>> routes_;
};

/// Holds the current integration registry (as application_holder). Thread-safe.
class integration_holder {
 public:
  explicit integration_holder(std::shared_ptr<const integration_registry> registry);
  std::shared_ptr<const integration_registry> get() const;
  void set(std::shared_ptr<const integration_registry> registry);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const integration_registry> registry_;
};

}  // namespace pagohub::config
