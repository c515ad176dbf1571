#pragma once
// Back-office applications ([[application]]): the entity systems that call the REST API with an
// API key (ARCHITECTURE §1, §7). Built from configuration files together with the entity
// registry they refer to, immutable once built, swapped whole on reload.
#include <pagohub/config/entity.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace pagohub::config {

/// What an application's keys may do. Only `backoffice` grants anything today; `operator` and
/// `admin` are reserved for the operator UI and are accepted so that files written for it load.
enum class application_role { backoffice, operator_role, admin };

/// "backoffice", "operator", "admin".
std::string_view to_string(application_role role) noexcept;

/// One back-office application ([[application]]).
struct application {
  std::string id{};    ///< [a-z0-9-]{1,40}, unique; recorded as the actor of its writes
  std::string name{};  ///< for people, up to 140 characters
  std::vector<std::string> entities{};  ///< fiscal codes granted; each is in the registry
  /// Service codes granted; empty = every service of the granted entities.
  std::vector<std::string> services{};
  /// Hex digests (64 lowercase characters, without the "blake2b:" prefix) of the API keys.
  std::vector<std::string> key_hashes{};
  application_role role = application_role::backoffice;
  std::int64_t rate_per_second = 0;  ///< token bucket refill; [api] rate_per_second when unset
  std::int64_t burst = 0;            ///< token bucket size; [api] burst when unset

  /// True when `fiscal_code` is one of `entities`.
  bool grants_entity(std::string_view fiscal_code) const noexcept;
  /// True when `services` is empty or holds `code`.
  bool grants_service(std::string_view code) const noexcept;
};

/// An immutable set of applications, with the entity registry they were validated against, so
/// that one snapshot answers both "who is calling" and "what is that entity" consistently.
class application_registry {
 public:
  /// An empty registry over an empty entity registry.
  application_registry();
  /// Throws std::invalid_argument on a duplicate id or key hash (the loader reports those with
  /// file and key first), or when `entities` is null.
  application_registry(std::vector<application> apps,
                       std::shared_ptr<const entity_registry> entities);

  /// The application with this id, or nullptr.
  const application* find(std::string_view id) const;
  /// The application holding the key whose digest is `hex_digest` (64 lowercase hex), or nullptr.
  const application* find_by_key_digest(std::string_view hex_digest) const;
  const std::vector<application>& all() const noexcept { return apps_; }
  std::size_t size() const noexcept { return apps_.size(); }

  /// The entities these applications were checked against.
  const entity_registry& entities() const noexcept { return *entities_; }
  const std::shared_ptr<const entity_registry>& entities_ptr() const noexcept { return entities_; }

 private:
  std::vector<application> apps_;
  std::shared_ptr<const entity_registry> entities_;
  std::map<std::string, std::size_t, std::less<>> by_id_;
  std::map<std::string, std::size_t, std::less<>> by_digest_;
};

/// Holds the current application registry; readers take a snapshot with get(), a reload
/// replaces it with set(). Thread-safe.
class application_holder {
 public:
  explicit application_holder(std::shared_ptr<const application_registry> registry);

  std::shared_ptr<const application_registry> get() const;
  void set(std::shared_ptr<const application_registry> registry);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const application_registry> registry_;
};

}  // namespace pagohub::config
