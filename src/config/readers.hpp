#pragma once
// The section readers behind load() and load_entities().
#include <pagohub/config/application.hpp>
#include <pagohub/config/entity.hpp>
#include <pagohub/config/integration.hpp>
#include <pagohub/config/nodo_settings.hpp>
#include <pagohub/config/settings.hpp>

#include <map>
#include <string>
#include <vector>

#include "reader.hpp"

namespace pagohub::config::detail {

/// Reads [journal] (journal_reader.cpp).
void read_journal(const table_reader& root, journal_settings& out);

/// Reads [imports] (imports_reader.cpp).
void read_imports(const table_reader& root, imports_settings& out);

/// Reads [pap] (pap_reader.cpp).
void read_pap(const table_reader& root, pap_settings& out);
/// Refuses a configuration that serves the SOAP endpoints to anyone on a listener reachable
/// from the network (neither loopback nor mTLS) without [pap] caller authentication.
void check_pap_callers(const table_reader& root, const pap_settings& pap,
                       const std::vector<listener_settings>& listeners);

/// Reads [daemon], [[listener]], [db], [limits], [logging] and [paths] from the root table.
daemon_settings read_daemon_settings(const table_reader& root);

/// Reads [nodo] and its [[nodo.station]] tables (nodo_reader.cpp); defaults when the section is
/// absent. Refuses old-model URLs without a password for [daemon]'s station.
nodo_settings read_nodo(const table_reader& root, const daemon_settings& daemon);
/// Why the old-model calls could not be made for `station_id` (they are configured and the
/// station has no password of its own nor the [nodo] one), or an empty string.
std::string station_password_problem(const nodo_settings& nodo, std::string_view station_id);
/// Logs a warning for each [[nodo.station]] entry that is neither [daemon]'s station nor any
/// entity's.
void warn_unused_stations(const source_file& main, const nodo_settings& nodo,
                          const daemon_settings& daemon, const std::vector<entity>& entities);

/// Entities gathered from several files, with where each fiscal code was first seen so that a
/// duplicate names both places.
struct entity_collector {
  std::vector<entity> entities;
  std::map<std::string, std::string, std::less<>> seen;  ///< fiscal code -> "file: key"
};

/// Reads the [[entity]] tables of a root table into `out`; `defaults` supplies station_id
/// and broker_id, `nodo` the station passwords each entity's station must have.
void read_entities(const table_reader& root, const daemon_settings& defaults,
                   const nodo_settings& nodo, entity_collector& out);

/// Applications gathered from several files; like entity_collector, remembers where each id
/// and each key digest was first seen.
struct application_collector {
  std::vector<application> apps;
  std::map<std::string, std::string, std::less<>> seen_ids;      ///< id -> "file: key"
  std::map<std::string, std::string, std::less<>> seen_digests;  ///< digest -> "file: key"
};

/// Reads the [[application]] tables of a root table into `out`, checking them against
/// `entities`; `defaults` supplies the rate limits.
void read_applications(const table_reader& root, const daemon_settings& defaults,
                       const entity_registry& entities, application_collector& out);

/// Integrations gathered from several files; remembers where each id and each route
/// (entity, application) was first seen.
struct integration_collector {
  std::vector<integration> items;
  std::map<std::string, std::string, std::less<>> seen_ids;     ///< id -> "file: key"
  std::map<std::string, std::string, std::less<>> seen_routes;  ///< "fc / app" -> "file: key"
};

/// Reads the [[integration]] tables of a root table into `out`, checking them against the
/// entities and applications (integration_reader.cpp).
void read_integrations(const table_reader& root, const entity_registry& entities,
                       const application_registry& apps, integration_collector& out);

/// Checks a station id: "<11-digit broker fiscal code>_<2 digits>". Returns the reason it is
/// wrong, or an empty string.
std::string station_id_problem(std::string_view station_id, std::string_view broker_id);

}  // namespace pagohub::config::detail
