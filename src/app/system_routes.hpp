#pragma once
// /healthz, /readyz and /metrics: what load balancers, orchestrators and Prometheus ask.
#include <pagohub/db/executor.hpp>
#include <pagohub/http/metrics.hpp>
#include <pagohub/http/router.hpp>

namespace pagohub::app {

struct system_routes_deps {
  db::executor& db;  ///< the pool /readyz asks through (the daemon's: the Nodo's calls')
  http::metrics_registry& metrics;
  int known_schema_version;  ///< the newest migration this binary carries
};

void add_system_routes(http::router& r, system_routes_deps deps);

}  // namespace pagohub::app
