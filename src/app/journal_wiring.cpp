#include "journal_wiring.hpp"

#include <pagohub/api/api_key.hpp>

namespace pagohub::app {

journal::caller_resolver application_callers(config::application_holder& applications,
                                             const config::integration_holder* integrations) {
  return [&applications, integrations](const http::request_context& ctx)
             -> boost::asio::awaitable<std::optional<journal::caller>> {
    const auto key = api::presented_key(ctx.req);
    if (key.empty() || !api::looks_like_api_key(key)) co_return std::nullopt;
    const auto snapshot = applications.get();
    auto digest = api::api_key_digest(key);
    const auto* app = snapshot->find_by_key_digest(digest);
    if (app == nullptr) co_return std::nullopt;
    journal::caller c{
        "application", app->id, {app->entities, app->role == config::application_role::admin}};
    c.rate_key = std::move(digest);
    // Several back-offices may serve one entity (tax office, canteen, fines): each reads its
    // own positions' and exchanges' events, not the others' payers and receipts.
    if (app->role == config::application_role::backoffice) {
      c.reads.application = app->id;
      c.reads.orphans = app->services.empty();
      if (integrations != nullptr) {
        // Held for the loop: the range-for keeps the vector's reference, not the snapshot's
        // owner, and a reload or override may drop the holder's at any time.
        const auto routed = integrations->get();
        for (const auto& i : routed->all())
          (i.application == app->id ? c.reads.providers : c.reads.foreign_providers)
              .push_back(i.id);
      }
    }
    co_return c;
  };
}

std::function<std::optional<http::response>(const http::request_context&, const journal::caller&)>
application_throttle(config::application_holder& applications,
                     std::shared_ptr<api::rate_limiter> limiter) {
  return [&applications, limiter = std::move(limiter)](
             const http::request_context& ctx,
             const journal::caller& c) -> std::optional<http::response> {
    if (c.rate_key.empty()) return std::nullopt;
    const auto snapshot = applications.get();
    const auto* app = snapshot->find(c.id);
    if (app == nullptr) return std::nullopt;
    // The bucket of the key (its digest), as the back-office API keys it.
    const auto d = limiter->acquire(c.rate_key, app->rate_per_second, app->burst);
    if (d.allowed) return std::nullopt;
    return api::rate_limited(ctx, app->rate_per_second, app->burst, d);
  };
}

journal::event daemon_event(std::string type, std::string subtype, std::string outcome,
                            std::string params, const std::string& station_id) {
  journal::event e;
  e.cat = journal::category::interno;
  e.interface = journal::interface_kind::internal;
  e.component = "pagohubd";
  e.type = std::move(type);
  e.subtype = std::move(subtype);
  e.outcome = std::move(outcome);
  e.interface_params = std::move(params);
  e.caller_id = "pagohubd";
  e.provider_id = "pagohubd";
  e.station_id = station_id;
  e.by = {"system", "pagohubd"};
  return e;
}

}  // namespace pagohub::app
