#pragma once
// How the daemon plugs the journal in: who may read it (API keys of the back-office
// applications), and the INTERNO events of the daemon's own life.
#include <pagohub/api/rate_limiter.hpp>
#include <pagohub/config/application.hpp>
#include <pagohub/config/integration.hpp>
#include <pagohub/journal/event.hpp>
#include <pagohub/journal/routes.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace pagohub::app {

/// The journal's callers are the back-office applications, by API key (Authorization: Bearer,
/// or X-API-Key), looked up in the current registry snapshot; an application with role admin
/// reads every entity, one with role operator its entities' whole journal, and one with role
/// backoffice only its own events there (journal::scope), the exchanges with its integrations
/// in `integrations` included. The key itself is never kept.
journal::caller_resolver application_callers(
    config::application_holder& applications,
    const config::integration_holder* integrations = nullptr);

/// The journal routes' rate limit: a token from the caller's key's bucket in `limiter` (its
/// digest, which application_callers() put in caller::rate_key), shared with the other API
/// route families; 429 with Retry-After when none is left.
std::function<std::optional<http::response>(const http::request_context&, const journal::caller&)>
application_throttle(config::application_holder& applications,
                     std::shared_ptr<api::rate_limiter> limiter);

/// An INTERNO event of the daemon itself (tipoEvento `type`: daemonStart, daemonStop,
/// configReload), attributed to the system actor.
journal::event daemon_event(std::string type, std::string subtype, std::string outcome,
                            std::string params, const std::string& station_id);

}  // namespace pagohub::app
