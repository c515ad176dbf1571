#pragma once
// INTERFACCIA events for inbound HTTP exchanges, without touching the handlers: the routes of a
// router are copied into a new one whose selected handlers are wrapped. Each wrapped exchange
// yields a req and a rsp event (SANP sottoTipoEvento) with the request id of the access log,
// the entity of the URL, the calling application, status, duration and, per payload policy,
// both bodies. They go through the writer: no database round trip on the request's path.
#include <pagohub/http/router.hpp>
#include <pagohub/journal/record.hpp>
#include <pagohub/journal/routes.hpp>
#include <pagohub/journal/writer.hpp>

#include <functional>
#include <memory>
#include <string>

namespace pagohub::journal {

struct exchange_recording {
  writer* events = nullptr;              ///< must outlive the router
  const payload_rules* rules = nullptr;  ///< decides early whether bodies are copied at all
  /// Who called: the application recorded as actor and identificativoFruitore. May be empty.
  caller_resolver resolve;
  /// identificativoErogatore: this gateway (the station id).
  std::string provider_id = "pagohub";
  /// Which routes are recorded; empty = every route under /api/ except GET, HEAD and OPTIONS
  /// (REST writes; reads are not exchanges that pagoPA or an auditor asks about).
  std::function<bool(const http::route&)> select;
};

/// A router with the routes of `routes`, the selected ones recording their exchanges.
std::shared_ptr<http::router> record_exchanges(const http::router& routes, exchange_recording how);

}  // namespace pagohub::journal
