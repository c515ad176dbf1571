#pragma once
// The REST API for entity back-offices (docs/api/backoffice.yaml): debt positions under
// /api/v1/entities/{entityFiscalCode}, API-key authentication, per-key rate limits, and the
// OpenAPI document at /api/v1/openapi.json. app/ wires it.
#include <pagohub/api/rate_limiter.hpp>
#include <pagohub/config/application.hpp>
#include <pagohub/core/clock.hpp>
#include <pagohub/db/executor.hpp>
#include <pagohub/http/metrics.hpp>
#include <pagohub/http/router.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "pagohub/core/error.hpp"

namespace pagohub::imports {
class service;
}

namespace pagohub::api {

/// What the back-office routes need. Every referent must outlive the router.
struct backoffice_deps {
  db::executor& db;
  /// The applications with the entity registry they were checked against; a reload swaps it.
  config::application_holder& applications;
  const core::clock& clock;
  http::metrics_registry& metrics;
  /// Bulk imports (POST .../imports and its reads, imports_routes.cpp); null: not served.
  imports::service* imports = nullptr;
  /// The largest upload POST .../imports accepts ([imports] max_upload_bytes).
  std::size_t import_max_upload_bytes = std::size_t{512} << 20;
  /// Creates written together ([api] create_batch_size, create_batches_in_flight;
  /// create_batcher.hpp).
  std::size_t create_batch_size = 64;
  std::size_t create_batches_in_flight = 2;
  /// The per-key token buckets, shared with the other route families an API key may call (the
  /// journal, delivery administration) so that a key has one budget; null: the API's own.
  std::shared_ptr<rate_limiter> limiter = nullptr;
  /// Imports of one application queued or running at once ([imports]
  /// max_queued_per_application).
  int import_max_queued = 20;
  /// The pool that stores uploads ([imports] upload_connections), so that large files never
  /// hold the connections of `db`, which the rest of the API and the jobs share; null: `db`.
  db::executor* upload_db = nullptr;
};

/// The largest request body of these routes (a position is a few kilobytes).
inline constexpr std::size_t backoffice_max_body_bytes = 1 << 20;

/// Registers every back-office route and GET /api/v1/openapi.json on `r`, and the API's
/// metrics collector on deps.metrics. Call once.
void add_backoffice_routes(http::router& r, const backoffice_deps& deps);

/// The OpenAPI 3.1 document (docs/api/backoffice.yaml) as JSON text, built in at compile time.
std::string_view openapi_json() noexcept;

/// One run of the periodic purge of expired Idempotency-Key rows (for a jobs::job_spec body):
/// deletes them in batches and returns "purged N keys".
boost::asio::awaitable<core::result<std::string>> purge_expired_idempotency_keys(
    db::executor& db, const core::clock& clock);

}  // namespace pagohub::api
