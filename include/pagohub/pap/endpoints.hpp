#pragma once
// The SOAP endpoints pagoPA's Nodo calls (ARCHITECTURE §1, §4; DIGEST §1, §2; docs/pagopa.md):
//   POST /pagopa/paForNode    current model (stations register this URL for it)
//   POST /pagopa/PaPerNodo    2018 model
// Either path accepts every operation, dispatched on the body element; GET ?wsdl serves the
// WSDL implemented there (?wsdl=<name> and ?xsd=<name> its companions).
#include <pagohub/config/entity.hpp>
#include <pagohub/config/pap_settings.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/http/metrics.hpp>
#include <pagohub/http/router.hpp>
#include <pagohub/journal/record.hpp>
#include <pagohub/journal/writer.hpp>
#include <pagohub/pap/on_demand.hpp>

#include <string>

namespace pagohub::pap {

/// What the endpoints need; every reference must outlive the router.
struct endpoint_deps {
  db::executor& db;
  const config::registry_holder& registry;
  config::pap_settings settings;
  std::string broker_id;   ///< [daemon] broker_id
  std::string station_id;  ///< [daemon] station_id
  const core::clock& clock;
  /// Where the INTERFACCIA events of every exchange go; null = not recorded (tests, tools).
  journal::writer* journal = nullptr;
  /// Payload rules for the INTERNO events written with state changes.
  const journal::payload_rules* rules = nullptr;
  http::metrics_registry* metrics = nullptr;  ///< optional: per-operation counters
  /// On-demand positions (pap/on_demand.hpp), consulted after the store by verify, getPayment
  /// and paaVerificaRPT; null = only stored positions are answered.
  notice_resolver* on_demand = nullptr;
};

/// Adds the routes above to `r`.
void add_routes(http::router& r, endpoint_deps deps);

/// Compiles the demand_schema of every spontaneous service of `registry`, as the demands will:
/// throws config::config_error (the schema's file, "entity E service S: demand_schema") for the
/// first that is not a valid XML Schema, or that shares its target namespace with another of
/// the entity's (paaChiediNumeroAvviso picks the service by it). The daemon checks at start and
/// before a reload swaps the registry, so that a broken schema is refused there rather than
/// answering every demand of the service with PAA_SYSTEM_ERROR.
void check_demand_schemas(const config::entity_registry& registry);

}  // namespace pagohub::pap
