#pragma once
// How the daemon plugs the journal in: who may read it (API keys of the back-office
// applications), and the INTERNO events of the daemon's own life.
#include <pagohub/config/application.hpp>
#include <pagohub/journal/event.hpp>
#include <pagohub/journal/routes.hpp>

#include <string>

namespace pagohub::app {

/// The journal's callers are the back-office applications, by API key (Authorization: Bearer,
/// or X-API-Key), looked up in the current registry snapshot; an application with role admin
/// reads every entity. The key itself is never kept.
journal::caller_resolver application_callers(config::application_holder& applications);

/// An INTERNO event of the daemon itself (tipoEvento `type`: daemonStart, daemonStop,
/// configReload), attributed to the system actor.
journal::event daemon_event(std::string type, std::string subtype, std::string outcome,
                            std::string params, const std::string& station_id);

}  // namespace pagohub::app
