#pragma once
// Loading and validating the TOML configuration (ARCHITECTURE §7, docs/config-reference.md).
#include <pagohub/config/application.hpp>
#include <pagohub/config/entity.hpp>
#include <pagohub/config/error.hpp>
#include <pagohub/config/integration.hpp>
#include <pagohub/config/nodo_settings.hpp>
#include <pagohub/config/settings.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace pagohub::config {

/// A loaded configuration.
struct config {
  daemon_settings daemon{};
  std::shared_ptr<const entity_registry> entities{};
  /// The [[application]] tables of the main file and of paths.applications_dir, checked
  /// against `entities` (which they hold a reference to).
  std::shared_ptr<const application_registry> applications{};
  /// The [[integration]] tables of the main file and of paths.applications_dir, checked
  /// against `applications` (docs/integration.md).
  std::shared_ptr<const integration_registry> integrations{};
  /// [nodo]: calls to pagoPA's Nodo and the old-model RPT push.
  nodo_settings nodo{};
  std::filesystem::path file{};  ///< the main file, absolute
};

/// Reads and validates the main file, its [[entity]] tables and the entity files of
/// paths.entities_dir. Throws config_error on the first problem.
config load(const std::filesystem::path& file);

/// Re-reads the entities (the [[entity]] tables of cfg.file and the *.toml files of
/// cfg.daemon.paths.entities_dir) for a reload; defaults come from cfg.daemon. Other settings
/// are not re-read. Throws config_error; the caller keeps its old registry then.
std::shared_ptr<const entity_registry> load_entities(const config& cfg);

/// Re-reads the applications (the [[application]] tables of cfg.file and the *.toml files of
/// cfg.daemon.paths.applications_dir) against `entities`, normally a registry just returned by
/// load_entities(): a reload swaps both or neither. Throws config_error.
std::shared_ptr<const application_registry> load_applications(
    const config& cfg, std::shared_ptr<const entity_registry> entities);

/// Re-reads the integrations against `applications`, normally a registry just returned by
/// load_applications(): a reload swaps all three or none. Throws config_error.
std::shared_ptr<const integration_registry> load_integrations(
    const config& cfg, const application_registry& applications);

/// A human-readable summary for `pagohubd check-config`; secrets are redacted.
std::string describe(const config& cfg);

/// `conninfo` with any password replaced by "***" (key=value and URI forms), for logs.
std::string redact_conninfo(std::string_view conninfo);

}  // namespace pagohub::config
