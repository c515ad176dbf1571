#pragma once
// The operators' REST routes for deliveries and integrations (docs/api/backoffice.yaml, tag
// "Deliveries"; docs/integration.md "Operator actions"):
//   GET  /api/v1/admin/deliveries?entity=&state=&integration=&kind=&from=&to=&cursor=&limit=
//   GET  /api/v1/admin/deliveries/{id}
//   POST /api/v1/admin/deliveries/{id}/resend              {"reason": "..."}
//   POST /api/v1/admin/deliveries/resend                   {"state": "DEAD", "entity": ..., ...}
//   POST /api/v1/admin/deliveries/requeue-dead             {"entity": ..., "reason": ...}
//   GET  /api/v1/admin/integrations                   configured, overridden, effective
//   GET  /api/v1/admin/integrations/{integrationId}
//   PATCH  /api/v1/admin/integrations/{integrationId}/settings    (admins only) merge patch
//   DELETE /api/v1/admin/integrations/{integrationId}/settings    (admins only) back to config
//   POST /api/v1/admin/integrations/{integrationId}/suspend   {"reason": "..."}
//   POST /api/v1/admin/integrations/{integrationId}/resume    {"reason": "..."}
// Callers are applications with role operator or admin (config/application.hpp): operators see
// and act on their entities, admins on all; back-office keys get 403. Only admins change an
// integration's settings at runtime (docs/integration.md "Changing settings at runtime").
#include <pagohub/api/rate_limiter.hpp>
#include <pagohub/config/application.hpp>
#include <pagohub/config/entity.hpp>
#include <pagohub/config/integration.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/http/router.hpp>
#include <pagohub/integration/delivery.hpp>

#include <functional>
#include <optional>
#include <string_view>

namespace pagohub::integration {

struct admin_route_deps {
  db::executor& db;
  config::application_holder& applications;
  config::integration_holder& integrations;
  const core::clock& clock;
  /// Woken after a resend or resume so the messages go without waiting for a poll; may be null.
  delivery_service* delivery = nullptr;
  /// The entity registry, to refuse taking an integration that answers on-demand lookups out of
  /// push mode; may be null (then that check is skipped).
  const config::registry_holder* entities = nullptr;
  /// The per-key token buckets shared with the back-office API (api::backoffice_deps::limiter);
  /// null: these routes' own.
  std::shared_ptr<api::rate_limiter> limiter = nullptr;
  /// The failure of an integration's endpoint as this daemon's on-demand lookups see it
  /// (lookup_clients::failed_endpoint); empty: not shown.
  std::function<std::optional<endpoint_failure>(std::string_view integration_id)> lookup_failure =
      {};
};

/// Registers the routes. Everything referenced must outlive the router.
void add_admin_routes(http::router& r, admin_route_deps deps);

}  // namespace pagohub::integration
