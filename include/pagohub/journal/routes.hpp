#pragma once
// The journal's REST queries (docs/journal.md "Querying"):
//   GET /api/v1/journal?entity=&iuv=&noticeNumber=&requestId=&tipoEvento=&esito=&from=&to=
//                      &cursor=&limit=                  a page of events, or CSV (Accept: text/csv)
//   GET /api/v1/journal/{id}                            one event with its payload
//   GET /api/v1/entities/{entityFiscalCode}/notices/{noticeNumber}/timeline
//                                                       every event of one payment, in order
// Every answer is scoped to the caller's entities, and a back-office application's to its own
// events within them; admins see all. Who the caller is comes from a resolver the application
// supplies (API keys today), so this module does not depend on the authentication code.
#include <pagohub/db/executor.hpp>
#include <pagohub/http/router.hpp>
#include <pagohub/journal/query.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pagohub::journal {

/// The authenticated caller of a journal query.
struct caller {
  std::string kind;  ///< "application", "operator", "admin"
  std::string id;    ///< application id, login
  /// What it may read: its entities (every one for an admin, with the events tied to none),
  /// and, for a back-office application, only its own events there (scope::application).
  scope reads;
  /// The rate-limit bucket the throttle takes this caller's token from (an API key's digest,
  /// computed once by the resolver); empty: the throttle decides alone.
  std::string rate_key = {};
};

/// Who is calling: nullopt when the request carries no valid credentials (the routes answer
/// 401). May await (a database lookup).
using caller_resolver =
    std::function<boost::asio::awaitable<std::optional<caller>>(const http::request_context&)>;

struct route_deps {
  db::executor& db;
  caller_resolver resolve;
  /// Events per database round trip of a CSV export.
  int export_chunk_rows = 2000;
  /// Admission of a resolved caller: the answer to send instead (429 when its API key has no
  /// token left), or nothing. Empty: none.
  std::function<std::optional<http::response>(const http::request_context&, const caller&)>
      throttle = {};
};

/// Registers the three routes on `r`. `deps.db` must outlive the router.
void add_routes(http::router& r, route_deps deps);

}  // namespace pagohub::journal
