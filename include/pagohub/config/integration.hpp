#pragma once
// Back-office integrations ([[integration]]): how messages of the outbox reach an entity's
// system (docs/integration.md, docs/config-reference.md). Built with the applications they
// route for, immutable once built, swapped whole on reload. The operators' runtime state
// (suspended / active) lives in the database and wins over `initial_state`; so do the admins'
// runtime overrides of the settings (integration_override.hpp), merged by integration_holder.
#include <pagohub/config/integration_override.hpp>

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

  /// Set by the loader, not read from the file: the first service that looks up its positions
  /// through this integration ("service TARI of entity 01234567890"), empty when none. Such an
  /// integration must stay push, whatever an override says (integration_override.hpp).
  std::string lookup_of{};
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

/// Holds the current integrations: the configured registry (from the TOML files, replaced on
/// reload) and the admins' runtime overrides (from the database), and publishes their merge.
/// Readers (the delivery service, on-demand lookups) take the effective registry with get().
/// An override for an id the configuration no longer has is kept but ignored (orphaned); one
/// that no longer fits its integration (the configuration changed under it) is ignored too,
/// with the reason in ignored_overrides(). Thread-safe.
class integration_holder {
 public:
  using override_map = std::map<std::string, integration_override, std::less<>>;

  explicit integration_holder(std::shared_ptr<const integration_registry> registry);
  /// The effective integrations: the configuration with the overrides applied.
  std::shared_ptr<const integration_registry> get() const;
  /// The integrations as configured, without overrides.
  std::shared_ptr<const integration_registry> configured() const;
  /// Replaces the configured registry (a reload); the overrides are kept and merged again.
  void set(std::shared_ptr<const integration_registry> registry);
  /// Replaces the overrides (every id's, as stored); a no-op when they did not change.
  void set_overrides(override_map overrides);
  /// The overrides in force, as last given to set_overrides().
  override_map overrides() const;
  /// Overrides of configured integrations that cannot apply to them, id -> why.
  std::map<std::string, std::string, std::less<>> ignored_overrides() const;

 private:
  void publish_locked();

  mutable std::mutex mutex_;
  std::shared_ptr<const integration_registry> configured_;
  std::shared_ptr<const integration_registry> effective_;
  override_map overrides_;
  std::map<std::string, std::string, std::less<>> ignored_;
};

}  // namespace pagohub::config
