// add_backoffice_routes: the one place the back-office route families are registered. A new
// family (bulk imports, receipts) adds its add_*_routes(r, rc) call here and shares the
// route_context, hence the access guard and each key's rate-limit bucket.
#include <pagohub/api/backoffice.hpp>

#include "feed_routes.hpp"
#include "idempotency.hpp"
#include "imports_routes.hpp"
#include "route_support.hpp"

namespace pagohub::api {

namespace detail {
extern const std::string_view openapi_document;  // generated from docs/api/backoffice.yaml
}

std::string_view openapi_json() noexcept {
  return detail::openapi_document;
}

void add_backoffice_routes(http::router& r, const backoffice_deps& deps) {
  auto rc = std::make_shared<route_context>(deps);
  add_position_write_routes(r, rc);
  add_position_read_routes(r, rc);
  add_receipt_feed_routes(r, rc);  // the receipts pull feed (feed_routes.cpp)
  if (deps.imports != nullptr) {
    add_import_routes(r, rc,
                      {*deps.imports, deps.upload_db != nullptr ? *deps.upload_db : deps.db,
                       deps.import_max_upload_bytes, deps.import_max_queued});
  }

  // The contract itself is public: clients generate code from it before they hold a key.
  r.add(http::verb::get, "/api/v1/openapi.json",
        [](http::request_context& ctx) -> boost::asio::awaitable<http::response> {
          auto res = http::make_response(ctx.req, http::status::ok, std::string(openapi_json()),
                                         "application/json");
          res.set(boost::beast::http::field::cache_control, "public, max-age=300");
          co_return res;
        });

  deps.metrics.add_collector([rc](std::string& out) {
    rc->guard.append_metrics(out);
    rc->creates->append_metrics(out);
  });
}

boost::asio::awaitable<core::result<std::string>> purge_expired_idempotency_keys(
    db::executor& db, const core::clock& clock) {
  constexpr int batch = 10'000;
  const auto now = clock.now();
  std::int64_t total = 0;
  // Batches keep each transaction short; the loop stops at the first partial batch.
  for (;;) {
    const auto n =
        co_await db.transact([&](pqxx::work& w) { return purge_idempotency_keys(w, now, batch); });
    total += n;
    if (n < batch) break;
  }
  co_return "purged " + std::to_string(total) + " idempotency keys";
}

}  // namespace pagohub::api
